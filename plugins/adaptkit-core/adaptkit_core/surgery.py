"""Layer surgery: freeze, unfreeze (all, last N layers or blocks, from a layer), truncate."""

from __future__ import annotations

from typing import Callable

from adaptkit import RunContext, SpecError, leaf_layers

from .sections import Freeze, Truncate, Unfreeze


def _index(leaves: list, name: str, where: str) -> int:
    for i, layer in enumerate(leaves):
        if layer.name == name:
            return i
    names = [layer.name for layer in leaves]
    shown = ", ".join(names) if len(names) <= 12 else ", ".join(names[:4] + ["..."] + names[-6:])
    raise SpecError(where, f"the model has no layer {name!r} (layers: {shown})")


def set_trainable(model, wanted: Callable[[int, object], bool]) -> None:
    """Set each leaf layer's ``trainable`` to ``wanted(index, layer)``.

    Containers are made trainable first (in Keras that cascades to every
    sub-layer), then each leaf gets its own flag.
    """
    leaves = leaf_layers(model)
    flags = [bool(wanted(i, layer)) for i, layer in enumerate(leaves)]
    model.trainable = True
    for layer, flag in zip(leaves, flags):
        layer.trainable = flag


def freeze(section: Freeze, model, context: RunContext):
    leaves = leaf_layers(model)
    current = [layer.trainable for layer in leaves]
    if section.up_to:
        stop = _index(leaves, section.up_to, context.where + ".up_to")
        set_trainable(model, lambda i, _: current[i] and i > stop)
    elif section.from_layer:
        start = _index(leaves, section.from_layer, context.where + ".from_layer")
        set_trainable(model, lambda i, _: current[i] and i < start)
    else:
        set_trainable(model, lambda i, _: False)
    return model


def block_names(leaves: list, depth: int) -> list[str]:
    return ["_".join(layer.name.split("_")[:depth]) for layer in leaves]


def unfreeze(section: Unfreeze, model, context: RunContext):
    leaves = leaf_layers(model)
    current = [layer.trainable for layer in leaves]
    if section.from_layer:
        start = _index(leaves, section.from_layer, context.where + ".from_layer")
        set_trainable(model, lambda i, _: current[i] or i >= start)
    elif section.last_layers:
        weighted = [i for i, layer in enumerate(leaves) if layer.weights]
        chosen = set(weighted[-section.last_layers :])
        set_trainable(model, lambda i, _: current[i] or i in chosen)
    elif section.last_blocks:
        blocks = block_names(leaves, section.block_depth)
        order = []
        for i, b in enumerate(blocks):
            if leaves[i].weights and b not in order:
                order.append(b)
        chosen_blocks = set(order[-section.last_blocks :])
        set_trainable(model, lambda i, _: current[i] or blocks[i] in chosen_blocks)
    else:
        set_trainable(model, lambda i, _: True)
    return model


def truncate(section: Truncate, model, context: RunContext):
    import keras

    names = [layer.name for layer in model.layers]
    if section.layer not in names:
        leaves = [layer.name for layer in leaf_layers(model)]
        if section.layer in leaves:
            raise SpecError(context.where + ".layer", f"layer {section.layer!r} is inside a nested model; truncate at one of: {', '.join(names)}")
        _index(leaf_layers(model), section.layer, context.where + ".layer")
    layer = model.get_layer(section.layer)
    return keras.Model(model.inputs, layer.output, name=model.name)
