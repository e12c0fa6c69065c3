"""Training that diverges stops cleanly; early stopping says which epoch's weights were kept."""

from __future__ import annotations

import json

import numpy as np
from click.testing import CliRunner

from adaptkit.cli import main

DIVERGE = "{name: sgd, learning_rate: 1.0e+12}"


def _run(spec):
    return CliRunner().invoke(main, ["run", str(spec)])


def test_a_diverging_first_stage_stops_with_one_line_and_leaves_nothing(spec_file, tmp_path):
    spec = spec_file(f"training: {{verbose: 0, stages: [{{epochs: 3, optimizer: {DIVERGE}}}]}}")
    result = _run(spec)
    assert result.exit_code == 3, result.output
    lines = [l for l in result.output.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and lines[0].startswith("error: training.stages.0: diverged in epoch 1 (step ")
    assert "loss = nan" in lines[0] or "loss = inf" in lines[0]
    assert "lower the learning rate" in lines[0] and "Traceback" not in result.output
    runs = tmp_path / "runs"
    assert not list(runs.glob("*/model.keras")) and not list(runs.glob(".*.partial"))  # no NaN model, nothing half-written


def test_a_diverging_later_stage_keeps_the_last_good_stage_resumable(spec_file, tmp_path):
    spec = spec_file(
        f"""
        evaluation: {{baseline: false}}
        training:
          verbose: 0
          stages:
            - {{epochs: 1, optimizer: {{learning_rate: 0.01}}}}
            - {{epochs: 2, optimizer: {DIVERGE}}}
        """
    )
    result = _run(spec)
    assert result.exit_code == 3, result.output
    assert "error: training.stages.1: diverged in epoch 1" in result.output
    (partial,) = (tmp_path / "runs").glob(".*.partial")
    assert not (partial / "model.keras").exists()
    import h5py

    with h5py.File(partial / "checkpoints" / "stage0.weights.h5") as f:  # the last good stage, finite
        arrays = []
        f.visititems(lambda name, obj: arrays.append(obj[()]) if isinstance(obj, h5py.Dataset) else None)
    assert arrays and all(np.isfinite(a).all() for a in arrays)
    state = json.loads((partial / "checkpoints" / "state.json").read_text())
    assert state["completed"] == 1
    assert all(np.isfinite(v) for r in state["history"] for k, v in r.items() if "loss" in k)
    assert "--resume" in result.output


def test_a_diverged_baseline_gives_no_verdict(spec_file):
    spec = spec_file(f"evaluation: {{baseline: true, baseline_optimizer: {DIVERGE}}}")
    result = _run(spec)
    assert result.exit_code == 0, result.output
    assert "no verdict: the from-scratch baseline diverged in epoch 1" in " ".join(result.output.split())
    (run,) = [p for p in (spec.parent / "runs").iterdir() if not p.is_symlink()]
    metrics = json.loads((run / "metrics.json").read_text())
    assert "negative_transfer" not in metrics["transfer"] and "diverged" in metrics["transfer"]["no_verdict"]
    assert "diverged" in metrics["baseline"] and metrics["headline"]["value"] > 0.5  # the transfer run stands


def test_early_stopping_reports_the_epoch_whose_weights_were_kept(spec_file):
    spec = spec_file(
        """
        evaluation: {baseline: false}
        training:
          verbose: 0
          stages:
            - {epochs: 6, optimizer: {learning_rate: 0.01}, early_stopping: {patience: 6}}
        """
    )
    result = _run(spec)
    assert result.exit_code == 0, result.output
    (run,) = [p for p in (spec.parent / "runs").iterdir() if not p.is_symlink()]
    metrics = json.loads((run / "metrics.json").read_text())
    report = metrics["early_stopping"]["stage1"]
    assert report["monitor"] == "val_accuracy" and report["epochs_run"] == 6 and report["stopped_early"] is False
    assert report["restored_best_weights"] is True
    import csv

    with open(run / "history.csv") as fh:
        history = list(csv.DictReader(fh))
    best = max(range(len(history)), key=lambda i: float(history[i]["val_accuracy"]))
    assert report["best_epoch"] == best + 1
    assert abs(report["best"] - float(history[best]["val_accuracy"])) < 1e-6
