"""Where the domain classifier looks: the encoder's output or a named layer inside it."""

from __future__ import annotations

from typing import Callable, Optional

import keras

from adaptkit import SpecError

__all__ = ["feature_extractor", "layer_names"]


def layer_names(model: keras.Model) -> list[str]:
    """Every layer name in ``model``, nested models included (depth first)."""
    out = []
    for layer in model.layers:
        out.append(layer.name)
        if isinstance(layer, keras.Model):
            out.extend(layer_names(layer))
    return out


def _find(model: keras.Model, name: str) -> Optional[Callable]:
    """A callable ``(x, training) -> that layer's output`` on ``model``'s inputs, or None."""
    try:
        layer = model.get_layer(name)
    except ValueError:
        layer = None
    if layer is not None:
        sub = keras.Model(model.inputs, layer.output, name=f"features_{name}")
        return lambda x, training=True: sub(x, training=training)
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
        return lambda x, training=True: inner(prefix(x, training=training), training=training)
    return None


def feature_extractor(encoder: keras.Model, name: Optional[str], where: str) -> Optional[Callable]:
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
