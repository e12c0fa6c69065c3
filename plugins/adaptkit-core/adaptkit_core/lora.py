"""LoRA, the whole technique: the ``lora`` surgery, its adapters file, and what the host must
not undo.

- :func:`lora`: Keras ``enable_lora(rank)`` on the chosen layers (their kernels freeze, a
  trainable low-rank update is learnt beside each), optionally loading an ``adapters.npz``;
- :func:`keep_frozen` (``adaptkit_after_trainable``): Keras' ``trainable`` setter unfreezes
  every variable, LoRA's frozen base kernels too; they are frozen again;
- :func:`baseline_config` (``adaptkit_baseline_config``): the from-scratch baseline builds the
  plain layer, so its full kernel trains;
- :func:`save_adapters` (``adaptkit_save_artifacts``): ``adapters.npz`` beside ``model.keras``.

These serve every LoRA-enabled Keras layer, whichever plugin enabled it (the text plugin's
``transformer_lora`` too): they look for ``lora_enabled`` on layers and their sub-layers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from adaptkit import RunContext, SpecError, leaf_layers, load_arrays, variable_arrays, write_arrays

from .sections import LoRA

__all__ = ["LORA_TYPES", "lora", "lora_layers", "lora_variables", "keep_frozen", "baseline_config", "save_adapters"]

LORA_TYPES = ("Dense", "EinsumDense", "Conv1D", "Conv2D", "Conv3D", "Embedding")
ADAPTERS_FILE = "adapters.npz"


def _inner(layer: Any) -> list:
    return layer._flatten_layers() if hasattr(layer, "_flatten_layers") else [layer]


def lora_layers(model: Any) -> list:
    """Every LoRA-enabled layer, sub-layers of leaf layers (e.g. inside a transformer block) included."""
    return [sub for leaf in leaf_layers(model) for sub in _inner(leaf) if getattr(sub, "lora_enabled", False)]


def lora_variables(model: Any) -> list:
    """The adapter variables (``lora_kernel_a``, ``lora_kernel_b``) of every LoRA-enabled layer."""
    return [v for layer in lora_layers(model) for v in (layer.lora_kernel_a, layer.lora_kernel_b)]


def lora(section: LoRA, model: Any, context: RunContext) -> Any:
    from .surgery import _index

    leaves = leaf_layers(model)
    if section.layers:
        chosen = [leaves[_index(leaves, name, f"{context.where}.layers")] for name in section.layers]
    else:
        chosen = [layer for layer in leaves if type(layer).__name__ in LORA_TYPES]
    if not chosen:
        raise SpecError(context.where, "the source model has no Dense, EinsumDense, convolution or Embedding layer to adapt")
    for layer in chosen:
        if not hasattr(layer, "enable_lora"):
            raise SpecError(f"{context.where}.layers", f"layer {layer.name!r} ({type(layer).__name__}) does not support LoRA")
        if getattr(layer, "lora_enabled", False):
            continue
        layer.enable_lora(section.rank, lora_alpha=section.alpha)
    if section.adapters:
        load_arrays(lora_variables(model), context.resolve(section.adapters), f"{context.where}.adapters")
    return model


def keep_frozen(layer: Any) -> None:
    """Freeze LoRA's base kernels again after the host made ``layer`` trainable."""
    for sub in _inner(layer):
        if getattr(sub, "lora_enabled", False):
            for name in ("_kernel", "_embeddings"):
                variable = getattr(sub, name, None)
                if variable is not None and hasattr(variable, "trainable"):
                    variable.trainable = False


def baseline_config(config: dict) -> Optional[dict]:
    """The config without LoRA's keys (``None`` when it has none): the baseline trains full kernels."""
    if "lora_rank" not in config and "lora_alpha" not in config:
        return None
    return {k: v for k, v in config.items() if k not in ("lora_rank", "lora_alpha")}


def save_adapters(model: Any, run_dir: Path) -> Optional[dict]:
    """Write ``adapters.npz`` (the adapter weights alone) when the model has LoRA adapters."""
    variables = lora_variables(model)
    if not variables:
        return None
    arrays = variable_arrays(variables)
    write_arrays(Path(run_dir) / ADAPTERS_FILE, arrays)
    return {"adapters": {"file": ADAPTERS_FILE, "parameters": int(sum(a.size for a in arrays.values()))}}
