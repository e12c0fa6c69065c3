"""Benchmark: feature extraction on a frozen encoder, features computed once (training.cache auto) vs every epoch (off).

Two specs, each cut to its feature-extraction stage: ``pipelines/sentiment_minilm.yaml``
(frozen MiniLM-L6, softmax head) and ``pipelines/elpv_mobilenet.yaml``'s stage 0 (frozen
MobileNetV2, head) on ``data/elpv-demo``, without its random flip (random augmentation in
front of the frozen base makes its output differ every epoch: nothing could be computed once)
and without the baseline. Every trial is one whole ``adaptkit run`` process, timed from start
to finish as a user waits (``process_s``), with the run's own wall time (``run_s``, from
metrics.json: without Python's and TensorFlow's start). Trials are paired and alternate:
per repetition, epochs 1 and 10, cached and uncached, the order flipped every repetition.

    make data
    .venv/bin/python benchmarks/feature_cache.py --repeats 2 --out benchmarks/results/feature_cache
    .venv/bin/python benchmarks/feature_cache.py --spec sentiment_minilm --set data.train.limit=250 --set data.test.limit=100

Prints a Markdown table (medians over repetitions) with the ratios the issue asks for (10
epochs over 1 epoch, cached over uncached) and writes ``results.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
SPECS = {"sentiment_minilm": ROOT / "pipelines/sentiment_minilm.yaml", "elpv_head": ROOT / "pipelines/elpv_mobilenet.yaml"}


def with_data(node, data: Path):
    """The spec with every ``path`` under ``../data/`` pointed at ``data``."""
    if isinstance(node, dict):
        return {k: (str(data / v[len("../data/"):]) if k == "path" and isinstance(v, str) and v.startswith("../data/") else with_data(v, data)) for k, v in node.items()}
    if isinstance(node, list):
        return [with_data(v, data) for v in node]
    return node


def head_stage(name: str, data: Path, epochs: int, mode: str, out: Path) -> dict:
    spec = with_data(yaml.safe_load(SPECS[name].read_text()), data)
    spec["training"]["stages"] = [dict(spec["training"]["stages"][0], epochs=epochs)]
    spec["training"]["cache"] = {"mode": mode}
    spec["training"]["verbose"] = 0
    spec["augment"] = []
    spec["evaluation"] = dict(spec.get("evaluation", {}), baseline=False, plots=False)
    spec["output_dir"] = str(out)
    spec["name"] = f"{name}-{epochs}-{mode}"
    return spec


def trial(name: str, data: Path, epochs: int, mode: str, work: Path, overrides: tuple = ()) -> dict:
    path = work / f"{name}-{epochs}-{mode}.yaml"
    path.write_text(yaml.safe_dump(head_stage(name, data, epochs, mode, work / "runs")))
    started = time.perf_counter()
    sets = [a for o in overrides for a in ("--set", o)]
    done = subprocess.run([sys.executable, "-m", "adaptkit.cli", "run", str(path), *sets], capture_output=True, text=True)
    process_s = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{path.name} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    run_dir = max((work / "runs").glob(f"{name}-{epochs}-{mode}-*"), key=lambda p: p.stat().st_mtime)
    metrics = json.loads((run_dir / "metrics.json").read_text())
    log = (run_dir / "run.log").read_text()
    return {
        "spec": name, "epochs": epochs, "mode": mode, "process_s": round(process_s, 2), "run_s": metrics["wall_time_s"],
        "headline": metrics["headline"]["value"], "cached": "frozen features cached" in log,
    }


def table(rows: list[dict]) -> str:
    med = lambda spec, e, m, k: statistics.median(r[k] for r in rows if (r["spec"], r["epochs"], r["mode"]) == (spec, e, m))  # noqa: E731
    out = [
        "| spec | cache | 1 epoch: process s (run s) | 10 epochs: process s (run s) | 10 / 1 epochs (process; run) | test headline 10 ep. |",
        "|---|---|---|---|---|---|",
    ]
    for spec in dict.fromkeys(r["spec"] for r in rows):
        for mode in ("auto", "off"):
            p1, p10, r1, r10 = (med(spec, e, mode, k) for k, e in (("process_s", 1), ("process_s", 10), ("run_s", 1), ("run_s", 10)))
            head = med(spec, 10, mode, "headline")
            out.append(f"| {spec} | {mode} | {p1:.1f} ({r1:.1f}) | {p10:.1f} ({r10:.1f}) | {p10 / p1:.2f}x; {r10 / r1:.2f}x | {head:.4f} |")
        for e in (1, 10):
            out.append(f"| {spec} | auto / off, {e} epoch{'s' * (e > 1)} | | | {med(spec, e, 'auto', 'process_s') / med(spec, e, 'off', 'process_s'):.2f}x; "
                       f"{med(spec, e, 'auto', 'run_s') / med(spec, e, 'off', 'run_s'):.2f}x | |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--spec", choices=sorted(SPECS), action="append", help="default: both")
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="the folder `make data` wrote")
    parser.add_argument("--set", dest="overrides", action="append", default=[], help="KEY=VALUE passed to every run (e.g. a smaller data.train.limit)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/feature_cache")
    args = parser.parse_args()
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmp:
        for rep in range(args.repeats):
            for name in args.spec or list(SPECS):
                plan = [(e, m) for e in (1, 10) for m in ("auto", "off")]
                for epochs, mode in plan if rep % 2 == 0 else plan[::-1]:
                    row = trial(name, args.data.resolve(), epochs, mode, Path(tmp), tuple(args.overrides))
                    rows.append(dict(row, repeat=rep))
                    print(json.dumps(rows[-1]), flush=True)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(rows, indent=1))
    print(table(rows))


if __name__ == "__main__":
    main()
