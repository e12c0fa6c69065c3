"""Throughput of the vision and text pipelines with and without mixed precision and XLA: examples/s per setting.

Runs ``adaptkit run`` on ``pipelines/digits_source.yaml`` (MNIST convnet) and
``pipelines/sentiment_minilm.yaml`` (MiniLM-L6 + head) once per setting of
``training.mixed_precision`` x ``training.jit_compile`` (off/off, on/off, off/on, on/on), each a
fresh process, and prints for each: the device TensorFlow saw, the training throughput in the
steady epochs (training examples x epochs after the first / their seconds in ``history.csv``:
the first epoch traces and compiles), the whole process's wall time, and the test accuracy.
A setting that fails (XLA cannot compile a text tokenizer, say) is reported with its error line.
Meant for a GPU machine (mixed precision pays off on tensor cores); it runs on a CPU as well.

    make data
    .venv/bin/python benchmarks/throughput.py                       # both jobs, four settings each
    .venv/bin/python benchmarks/throughput.py --job digits --epochs 2
    .venv/bin/python benchmarks/throughput.py --job text --unfreeze 2   # the top 2 blocks trained: the encoder in every step
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SETTINGS = [(False, False), (True, False), (False, True), (True, True)]


def job_args(job: str, args: argparse.Namespace) -> list[str]:
    if job == "digits":
        return [str(HERE / "pipelines/digits_source.yaml"), "--set", f"data.train.path={HERE / 'data/digits/mnist.npz'}",
                *(["--set", f"training.stages.0.epochs={args.epochs}"] if args.epochs else [])]
    data = HERE / "data/vader/movie.csv"
    out = [str(HERE / "pipelines/sentiment_minilm.yaml"), "--set", f"data.train.path={data}", "--set", f"data.test.path={data}",
           "--set", f"data.train.limit={args.train}", "--set", f"data.test.limit={args.test}"]
    if args.unfreeze:
        out += ["--set", f"surgery=[{{kind: freeze}}, {{kind: unfreeze, last_blocks: {args.unfreeze}}}]"]
    return out


def device() -> str:
    code = "import tensorflow as tf; g = tf.config.list_physical_devices('GPU'); print(', '.join(d.name for d in g) or 'CPU only')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return (done.stdout.strip().splitlines() or ["unknown"])[-1]


def one(job: str, mixed: bool, jit: bool, args: argparse.Namespace, out: Path) -> dict:
    cmd = [sys.executable, "-m", "adaptkit.cli", "run", *job_args(job, args), "--set", f"training.mixed_precision={str(mixed).lower()}",
           "--set", f"training.jit_compile={str(jit).lower()}", "--set", "evaluation.plots=false", "--output", str(out)]
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    row = {"job": job, "mixed_precision": mixed, "jit_compile": jit, "wall_s": round(wall, 2)}
    runs = [p for p in out.iterdir() if not p.is_symlink() and (p / "metrics.json").is_file()]
    if done.returncode != 0 or not runs:
        errors = [line for line in done.stderr.splitlines() if line.startswith("error")] or done.stderr.strip().splitlines()[-1:]
        return {**row, "error": errors[0] if errors else f"exit {done.returncode}"}
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    with open(runs[0] / "history.csv") as fh:
        epochs = list(csv.DictReader(fh))
    steady = epochs[1:] or epochs
    seconds = sum(float(e["seconds"]) for e in steady)
    examples = metrics["data"]["train"] * len(steady)
    return {**row, "examples_per_s": round(examples / seconds, 1) if seconds else None,
            "test_accuracy": metrics["metrics"].get("test/accuracy"), "epochs": len(epochs)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", choices=["digits", "text", "both"], default="both")
    parser.add_argument("--epochs", type=int, default=None, help="digits: the stage's epochs (default: the spec's)")
    parser.add_argument("--train", type=int, default=750, help="text: data.train.limit")
    parser.add_argument("--test", type=int, default=300, help="text: data.test.limit")
    parser.add_argument("--unfreeze", type=int, default=0, help="text: train the top N encoder blocks too (default: frozen, features cached)")
    parser.add_argument("--json", type=Path, default=None, help="also write the rows here")
    args = parser.parse_args(argv)
    jobs = ["digits", "text"] if args.job == "both" else [args.job]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for job in jobs:
            for k, (mixed, jit) in enumerate(SETTINGS):
                rows.append(one(job, mixed, jit, args, Path(tmp) / f"{job}{k}"))
                print(json.dumps(rows[-1]), file=sys.stderr)
    print(f"\ndevice: {device()}\n")
    print("| job | mixed_precision | jit_compile | training examples/s (epochs after the first) | whole process s | test accuracy |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['job']} | {r['mixed_precision']} | {r['jit_compile']} | failed: {r['error']} | {r['wall_s']} | |")
        else:
            print(f"| {r['job']} | {r['mixed_precision']} | {r['jit_compile']} | {r['examples_per_s']} | {r['wall_s']} | {r['test_accuracy']:.4f} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
