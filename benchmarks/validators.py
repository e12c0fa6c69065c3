"""Benchmark: how well label-free validators choose a checkpoint in domain adaptation on digits.

Two data sets: ``--data small`` (the default, minutes on 2 CPU cores): scikit-learn's 1,797 UCI
digits (8x8), one half as the labeled source, the other half rotated by ``--degrees`` as the
target, a small convnet (conv 16 - conv 32, 3x3, BatchNorm); or ``--data DIR`` with the files of
``pipelines/prepare_data.py digits DIR --box`` (MNIST -> UCI digits, pipelines/digits_dann.yaml's
conv 32 - conv 48, 5x5 network: about 100 s per epoch on a loaded 2-core machine). Both run
source-only and DANN (lambda ceiling 0.3, SGD 0.01 with momentum, annealed) for a few seeds, every
validator scoring every epoch on the unlabeled target stream. The target's labeled
held-out part (target_test, never trained on, never read by a validator) gives the true target
accuracy of each epoch. Per validator it reports:

- Spearman and Kendall rank correlation between the score (signed so that higher is better) and
  the true target accuracy, over every epoch of every run pooled ("checkpoints"), and the mean of
  the per-run correlations across epochs;
- the target accuracy of the epoch the validator picks, against the last epoch and the oracle
  (the epoch with the best true target accuracy), averaged over runs.

    .venv/bin/python benchmarks/validators.py --seeds 3 --epochs 10
    python pipelines/prepare_data.py digits data/digits_box --size 28 --box
    .venv/bin/python benchmarks/validators.py --data data/digits_box --seeds 2 --epochs 6

Writes the raw numbers (every epoch's scores and accuracies, and the summary) to
benchmarks/results/validators.json and prints a Markdown table.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
from scipy.stats import kendalltau, spearmanr

VALIDATORS = {"entropy": False, "im": True, "snd": True, "dev": False}
"""Validator kind -> higher is better (entropy and DEV's risk: lower is better)."""
SGD = {"name": "sgd", "learning_rate": 0.01, "momentum": 0.9}
ANNEAL = {"kind": "inverse_power", "alpha": 10, "beta": 0.75}
METHODS = {
    "source-only": [],
    "DANN": [{"kind": "dann", "weight": 0.3, "discriminator": {"hidden": [100]}}],
}


def write_small(folder: Path, degrees: float) -> Path:
    """scikit-learn's digits: a shuffled half as the source, the other half rotated as the target."""
    from scipy.ndimage import rotate
    from sklearn.datasets import load_digits

    d = load_digits()
    order = np.random.default_rng(0).permutation(len(d.target))
    src, tgt = order[: len(order) // 2], order[len(order) // 2 :]
    x = d.images.astype("float32")
    turned = np.clip(rotate(x[tgt], degrees, axes=(1, 2), reshape=False, order=1), 0, 16)
    np.savez(folder / "source.npz", x=x[src][..., None], y=d.target[src])
    np.savez(folder / "target.npz", x=turned[..., None].astype("float32"), y=d.target[tgt])
    return folder


def spec_for(method: str, data: Path, seed: int, epochs: int, sample: int, small: bool) -> dict:
    files = ("source.npz", "target.npz") if small else ("mnist.npz", "uci_digits.npz")
    source = {"kind": "convnet", "filters": [16, 32], "kernel_size": 3, "batch_norm": True, "scale": 1 / 16} if small else \
        {"kind": "convnet", "filters": [32, 48], "kernel_size": 5, "batch_norm": True}
    return {
        "name": f"validators-{method}-{seed}",
        "seed": seed,
        "split_seed": 0,  # one split: the seeds vary the training only
        "data": {
            "train": {"kind": "arrays", "path": str(data / files[0])},
            "target": {"kind": "arrays", "path": str(data / files[1])},
            "validation_split": 0.1,
            "test_split": 0.1,
            "target_test_split": 0.3,
            "batch_size": 64,
        },
        "source": source,
        "head": {"kind": "classifier", "pooling": "flatten", "hidden": [100, 100]},
        "training": {
            "verbose": 0,
            "batch_norm": "adapt",
            "steps_per_execution": 16,
            "backup": "off",
            "stages": [{"name": "train", "epochs": epochs, "optimizer": SGD, "schedule": ANNEAL, "losses": METHODS[method]}],
        },
        "evaluation": {"plots": False, "validator_sample": sample, "validators": [{"kind": k} for k in VALIDATORS]},
    }


def run_one(folder: Path, spec: dict) -> list[dict]:
    from adaptkit.testing import run_spec

    run = run_spec(folder, spec, name=spec["name"])
    with open(run.run_dir / "history.csv") as fh:
        return [{k: float(v) for k, v in row.items() if k == "target_accuracy" or k.startswith("score_")} for row in csv.DictReader(fh)]


def _signed(rows: list[dict], kind: str) -> np.ndarray:
    score = np.array([r[f"score_{kind}"] for r in rows])
    return score if VALIDATORS[kind] else -score


def summarize(runs: list[dict]) -> dict:
    out = {}
    pooled_acc = np.concatenate([[r["target_accuracy"] for r in run["epochs"]] for run in runs])
    for kind in VALIDATORS:
        pooled = np.concatenate([_signed(run["epochs"], kind) for run in runs])
        per_run_rho, picked, last, oracle = [], [], [], []
        for run in runs:
            acc = np.array([r["target_accuracy"] for r in run["epochs"]])
            score = _signed(run["epochs"], kind)
            per_run_rho.append(float(spearmanr(score, acc).statistic))
            picked.append(float(acc[int(np.argmax(score))]))
            last.append(float(acc[-1]))
            oracle.append(float(acc.max()))
        out[kind] = {
            "spearman_pooled": float(spearmanr(pooled, pooled_acc).statistic),
            "kendall_pooled": float(kendalltau(pooled, pooled_acc).statistic),
            "spearman_per_run_mean": float(np.nanmean(per_run_rho)),
            "picked_accuracy": float(np.mean(picked)),
            "last_accuracy": float(np.mean(last)),
            "oracle_accuracy": float(np.mean(oracle)),
        }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="small", help="'small' (scikit-learn digits, rotated target) or a --box digits folder")
    parser.add_argument("--degrees", type=float, default=35.0, help="rotation of the small target")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--sample", type=int, default=1000, help="evaluation.validator_sample")
    parser.add_argument("--methods", default="source-only,DANN")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "validators.json")
    args = parser.parse_args(argv)
    small = args.data == "small"
    if not small and not (Path(args.data) / "mnist.npz").exists():
        print(f"no {args.data}/mnist.npz: run python pipelines/prepare_data.py digits {args.data} --size 28 --box", file=sys.stderr)
        return 2
    runs = []
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        data = write_small(Path(tmp), args.degrees) if small else Path(args.data).resolve()
        for method in args.methods.split(","):
            for seed in range(args.seeds):
                t0 = time.perf_counter()
                epochs = run_one(Path(tmp), spec_for(method, data, seed, args.epochs, args.sample, small))
                runs.append({"method": method, "seed": seed, "epochs": epochs, "seconds": round(time.perf_counter() - t0, 1)})
                print(f"{method} seed {seed}: {runs[-1]['seconds']} s, target accuracy per epoch "
                      + " ".join(f"{r['target_accuracy']:.3f}" for r in epochs), flush=True)
    summary = summarize(runs)
    result = {
        "command": "benchmarks/validators.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "settings": {"data": args.data, "degrees": args.degrees if small else None, "seeds": args.seeds,
                     "epochs": args.epochs, "validator_sample": args.sample, "methods": args.methods},
        "wall_time_s": round(time.perf_counter() - started, 1),
        "summary": summary,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"\n{len(runs)} runs x {args.epochs} epochs ({result['wall_time_s']} s); raw numbers in {args.out}\n")
    print("| validator | Spearman (all checkpoints) | Kendall (all checkpoints) | Spearman per run (mean) "
          "| target acc. of its pick | last epoch | oracle epoch |")
    print("|---|---|---|---|---|---|---|")
    for kind, s in summary.items():
        print(f"| `{kind}` | {s['spearman_pooled']:.2f} | {s['kendall_pooled']:.2f} | {s['spearman_per_run_mean']:.2f} "
              f"| {s['picked_accuracy']:.3f} | {s['last_accuracy']:.3f} | {s['oracle_accuracy']:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
