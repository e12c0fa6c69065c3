"""Building blocks that several plugins share: features of a named layer or of a stream, flattening,
small dense networks.

Generic Keras, no model family. Keras is imported inside the functions, so
importing adaptkit stays free of TensorFlow.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from ._errors import SpecError

__all__ = [
    "feature_extractor",
    "model_feature_extractor",
    "layer_names",
    "flatten",
    "stream_features",
    "feature_dim",
    "trainable_below",
    "dense_network",
]


def layer_names(model: Any) -> list[str]:
    """Every layer name in ``model``, nested models included (depth first)."""
    import keras

    out = []
    for layer in model.layers:
        out.append(layer.name)
        if isinstance(layer, keras.Model):
            out.extend(layer_names(layer))
    return out


class _Extractor:
    """``(x, training) -> a layer's output``, run through ``models`` in turn; knows its output shape."""

    def __init__(self, models: Sequence[Any], output_shape: tuple) -> None:
        self.models = list(models)
        self.output_shape = tuple(output_shape)

    def __call__(self, x: Any, training: bool = True) -> Any:
        for model in self.models:
            x = model(x, training=training)
        return x

    def trainable_weights(self) -> list:
        """The trainable variables the output depends on (those of the layers up to the named one)."""
        return [w for model in self.models for w in model.trainable_weights]


def _up_to(model: Any, layer: Any, name: str) -> Any:
    """``model``'s inputs -> ``layer``'s output, at the call of it that ``model``'s graph holds
    (a layer built by calling it once beforehand, as KerasHub's transformer blocks are, has two)."""
    import keras

    nodes = getattr(layer, "_inbound_nodes", [])
    for node in reversed(nodes[1:]):
        outs = node.output_tensors
        try:
            return keras.Model(model.inputs, outs[0] if len(outs) == 1 else list(outs), name=f"features_{name}")
        except ValueError:
            continue
    return keras.Model(model.inputs, layer.output, name=f"features_{name}")


def _find(model: Any, name: str) -> Optional[_Extractor]:
    """An extractor of layer ``name``'s output on ``model``'s inputs, or None."""
    import keras

    try:
        layer = model.get_layer(name)
    except ValueError:
        layer = None
    if layer is not None:
        sub = _up_to(model, layer, name)
        return _Extractor([sub], sub.output.shape)
    for outer in model.layers:
        if not isinstance(outer, keras.Model) or outer is model:
            continue
        inner = _find(outer, name)
        if inner is None:
            continue
        nodes = getattr(outer, "_inbound_nodes", [])
        if len(nodes) != 1:
            continue  # a nested model called several times: ambiguous
        feed = nodes[0].input_tensors
        feed = feed[0] if len(feed) == 1 else list(feed)
        prefix = keras.Model(model.inputs, feed, name=f"into_{outer.name}")
        return _Extractor([prefix] + inner.models, inner.output_shape)
    return None


def feature_extractor(encoder: Any, name: Optional[str], where: str) -> Optional[_Extractor]:
    """``None`` for the encoder's own output; else a callable computing layer ``name``'s output.

    Raises ``SpecError(where, ...)`` when no layer has that name.
    """
    if name is None:
        return None
    found = _find(encoder, name)
    if found is None:
        names = layer_names(encoder)
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        raise SpecError(where, f"the encoder has no layer {name!r} (layers: {shown})")
    return found


def model_feature_extractor(parts: Any, name: Optional[str], where: str) -> Optional[_Extractor]:
    """``feature_layer`` of a loss -> ``(x, training) -> features``.

    ``None`` for the encoder's own output; else a layer of the encoder or,
    failing that, of the head, run on the encoder's output (so gradients reach
    the encoder through it). ``SpecError(where, ...)`` when neither has it.
    """
    if name is None:
        return None
    try:
        return feature_extractor(parts.encoder, name, where)
    except SpecError:
        if name not in layer_names(parts.classifier):
            names = layer_names(parts.encoder) + layer_names(parts.classifier)
            shown = ", ".join(names[:16]) + (", ..." if len(names) > 16 else "")
            raise SpecError(where, f"neither the encoder nor the head has a layer {name!r} (layers: {shown})") from None
    head = feature_extractor(parts.classifier, name, where)
    return _Extractor([parts.encoder] + head.models, head.output_shape)


