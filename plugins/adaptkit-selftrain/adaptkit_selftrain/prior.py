"""The running estimate of the target's class prior that ``label_shift`` and ``information_maximization``
(``prior: estimated``) update at every training step.

A Keras layer holding non-trainable variables (checkpointed with the trainer): the source's
class prior, the source's soft confusion matrix, the target's mean prediction, and the
estimate ``q``. Each is the mean of the batches so far, becoming an exponential moving average once there are
``1 / (1 - momentum)`` of them.
"""

from __future__ import annotations

import keras
from keras import ops

from .objectives import bbse_prior, em_prior

__all__ = ["PriorEstimate"]


@keras.saving.register_keras_serializable(package="adaptkit_selftrain")
class PriorEstimate(keras.layers.Layer):
    """``update(labels, source_probs, target_probs)`` -> the current target prior estimate ``(C,)``."""

    def __init__(self, classes: int, estimator: str = "bbse", momentum: float = 0.99, max_weight: float = 10.0, **kwargs):
        super().__init__(**kwargs)
        self.classes, self.estimator, self.momentum, self.max_weight = int(classes), estimator, float(momentum), float(max_weight)
        c = self.classes
        uniform = keras.initializers.Constant(1.0 / c)
        self.source_prior = self.add_weight(name="source_prior", shape=(c,), initializer=uniform, trainable=False)
        self.target_mean = self.add_weight(name="target_mean", shape=(c,), initializer=uniform, trainable=False)
        self.confusion = self.add_weight(name="confusion", shape=(c, c), initializer=keras.initializers.Constant(1.0 / c**2), trainable=False)
        self.prior = self.add_weight(name="prior", shape=(c,), initializer=uniform, trainable=False)
        self.count = self.add_weight(name="count", shape=(), initializer="zeros", trainable=False)

    def _average(self, variable, value):
        # the plain mean of the batches so far until there are 1 / (1 - momentum) of them, then an
        # exponential average: early estimates are not stuck near the first batch's
        m = ops.minimum(self.momentum, self.count / (self.count + 1.0))
        variable.assign(m * variable + (1.0 - m) * value)

    def update(self, labels, source_probs, target_probs):
        ps = ops.stop_gradient(ops.cast(source_probs, "float32"))
        pt = ops.stop_gradient(ops.cast(target_probs, "float32"))
        onehot = ops.one_hot(ops.reshape(ops.cast(labels, "int32"), (-1,)), self.classes)
        n = ops.cast(ops.shape(ps)[0], "float32")
        self._average(self.source_prior, ops.mean(onehot, axis=0))
        self._average(self.confusion, ops.matmul(ops.transpose(ps), onehot) / n)
        self._average(self.target_mean, ops.mean(pt, axis=0))
        if self.estimator == "bbse":
            # from averages already: the estimate itself is not averaged again
            self.prior.assign(bbse_prior(self.confusion, self.target_mean, self.source_prior, self.max_weight))
        else:
            start = ops.where(self.count > 0, self.prior, self.source_prior)
            self._average(self.prior, em_prior(pt, self.source_prior, start))
        self.count.assign_add(1.0)
        return ops.convert_to_tensor(self.prior)

    def weights_per_class(self):
        """``w(y) = q(y) / p(y)``, clipped to ``[0, max_weight]``."""
        return ops.clip(self.prior / ops.maximum(self.source_prior, 1e-5), 0.0, self.max_weight)

    def call(self, inputs):  # not used in a graph; the trainer calls update()
        return inputs

    def get_config(self):
        return {**super().get_config(), "classes": self.classes, "estimator": self.estimator,
                "momentum": self.momentum, "max_weight": self.max_weight}
