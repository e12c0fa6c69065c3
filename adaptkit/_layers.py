"""Walking a Keras model's layers (no TensorFlow import needed to use it)."""

from __future__ import annotations

from typing import Any

__all__ = ["leaf_layers"]


def leaf_layers(model: Any) -> list:
    """Every layer that is not itself a container of layers, in graph order.

    Nested models (a source model inside the encoder, Keras applications
    wrapped in a functional model) are walked recursively.
    """
    out: list = []
    for layer in getattr(model, "layers", []):
        if getattr(layer, "layers", None):
            out.extend(leaf_layers(layer))
        else:
            out.append(layer)
    return out
