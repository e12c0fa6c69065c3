"""The formulas of the self-training plugin, in ``keras.ops`` (backend-agnostic): MCC, information
maximisation, and the two label-shift estimators (BBSE's weights, Saerens' EM).

Each takes class probabilities ``(N, C)`` (rows summing to 1) and returns tensors; nothing here
holds state (the running averages live in :class:`adaptkit_selftrain.prior.PriorEstimate`).
"""

from __future__ import annotations

from keras import ops

from adaptkit import tempered

__all__ = ["EPSILON", "entropy", "mcc_loss", "im_loss", "bbse_prior", "em_prior"]

EPSILON = 1e-5
"""Inside the logarithms of the entropies, as in TLlib's and SHOT's code."""


def entropy(probs):
    """Each row's entropy ``-sum p log(p + eps)`` -> ``(N,)``."""
    return -ops.sum(probs * ops.log(probs + EPSILON), axis=-1)


def mcc_loss(probs, temperature: float = 2.5):
    """Minimum class confusion (Jin et al. 2020, eq. 1-6).

    ``Y = softmax(logits / T)``; each example weighs ``W = N (1 + exp(-H(Y))) / sum(...)`` (no
    gradient); the class confusion ``C = Y^T diag(W) Y`` is normalised column-wise, and the loss is
    its off-diagonal mass divided by the number of classes.
    """
    y = tempered(ops.cast(probs, "float32"), temperature)
    n = ops.cast(ops.shape(y)[0], "float32")
    classes = int(y.shape[-1])
    w = 1.0 + ops.exp(-ops.stop_gradient(entropy(y)))
    w = n * w / ops.sum(w)
    confusion = ops.matmul(ops.transpose(y * ops.expand_dims(w, 1)), y)
    confusion = confusion / ops.sum(confusion, axis=0, keepdims=True)
    return (ops.sum(confusion) - ops.trace(confusion)) / classes


def im_loss(probs, diversity: float = 1.0, prior=None):
    """Information maximisation (SHOT, Liang et al. 2020): ``mean H(p) - diversity * H(mean p)``.

    With ``prior`` (a class distribution ``(C,)``), the diversity term is ``-KL(mean p || prior)``
    instead of the entropy (equal, up to the constant ``log C``, for a uniform prior).
    """
    p = ops.cast(probs, "float32")
    mean = ops.mean(p, axis=0)
    spread = -ops.sum(mean * ops.log(mean + EPSILON))
    if prior is not None:
        spread = -ops.sum(mean * (ops.log(mean + EPSILON) - ops.log(ops.stop_gradient(prior) + EPSILON)))
    return ops.mean(entropy(p)) - diversity * spread


def bbse_prior(confusion, target_mean, source_prior, max_weight: float = 10.0):
    """BBSE (Lipton et al. 2018): target prior ``q = w * p`` with ``w`` solving ``C w = mu`` by least squares.

    ``confusion[i, j]`` is the source's joint probability of predicting ``i`` with true class ``j``;
    ``target_mean`` the target's mean prediction ``mu``; ``w`` is clipped to ``[0, max_weight]`` and
    ``q`` renormalised. Returns ``q``.
    """
    c = ops.cast(confusion, "float32")
    classes = int(c.shape[-1])
    gram = ops.matmul(ops.transpose(c), c) + 1e-6 * ops.eye(classes)
    rhs = ops.matmul(ops.transpose(c), ops.expand_dims(ops.cast(target_mean, "float32"), 1))
    w = ops.clip(ops.squeeze(ops.solve(gram, rhs), 1), 0.0, max_weight)
    q = w * source_prior
    return q / ops.maximum(ops.sum(q), EPSILON)


def em_prior(probs, source_prior, start, iterations: int = 10):
    """Saerens et al. (2002): the target prior that, re-weighting the predictions by ``q / p``, equals
    their mean. ``start`` is the first guess; ``iterations`` EM steps on ``probs``. Returns ``q``."""
    p = ops.cast(probs, "float32")
    q = ops.cast(start, "float32")
    ratio_base = ops.maximum(ops.cast(source_prior, "float32"), EPSILON)
    for _ in range(iterations):
        adjusted = p * (q / ratio_base)
        adjusted = adjusted / ops.maximum(ops.sum(adjusted, axis=1, keepdims=True), EPSILON)
        q = ops.mean(adjusted, axis=0)
    return q
