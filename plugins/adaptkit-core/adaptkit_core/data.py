"""Numeric arrays from ``.npz`` files: one label array, several named ones, or none."""

from __future__ import annotations

import zipfile
from typing import Optional

import numpy as np

from adaptkit import DataError, DataSource, RunContext, TaskInfo, check_finite, class_indices, warn_rare_classes

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


def _classes(y: np.ndarray, names: Optional[list[str]], path, where: str, names_where: str, context: RunContext) -> tuple[np.ndarray, list[str]]:
    """Integer class labels 0..K-1 as int32 and their names (default '0'..max), checked
    (:func:`adaptkit.class_indices`); a class with very few examples is warned about."""
    y, names = class_indices(y, names, path, where, names_where)
    warn_rare_classes(names, np.bincount(y, minlength=len(names)), path, context.log)
    return y, names


def _real(a: np.ndarray) -> bool:
    """Whether an array holds real numbers (or booleans): what float32 can take."""
    return a.dtype == np.bool_ or (np.issubdtype(a.dtype, np.number) and not np.issubdtype(a.dtype, np.complexfloating))


def _targets(y: np.ndarray, path, key: str, where: str) -> np.ndarray:
    """Regression targets as float32, every one finite."""
    if not _real(y):
        raise DataError(where, f"{path}: regression targets must be numbers, got {y.dtype} in {key!r}")
    y = y.astype("float32")
    check_finite(y, repr(key), path, where)
    return y


def load_arrays(section: ArraysData, context: RunContext) -> DataSource:
    import tensorflow as tf

    path = context.resolve(section.path)
    if section.labels is not None:
        return _load_labels(section, context, path)
    keys = [section.x_key] + ([section.y_key] if section.labeled else [])
    arrays = read_npz(path, keys, context.where + ".path")
    x, order = _features(arrays, section, context, path)
    ids = [str(i) for i in order]  # the row in the file
    if not section.labeled:
        return DataSource(tf.data.Dataset.from_tensor_slices(x), len(x), tuple(x.shape[1:]), labeled=False, ids=ids)
    y = arrays[section.y_key]
    if len(y) != len(x):
        raise DataError(context.where + ".path", f"{path}: {len(x)} examples in {section.x_key!r} but {len(y)} labels in {section.y_key!r}")
    y = y[order]
    if section.task == "regression":
        y = _targets(y, path, section.y_key, context.where + ".path")
        return DataSource(tf.data.Dataset.from_tensor_slices((x, y)), len(x), tuple(x.shape[1:]), None, True, tuple(y.shape[1:]), ids=ids)
    where = context.where
    y, names = _classes(y, section.class_names, path, where + ".path", where + ".class_names", context)
    return DataSource(tf.data.Dataset.from_tensor_slices((x, y)), len(x), tuple(x.shape[1:]), names, ids=ids)


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
    raw = arrays[section.x_key]
    if not _real(raw):
        raise DataError(context.where + ".path", f"{path}: {section.x_key!r} must hold numbers, got {raw.dtype}")
    with np.errstate(over="ignore", invalid="ignore"):  # an overflow becomes inf: refused just below
        x = raw.astype("float32") * section.scale
    if x.ndim < 2 or len(x) == 0:
        raise DataError(context.where + ".path", f"{path}: {section.x_key!r} must hold at least one example (shape {x.shape})")
    check_finite(x, repr(section.x_key) + ("" if section.scale == 1 else f" (after scale {section.scale:g})"), path, context.where + ".path")
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
            values[entry.label_name] = _targets(y, path, entry.key, at[i] + ".key")
            infos[entry.label_name] = TaskInfo(None, tuple(y.shape[1:]))
        else:
            y, names = _classes(y, entry.class_names, path, at[i] + ".key", at[i] + ".class_names", context)
            values[entry.label_name], infos[entry.label_name] = y, TaskInfo(names)
    ids = [str(i) for i in order]
    if len(values) == 1:
        (y,), (info,) = values.values(), infos.values()
        return DataSource(tf.data.Dataset.from_tensor_slices((x, y)), len(x), tuple(x.shape[1:]), info.class_names, True, info.target_shape, ids=ids)
    dataset = tf.data.Dataset.from_tensor_slices((x, values))
    return DataSource(dataset, len(x), tuple(x.shape[1:]), None, True, (), labels=infos, ids=ids)
