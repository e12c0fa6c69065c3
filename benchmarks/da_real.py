"""Benchmark 3: domain adaptation on three real pairs, adaptkit's kinds beside ADAPT 0.4.5's, on the same features.

Pairs (``benchmarks/_real_pairs.py``): VADER Amazon reviews -> tweets (frozen all-MiniLM-L6-v2,
384-d), ELPV mono -> poly solar cells (frozen torchvision MobileNetV2, ImageNet, 1280-d), MNIST ->
UCI digits (box-normalised pixels, 784-d). Each domain is embedded once with the frozen encoder
(the embedding's wall time is reported apart), split once (split seed 0: source 80/20 train/test,
target 70% unlabeled stream / 30% target_test), and every method and seed fits on the same arrays:
a trainable Dense UNITS relu encoder on the features, a softmax head, Adam, batch 64 per stream.
adaptkit runs each method as a pipeline spec through its runner (``arrays`` data, ``mlp`` source,
the loss kinds of ``--methods``; ``--extra NAME='{"kind": ...}'`` adds any other kind, e.g. a new
plugin's); ADAPT's DANN, MDD, CDAN, DeepCORAL and MCD run in another process with ADAPT on its
path (``benchmarks/handwritten/adapt_real.py``). Seeds vary the initialisation only.

    make data
    .venv/bin/pip install --no-deps --target .venv-bench-lib adapt==0.4.5 scikeras cvxopt
    .venv/bin/python benchmarks/da_real.py --pairs vader elpv digits --seeds 5 --adapt-path .venv-bench-lib
    .venv/bin/python benchmarks/da_real.py --quick          # 1 pair, 1 seed, source-only + DANN, 2 epochs

Raw rows go to ``--out`` (benchmarks/results/da_real/, not committed): ``<pair>.csv`` and the
features; prints per pair a Markdown table: target accuracy and balanced accuracy (mean ± sd), the
paired difference of balanced accuracy to adaptkit's source-only (same seed; paired t, 95%), fit s.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _real_pairs import PAIRS, embed_pair, splits  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DISC = {"hidden": [256]}
KINDS = {  # adaptkit rows: the loss terms of the one stage
    "source-only": [],
    "dann": [{"kind": "dann", "weight": 0.3, "discriminator": DISC}],
    "cdan": [{"kind": "cdan", "weight": 0.3, "entropy": True, "discriminator": DISC}],
    "mmd": [{"kind": "mmd", "weight": 1.0}],
    "coral": [{"kind": "coral", "weight": 1.0}],
    "wdgrl": [{"kind": "wdgrl", "weight": 0.1, "steps": 1, "critic": DISC}],
}
ADAPT_METHODS = ["DANN", "MDD", "CDAN", "DeepCORAL", "MCD"]
FIELDS = ["pair", "method", "seed", "accuracy", "balanced_accuracy", "seconds"]


def spec_for(losses: list, folder: Path, seed: int, epochs: int, units: int, lr: float) -> dict:
    return {
        "name": "da-real",
        "seed": seed,
        "split_seed": 0,
        "data": {
            "train": {"kind": "arrays", "path": str(folder / "source_train.npz")},
            "test": {"kind": "arrays", "path": str(folder / "source_test.npz")},
            "target": {"kind": "arrays", "path": str(folder / "target_stream.npz"), "labeled": False},
            "validation_split": 0.0,
            "batch_size": 64,
        },
        "source": {"kind": "mlp", "units": [units]},
        "head": {"kind": "classifier", "pooling": "none"},
        "training": {"stages": [{"epochs": epochs, "optimizer": {"name": "adam", "learning_rate": lr}, "losses": losses}],
                     "verbose": 0, "backup": "off"},
        "evaluation": {"plots": False},
    }


def score(y, pred) -> tuple[float, float]:
    from sklearn.metrics import balanced_accuracy_score

    return float(np.mean(pred == y)), float(balanced_accuracy_score(y, pred))


def run_adaptkit(losses: list, folder: Path, work: Path, seed: int, args) -> tuple[float, float, float]:
    """(target_test accuracy, balanced accuracy, fit seconds: the sum of the epochs in history.csv)."""
    import adaptkit
    from adaptkit._runner import run_pipeline

    spec = adaptkit.load_spec(spec_for(losses, folder, seed, args.epochs, args.units, args.lr))
    result = run_pipeline(spec, work / "spec.yaml", output_dir=work / "runs")
    with open(result.run_dir / "history.csv") as fh:
        seconds = sum(float(row["seconds"]) for row in csv.DictReader(fh))
    model = adaptkit.load_model(result.run_dir / "model.keras")
    with np.load(folder / "target_test.npz") as t:
        pred = np.asarray(model.predict(t["x"], verbose=0, batch_size=512)).argmax(-1)
        return (*score(t["y"], pred), seconds)


def start_adapt(folder: Path, seeds: list[int], methods: list[str], args) -> subprocess.Popen:
    """ADAPT's fits, started in a process of their own with ADAPT on its path (they run beside adaptkit's)."""
    cmd = [sys.executable, str(ROOT / "benchmarks/handwritten/adapt_real.py"), str(folder), "--seeds", *map(str, seeds),
           "--methods", *methods, "--epochs", str(args.epochs), "--units", str(args.units), "--lr", str(args.lr)]
    path = [str(args.adapt_path.resolve()), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, path)))
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def adapt_rows(proc: subprocess.Popen) -> list[dict]:
    """The JSON rows ADAPT's process printed (its error, if it failed, goes to stderr; its rows are kept)."""
    out, err = proc.communicate()
    if proc.returncode != 0:
        print(f"ADAPT side failed ({proc.returncode}):\n{err[-3000:]}", file=sys.stderr)
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def features(pair: str, data: Path, out: Path) -> Path:
    """The pair's fixed splits under ``out/<pair>/`` (embedded once; reused when there)."""
    folder = out / pair
    if not (folder / "target_test.npz").is_file():
        feats, seconds = embed_pair(pair, data)
        splits(feats, folder)
        (folder / "embedding.json").write_text(json.dumps({"seconds": seconds, "sizes": {k: len(v) for k, v in feats.items()}}))
    return folder


