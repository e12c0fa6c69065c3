"""``transformer_lora``: LoRA inside KerasHub transformer blocks (imports Keras).

The host's ``lora`` surgery adapts leaf layers (Dense, EinsumDense, ...). In a BERT
source the leaves are whole ``TransformerEncoder`` blocks, whose query / key / value /
output and feed-forward projections are sub-layers the host does not see; this
operation reaches them by their sub-layer names. Keeping the base kernels frozen when a block
is unfrozen later, the from-scratch baseline's plain layers and ``adapters.npz`` in the run
directory come from the core plugin's generic hooks, which serve every LoRA-enabled layer.
"""

from __future__ import annotations

from typing import Any

from adaptkit import RunContext, SpecError, leaf_layers, load_arrays

from .sections import TransformerLoRA

__all__ = ["transformer_lora", "TARGETS"]

TARGETS = {
    "query": "query",
    "key": "key",
    "value": "value",
    "attention_output": "attention_output",
    "feedforward_intermediate": "feedforward_intermediate_dense",
    "feedforward_output": "feedforward_output_dense",
}


def transformer_lora(section: TransformerLoRA, model: Any, context: RunContext) -> Any:
    import keras_hub

    leaves = leaf_layers(model)
    blocks = [layer for layer in leaves if isinstance(layer, keras_hub.layers.TransformerEncoder)]
    if not blocks:
        raise SpecError(context.where, "the source model has no KerasHub TransformerEncoder block (use kind: lora)")
    if section.blocks:
        by_name = {b.name: b for b in blocks}
        missing = [n for n in section.blocks if n not in by_name]
        if missing:
            raise SpecError(
                context.where + ".blocks",
                f"no transformer block {missing[0]!r} (blocks: {', '.join(by_name)})",
            )
        blocks = [by_name[n] for n in section.blocks]
    # Everything the source had so far stops training; only the new adapters train.
    for layer in leaves:
        layer.trainable = layer in blocks
    wanted = {TARGETS[t] for t in section.targets}
    adapted = []
    for block in blocks:
        for variable in block.weights:
            variable.trainable = False
        for sub in block._flatten_layers(include_self=False):
            if sub.name in wanted:
                if not getattr(sub, "lora_enabled", False):
                    sub.enable_lora(section.rank, lora_alpha=section.alpha)
                adapted.append(sub)
    if section.adapters:  # an adapters.npz maps each adapter variable's path to its value
        variables = [v for sub in adapted for v in (sub.lora_kernel_a, sub.lora_kernel_b)]
        load_arrays(variables, context.resolve(section.adapters), context.where + ".adapters")
    return model
