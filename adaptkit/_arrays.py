"""Named arrays of model variables in a ``.npz`` file: written beside a model, read back into variables.

Generic: a plugin chooses the variables (LoRA's adapters, say); a file maps each
variable's ``path`` (``dense1/lora_kernel_a``) to its value. No TensorFlow import.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ._errors import DataError, ModelError

__all__ = ["variable_arrays", "write_arrays", "read_arrays", "load_arrays"]


def variable_arrays(variables: Iterable[Any]) -> dict[str, np.ndarray]:
    """``{variable.path: value}`` for the given Keras variables."""
    return {v.path: np.asarray(v) for v in variables}


def write_arrays(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` to a ``.npz`` file, atomically (a temporary name, then a rename)."""
    path = Path(path)
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(buf.getvalue())
    os.replace(tmp, path)


def read_arrays(path: Path, where: str) -> dict[str, np.ndarray]:
    """Every array of a ``.npz`` file; ``DataError(where, ...)`` when it is missing or not one."""
    if not Path(path).is_file():
        raise DataError(where, f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            return {k: npz[k] for k in npz.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(where, f"{path} is not a .npz file of arrays ({type(exc).__name__})") from exc


def load_arrays(variables: Iterable[Any], path: Path, where: str) -> int:
    """Assign the file's array of each variable's ``path`` to it; returns how many.

    A variable the file has no array for is a ``DataError``, an array of the wrong
    shape a ``ModelError`` (both at ``where``).
    """
    arrays = read_arrays(path, where)
    count = 0
    for variable in variables:
        key = variable.path
        if key not in arrays:
            raise DataError(where, f"{path} has no array {key!r}")
        if tuple(variable.shape) != arrays[key].shape:
            raise ModelError(where, f"{path}: {key!r} has shape {arrays[key].shape}, the model needs {tuple(variable.shape)}")
        variable.assign(arrays[key])
        count += 1
    return count