def old_rows(path: Path) -> list[dict]:
    """The raw rows of an earlier invocation (none when the file is not there)."""
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def table(pair: str, rows: list[dict], epochs: int, folder: Path) -> str:
    """The pair's Markdown table: mean ± sd, Δ balanced accuracy vs source-only (paired over seeds)."""
    from adaptkit._significance import paired_over_seeds, summarize_values

    by: dict[str, dict[int, dict]] = {}
    for r in rows:
        by.setdefault(r["method"], {})[int(r["seed"])] = r
    base = by.get("source-only", {})
    emb = json.loads((folder / "embedding.json").read_text())
    lines = [f"{PAIRS[pair]}; sizes {emb['sizes']}; embedding {emb['seconds']:.0f} s (once); {epochs} epochs\n",
             "| method | target accuracy | balanced accuracy | Δ balanced vs source-only [95% interval] | fit s |",
             "|---|---|---|---|---|"]
    for method, seeds in by.items():
        cells = []
        for key in ("accuracy", "balanced_accuracy"):
            s = summarize_values([float(r[key]) for r in seeds.values()])
            cells.append(f"{s['mean']:.3f} ± {s.get('sd', 0.0):.3f}")
        common = sorted(set(seeds) & set(base))
        if method == "source-only" or not common:
            delta = "—"
        else:
            t = paired_over_seeds([float(seeds[k]["balanced_accuracy"]) for k in common],
                                  [float(base[k]["balanced_accuracy"]) for k in common])
            delta = f"{t['difference']:+.3f}" + ("" if t["ci_low"] is None else f" [{t['ci_low']:+.3f}, {t['ci_high']:+.3f}]")
        sec = np.mean([float(r["seconds"]) for r in seeds.values()])
        lines.append(f"| {method} | {cells[0]} | {cells[1]} | {delta} | {sec:.1f} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", default=list(PAIRS), choices=list(PAIRS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds run: first-seed ... first-seed + seeds - 1")
    parser.add_argument("--append", action="store_true",
                        help="keep the rows already in <out>/<pair>.csv (those of other seeds or methods) and add these")
    parser.add_argument("--methods", nargs="*", default=["source-only", "dann", "cdan", "mmd", "coral"],
                        help=f"adaptkit rows, of: {list(KINDS)} and the names given by --extra")
    parser.add_argument("--extra", action="append", default=[], metavar="NAME=JSON",
                        help="another adaptkit row: a name and its loss section(s) as JSON, e.g. mcc='{\"kind\": \"mcc\"}'")
    parser.add_argument("--adapt-methods", nargs="*", default=ADAPT_METHODS, help=f"ADAPT rows, of: {ADAPT_METHODS}")
    parser.add_argument("--adapt-path", type=Path, default=None, help="folder holding adapt 0.4.5 (no ADAPT rows without it)")
    parser.add_argument("--epochs", type=int, default=10, help="passes over the source, every method")
    parser.add_argument("--units", type=int, default=256, help="the trainable encoder's Dense units (and the discriminators')")
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate, every method")
    parser.add_argument("--data", type=Path, default=ROOT / "data", help="the folder `make data` wrote")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/da_real")
    parser.add_argument("--quick", action="store_true",
                        help="digits only, 1 seed, source-only and dann, 2 epochs, no ADAPT (rows under <out>/quick)")
    parser.add_argument("--tables", action="store_true", help="run nothing: print the tables of the rows in <out>/<pair>.csv")
    args = parser.parse_args(argv)
    if args.tables:
        for pair in args.pairs:
            print("\n" + table(pair, old_rows(args.out / f"{pair}.csv"), args.epochs, args.out / pair) + "\n")
        return 0
    kinds = dict(KINDS)
    for item in args.extra:
        name, _, text = item.partition("=")
        section = json.loads(text)
        kinds[name] = section if isinstance(section, list) else [section]
        if name not in args.methods:
            args.methods.append(name)
    if args.quick:
        args.pairs, args.seeds, args.methods, args.epochs, args.adapt_path = ["digits"], 1, ["source-only", "dann"], 2, None
        args.out = args.out / "quick"  # never over the full run's rows
    unknown = [m for m in args.methods if m not in kinds]
    if unknown:
        parser.error(f"--methods: unknown {unknown}; known: {list(kinds)}")
    out = args.out.resolve()
    for pair in args.pairs:
        folder = features(pair, args.data.resolve(), out)
        seeds = list(range(args.first_seed, args.first_seed + args.seeds))
        rows = old_rows(out / f"{pair}.csv") if args.append else []
        adapt = None
        if args.adapt_path is not None and args.adapt_methods:
            adapt = start_adapt(folder, seeds, args.adapt_methods, args)
        with tempfile.TemporaryDirectory(prefix=f"da_real-{pair}-") as tmp:
            for seed in seeds:
                for method in args.methods:
                    started = time.perf_counter()
                    acc, bal, sec = run_adaptkit(kinds[method], folder, Path(tmp) / f"{method}-{seed}", seed, args)
                    rows.append(dict(pair=pair, method=method, seed=seed, accuracy=acc, balanced_accuracy=bal, seconds=sec))
                    print(f"{pair} seed {seed} {method:12s} acc {acc:.3f} balanced {bal:.3f} fit {sec:.1f}s "
                          f"(run {time.perf_counter() - started:.0f}s)", file=sys.stderr, flush=True)
        if adapt is not None:
            for r in adapt_rows(adapt):
                rows.append(dict(pair=pair, **r))
                print(f"{pair} seed {r['seed']} {r['method']:12s} acc {r['accuracy']:.3f} balanced "
                      f"{r['balanced_accuracy']:.3f} fit {r['seconds']:.1f}s", file=sys.stderr, flush=True)
        with open(out / f"{pair}.csv", "w", newline="") as fh:
            writer = csv.DictWriter(fh, FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        print("\n" + table(pair, rows, args.epochs, folder) + "\n", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
