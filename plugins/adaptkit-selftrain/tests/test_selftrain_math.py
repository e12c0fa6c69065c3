"""MCC, information maximisation and the label-shift estimators against numpy references of their papers' formulas."""

import numpy as np
import pytest
from keras import ops

from adaptkit_selftrain.objectives import bbse_prior, em_prior, im_loss, mcc_loss

EPS = 1e-5


def _softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def mcc_reference(logits, t):
    """Jin et al. 2020, eq. 1-6, as TLlib's MinimumClassConfusionLoss computes them."""
    y = _softmax(logits / t)
    h = -(y * np.log(y + EPS)).sum(1)
    w = 1 + np.exp(-h)
    w = len(y) * w / w.sum()
    c = (y * w[:, None]).T @ y
    c = c / c.sum(axis=0, keepdims=True)
    return (c.sum() - np.trace(c)) / y.shape[1]


def im_reference(p, div):
    """SHOT's IM loss: mean entropy minus the entropy of the mean prediction."""
    ent = (-(p * np.log(p + EPS)).sum(1)).mean()
    m = p.mean(0)
    return ent - div * (-(m * np.log(m + EPS)).sum())


@pytest.mark.parametrize("classes,t", [(3, 2.5), (10, 1.0), (2, 4.0)])
def test_mcc_equals_the_papers_formula(classes, t):
    logits = np.random.default_rng(classes).normal(0, 3, (32, classes))
    got = float(ops.convert_to_numpy(mcc_loss(_softmax(logits).astype("float32"), t)))
    assert got == pytest.approx(mcc_reference(logits, t), rel=1e-4, abs=1e-6)


def test_mcc_is_lower_for_confident_one_hot_predictions_than_for_confused_ones():
    sharp = np.eye(4, dtype="float32")[np.arange(32) % 4] * 0.97 + 0.01
    blurry = np.full((32, 4), 0.25, "float32")
    # uniform predictions confuse every pair of classes alike: (C - 1) / C
    assert float(ops.convert_to_numpy(mcc_loss(blurry))) == pytest.approx(0.75, abs=1e-6)
    assert float(ops.convert_to_numpy(mcc_loss(sharp))) < 0.55  # (T = 2.5 softens them: not near 0)
    assert float(ops.convert_to_numpy(mcc_loss(sharp, temperature=1.0))) < 0.07


@pytest.mark.parametrize("div", [1.0, 0.0, 0.3])
def test_information_maximization_equals_shots_loss(div):
    p = _softmax(np.random.default_rng(7).normal(0, 2, (40, 5)))
    got = float(ops.convert_to_numpy(im_loss(p.astype("float32"), div)))
    assert got == pytest.approx(im_reference(p, div), rel=1e-5, abs=1e-6)


def test_information_maximization_with_a_prior_pulls_the_mean_to_that_prior():
    p = _softmax(np.random.default_rng(8).normal(0, 2, (40, 3))).astype("float32")
    prior = np.array([0.7, 0.2, 0.1], "float32")
    m = p.mean(0)
    want = (-(p * np.log(p + EPS)).sum(1)).mean() + (m * (np.log(m + EPS) - np.log(prior + EPS))).sum()
    assert float(ops.convert_to_numpy(im_loss(p, 1.0, prior))) == pytest.approx(want, rel=1e-5)
    uniform = np.full(3, 1 / 3, "float32")  # uniform prior: SHOT's loss plus the constant log C
    assert float(ops.convert_to_numpy(im_loss(p, 1.0, uniform))) == pytest.approx(im_reference(p, 1.0) + np.log(3), abs=1e-4)


def _shifted_gaussians(q, n=20000, seed=0):
    """Three 1-d Gaussian classes (means -2, 0, 2) drawn with class prior q, and a fixed calibrated
    classifier's probabilities for a uniform source prior."""
    rng = np.random.default_rng(seed)
    y = rng.choice(3, n, p=q)
    x = rng.normal(np.array([-2.0, 0.0, 2.0])[y], 1.0)
    loglik = -0.5 * (x[:, None] - np.array([-2.0, 0.0, 2.0])[None]) ** 2
    return y, _softmax(loglik).astype("float32")


def test_bbse_recovers_a_known_target_prior():
    ys, ps = _shifted_gaussians([1 / 3, 1 / 3, 1 / 3], seed=1)
    confusion = (ps.T @ np.eye(3)[ys]) / len(ys)
    q_true = np.array([0.6, 0.3, 0.1])
    _, pt = _shifted_gaussians(q_true, seed=2)
    q = ops.convert_to_numpy(bbse_prior(confusion.astype("float32"), pt.mean(0), np.bincount(ys) / len(ys)))
    assert np.abs(q - q_true).sum() / 2 < 0.02  # total variation
    assert np.abs(pt.mean(0) - q_true).sum() / 2 > 0.05  # the raw mean prediction is off: the estimate did the work


def test_em_recovers_a_known_target_prior():
    q_true = np.array([0.15, 0.25, 0.6])
    _, pt = _shifted_gaussians(q_true, seed=3)
    source = np.full(3, 1 / 3, "float32")
    q = ops.convert_to_numpy(em_prior(pt, source, source, iterations=200))
    assert np.abs(q - q_true).sum() / 2 < 0.02


@pytest.mark.parametrize("estimator", ["bbse", "em"])
def test_the_running_estimate_finds_the_prior_from_a_few_small_batches(estimator):
    from adaptkit_selftrain.prior import PriorEstimate

    q_true = np.array([0.6, 0.3, 0.1])
    ys, ps = _shifted_gaussians([1 / 3, 1 / 3, 1 / 3], n=13 * 32, seed=4)
    _, pt = _shifted_gaussians(q_true, n=13 * 32, seed=5)
    estimate = PriorEstimate(3, estimator)
    for i in range(13):  # one epoch of 13 steps of 32, as a small real pair gives
        q = ops.convert_to_numpy(estimate.update(ys[32 * i : 32 * (i + 1)], ps[32 * i : 32 * (i + 1)], pt[32 * i : 32 * (i + 1)]))
    assert np.abs(q - q_true).sum() / 2 < 0.08, q
    assert float(ops.convert_to_numpy(estimate.count)) == 13
