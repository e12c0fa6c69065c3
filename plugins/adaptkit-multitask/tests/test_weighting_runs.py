"""Every weighting strategy trains a real multi-task model through ``adaptkit run``; PCGrad changes the trunk's update."""

from __future__ import annotations

import numpy as np
import pytest

from adaptkit.testing import run_spec

KINDS = ["equal", "static", "uncertainty", "dwa", "gradnorm", "pcgrad", "mgda"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    from sklearn.datasets import load_digits

    d = load_digits()
    path = tmp_path_factory.mktemp("mtw") / "digits.npz"
    np.savez(path, x=d.images.reshape(len(d.images), -1).astype("float32") / 16, digit=d.target, parity=d.target % 2)
    return path


def spec(npz, weighting):
    return {
        "seed": 0,
        "data": {"train": {"kind": "arrays", "path": str(npz), "labels": [{"key": "digit"}, {"key": "parity"}]}, "batch_size": 64},
        "source": {"kind": "mlp", "units": [32]},
        "tasks": [{"name": "digit", "head": {"kind": "classifier", "pooling": "none"}},
                  {"name": "parity", "head": {"kind": "classifier", "pooling": "none"}}],
        "training": {"verbose": 0, "task_weighting": weighting, "stages": [{"epochs": 3, "optimizer": {"learning_rate": 0.01}}]},
        "evaluation": {"plots": False},
    }


@pytest.mark.parametrize("kind", KINDS)
def test_each_strategy_learns_both_tasks(tmp_path, digits, kind):
    weighting = {"kind": kind, **({"weights": {"digit": 1.0, "parity": 0.5}} if kind == "static" else {})}
    run = run_spec(tmp_path, spec(digits, weighting), name=kind)
    assert run.metrics["test/digit/accuracy"] > 0.5, run.metrics
    assert run.metrics["test/parity/accuracy"] > 0.7, run.metrics


def test_pcgrad_changes_the_shared_update_of_a_real_trainer_step(tmp_path, digits):
    """One SGD step: the trunk moves by -lr * PCGrad(g_digit, g_parity), the heads by their own gradients."""
    import keras
    import tensorflow as tf

    from adaptkit import get_host, load_spec
    from adaptkit._runner import configure_determinism, start_run
    from adaptkit._stages import plan_stage
    from adaptkit._types import RunContext

    data = spec(digits, {"kind": "pcgrad"})
    data["name"] = "step"
    data["training"]["stages"] = [{"epochs": 1, "optimizer": {"name": "sgd", "learning_rate": 0.1}}]
    s = load_spec(data)
    configure_determinism(0)
    run = start_run(s, get_host(), RunContext(seed=0, spec_dir=tmp_path))
    plan = plan_stage(run, 0)
    x, y = next(iter(run.splits.sets["train"].batch(64)))
    enc, net = run.parts.encoder, run.parts.model
    shared = list(enc.trainable_variables)
    before = [np.array(v) for v in shared]
    with tf.GradientTape(persistent=True) as tape:
        out = net(x, training=True)
        losses = {t: keras.losses.SparseCategoricalCrossentropy()(y[t], out[t]) for t in ("digit", "parity")}
    g = {t: np.concatenate([np.asarray(gr).reshape(-1) for gr in tape.gradient(losses[t], shared)]) for t in losses}
    a, b = g["digit"], g["parity"]
    assert a @ b < 0  # at this seed the two tasks' trunk gradients conflict: the case PCGrad is for
    pa = a - min(0.0, a @ b) / (b @ b) * b
    pb = b - min(0.0, a @ b) / (a @ a) * a
    plan.model.train_on_batch(x, y)
    moved = np.concatenate([(np.array(v) - w0).reshape(-1) for v, w0 in zip(shared, before)])
    np.testing.assert_allclose(moved, -0.1 * (pa + pb), rtol=2e-3, atol=1e-6)
    assert not np.allclose(moved, -0.1 * (a + b), rtol=1e-3, atol=1e-7)  # not the plain sum
