"""The math of feature alignment, in ``keras.ops`` where the backend allows it.

- :func:`mmd`: multi-kernel Gaussian maximum mean discrepancy (DAN);
- :func:`coral`: Deep CORAL's covariance distance;
- :func:`gradient_penalty`: WGAN-GP's ``(||grad critic(interpolate)|| - 1)^2``
  (a gradient of a gradient: written per backend, TensorFlow and JAX);
- :func:`critic_network`: the Dense discriminator / critic (one output).

Features are flattened with ``adaptkit.flatten``; a player's optimizer comes from
``adaptkit.build_optimizer`` (both shared with the adversarial plugin).
"""

from __future__ import annotations

from typing import Optional, Sequence

import keras

import adaptkit
from adaptkit import flatten
from keras import ops

__all__ = [
    "mmd",
    "coral",
    "gradient_penalty",
    "critic_network",
    "bce_logits",
]


def _sq_distances(x):
    sq = ops.sum(x * x, axis=1)
    d = ops.expand_dims(sq, 1) + ops.expand_dims(sq, 0) - 2.0 * ops.matmul(x, ops.transpose(x))
    return ops.maximum(d, 0.0)


def mmd(source, target, kernels: int = 5, kernel_mul: float = 2.0, bandwidth: Optional[float] = None):
    """Squared MMD with a sum of ``kernels`` Gaussian kernels (biased estimate, as in DAN's reference code).

    Bandwidths ``b * kernel_mul ** (k - kernels // 2)``, ``k = 0..kernels-1``, around ``b`` = ``bandwidth``
    or, by default, the mean squared pairwise distance of the pooled batch (no gradient through it).
    """
    source, target = flatten(source), flatten(target)
    ns = ops.shape(source)[0]
    x = ops.concatenate([source, target], axis=0)
    d = _sq_distances(x)
    if bandwidth is None:
        n = ops.cast(ops.shape(x)[0], "float32")
        b = ops.stop_gradient(ops.sum(d) / ops.maximum(n * n - n, 1.0))
        b = ops.maximum(b, 1e-6)
    else:
        b = ops.convert_to_tensor(float(bandwidth), "float32")
    k = 0.0
    for i in range(kernels):
        k = k + ops.exp(-d / (b * kernel_mul ** (i - kernels // 2)))
    xx = ops.mean(k[:ns, :ns])
    yy = ops.mean(k[ns:, ns:])
    xy = ops.mean(k[:ns, ns:])
    return xx + yy - 2.0 * xy


def _covariance(x):
    n = ops.cast(ops.shape(x)[0], "float32")
    c = x - ops.mean(x, axis=0, keepdims=True)
    return ops.matmul(ops.transpose(c), c) / ops.maximum(n - 1.0, 1.0)


def coral(source, target):
    """Deep CORAL: ``||C_s - C_t||_F^2 / (4 d^2)`` with unbiased feature covariances.

    When the features are wider than the batch (a flattened conv map: d in the thousands, n = 64),
    the same value is computed from n x n Gram matrices, ``||C_s - C_t||^2 = ||X_s X_s^T||^2 / a^2
    + ||X_t X_t^T||^2 / b^2 - 2 ||X_s X_t^T||^2 / (a b)`` (X centred, a = n_s - 1, b = n_t - 1),
    in O(n^2 d) instead of O(d^2 n).
    """
    source, target = flatten(source), flatten(target)
    d = float(source.shape[-1])
    if d <= 256:
        diff = _covariance(source) - _covariance(target)
        return ops.sum(diff * diff) / (4.0 * d * d)
    xs = source - ops.mean(source, axis=0, keepdims=True)
    xt = target - ops.mean(target, axis=0, keepdims=True)
    a = ops.maximum(ops.cast(ops.shape(source)[0], "float32") - 1.0, 1.0)
    b = ops.maximum(ops.cast(ops.shape(target)[0], "float32") - 1.0, 1.0)

    def sq(u, v):
        g = ops.matmul(u, ops.transpose(v))
        return ops.sum(g * g)

    total = sq(xs, xs) / (a * a) + sq(xt, xt) / (b * b) - 2.0 * sq(xs, xt) / (a * b)
    return ops.maximum(total, 0.0) / (4.0 * d * d)


def gradient_penalty(critic, source, target, seed=None):
    """WGAN-GP: mean of ``(||d critic(h) / d h|| - 1)^2`` at random interpolates ``h`` of source and target."""
    source, target = flatten(source), flatten(target)
    n = ops.minimum(ops.shape(source)[0], ops.shape(target)[0])
    alpha = keras.random.uniform((n, 1), seed=seed)
    h = alpha * source[:n] + (1.0 - alpha) * target[:n]
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        with tf.GradientTape() as tape:
            tape.watch(h)
            out = critic(h, training=True)
        grad = tape.gradient(out, h)
    elif backend == "jax":
        import jax

        grad = jax.grad(lambda z: ops.sum(critic(z, training=True)))(h)
    else:  # pragma: no cover - torch would need torch.autograd.grad(create_graph=True)
        raise NotImplementedError(f"gradient_penalty is not written for the {backend} backend")
    norm = ops.sqrt(ops.sum(grad * grad, axis=1) + 1e-12)
    return ops.mean((norm - 1.0) ** 2)


def critic_network(
    input_dim: int,
    hidden: Sequence[int] = (256, 256),
    activation: str = "relu",
    dropout: float = 0.0,
    seed: Optional[int] = None,
    name: str = "critic",
) -> keras.Model:
    """Dense layers on a flat feature vector, then one output (a logit, or a critic score). Built."""
    return adaptkit.dense_network(input_dim, hidden, activation, dropout, seed, name, output_name="out")


def bce_logits(label: float, logits):
    """Mean binary cross-entropy of logits against a constant label."""
    y = ops.full_like(logits, label)
    return ops.mean(ops.binary_crossentropy(y, logits, from_logits=True))
