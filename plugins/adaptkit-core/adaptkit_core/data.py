"""Numeric arrays from ``.npz`` files."""

from __future__ import annotations

import zipfile

import numpy as np

from adaptkit import DataError, DataSource, RunContext

from .sections import ArraysData


def read_npz(path, keys: list[str], where: str) -> dict[str, np.ndarray]:
    """Read named arrays from a ``.npz``; every failure is a one-line DataError."""
    if not path.is_file():
        raise DataError(where, f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(where, f"{path} has no array {missing[0]!r} (it has: {', '.join(npz.files) or 'none'})")
            return {k: npz[k] for k in keys}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(where, f"{path} is not a readable .npz file ({type(exc).__name__}: {exc})") from exc


def load_arrays(section: ArraysData, context: RunContext) -> DataSource:
    import tensorflow as tf

    path = context.resolve(section.path)
    keys = [section.x_key] + ([section.y_key] if section.labeled else [])
    arrays = read_npz(path, keys, context.where + ".path")
    x = arrays[section.x_key].astype("float32") * section.scale
    if x.ndim < 2 or len(x) == 0:
        raise DataError(context.where + ".path", f"{path}: {section.x_key!r} must hold at least one example (shape {x.shape})")
    order = np.random.default_rng(context.seed).permutation(len(x))
    x = x[order]
    if not section.labeled:
        return DataSource(tf.data.Dataset.from_tensor_slices(x), len(x), tuple(x.shape[1:]), labeled=False)
    y = arrays[section.y_key]
    if len(y) != len(x):
        raise DataError(context.where + ".path", f"{path}: {len(x)} examples in {section.x_key!r} but {len(y)} labels in {section.y_key!r}")
    y = y[order]
    if section.task == "regression":
        y = y.astype("float32")
        return DataSource(tf.data.Dataset.from_tensor_slices((x, y)), len(x), tuple(x.shape[1:]), None, True, tuple(y.shape[1:]))
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype("int64")
        else:
            raise DataError(context.where + ".path", f"{path}: class labels must be integers, got {y.dtype}")
    names = section.class_names or [str(v) for v in range(int(y.max()) + 1)]
    if y.min() < 0 or y.max() >= len(names):
        raise DataError(context.where + ".class_names", f"{path}: label {int(y.max()) if y.max() >= len(names) else int(y.min())} is outside the {len(names)} classes")
    return DataSource(tf.data.Dataset.from_tensor_slices((x, y.astype("int32"))), len(x), tuple(x.shape[1:]), names)
