"""Numeric arrays from ``.npz`` files: one label array, several named ones, or none."""

from __future__ import annotations

import zipfile
from typing import Optional

import numpy as np

from adaptkit import DataError, DataSource, RunContext, TaskInfo

from .sections import ArraysData


def read_npz(path, keys: list[str], where: str, key_where: Optional[dict[str, str]] = None) -> dict[str, np.ndarray]:
    """Read named arrays from a ``.npz``; every failure is a one-line DataError.

    A missing array is reported at ``key_where[key]`` when given, else at ``where``.
    """
    if not path.is_file():
        raise DataError(where, f"no such file: {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            missing = [k for k in keys if k not in npz.files]
            if missing:
                at = (key_where or {}).get(missing[0], where)
                raise DataError(at, f"{path} has no array {missing[0]!r} (it has: {', '.join(npz.files) or 'none'})")
            return {k: npz[k] for k in keys}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as exc:
        raise DataError(where, f"{path} is not a readable .npz file ({type(exc).__name__}: {exc})") from exc


def class_indices(y: np.ndarray, names: Optional[list[str]], path, where: str, names_where: str) -> tuple[np.ndarray, list[str]]:
    """Integer class labels as int32 and their names (default '0'..max); one-line errors."""
    if not np.issubdtype(y.dtype, np.integer):
        if np.issubdtype(y.dtype, np.floating) and np.all(y == np.round(y)):
            y = y.astype("int64")
        else:
            raise DataError(where, f"{path}: class labels must be integers, got {y.dtype}")
    names = names or [str(v) for v in range(int(y.max()) + 1)]
    if y.min() < 0 or y.max() >= len(names):
        raise DataError(names_where, f"{path}: label {int(y.max()) if y.max() >= len(names) else int(y.min())} is outside the {len(names)} classes")
    return y.astype("int32"), names


def load_arrays(section: ArraysData, context: RunContext) -> DataSource:
    import tensorflow as tf

    path = context.resolve(section.path)
    if section.labels is not None:
        return _load_labels(section, context, path)
    keys = [section.x_key] + ([section.y_key] if section.labeled else [])
    arrays = read_npz(path, keys, context.where + ".path")
    x, order = _features(arrays, section, context, path)
    if not section.labeled:
        return DataSource(tf.data.Dataset.from_tensor_slices(x), len(x), tuple(x.shape[1:]), labeled=False)
    y = arrays[section.y_key]
    if len(y) != len(x):
        raise DataError(context.where + ".path", f"{path}: {len(x)} examples in {section.x_key!r} but {len(y)} labels in {section.y_key!r}")
    y = y[order]
    if section.task == "regression":
        y = y.astype("float32")
        return DataSource(tf.data.Dataset.from_tensor_slices((x, y)), len(x), tuple(x.shape[1:]), None, True, tuple(y.shape[1:]))
    where = context.where
    y, names = class_indices(y, section.class_names, path, where + ".path", where + ".class_names")
    return DataSource(tf.data.Dataset.from_tensor_slices((x, y)), len(x), tuple(x.shape[1:]), names)


def input_preprocessing(section: ArraysData, input_shape: tuple):
    """The loader's ``scale`` as a model (raw arrays as the file stores them -> ``x * scale``, in
    float32 as the loader computes it); ``None`` when ``scale`` is 1."""
    if section.scale == 1.0:
        return None
    import keras

    raw = keras.Input(shape=input_shape, dtype="float32", name="x")
    return keras.Model(raw, keras.layers.Rescaling(section.scale, dtype="float32", name="scale")(raw))


def _features(arrays: dict, section: ArraysData, context: RunContext, path) -> tuple[np.ndarray, np.ndarray]:
    """The scaled features in the seed's order, and that order."""
    x = arrays[section.x_key].astype("float32") * section.scale
    if x.ndim < 2 or len(x) == 0:
        raise DataError(context.where + ".path", f"{path}: {section.x_key!r} must hold at least one example (shape {x.shape})")
    order = np.random.default_rng(context.seed).permutation(len(x))
    return x[order], order


def _load_labels(section: ArraysData, context: RunContext, path) -> DataSource:
    """``labels``: one entry yields ``(x, y)``; two or more yield ``(x, {name: y})``."""
    import tensorflow as tf

    at = [f"{context.where}.labels.{i}" for i in range(len(section.labels))]
    keys = [section.x_key] + [e.key for e in section.labels if e.key != section.x_key]
    arrays = read_npz(path, list(dict.fromkeys(keys)), context.where + ".path", {e.key: at[i] + ".key" for i, e in enumerate(section.labels)})
    x, order = _features(arrays, section, context, path)
    values, infos = {}, {}
    for i, entry in enumerate(section.labels):
        y = arrays[entry.key]
        if len(y) != len(x):
            raise DataError(at[i] + ".key", f"{path}: {len(x)} examples in {section.x_key!r} but {len(y)} labels in {entry.key!r}")
        y = y[order]
        if entry.task == "regression":
            values[entry.label_name] = y.astype("float32")
            infos[entry.label_name] = TaskInfo(None, tuple(y.shape[1:]))
        else:
            y, names = class_indices(y, entry.class_names, path, at[i] + ".key", at[i] + ".class_names")
            values[entry.label_name], infos[entry.label_name] = y, TaskInfo(names)
    if len(values) == 1:
        (y,), (info,) = values.values(), infos.values()
        return DataSource(tf.data.Dataset.from_tensor_slices((x, y)), len(x), tuple(x.shape[1:]), info.class_names, True, info.target_shape)
    dataset = tf.data.Dataset.from_tensor_slices((x, values))
    return DataSource(dataset, len(x), tuple(x.shape[1:]), None, True, (), labels=infos)