def flatten(x: Any) -> Any:
    """``(N, ...)`` -> ``(N, prod(...))``, as float32."""
    import math

    from keras import ops

    x = ops.cast(x, "float32")
    shape = tuple(x.shape)
    if len(shape) == 2:
        return x
    return ops.reshape(x, (-1, int(math.prod(int(d) for d in shape[1:]))))


def stream_features(extract: Optional[Callable], batch: Any, domain: str) -> Any:
    """The flattened float32 features of one stream (``domain``: ``source`` or ``target``) of a step.

    ``extract`` is what :func:`model_feature_extractor` returned: ``None`` takes the
    encoder's output the step already computed, else it is run on the stream's inputs.
    """
    if extract is None:
        f = batch.features_source if domain == "source" else batch.features_target
    else:
        f = extract(batch.x_source if domain == "source" else batch.x_target, training=True)
    return flatten(f)


def _probe(model: Any) -> Any:
    """One example for ``model``'s inputs, of their own dtypes (empty-ish strings for a string input)."""
    import keras
    import numpy as np

    def one(tensor: Any) -> Any:
        shape = (1,) + tuple(1 if d is None else int(d) for d in tensor.shape[1:])
        if "string" in str(tensor.dtype):
            return np.full(shape, "a", dtype=object)
        return np.zeros(shape, str(tensor.dtype))

    return keras.tree.map_structure(one, model.input)


def feature_dim(encoder: Any, extract: Optional[Callable]) -> int:
    """Size of the flattened features :func:`stream_features` returns for this encoder and extractor.

    From the symbolic output shape where it is known; else the extractor is run once
    on a probe of the encoder's own input dtypes (strings for a text model).
    """
    import math

    shape = tuple(encoder.output.shape) if extract is None else getattr(extract, "output_shape", None)
    if shape is None or any(d is None for d in shape[1:]):
        shape = tuple((extract or encoder)(_probe(encoder), training=False).shape)
    return int(math.prod(int(d) for d in shape[1:]))


def trainable_below(parts: Any, extract: Optional[Callable]) -> list:
    """The trainable variables the aligned features depend on (``extract`` from :func:`model_feature_extractor`)."""
    if extract is None:
        return list(parts.encoder.trainable_weights)
    return extract.trainable_weights() if isinstance(extract, _Extractor) else list(parts.encoder.trainable_weights)


def dense_network(
    input_dim: int,
    hidden: Sequence[int] = (256, 256),
    activation: str = "relu",
    dropout: float = 0.0,
    seed: Optional[int] = None,
    name: str = "dense_network",
    output_name: str = "out",
    outputs: int = 1,
) -> Any:
    """Dense layers on a flat feature vector, then ``outputs`` linear units (a logit or a critic score;
    class logits). Built."""
    import keras

    inputs = keras.Input(shape=(int(input_dim),), name=f"{name}_in")
    x = inputs
    for i, units in enumerate(hidden):
        s = None if seed is None else seed + 2 * i
        x = keras.layers.Dense(
            units, activation=activation, kernel_initializer=keras.initializers.GlorotUniform(seed=s),
            name=f"{name}_dense{i}",
        )(x)
        if dropout:
            x = keras.layers.Dropout(dropout, seed=None if s is None else s + 1, name=f"{name}_dropout{i}")(x)
    s = None if seed is None else seed + 2 * len(hidden)
    out = keras.layers.Dense(outputs, kernel_initializer=keras.initializers.GlorotUniform(seed=s), name=f"{name}_{output_name}")(x)
    return keras.Model(inputs, out, name=name)
