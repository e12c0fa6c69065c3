"""LoRA adapters on their own: written beside the model, read back by a surgery operation."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._errors import DataError
from ._layers import leaf_layers

__all__ = ["adapter_arrays", "write_adapters", "read_adapters", "load_adapters"]


def lora_layers(model: Any) -> list:
    """Every LoRA-enabled layer, sub-layers of leaf layers (e.g. inside a transformer block) included."""
    out = []
    for leaf in leaf_layers(model):
        inner = leaf._flatten_layers() if hasattr(leaf, "_flatten_layers") else [leaf]
        out.extend(sub for sub in inner if getattr(sub, "lora_enabled", False))
    return out


def _key(layer: Any) -> str:
    return getattr(layer, "path", None) or layer.name


def adapter_arrays(model: Any) -> dict[str, np.ndarray]:
    """``{layer_path/lora_kernel_a|b: array}`` for every LoRA-enabled layer of the model."""
    out: dict[str, np.ndarray] = {}
    for layer in lora_layers(model):
        out[f"{_key(layer)}/lora_kernel_a"] = np.asarray(layer.lora_kernel_a)
        out[f"{_key(layer)}/lora_kernel_b"] = np.asarray(layer.lora_kernel_b)
    return out


def load_adapters(model: Any, path: Path, where: str) -> int:
    """Assign an adapters file to the model's LoRA-enabled layers; returns how many layers."""
    from ._errors import ModelError

    arrays = read_adapters(path, where)
    layers = lora_layers(model)
    for layer in layers:
        for part in ("a", "b"):
            key = f"{_key(layer)}/lora_kernel_{part}"
            if key not in arrays:
                raise DataError(where, f"{path} has no adapter {key!r}")
            variable = getattr(layer, f"lora_kernel_{part}")
            if tuple(variable.shape) != arrays[key].shape:
                raise ModelError(where, f"{path}: adapter {key!r} has shape {arrays[key].shape}, the layer needs {tuple(variable.shape)}")
            variable.assign(arrays[key])
    return len(layers)


def write_adapters(path: Path, arrays: dict[str, np.ndarray]) -> None:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)


def read_adapters(path: Path, where: str) -> dict[str, np.ndarray]:
    if not Path(path).is_file():
        raise DataError(where, f"no such adapters file: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(where, f"{path} is not an adapters .npz file ({type(exc).__name__})") from exc
