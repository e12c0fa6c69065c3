"""Model assembly: augmentation -> source -> surgery -> encoder, head -> classifier, through the hooks.

``model = classifier(encoder(x))``: the encoder takes examples as the data
loader yields them (the augmentation layers, the source model after surgery),
the classifier is the head. Both are functional Keras models, so
domain-adaptation losses can reach the features and a saved model keeps
everything. The loader's own preprocessing, as a model, is asked for here too
(:mod:`adaptkit._rawinput`) and put in front of the saved model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

import keras

from ._layers import leaf_layers
from ._plugins import PluginHost
from ._rawinput import input_preprocessing
from ._tasks import Task, monitor_key, spec_tasks
from ._types import DataSource, Head, ModelParts, RunContext, TaskInfo

__all__ = ["Assembly", "build_model", "freeze_batch_norm", "snapshot"]


@dataclass
class Assembly:
    """What assembly built: the model parts, the head's answer, and the source model (for surgery)."""

    parts: ModelParts
    head: Head
    """The (first) task's head."""
    source: Any
    heads: dict[str, Head] = field(default_factory=dict)
    """Every task's head, by task name (``""`` for a ``head:`` spec)."""
    tasks: list[Task] = field(default_factory=list)
    preprocessing: Any = None
    """``data.train``'s loader as a model (raw example -> loaded one), put in front of the saved
    model; ``None`` when the loader hands examples on unchanged."""

    @property
    def multitask(self) -> bool:
        return len(self.heads) > 1

    @property
    def monitor(self) -> str:
        """The metric early stopping and the verdict follow, as Keras logs it (the first task's)."""
        return monitor_key(self.tasks[0].name if self.multitask else "", self.head.monitor)

    def compile_arguments(self) -> dict[str, Any]:
        """``loss``, ``loss_weights`` and ``metrics`` for ``compile``: per task (dicts) when multi-task."""
        if not self.multitask:
            return {"loss": self.head.loss, "metrics": list(self.head.metrics)}
        return {
            "loss": {name: head.loss for name, head in self.heads.items()},
            "loss_weights": {t.name: t.weight for t in self.tasks},
            "metrics": {name: list(head.metrics) for name, head in self.heads.items()},
        }


def _x_spec(source: DataSource) -> Any:
    spec = source.dataset.element_spec
    return spec[0] if isinstance(spec, tuple) else spec


def _attach_heads(spec: Any, host: PluginHost, ctx: RunContext, features: Any, tasks: dict[str, TaskInfo]) -> tuple:
    """The classifier model and every task's head. Several heads are each a sub-model
    (``head_<task>``), so their layer names cannot clash; the classifier's outputs are a dict."""
    plans = spec_tasks(spec)
    feature_in = keras.Input(shape=tuple(features.shape[1:]), name="features")
    heads: dict[str, Head] = {}
    if len(plans) == 1:
        task = plans[0]
        where = "head" if task.where == "head" else f"{task.where}.head"
        head = host.call_first(
            "adaptkit_attach_head", where, task.head, features=feature_in, task=tasks[task.name], context=ctx.at(where)
        )
        heads[task.name] = head
        return keras.Model(feature_in, head.outputs, name="classifier"), heads, plans
    outputs = {}
    for task in plans:
        where = f"{task.where}.head"
        own_in = keras.Input(shape=tuple(features.shape[1:]), name=f"features_{task.name}")
        head = host.call_first(
            "adaptkit_attach_head", where, task.head, features=own_in, task=tasks[task.name], context=ctx.at(where)
        )
        heads[task.name] = head
        outputs[task.name] = keras.Model(own_in, head.outputs, name=f"head_{task.name}")(feature_in)
    return keras.Model(feature_in, outputs, name="classifier"), heads, plans


def build_model(spec: Any, host: PluginHost, ctx: RunContext, data: DataSource, tasks: Optional[dict[str, TaskInfo]] = None) -> Assembly:
    """Assemble ``classifier(encoder(x))`` through the hooks (``tasks``: what each task predicts)."""
    if tasks is None:
        tasks = {spec_tasks(spec)[0].name: TaskInfo(data.class_names, tuple(data.target_shape))}
    x_spec = _x_spec(data)
    inputs = keras.Input(shape=tuple(data.input_shape), dtype=x_spec.dtype.name, name="inputs")
    x = inputs
    for i, section in enumerate(spec.augment):
        where = f"augment.{i}"
        layer = host.call_first(
            "adaptkit_build_augmentation", where, section, input_shape=tuple(x.shape[1:]), context=ctx.at(where)
        )
        x = layer(x)
    source = host.call_first(
        "adaptkit_load_source", "source", spec.source, input_shape=tuple(data.input_shape), context=ctx.at("source")
    )
    for i, section in enumerate(spec.surgery):
        where = f"surgery.{i}"
        source = host.call_first("adaptkit_apply_surgery", where, section, model=source, context=ctx.at(where))
    features = source(x)
    encoder = keras.Model(inputs, features, name="encoder")
    classifier, heads, plans = _attach_heads(spec, host, ctx, features, tasks)
    model_in = keras.Input(shape=tuple(data.input_shape), dtype=x_spec.dtype.name, name="inputs")
    model = keras.Model(model_in, classifier(encoder(model_in)), name="adapted")
    first = next(iter(tasks.values()))
    parts = ModelParts(encoder, classifier, model, first, dict(tasks) if len(heads) > 1 else None)
    preprocessing = input_preprocessing(spec, host, ctx, data)
    return Assembly(parts, next(iter(heads.values())), source, heads, plans, preprocessing)


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
    return ModelParts(encoder, classifier, model, parts.task, parts.tasks)
