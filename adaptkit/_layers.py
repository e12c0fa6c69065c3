"""Walking a Keras model's layers and grouping them into blocks (no TensorFlow import here)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

__all__ = ["leaf_layers", "block_of", "layer_groups", "set_trainable", "make_trainable", "all_trainable"]


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


def block_of(layer: Any, depth: int = 1) -> str:
    """A layer's block: the first ``depth`` '_'-separated parts of its name.

    ``block5_conv1`` -> ``block5`` (depth 1); ``conv5_block3_out`` ->
    ``conv5_block3`` (depth 2); ``transformer_layer_4`` -> ``transformer_layer_4`` (depth 3).
    """
    return "_".join(layer.name.split("_")[:depth])


def layer_groups(model: Any, depth: int = 1) -> list[tuple[str, list]]:
    """The model's layers that have weights, grouped by block, in graph order."""
    groups: dict[str, list] = {}
    for layer in leaf_layers(model):
        if layer.weights:
            groups.setdefault(block_of(layer, depth), []).append(layer)
    return list(groups.items())


def set_trainable(model: Any, wanted: Callable[[int, Any], bool]) -> None:
    """Set each leaf layer's ``trainable`` to ``wanted(index, layer)``.

    Containers are made trainable first (in Keras that cascades to every
    sub-layer, and a frozen container hides its children's variables), then
    each leaf gets its own flag.
    """
    leaves = leaf_layers(model)
    flags = [bool(wanted(i, layer)) for i, layer in enumerate(leaves)]
    model.trainable = True
    for layer, flag in zip(leaves, flags):
        if flag:
            make_trainable(layer)
        else:
            layer.trainable = False


def make_trainable(layer: Any, host: Any = None) -> None:
    """``layer.trainable = True``, then every plugin's ``adaptkit_after_trainable(layer)``.

    Keras' setter makes every variable of the layer trainable; a plugin whose
    technique keeps some of them frozen (LoRA's base kernels) sets them back.
    ``host``: the plugin host (default: the process host, :func:`adaptkit.get_host`).
    """
    layer.trainable = True
    if host is None:
        from ._plugins import get_host

        host = get_host()
    host.call_each("adaptkit_after_trainable", "adaptkit_after_trainable", layer=layer)


@contextmanager
def all_trainable(model: Any) -> Iterator[None]:
    """Temporarily make every leaf layer trainable (to list every variable that may train)."""
    flags = [layer.trainable for layer in leaf_layers(model)]
    set_trainable(model, lambda i, _: True)
    try:
        yield
    finally:
        set_trainable(model, lambda i, _: flags[i])
