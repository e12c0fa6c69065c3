"""Runs small specs with and without a tf.distribute strategy in one process; prints their results as JSON.

Used by tests/test_distribution.py in a fresh subprocess (TensorFlow sets its
devices up once per process: ``ADAPTKIT_LOGICAL_CPUS=2`` must be read before).
``python tests/distributed_runs.py OUT_DIR DATA_NPZ TARGET_NPZ LABELS_NPZ KIND [NAME ...]``
runs every named spec (all by default) once without a strategy and once under
``KIND``; each result: headline, test metrics and the last history row.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import yaml


def specs(out: Path, data: str, target: str, labels: str) -> dict[str, dict]:
    """Full-batch specs: one step per epoch on the whole split, so the gradient cannot depend on the
    order a shuffle hands the examples over in (the runs see the same order anyway: adaptkit builds
    the model from the data's spec, not from a peeked batch), and one device and several replicas
    must agree to float precision: what is compared is the scaling of losses and gradients."""
    base = {
        "seed": 3,
        "output_dir": str(out),
        "data": {"train": {"kind": "arrays", "path": data, "scale": 0.0625}, "batch_size": 2048},
        "source": {"kind": "mlp", "units": [32, 16]},
        "head": {"kind": "classifier"},
        "evaluation": {"plots": False},
    }
    adam = {"learning_rate": 0.01}
    target = {"kind": "arrays", "path": target, "scale": 0.0625}
    return {
        "plain": {**base, "training": {"verbose": 0, "backup": "off", "stages": [{"epochs": 6, "optimizer": adam}]}},
        "finetune": {  # the head alone, then discriminative rates with gradual unfreezing
            **base,
            "training": {"verbose": 0, "stages": [
                {"epochs": 3, "optimizer": adam, "surgery": [{"kind": "freeze"}]},
                {"epochs": 4, "optimizer": adam, "discriminative": {"factor": 2.0}, "gradual_unfreezing": {"start": 1}},
            ]},
        },
        "dann": {
            **base,
            "data": {**base["data"], "target": target},
            "training": {"verbose": 0, "stages": [{"epochs": 6, "optimizer": adam, "losses": [{"kind": "dann", "weight": 0.3}]}]},
        },
        "wdgrl": {  # a critic with its own optimizer, 3 steps per step, and a random gradient penalty
            **base,
            "data": {**base["data"], "target": target},
            "training": {"verbose": 0, "stages": [{"epochs": 5, "optimizer": adam, "losses": [{"kind": "wdgrl", "steps": 3, "critic": {"hidden": [16]}}]}]},
        },
        "multitask": {
            **{k: v for k, v in base.items() if k != "head"},
            "data": {**base["data"], "train": {"kind": "arrays", "path": labels, "scale": 0.0625,
                                                 "labels": [{"key": "digit"}, {"key": "parity"}]}},
            "tasks": [{"name": "digit", "head": {"kind": "classifier"}}, {"name": "parity", "head": {"kind": "classifier"}}],
            "training": {"verbose": 0, "task_weighting": {"kind": "gradnorm"}, "stages": [{"epochs": 6, "optimizer": adam}]},
        },
    }


def run(path: Path, overrides: list[str]) -> dict:
    from adaptkit import load_spec_file
    from adaptkit._runner import run_pipeline

    result = run_pipeline(load_spec_file(path, overrides), path)
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    return {"headline": result.headline[1], "metrics": result.metrics["metrics"], "last": rows[-1],
            "distribution": result.metrics.get("distribution"), "run_dir": str(result.run_dir)}


def main(out: str, data: str, target: str, labels: str, kind: str, *names: str) -> None:
    from adaptkit._distribution import split_cpu

    split_cpu()  # before the first run sets TensorFlow's devices up
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    results = {}
    for name, spec in specs(folder / "runs", data, target, labels).items():
        if names and name not in names:
            continue
        path = folder / f"{name}.yaml"
        path.write_text(yaml.safe_dump({"name": name, **spec}))
        results[name] = {k: run(path, [f"training.distribution={k}"]) for k in ("default", kind)}
    if "finetune" in results:  # interrupted in stage 2 under the strategy, then `--resume`d
        results["finetune"]["resumed"] = interrupted_and_resumed(folder / "finetune.yaml", [f"training.distribution={kind}"])
    print("RESULTS " + json.dumps(results))


def interrupted_and_resumed(path: Path, overrides: list[str]) -> dict:
    from adaptkit import load_spec_file
    from adaptkit._history import EpochLog
    from adaptkit._runner import run_pipeline

    original = EpochLog.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        if self.stage_index == 2 and epoch + 1 == 2:
            raise KeyboardInterrupt

    EpochLog.on_epoch_end = on_epoch_end
    try:
        run_pipeline(load_spec_file(path, overrides), path)
    except KeyboardInterrupt:
        pass
    finally:
        EpochLog.on_epoch_end = original
    result = run_pipeline(load_spec_file(path, overrides), path, resume=True)
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    return {"metrics": result.metrics["metrics"], "last": rows[-1], "epochs": [(r["stage"], r["stage_epoch"]) for r in rows],
            "log": (result.run_dir / "run.log").read_text()}


if __name__ == "__main__":
    main(*sys.argv[1:])
