"""The math of adversarial adaptation, in ``keras.ops`` (backend-agnostic).

- :func:`reverse_gradient` / :class:`GradientReversal`: identity forward,
  gradient multiplied by ``-scale`` backward (built from ``stop_gradient``);
- :func:`domain_classifier`: the Dense domain-classifier head (one logit);
- :func:`multilinear_map` / :class:`RandomizedMultilinearMap`: CDAN's
  conditioning of features on class predictions;
- :func:`entropy_weights`, :func:`domain_loss`, :func:`domain_accuracy`.

The lambda schedule (``adaptkit.ganin_lambda``, ``adaptkit.progress_weight``) and the
flattening of features (``adaptkit.flatten``) come from the host, shared with the gan plugin.
"""

from __future__ import annotations

import math
from typing import Optional, Sequence

import keras

import adaptkit
from keras import ops

__all__ = [
    "reverse_gradient",
    "GradientReversal",
    "domain_classifier",
    "multilinear_map",
    "RandomizedMultilinearMap",
    "entropy_weights",
    "domain_loss",
    "domain_accuracy",
    "margin_disparity",
]


def reverse_gradient(x, scale=1.0):
    """``x`` unchanged forward; backward, the gradient times ``-scale``.

    ``sg(x) + (-scale) * (x - sg(x))``: the second term is exactly zero forward,
    and only it carries a gradient. ``scale`` may be a scalar tensor (a schedule).
    """
    x = ops.convert_to_tensor(x)
    scale = ops.cast(scale, x.dtype)
    frozen = ops.stop_gradient(x)
    return frozen + (-scale) * (x - frozen)


@keras.saving.register_keras_serializable(package="adaptkit_adversarial")
class GradientReversal(keras.layers.Layer):
    """Gradient reversal layer (Ganin & Lempitsky 2015): identity forward, ``-scale`` x gradient backward.

    ``scale`` is the layer's default coefficient; a call may pass another one
    (a scalar tensor following a schedule): ``grl(x, scale=lam)``.
    """

    def __init__(self, scale: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.scale = float(scale)

    def call(self, inputs, scale=None):
        return reverse_gradient(inputs, self.scale if scale is None else scale)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "scale": self.scale}


def domain_classifier(
    input_dim: int,
    hidden: Sequence[int] = (256, 256),
    activation: str = "relu",
    dropout: float = 0.0,
    seed: Optional[int] = None,
    name: str = "domain_classifier",
) -> keras.Model:
    """Dense layers on a flat feature vector, then one logit (domain: 1 = source, 0 = target). Built."""
    return adaptkit.dense_network(input_dim, hidden, activation, dropout, seed, name, output_name="logit")


def multilinear_map(features, probs):
    """CDAN's map: the flattened outer product ``f ⊗ g`` -> ``(N, d_f * C)``."""
    outer = ops.expand_dims(probs, 2) * ops.expand_dims(features, 1)  # (N, C, d_f)
    return ops.reshape(outer, (-1, int(probs.shape[-1]) * int(features.shape[-1])))


@keras.saving.register_keras_serializable(package="adaptkit_adversarial")
class RandomizedMultilinearMap(keras.layers.Layer):
    """CDAN's randomized multilinear map ``(R_f f) ⊙ (R_g g) / sqrt(d)`` with fixed Gaussian ``R_f, R_g``.

    Its expectation of inner products equals the full map's (Long et al. 2018, sec. 3.1).
    The projections are non-trainable weights, so checkpoints keep them.
    """

    def __init__(self, output_dim: int = 1024, seed: Optional[int] = None, **kwargs):
        super().__init__(**kwargs)
        self.output_dim = int(output_dim)
        self.seed = seed

    def build(self, input_shape):
        f_shape, g_shape = input_shape
        s = self.seed
        self.r_f = self.add_weight(
            name="r_f", shape=(int(f_shape[-1]), self.output_dim), trainable=False,
            initializer=keras.initializers.RandomNormal(stddev=1.0, seed=s),
        )
        self.r_g = self.add_weight(
            name="r_g", shape=(int(g_shape[-1]), self.output_dim), trainable=False,
            initializer=keras.initializers.RandomNormal(stddev=1.0, seed=None if s is None else s + 1),
        )

    def call(self, inputs):
        features, probs = inputs
        return ops.matmul(features, self.r_f) * ops.matmul(probs, self.r_g) / math.sqrt(self.output_dim)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.output_dim)

    def get_config(self):
        return {**super().get_config(), "output_dim": self.output_dim, "seed": self.seed}


def entropy_weights(probs):
    """CDAN+E's example weights ``1 + exp(-H(g))`` (no gradient flows through them)."""
    p = ops.stop_gradient(probs)
    h = -ops.sum(p * ops.log(ops.clip(p, 1e-7, 1.0)), axis=-1)
    return 1.0 + ops.exp(-h)


def domain_loss(logits_source, logits_target, weights_source=None, weights_target=None):
    """Binary cross-entropy of the domain classifier (source = 1, target = 0).

    Unweighted: the mean over the pooled batch. Weighted (CDAN+E): each domain's
    weights are normalised to sum to 1, and the two domains count half each.
    """
    bce_s = ops.binary_crossentropy(ops.ones_like(logits_source), logits_source, from_logits=True)[:, 0]
    bce_t = ops.binary_crossentropy(ops.zeros_like(logits_target), logits_target, from_logits=True)[:, 0]
    if weights_source is None:
        return ops.mean(ops.concatenate([bce_s, bce_t], axis=0))
    ws = weights_source / ops.sum(weights_source)
    wt = weights_target / ops.sum(weights_target)
    return 0.5 * (ops.sum(ws * bce_s) + ops.sum(wt * bce_t))


def domain_accuracy(logits_source, logits_target):
    """Fraction of the pooled batch whose domain the classifier gets right."""
    right = ops.concatenate(
        [ops.cast(logits_source[:, 0] > 0, "float32"), ops.cast(logits_target[:, 0] <= 0, "float32")], axis=0
    )
    return ops.mean(right)


def margin_disparity(probs_source, adv_logits_source, probs_target, adv_logits_target, margin: float = 4.0):
    """MDD's estimate (Zhang et al. 2019, as TLlib computes it): ``-margin * CE(h'(x_s), argmax h(x_s))
    + mean log(1 - softmax(h'(x_t))[argmax h(x_t)])``. The adversary maximises it, the features minimise it."""
    ys = ops.argmax(ops.stop_gradient(probs_source), axis=-1)
    yt = ops.argmax(ops.stop_gradient(probs_target), axis=-1)
    source = ops.mean(ops.sparse_categorical_crossentropy(ys, adv_logits_source, from_logits=True))
    pt = ops.softmax(adv_logits_target, axis=-1)
    agree_t = ops.take_along_axis(pt, ops.expand_dims(yt, 1), axis=1)[:, 0]
    target = ops.mean(ops.log(ops.minimum(1.0 - agree_t + 1e-6, 1.0)))
    return -margin * source + target
