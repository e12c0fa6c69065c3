"""Building one piece of a plugin on dummy inputs, through the host as a run would: a head, a loss, a step batch.

Each helper takes a section object or a spec dict (``{"kind": "my_head", ...}``, validated
by the class the plugin declared) and calls the hook through the plugin host, so routing
and the host's answer checks apply exactly as in ``adaptkit run``; a wrong answer fails
with the same one-line ``PluginError``. Keras is imported inside the helpers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

from .._plugins import PluginHost, get_host
from .._sections import SECTION_BASES, Section
from .._types import Head, LossComposition, ModelParts, RunContext, StepBatch, TaskInfo

__all__ = ["section", "context", "dummy_parts", "fake_step_batch", "BuiltHead", "build_head", "LossCheck", "compose_loss"]

SectionLike = Union[Section, dict]


def section(family: str, value: SectionLike, host: Optional[PluginHost] = None) -> Section:
    """``value`` as a section of ``family`` (``"head"``, ``"loss"``, ...): a section object as it is,
    a dict validated by the class that declared its ``kind`` (``name`` for optimizers)."""
    if isinstance(value, Section):
        return value
    host = host or get_host()
    kind = value.get("kind", value.get("name", SECTION_BASES[family].default_kind))
    if kind not in host.sections[family]:
        raise AssertionError(f"no installed plugin declares a {family} kind {kind!r}; known: {sorted(host.sections[family])}")
    return host.sections[family][kind][0].model_validate(value)


def context(where: str = "", seed: int = 0, spec_dir: Optional[Path] = None) -> RunContext:
    """A :class:`RunContext` as a run hands it to a hook at ``where``."""
    return RunContext(seed=seed, spec_dir=Path(spec_dir or Path.cwd()), where=where)


def dummy_parts(input_shape: tuple = (4,), features: int = 8, num_classes: int = 3, seed: int = 0) -> ModelParts:
    """A tiny real model in the host's shape: ``encoder`` (Dense ``features``, relu) and ``classifier``
    (Dense ``num_classes``, softmax), ``model = classifier(encoder(x))``."""
    import keras

    keras.utils.set_random_seed(seed)
    x = keras.Input(shape=input_shape)
    encoder = keras.Model(x, keras.layers.Dense(features, activation="relu", name="features")(x), name="encoder")
    f = keras.Input(shape=(features,))
    classifier = keras.Model(f, keras.layers.Dense(num_classes, activation="softmax", name="predictions")(f), name="classifier")
    model = keras.Model(x, classifier(encoder(x)), name="model")
    return ModelParts(encoder, classifier, model, TaskInfo([f"class{i}" for i in range(num_classes)]))


def fake_step_batch(
    parts: Optional[ModelParts] = None, batch_size: int = 16, target: bool = True, progress: float = 0.5, seed: int = 0
) -> StepBatch:
    """A :class:`StepBatch` as a loss term sees it in a training step: random inputs of ``parts``'
    input shape (default :func:`dummy_parts`), random labels, and the real ``features_*`` and
    ``outputs_*`` of ``parts`` on them (the classifier's output: probabilities for a softmax head);
    a target stream (unlabeled: ``y_target`` is ``None``) unless ``target`` is false."""
    import keras
    import numpy as np

    parts = parts or dummy_parts()
    rng = np.random.default_rng(seed)
    shape = tuple(parts.encoder.inputs[0].shape[1:])
    classes = parts.task.num_classes or 1

    def stream(shift: float) -> tuple:
        x = keras.ops.convert_to_tensor(rng.normal(shift, 1.0, (batch_size, *shape)).astype("float32"))
        features = parts.encoder(x, training=True)
        return x, features, parts.classifier(features, training=True)

    xs, fs, os_ = stream(0.0)
    ys = keras.ops.convert_to_tensor(rng.integers(0, classes, batch_size).astype("int32"))
    xt, ft, ot = stream(0.5) if target else (None, None, None)
    return StepBatch(xs, ys, fs, os_, keras.ops.convert_to_tensor(np.float32(progress)), xt, None, ft, ot)


@dataclass
class BuiltHead:
    """What :func:`build_head` built: the hook's :class:`Head`, the classifier model, its output on random features."""

    head: Head
    classifier: Any
    outputs: Any
    """numpy: the classifier's output on a batch of random features."""
    loss: float
    """The head's loss on those outputs and random labels (finite)."""


def build_head(
    value: SectionLike,
    features_shape: tuple = (8,),
    task: Optional[TaskInfo] = None,
    batch_size: int = 4,
    host: Optional[PluginHost] = None,
) -> BuiltHead:
    """Attach the head ``value`` on a features input of ``features_shape`` for ``task`` (default: 3
    classes), through ``adaptkit_attach_head``; run it on random features and its loss on random labels."""
    import keras
    import numpy as np

    host = host or get_host()
    task = task or TaskInfo(["a", "b", "c"])
    sec = section("head", value, host)
    features = keras.Input(shape=features_shape, name="features")
    head = host.call_first("adaptkit_attach_head", "head", sec, features=features, task=task, context=context("head"))
    classifier = keras.Model(features, head.outputs, name="classifier")
    rng = np.random.default_rng(0)
    outputs = keras.ops.convert_to_numpy(classifier(rng.normal(size=(batch_size, *features_shape)).astype("float32")))
    if task.num_classes is not None:
        y = rng.integers(0, task.num_classes, batch_size).astype("int32")
        expected = (batch_size, task.num_classes)
        assert outputs.shape == expected, f"the head's output has shape {outputs.shape}, not {expected} (batch, classes)"
    else:
        y = rng.normal(size=(batch_size, *task.target_shape)).astype("float32")
    loss_fn = keras.losses.get(head.loss) if isinstance(head.loss, str) else head.loss
    loss = float(keras.ops.convert_to_numpy(keras.ops.mean(loss_fn(y, outputs))))
    assert np.isfinite(loss), f"the head's loss on random labels is {loss}"
    return BuiltHead(head, classifier, outputs, loss)


@dataclass
class LossCheck:
    """What :func:`compose_loss` built: the hook's :class:`LossComposition` and each term's value on one batch."""

    composition: LossComposition
    values: dict[str, float]
    """Term name -> its (unweighted) value on the batch, as the step logs it."""
    weights: dict[str, float]
    """Term name -> its weight at the batch's progress."""


def compose_loss(
    value: SectionLike, parts: Optional[ModelParts] = None, batch: Optional[StepBatch] = None, host: Optional[PluginHost] = None
) -> LossCheck:
    """Compose the loss section ``value`` on ``parts`` (default :func:`dummy_parts`) through
    ``adaptkit_compose_loss`` and evaluate every term on ``batch`` (default :func:`fake_step_batch`
    of those parts, with a target stream when the section ``needs_target``); each must be a finite scalar."""
    import keras
    import numpy as np

    host = host or get_host()
    sec = section("loss", value, host)
    parts = parts or dummy_parts()
    where = "training.stages.0.losses.0"
    composition = host.call_first("adaptkit_compose_loss", where, sec, parts=parts, context=context(where))
    batch = batch or fake_step_batch(parts, target=True)
    values, weights = {}, {}
    for term in composition.terms:
        out = keras.ops.convert_to_numpy(term.fn(batch))
        assert np.shape(out) == (), f"loss term {term.name!r} returned shape {np.shape(out)}, not a scalar"
        assert np.isfinite(out), f"loss term {term.name!r} is {out} on the batch"
        values[term.name] = float(out)
        weight = term.weight(batch.progress) if callable(term.weight) else term.weight
        weights[term.name] = float(keras.ops.convert_to_numpy(weight))
    return LossCheck(composition, values, weights)
