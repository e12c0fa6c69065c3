"""Layer surgery: freeze, unfreeze (all, last N layers or blocks, from a layer), truncate (LoRA: lora.py)."""

from __future__ import annotations

from adaptkit import RunContext, SpecError, block_of, leaf_layers, set_trainable

from .sections import Freeze, Truncate, Unfreeze


def _index(leaves: list, name: str, where: str) -> int:
    for i, layer in enumerate(leaves):
        if layer.name == name:
            return i
    names = [layer.name for layer in leaves]
    shown = ", ".join(names) if len(names) <= 12 else ", ".join(names[:4] + ["..."] + names[-6:])
    raise SpecError(where, f"the model has no layer {name!r} (layers: {shown})")


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
        blocks = [block_of(layer, section.block_depth) for layer in leaves]
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
