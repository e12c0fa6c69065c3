"""Model assembly: augmentation -> source -> surgery -> encoder, head -> classifier, through the hooks.

``model = classifier(encoder(x))``: the encoder takes raw examples (the
augmentation layers, the source model after surgery), the classifier is the
head. Both are functional Keras models, so domain-adaptation losses can reach
the features and a saved model keeps everything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import keras

from ._layers import leaf_layers
from ._plugins import PluginHost
from ._types import DataSource, Head, ModelParts, RunContext, TaskInfo

__all__ = ["Assembly", "build_model", "freeze_batch_norm", "snapshot"]


@dataclass
class Assembly:
    """What assembly built: the model parts, the head's answer, and the source model (for surgery)."""

    parts: ModelParts
    head: Head
    source: Any


def _x_spec(source: DataSource) -> Any:
    spec = source.dataset.element_spec
    return spec[0] if isinstance(spec, tuple) else spec


def build_model(spec: Any, host: PluginHost, ctx: RunContext, data: DataSource) -> Assembly:
    """Assemble ``classifier(encoder(x))`` through the hooks."""
    x_spec = _x_spec(data)
    inputs = keras.Input(shape=tuple(data.input_shape), dtype=x_spec.dtype.name, name="inputs")
    x = inputs
    for i, section in enumerate(spec.augment):
        where = f"augment.{i}"
        layer = host.call_first("adaptkit_build_augmentation", where, section, context=ctx.at(where))
        x = layer(x)
    source = host.call_first(
        "adaptkit_load_source", "source", spec.source, input_shape=tuple(data.input_shape), context=ctx.at("source")
    )
    for i, section in enumerate(spec.surgery):
        where = f"surgery.{i}"
        source = host.call_first("adaptkit_apply_surgery", where, section, model=source, context=ctx.at(where))
    features = source(x)
    encoder = keras.Model(inputs, features, name="encoder")
    task = TaskInfo(data.class_names, tuple(data.target_shape))
    feature_in = keras.Input(shape=tuple(features.shape[1:]), name="features")
    head: Head = host.call_first(
        "adaptkit_attach_head", "head", spec.head, features=feature_in, task=task, context=ctx.at("head")
    )
    classifier = keras.Model(feature_in, head.outputs, name="classifier")
    model_in = keras.Input(shape=tuple(data.input_shape), dtype=x_spec.dtype.name, name="inputs")
    model = keras.Model(model_in, classifier(encoder(model_in)), name="adapted")
    return Assembly(ModelParts(encoder, classifier, model, task), head, source)


def freeze_batch_norm(model: Any) -> int:
    """Keep BatchNormalization layers in inference mode with fixed statistics."""
    n = 0
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable:
            layer.trainable = False
            n += 1
    return n


def snapshot(parts: ModelParts) -> ModelParts:
    """A frozen copy of the model as it is now (fresh layers, same weights)."""
    encoder = keras.models.clone_model(parts.encoder)
    encoder.set_weights(parts.encoder.get_weights())
    classifier = keras.models.clone_model(parts.classifier)
    classifier.set_weights(parts.classifier.get_weights())
    inputs = keras.Input(shape=tuple(parts.encoder.inputs[0].shape[1:]), dtype=parts.encoder.inputs[0].dtype)
    model = keras.Model(inputs, classifier(encoder(inputs)), name="before_adaptation")
    model.trainable = False
    return ModelParts(encoder, classifier, model, parts.task)
