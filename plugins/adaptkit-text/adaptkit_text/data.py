"""Text data: ``text_table`` (CSV, TSV, JSON lines) and ``text_directory`` (a folder per class).

Files are read with the standard library, checked row by row (a bad row is a
``DataError`` naming ``file:line``), shuffled with the run's seed and handed to
the host as an unbatched ``tf.data`` dataset of ``(string, label)`` pairs (or
strings alone when unlabeled; ``(string, {name: label})`` for a ``text_table``
with two or more ``labels``). Tokenization happens inside the model, and so
does ``text_directory``'s stripping in a saved model (:func:`input_preprocessing`).
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np

from adaptkit import DataError, DataSource, RunContext, SpecError, TaskInfo, warn_rare_classes

from .sections import TextDirectory, TextTable

__all__ = ["load_text_table", "load_text_directory", "read_table", "input_preprocessing", "FORMATS"]

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}

_FLOAT32_MAX = float(np.finfo(np.float32).max)

Row = tuple[str, Any, str]
"""text, raw label, "file:line". The raw label is None when unlabeled, a tuple of one
value per entry with ``labels``, else the label column's value."""


def _read_text(path: Path, encoding: str, where: str) -> str:
    if not path.is_file():
        raise DataError(str(path), "no such file" if not path.exists() else "not a file")
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise DataError(str(path), f"not {encoding} text at byte {exc.start}: set encoding (e.g. latin-1)") from exc
    except LookupError as exc:
        raise SpecError(where + ".encoding", f"unknown text encoding {encoding!r}") from exc


def _format(section: TextTable, path: Path, where: str) -> str:
    if section.format != "auto":
        return section.format
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SpecError(where + ".format", f"cannot tell the format of {path.name} from its extension: set format")
    return fmt


def _label_columns(section: TextTable, where: str) -> list[tuple[str, str]]:
    """``(column, the spec field that names it)`` for every label column to read."""
    if not section.labeled:
        return []
    if section.labels is not None:
        return [(e.column, f"labels.{i}.column") for i, e in enumerate(section.labels)]
    if section.label_column is None:
        raise SpecError(where + ".label_column", "labeled data needs a label_column (or set labeled: false)")
    return [(section.label_column, "label_column")]


def read_table(section: TextTable, path: Path, where: str) -> list[Row]:
    """Every row as ``(text, label, "file:line")`` (see :data:`Row`)."""
    fmt = _format(section, path, where)
    content = _read_text(path, section.encoding, where)
    if not content.strip():
        raise DataError(str(path), "empty file: no rows")
    tcol = section.text_column
    lcols = _label_columns(section, where)
    rows: list[tuple[str, tuple, str]] = []
    if fmt == "jsonl":
        for n, line in enumerate(content.splitlines(), 1):
            if not line.strip():
                continue
            at = f"{path}:{n}"
            try:
                obj = json.loads(line)
            except ValueError as exc:
                raise DataError(at, f"not valid JSON: {exc.msg}") from exc
            if not isinstance(obj, dict):
                raise DataError(at, "a JSON-lines row must be an object")
            if tcol not in obj:
                raise DataError(at, f"no text key {tcol!r} (text_column); keys: {', '.join(map(str, obj))}")
            for col, field in lcols:
                if col not in obj:
                    raise DataError(at, f"no label key {col!r} ({field}); keys: {', '.join(map(str, obj))}")
            rows.append((str(obj[tcol]), tuple(obj[c] for c, _ in lcols), at))
    else:
        delimiter = section.delimiter or ("," if fmt == "csv" else "\t")
        reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
        columns = reader.fieldnames or []
        shown = ", ".join(columns) if columns else "none"
        if tcol not in columns:
            raise DataError(str(path), f"no text column {tcol!r} (text_column); columns: {shown}")
        for col, field in lcols:
            if col not in columns:
                if section.labels is None:
                    raise DataError(str(path), f"no label column {col!r} ({field}); columns: {shown}")
                raise DataError(f"{where}.{field}", f"{path} has no label column {col!r}; columns: {shown}")
        for record in reader:
            at = f"{path}:{reader.line_num}"
            text = record.get(tcol)
            values = tuple(record.get(c) for c, _ in lcols)
            if text is None or None in values:
                raise DataError(at, f"the row has fewer fields than the header ({len(columns)})")
            rows.append((text, values, at))
    if not rows:
        raise DataError(str(path), "no rows (only a header)" if fmt != "jsonl" else "empty file: no rows")
    if section.labels is not None:
        return rows
    return [(text, values[0] if values else None, at) for text, values, at in rows]


def _encode(
    raws: list, ats: list[str], task: str, class_names: Optional[list[str]], source: str, field: str = "", log: Any = None
) -> tuple[list, Optional[list[str]]]:
    """Labels as class indices (classification) or floats (regression), and the classes.

    ``field`` (``labels.1``) names a ``labels`` entry in the messages; empty for the single label.
    """
    if task == "regression":
        values = []
        for raw, at in zip(raws, ats):
            try:
                values.append(float(raw))
            except (TypeError, ValueError, OverflowError):
                raise DataError(at, f"label {raw!r} is not a number ({field + ': ' if field else 'task: '}regression)") from None
            if not math.isfinite(values[-1]) or abs(values[-1]) > _FLOAT32_MAX:  # float() reads 'nan', 'inf'; labels are float32
                raise DataError(at, f"label {raw!r} is not a finite number ({field + ': ' if field else 'task: '}regression)")
        return values, None
    names = [str(r).strip() for r in raws]
    classes = list(class_names) if class_names else sorted(set(names))
    index = {c: i for i, c in enumerate(classes)}
    if class_names:
        for name, at in zip(names, ats):
            if name not in index:
                where = field + ".class_names" if field else "class_names"
                raise DataError(at, f"label {name!r} is not in {where} [{', '.join(classes)}]")
    elif len(classes) < 2:
        raise DataError(source, f"{field + ': ' if field else ''}only one class ({classes[0]!r}): a classifier needs at least two")
    encoded = [index[n] for n in names]
    if not class_names and log is not None:  # classes read from the labels: a typo makes a class of its own
        warn_rare_classes(classes, np.bincount(encoded, minlength=len(classes)), f"{source}{' ' + field if field else ''}", log)
    return encoded, classes


