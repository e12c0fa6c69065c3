"""AdaBN (Li et al. 2016) as a loss composition without terms: the saved model's BatchNormalization
layers are normalised by the target's statistics, gathered while the stage trains.

A copy of the encoder shares every layer with it except its BatchNormalization layers, each replaced
by a :class:`TargetStatistics` layer. At every step the copy runs on the target batch: each such
layer normalises with the batch's own mean and variance (so the layers above see target-normalised
inputs, as AdaBN computes them layer by layer) and adds them to its running sums. ``finalize``
builds the saved model: the encoder again, sharing its layers, with fresh BatchNormalization layers
holding the pooled target mean and variance of every step of the stage and the trained scale and offset.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from adaptkit import LossComposition, ModelParts, RunContext, SpecError, StepBatch

from .sections import AdaBnLoss

__all__ = ["TargetStatistics", "compose_adabn"]


class _Ref:
    """Holds a layer without Keras tracking it (its variables stay the model's own)."""

    def __init__(self, layer: Any) -> None:
        self.layer = layer


class TargetStatistics(keras.layers.Layer):
    """Stands in for one BatchNormalization layer on target batches: normalises with the batch's statistics
    and keeps the sums that make the pooled mean and variance over every batch it saw."""

    def __init__(self, batch_norm: keras.layers.BatchNormalization, **kwargs: Any) -> None:
        super().__init__(name=f"{batch_norm.name}_target_statistics", **kwargs)
        self.source = _Ref(batch_norm)

    def build(self, input_shape: Any) -> None:
        bn = self.source.layer
        axis = bn.axis if bn.axis >= 0 else len(input_shape) + bn.axis
        self.reduce = [i for i in range(len(input_shape)) if i != axis]
        self.shape = [1 if i != axis else int(input_shape[axis]) for i in range(len(input_shape))]
        channels = int(input_shape[axis])
        self.mean_sum = self.add_weight(name="mean_sum", shape=(channels,), initializer="zeros", trainable=False)
        self.square_sum = self.add_weight(name="square_sum", shape=(channels,), initializer="zeros", trainable=False)
        self.count = self.add_weight(name="count", shape=(), initializer="zeros", trainable=False)

    def call(self, x: Any, training: bool = False, mask: Any = None) -> Any:
        bn = self.source.layer
        x = ops.cast(x, "float32")
        mean = ops.mean(x, axis=self.reduce)
        var = ops.var(x, axis=self.reduce)
        if training:
            self.mean_sum.assign_add(ops.stop_gradient(mean))
            self.square_sum.assign_add(ops.stop_gradient(var + mean**2))
            self.count.assign_add(1.0)
        y = (x - ops.reshape(mean, self.shape)) / ops.sqrt(ops.reshape(var, self.shape) + bn.epsilon)
        if bn.scale:
            y = y * ops.reshape(ops.cast(bn.gamma, "float32"), self.shape)
        if bn.center:
            y = y + ops.reshape(ops.cast(bn.beta, "float32"), self.shape)
        return y

    def statistics(self) -> tuple[Any, Any]:
        """The pooled target mean and variance (within-batch variance plus that of the batch means)."""
        n = ops.maximum(self.count, 1.0)
        mean = self.mean_sum / n
        return mean, ops.maximum(self.square_sum / n - mean**2, 0.0)


def _copy(encoder: keras.Model, replace: Any) -> keras.Model:
    """``encoder`` with the same layers (shared), each BatchNormalization layer replaced by ``replace(layer)``."""
    def clone(layer):
        return replace(layer) if isinstance(layer, keras.layers.BatchNormalization) else layer

    return keras.models.clone_model(encoder, clone_function=clone, recursive=True)


def compose_adabn(section: AdaBnLoss, parts: ModelParts, context: RunContext) -> LossComposition:
    stats: dict[int, TargetStatistics] = {}

    def gather(layer):
        stats[id(layer)] = TargetStatistics(layer)
        return stats[id(layer)]

    gatherer = _copy(parts.encoder, gather)
    gatherer.name = "adabn_target_encoder"
    if not stats:
        raise SpecError(context.where, "adabn re-estimates BatchNormalization statistics, and the encoder has no BatchNormalization layer")

    def batches(batch: StepBatch):
        gatherer(batch.x_target, training=True)
        return next(iter(stats.values())).count

    def finalize(final_parts: ModelParts) -> keras.Model:
        fresh: list = []

        def target_normalised(layer):
            new = layer.__class__.from_config(layer.get_config())
            fresh.append((layer, new))
            return new

        encoder = _copy(final_parts.encoder, target_normalised)
        for old, new in fresh:
            mean, var = stats[id(old)].statistics()
            seen = stats[id(old)].count > 0
            for target, value in zip(new.weights, old.weights):
                target.assign(value)
            new.moving_mean.assign(ops.where(seen, mean, old.moving_mean))
            new.moving_variance.assign(ops.where(seen, var, old.moving_variance))
        encoder.name = "encoder"
        inputs = keras.Input(shape=tuple(final_parts.encoder.input.shape[1:]), dtype=final_parts.encoder.input.dtype, name="input")
        return keras.Model(inputs, final_parts.classifier(encoder(inputs)), name="adabn_adapted")

    return LossComposition(modules=[gatherer], metrics={"adabn_batches": batches}, finalize=finalize)
