"""The task-weighting strategies' numbers, checked against their papers' formulas on small real tensors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adaptkit import RunContext
from adaptkit_multitask import sections as S


def ctx():
    return RunContext(seed=0, spec_dir=Path("."), where="training.task_weighting")


def as_grads(vectors: dict[str, list[float]]):
    """One shared variable of shape (len,) per task vector (split in two variables to test unstacking)."""
    import tensorflow as tf

    return {k: [tf.constant(v[:1], "float32"), tf.constant(v[1:], "float32")] for k, v in vectors.items()}


def flat(grads) -> np.ndarray:
    return np.concatenate([np.asarray(g).reshape(-1) for g in grads])


def test_pcgrad_projects_conflicting_gradients_and_leaves_agreeing_ones():
    from adaptkit_multitask.gradients import PCGrad

    pc = PCGrad(S.PCGrad(kind="pcgrad"), {"a": 1.0, "b": 1.0}, ctx())
    g1, g2 = np.array([1.0, 0.0, 1.0]), np.array([-1.0, 1.0, 0.0])  # dot = -1: they conflict
    out = flat(pc.gradients(as_grads({"a": list(g1), "b": list(g2)}), {}))
    p1 = g1 - (g1 @ g2) / (g2 @ g2) * g2
    p2 = g2 - (g2 @ g1) / (g1 @ g1) * g1
    np.testing.assert_allclose(out, p1 + p2, rtol=1e-6)
    assert not np.allclose(out, g1 + g2)  # the projection changed the shared update
    assert p1 @ g2 == pytest.approx(0.0) and p2 @ g1 == pytest.approx(0.0)
    h1, h2 = np.array([1.0, 0.5, 0.0]), np.array([0.5, 1.0, 0.2])  # dot > 0: untouched
    np.testing.assert_allclose(flat(pc.gradients(as_grads({"a": list(h1), "b": list(h2)}), {})), h1 + h2, rtol=1e-6)


def test_pcgrad_with_three_tasks_projects_each_off_every_conflicting_one():
    from adaptkit_multitask.gradients import PCGrad

    pc = PCGrad(S.PCGrad(kind="pcgrad"), {"a": 1.0, "b": 1.0, "c": 1.0}, ctx())
    g = {"a": [1.0, 0.0, 0.0], "b": [-1.0, 1.0, 0.0], "c": [-1.0, -1.0, 1.0]}
    out = flat(pc.gradients(as_grads(g), {}))
    # whatever the random order, each projected gradient no longer conflicts with the last one it met,
    # and the sum differs from the plain sum
    assert not np.allclose(out, np.sum([np.array(v) for v in g.values()], 0))
    assert np.all(np.isfinite(out))


def test_mgda_finds_the_minimum_norm_point_of_two_gradients():
    import tensorflow as tf

    from adaptkit_multitask.gradients import MGDA

    mgda = MGDA(S.MGDA(kind="mgda"), {"a": 1.0, "b": 1.0}, ctx())
    g1, g2 = np.array([2.0, 0.0, 0.0]), np.array([0.0, 1.0, 0.0])
    out = flat(mgda.gradients(as_grads({"a": list(g1), "b": list(g2)}), {"a": tf.constant(1.0), "b": tf.constant(1.0)}))
    gamma = ((g2 - g1) @ g2) / ((g1 - g2) @ (g1 - g2))  # closed form for two vectors
    np.testing.assert_allclose(out, gamma * g1 + (1 - gamma) * g2, atol=1e-5)
    assert float(mgda.alpha["a"].numpy()) == pytest.approx(gamma, abs=1e-5)
    # a common descent direction: positive inner product with each task gradient
    assert out @ g1 > 0 and out @ g2 > 0


def test_gradnorm_raises_the_weight_of_the_task_with_the_smaller_gradient_and_keeps_the_sum():
    import tensorflow as tf

    from adaptkit_multitask.gradients import GradNorm

    gn = GradNorm(S.GradNorm(kind="gradnorm"), {"a": 1.0, "b": 1.0}, ctx())
    grads = as_grads({"a": [4.0, 0.0, 0.0], "b": [0.0, 1.0, 0.0]})
    losses = {"a": tf.constant(1.0), "b": tf.constant(1.0)}
    out = flat(gn.gradients(grads, losses))
    np.testing.assert_allclose(out, [4.0, 1.0, 0.0], rtol=1e-6)  # first step: weights 1
    w = gn.w.numpy()
    assert w[1] > w[0] and w.sum() == pytest.approx(2.0)
    for _ in range(200):
        gn.gradients(grads, losses)
    w = gn.w.numpy()
    # the weighted norms balance (sign-gradient steps oscillate around the balance point): 4 vs 1 at the start
    assert abs(w[0] * 4.0 - w[1]) < 0.5


def test_uncertainty_weighting_loss_and_its_learnt_log_variances():
    import keras

    from adaptkit_multitask.losses import Uncertainty

    u = Uncertainty(S.Uncertainty(kind="uncertainty", initial_log_variance=0.5), {"a": 1.0, "b": 1.0}, ctx())
    loss = float(u.loss({"a": keras.ops.convert_to_tensor(2.0), "b": keras.ops.convert_to_tensor(0.5)}, 0.0))
    assert loss == pytest.approx(2.0 / (2 * np.exp(0.5)) + 0.25 + 0.5 / (2 * np.exp(0.5)) + 0.25)
    assert len(u.variables()) == 2 and all(v.trainable for v in u.variables())


def test_dwa_weights_follow_the_softmax_of_loss_ratios():
    from adaptkit_multitask.losses import DWA

    dwa = DWA(S.DWA(kind="dwa", temperature=2.0), {"a": 1.0, "b": 1.0}, ctx())
    assert dwa.update({"a_loss": 1.0, "b_loss": 1.0}) == {"a": 1.0, "b": 1.0}
    new = dwa.update({"a_loss": 0.5, "b_loss": 0.9})  # a fell faster: b gets more weight
    ea, eb = np.exp(0.5 / 2), np.exp(0.9 / 2)
    assert new["a"] == pytest.approx(2 * ea / (ea + eb)) and new["b"] == pytest.approx(2 * eb / (ea + eb))
    assert float(dwa.current["b"].numpy()) == pytest.approx(new["b"])


def test_static_weights_must_name_every_task():
    from adaptkit import SpecError
    from adaptkit_multitask.losses import Static

    with pytest.raises(SpecError, match=r"^training.task_weighting.weights.c: no task 'c'"):
        Static(S.Static(kind="static", weights={"a": 1.0, "c": 2.0}), {"a": 1.0, "b": 1.0}, ctx())
    with pytest.raises(SpecError, match=r"^training.task_weighting.weights: no weight for task 'b'"):
        Static(S.Static(kind="static", weights={"a": 1.0}), {"a": 1.0, "b": 1.0}, ctx())