def _labels(section: Union[TextTable, TextDirectory], rows: list[Row], source: str, log: Any = None) -> tuple[list, Optional[list[str]]]:
    """Encode the single label: class indices (classification) or floats (regression)."""
    if not section.labeled:
        return [], section.class_names
    return _encode([r[1] for r in rows], [r[2] for r in rows], section.task, section.class_names, source, log=log)


def _named_labels(section: TextTable, rows: list[Row], source: str, log: Any = None) -> tuple[dict[str, list], dict[str, TaskInfo]]:
    """Encode every ``labels`` entry: values and :class:`TaskInfo` by label name."""
    ats = [r[2] for r in rows]
    values, infos = {}, {}
    for i, entry in enumerate(section.labels):
        raws = [r[1][i] for r in rows]
        values[entry.label_name], classes = _encode(raws, ats, entry.task, entry.class_names, source, f"labels.{i}", log)
        infos[entry.label_name] = TaskInfo(classes)
    return values, infos


def _source(
    section: Union[TextTable, TextDirectory], rows: list[Row], context: RunContext, source: str
) -> DataSource:

    named = getattr(section, "labels", None) is not None
    if named:
        values, infos = _named_labels(section, rows, source, context.log)
    else:
        labels, classes = _labels(section, rows, source, context.log)
        values = {"label": labels} if section.labeled else {}
        infos = {"label": TaskInfo(None if section.task == "regression" else classes)}
    order = np.arange(len(rows))
    if section.shuffle:
        order = np.random.default_rng(context.seed).permutation(len(rows))
    end = None if section.limit is None else section.skip + section.limit
    order = order[section.skip : end]
    if len(order) == 0:
        raise DataError(source, f"no examples left after skip: {section.skip} ({len(rows)} in all)")
    texts = [rows[i][0] for i in order]

    import tensorflow as tf

    x = tf.constant(texts, dtype=tf.string)
    ys = {
        name: tf.constant([v[i] for i in order], tf.int32 if infos[name].class_names is not None else tf.float32)
        for name, v in values.items()
    }
    if not section.labeled:
        dataset = tf.data.Dataset.from_tensor_slices(x)
    elif len(ys) == 1:
        dataset = tf.data.Dataset.from_tensor_slices((x, next(iter(ys.values()))))
    else:
        dataset = tf.data.Dataset.from_tensor_slices((x, ys))
    if named:  # one entry is a single label, like label_column; two or more are a dict
        classes = next(iter(infos.values())).class_names if len(infos) == 1 else None
    shown = {n: i.class_names or "regression" for n, i in infos.items()} if named else classes
    context.log.info("%s: %d examples%s", source, len(texts), f", classes {shown}" if shown else "")
    return DataSource(
        dataset=dataset,
        size=len(texts),
        input_shape=(),
        class_names=classes,
        labeled=section.labeled,
        target_shape=(),
        labels=infos if named and len(infos) > 1 else None,
        ids=[rows[i][2] for i in order],  # file:line (a table), the file (a directory)
    )


def input_preprocessing(section: Union[TextTable, TextDirectory]) -> Any:
    """What the loader does to a text: ``text_directory`` strips it (a model string -> string);
    ``text_table`` hands it on unchanged (``None``)."""
    if not isinstance(section, TextDirectory):
        return None
    import keras

    from .layers import StripWhitespace

    raw = keras.Input(shape=(), dtype="string", name="text")
    return keras.Model(raw, StripWhitespace(name="strip")(raw))


def load_text_table(section: TextTable, context: RunContext) -> DataSource:
    path = context.resolve(section.path)
    rows = read_table(section, path, context.where)
    return _source(section, rows, context, str(path))


def load_text_directory(section: TextDirectory, context: RunContext) -> DataSource:
    root = context.resolve(section.path)
    if not root.is_dir():
        raise DataError(str(root), "no such directory")
    ends = tuple(e.lower() for e in section.extensions)
    if section.labeled:
        folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if section.class_names:
            for name in folders:
                if name not in section.class_names:
                    raise DataError(str(root / name), f"folder {name!r} is not in class_names [{', '.join(section.class_names)}]")
            for name in section.class_names:
                if name not in folders:
                    raise DataError(str(root / name), f"class {name!r} has no folder")
        if not folders:
            raise DataError(str(root), "no class sub-folders (one folder of text files per class)")
        groups = [(name, sorted(root.joinpath(name).rglob("*"))) for name in folders]
    else:
        groups = [(None, sorted(root.rglob("*")))]
    rows: list[Row] = []
    for label, files in groups:
        for f in files:
            if f.is_file() and f.name.lower().endswith(ends):
                rows.append((_read_text(f, section.encoding, context.where).strip(), label, str(f)))
    if not rows:
        raise DataError(str(root), f"no {' / '.join(section.extensions)} files")
    return _source(section, rows, context, str(root))
