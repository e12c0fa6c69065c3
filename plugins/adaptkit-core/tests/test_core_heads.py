"""Regression through the whole pipeline: arrays with numeric targets, a regression head."""

from __future__ import annotations

import numpy as np

from adaptkit import load_spec
from adaptkit._runner import run_pipeline


def test_regression_pipeline(tmp_path):
    from sklearn.datasets import load_diabetes

    d = load_diabetes()
    np.savez(tmp_path / "diabetes.npz", x=d.data.astype("float32"), y=(d.target / 100).astype("float32"))
    spec = load_spec(
        {
            "name": "diabetes",
            "output_dir": str(tmp_path / "runs"),
            "data": {"train": {"kind": "arrays", "path": "diabetes.npz", "task": "regression"}, "batch_size": 32},
            "source": {"kind": "mlp", "units": [32]},
            "head": {"kind": "regression", "loss": "mse"},
            "training": {"verbose": 0, "stages": [{"epochs": 30, "optimizer": {"learning_rate": 0.01}}]},
        }
    )
    result = run_pipeline(spec, tmp_path / "spec.yaml")
    m = result.metrics["metrics"]
    assert result.metrics["headline"]["metric"] == "test/mae"
    y = d.target / 100
    baseline_mae = float(np.mean(np.abs(y - y.mean())))  # predicting the mean
    assert m["test/mae"] < 0.85 * baseline_mae
