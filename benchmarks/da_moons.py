"""Benchmark 1: domain adaptation on rotated two-moons, adaptkit vs. ADAPT 0.4.5.

Source: ``make_moons(1000, noise=0.1)``; target: an independent draw rotated by 30 degrees,
unlabeled during training and scored with its labels afterwards (transductive, as in ADAPT's
examples). Encoder Dense 32-32 relu, Adam 1e-3, batch 64, 200 epochs (an epoch = one pass over
the source), discriminators Dense 32 -> 1. adaptkit runs every method as a pipeline spec through
its runner; ADAPT's DANN uses lambda=1 and a Dense(1, sigmoid) task head.

Needs ``adapt==0.4.5`` (only for the ADAPT row) -- install it in a separate venv, not adaptkit's:

    python3.11 -m venv .venv-bench
    .venv-bench/bin/pip install -e . -e plugins/adaptkit-core -e plugins/adaptkit-adversarial \\
        -e plugins/adaptkit-gan adapt==0.4.5 tensorflow==2.21.0 scikit-learn
    .venv-bench/bin/python benchmarks/da_moons.py --seeds 5

Prints a Markdown table: target accuracy (mean +- sd over seeds) and wall time per fit.
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

ADAPTKIT_METHODS = {
    "source-only": [],
    "adaptkit DANN": [{"kind": "dann", "discriminator": {"hidden": [32]}}],
    "adaptkit ADDA": [{"kind": "adda", "discriminator": {"hidden": [32]}}],
    "adaptkit MMD": [{"kind": "mmd"}],
    "adaptkit CORAL": [{"kind": "coral"}],
}
ALL = list(ADAPTKIT_METHODS)[:2] + ["ADAPT DANN"] + list(ADAPTKIT_METHODS)[2:]


def moons(seed: int, n: int = 1000, degrees: float = 30.0):
    from sklearn.datasets import make_moons

    xs, ys = make_moons(n, noise=0.1, random_state=seed)
    xt, yt = make_moons(n, noise=0.1, random_state=seed + 1000)
    t = np.deg2rad(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return xs.astype("float32"), ys.astype("int64"), (xt @ rot.T).astype("float32"), yt.astype("int64")


def spec_for(name: str, folder: Path, seed: int, epochs: int, spe: int = 1, jit: bool = False, backup: str = "epoch") -> dict:
    losses = ADAPTKIT_METHODS[name]
    if name == "adaptkit ADDA":  # ADDA needs a trained source model: half the epochs each
        stages = [
            {"name": "source", "epochs": epochs // 2},
            {"name": "adda", "epochs": epochs - epochs // 2, "optimizer": {"learning_rate": 1e-4}, "losses": losses},
        ]
    else:
        stages = [{"epochs": epochs, "optimizer": {"learning_rate": 1e-3}, "losses": losses}]
    return {
        "name": "moons",
        "seed": seed,
        "data": {
            "train": {"kind": "arrays", "path": str(folder / "source.npz")},
            "test": {"kind": "arrays", "path": str(folder / "source.npz")},
            "target": {"kind": "arrays", "path": str(folder / "target.npz"), "labeled": False},
            "validation_split": 0.0,
            "batch_size": 64,
        },
        "source": {"kind": "mlp", "units": [32, 32]},
        "head": {"kind": "classifier", "pooling": "none"},
        "training": {"stages": stages, "verbose": 0, "steps_per_execution": spe, "jit_compile": jit, "backup": backup},
        "evaluation": {"plots": False},
    }


def run_adaptkit(name: str, seed: int, folder: Path, xt, yt, epochs: int, spe: int, jit: bool, backup: str) -> tuple:
    import adaptkit
    from adaptkit._runner import run_pipeline

    spec = adaptkit.load_spec(spec_for(name, folder, seed, epochs, spe, jit, backup))
    result = run_pipeline(spec, folder / "spec.yaml", output_dir=folder / "runs")
    with open(result.run_dir / "history.csv") as fh:
        fit_seconds = sum(float(row["seconds"]) for row in csv.DictReader(fh))
    model = adaptkit.load_model(result.run_dir / "model.keras")
    acc = float(np.mean(np.asarray(model.predict(xt, verbose=0)).argmax(-1) == yt))
    m = result.metrics["metrics"]
    pad = (m.get("domain/proxy_a_distance_before", float("nan")), m.get("domain/proxy_a_distance", float("nan")))
    return acc, fit_seconds, pad


def run_adapt_dann(seed: int, xs, ys, xt, yt, epochs: int) -> tuple[float, float]:
    import keras
    from adapt.feature_based import DANN

    keras.utils.set_random_seed(seed)
    encoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(32, activation="relu"),
                                keras.layers.Dense(32, activation="relu")])
    task = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1, activation="sigmoid")])
    disc = keras.Sequential([keras.Input((32,)), keras.layers.Dense(32, activation="relu"),
                             keras.layers.Dense(1, activation="sigmoid")])
    model = DANN(encoder, task, disc, Xt=xt, lambda_=1.0, optimizer=keras.optimizers.Adam(1e-3), loss="bce",
                 metrics=["acc"], random_state=seed)
    started = time.perf_counter()
    model.fit(xs, ys, epochs=epochs, batch_size=64, verbose=0)
    seconds = time.perf_counter() - started
    acc = float(np.mean((np.asarray(model.predict(xt, verbose=0)).reshape(-1) > 0.5) == yt))
    return acc, seconds, (float("nan"), float("nan"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--methods", nargs="*", default=ALL, help=f"subset of: {ALL}")
    parser.add_argument("--steps-per-execution", type=int, default=16,
                        help="adaptkit's training.steps_per_execution (16 = one call per epoch here)")
    parser.add_argument("--jit-compile", action=argparse.BooleanOptionalAction, default=False,
                        help="adaptkit's training.jit_compile (XLA)")
    parser.add_argument("--backup", default="off",
                        help="adaptkit's training.backup: 'epoch', a step count, or 'off' (default here: a "
                             "200-epoch fit of a tiny model spends about half its time saving per-epoch backups)")
    args = parser.parse_args(argv)
    backup = int(args.backup) if args.backup.isdigit() else args.backup
    results: dict[str, list[tuple]] = {m: [] for m in args.methods}
    with tempfile.TemporaryDirectory(prefix="da_moons-") as tmp:
        folder = Path(tmp)
        for seed in range(args.seeds):
            xs, ys, xt, yt = moons(seed)
            np.savez(folder / "source.npz", x=xs, y=ys)
            np.savez(folder / "target.npz", x=xt)
            for method in args.methods:
                if method == "ADAPT DANN":
                    acc, sec, pad = run_adapt_dann(seed, xs, ys, xt, yt, args.epochs)
                else:
                    acc, sec, pad = run_adaptkit(method, seed, folder, xt, yt, args.epochs,
                                                 args.steps_per_execution, args.jit_compile, backup)
                results[method].append((acc, sec, pad))
                print(f"seed {seed} {method:16s} target acc {acc:.3f}  fit {sec:.1f}s  "
                      f"proxy A-distance {pad[0]:.2f} -> {pad[1]:.2f}", file=sys.stderr, flush=True)
    print(f"\nRotated two-moons (30 deg), {args.seeds} seeds, {args.epochs} epochs, batch 64; adaptkit with "
          f"steps_per_execution={args.steps_per_execution}, jit_compile={args.jit_compile}"
          f", backup={backup}; ADAPT at its defaults\n")
    print("| method | target accuracy (mean ± sd) | wall time per fit (s) | proxy A-distance before → after |")
    print("|---|---|---|---|")
    for method, rows in results.items():
        accs, secs = [r[0] for r in rows], [r[1] for r in rows]
        sd = statistics.stdev(accs) if len(accs) > 1 else 0.0
        pads = [r[2] for r in rows]
        pad = "—" if all(np.isnan(p[1]) for p in pads) else (
            f"{np.nanmean([p[0] for p in pads]):.2f} → {np.nanmean([p[1] for p in pads]):.2f}")
        print(f"| {method} | {statistics.mean(accs):.3f} ± {sd:.3f} | {statistics.mean(secs):.1f} | {pad} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
