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

__all__ = ["adapter_arrays", "write_adapters", "read_adapters"]


def adapter_arrays(model: Any) -> dict[str, np.ndarray]:
    """``{layer_name/lora_kernel_a|b: array}`` for every LoRA-enabled layer of the model."""
    out: dict[str, np.ndarray] = {}
    for layer in leaf_layers(model):
        if getattr(layer, "lora_enabled", False):
            out[f"{layer.name}/lora_kernel_a"] = np.asarray(layer.lora_kernel_a)
            out[f"{layer.name}/lora_kernel_b"] = np.asarray(layer.lora_kernel_b)
    return out


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
