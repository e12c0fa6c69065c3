"""``image_manifest``: images listed in a CSV file with one or more label columns, as a seeded ``tf.data`` pipeline.

Every row is checked before any image is decoded (a bad row is a one-line
``DataError`` naming ``manifest.csv:line``); images are decoded and resized by
the same code as ``image_directory`` (:func:`adaptkit_vision.data.image_decoder`).
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path
from typing import Optional

import numpy as np

from adaptkit import DataError, DataSource, RunContext, TaskInfo, check_finite, warn_rare_classes

from .data import find_undecodable, image_decoder, verify_image
from .sections import ImageManifestData

__all__ = ["load_image_manifest", "read_manifest"]

Row = tuple[Path, tuple[str, ...], str]
"""An image file, its raw label values (one per ``labels`` entry), and ``manifest.csv:line``."""


def read_manifest(section: ImageManifestData, path: Path, where: str) -> list[Row]:
    """Every row of the manifest, its image file checked to exist."""
    if not path.is_file():
        raise DataError(where + ".path", f"manifest {path} {'is not a file' if path.exists() else 'does not exist'}")
    try:
        content = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataError(where + ".path", f"{path} is not utf-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise DataError(where + ".path", f"cannot read {path} ({exc.strerror or exc})") from None
    if not content.strip():
        raise DataError(where + ".path", f"{path} is empty (expected a header row: {section.path_column}, ...)")
    reader = csv.DictReader(io.StringIO(content, newline=""))
    columns = reader.fieldnames or []
    shown = ", ".join(columns) or "none"
    if section.path_column not in columns:
        raise DataError(where + ".path_column", f"{path} has no column {section.path_column!r}; columns: {shown}")
    entries = section.labels if section.labeled else []
    for i, entry in enumerate(entries):
        if entry.column not in columns:
            raise DataError(f"{where}.labels.{i}.column", f"{path} has no column {entry.column!r}; columns: {shown}")
    folder = path.parent
    rows: list[Row] = []
    for record in reader:
        at = f"{path}:{reader.line_num}"
        cell = record.get(section.path_column)
        values = tuple(record.get(e.column) for e in entries)
        if cell is None or None in values:
            raise DataError(at, f"the row has fewer fields than the header ({len(columns)})")
        if not cell.strip():
            raise DataError(at, f"empty image path (column {section.path_column!r})")
        image = Path(cell.strip()).expanduser()
        image = image if image.is_absolute() else folder / image
        if not image.is_file():
            raise DataError(at, f"{image} is a directory, not an image file" if image.is_dir() else f"no such image file {image}")
        rows.append((image, values, at))
    if not rows:
        raise DataError(where + ".path", f"{path} lists no images (only a header)")
    return rows


def _encode(section: ImageManifestData, rows: list[Row], path: Path, where: str, log) -> tuple[dict, dict]:
    """Label values by name (int32 class indices or float32 numbers) and their :class:`TaskInfo`."""
    values: dict[str, np.ndarray] = {}
    infos: dict[str, TaskInfo] = {}
    for i, entry in enumerate(section.labels):
        raw = [r[1][i].strip() for r in rows]
        if entry.task == "regression":
            numbers = []
            for value, (_, _, at) in zip(raw, rows):
                try:
                    numbers.append(float(value))
                except ValueError:
                    raise DataError(at, f"{entry.column} {value!r} is not a number (labels.{i}: regression)") from None
            for number, (_, _, at) in zip(numbers, rows):
                if not math.isfinite(number):  # float() reads 'nan' and 'inf'
                    raise DataError(at, f"{entry.column} {number!r} is not a finite number (labels.{i}: regression)")
            values[entry.label_name] = np.array(numbers, np.float32)
            check_finite(values[entry.label_name], f"column {entry.column!r} (as float32)", path, f"{where}.labels.{i}")
            infos[entry.label_name] = TaskInfo(None, ())
            continue
        classes = list(entry.class_names) if entry.class_names else sorted(set(raw))
        index = {c: k for k, c in enumerate(classes)}
        for value, (_, _, at) in zip(raw, rows):
            if value not in index:
                raise DataError(at, f"{entry.column} {value!r} is not in labels.{i}.class_names [{', '.join(classes)}]")
        if len(classes) < 2:
            raise DataError(
                f"{where}.labels.{i}", f"only one class ({classes[0]!r}) in column {entry.column!r} of {path}: a classifier needs at least two"
            )
        values[entry.label_name] = np.array([index[v] for v in raw], np.int32)
        infos[entry.label_name] = TaskInfo(classes)
        if not entry.class_names:  # classes read from the column: a typo makes a class of its own
            warn_rare_classes(classes, np.bincount(values[entry.label_name], minlength=len(classes)), f"{path} column {entry.column!r}", log)
    return values, infos


def load_image_manifest(section: ImageManifestData, context: RunContext) -> DataSource:
    """``(image, y)``, ``(image, {name: y})`` or images alone, in an order fixed by the seed."""
    import tensorflow as tf

    where = context.where or "data"
    path = context.resolve(section.path)
    rows = read_manifest(section, path, where)
    values, infos = _encode(section, rows, path, where, context.log) if section.labeled else ({}, {})
    order = np.random.default_rng(context.seed).permutation(len(rows))
    if section.limit is not None:
        order = order[: section.limit]
    if section.verify:
        for k in order:
            image, _, at = rows[k]
            try:
                verify_image(image)
            except DataError as exc:
                raise DataError(exc.where, f"{exc.message} (listed at {at})") from None
    files = np.array([str(rows[k][0]) for k in order])
    decode, shape = image_decoder(section.color_mode, section.image_size)
    ys = {name: v[order] for name, v in values.items()}
    class_names: Optional[list[str]] = None
    target_shape: tuple = ()
    if not ys:
        dataset = tf.data.Dataset.from_tensor_slices(files).map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    else:
        labels = next(iter(ys.values())) if len(ys) == 1 else ys
        dataset = tf.data.Dataset.from_tensor_slices((files, labels)).map(
            lambda file, y: (decode(file), y), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
        )
        if len(ys) == 1:  # one entry: a single label, as image_directory gives
            (info,) = infos.values()
            class_names, target_shape = info.class_names, info.target_shape
    context.log.info("%s: %d images%s", path, len(files), f", labels {list(infos)}" if infos else " (unlabeled)")
    return DataSource(
        dataset=dataset,
        size=len(files),
        input_shape=shape,
        class_names=class_names,
        labeled=section.labeled,
        target_shape=target_shape,
        labels=infos if len(infos) > 1 else None,
        diagnose=lambda: find_undecodable(files, decode, [rows[k][2] for k in order]),
        ids=[str(f) for f in files],
    )
