"""Text data: ``text_table`` (CSV, TSV, JSON lines) and ``text_directory`` (a folder per class).

Files are read with the standard library, checked row by row (a bad row is a
``DataError`` naming ``file:line``), shuffled with the run's seed and handed to
the host as an unbatched ``tf.data`` dataset of ``(string, label)`` pairs (or
strings alone when unlabeled). Tokenization happens inside the model.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any, Optional, Union

from adaptkit import DataError, DataSource, RunContext, SpecError

from .sections import TextDirectory, TextTable

__all__ = ["load_text_table", "load_text_directory", "read_table", "FORMATS"]

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "tsv",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}

Row = tuple[str, Any, str]  # text, raw label (None when unlabeled), "file:line"


def _read_text(path: Path, encoding: str) -> str:
    if not path.is_file():
        raise DataError(str(path), "no such file" if not path.exists() else "not a file")
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        raise DataError(str(path), f"not {encoding} text at byte {exc.start}: set encoding (e.g. latin-1)") from exc
    except LookupError as exc:
        raise SpecError("encoding", f"unknown text encoding {encoding!r}") from exc


def _format(section: TextTable, path: Path, where: str) -> str:
    if section.format != "auto":
        return section.format
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise SpecError(where + ".format", f"cannot tell the format of {path.name} from its extension: set format")
    return fmt


def read_table(section: TextTable, path: Path, where: str) -> list[Row]:
    """Every row as ``(text, label or None, "file:line")``."""
    fmt = _format(section, path, where)
    content = _read_text(path, section.encoding)
    if not content.strip():
        raise DataError(str(path), "empty file: no rows")
    want_label = section.labeled
    tcol, lcol = section.text_column, section.label_column
    if want_label and lcol is None:
        raise SpecError(where + ".label_column", "labeled data needs a label_column (or set labeled: false)")
    rows: list[Row] = []
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
            if want_label and lcol not in obj:
                raise DataError(at, f"no label key {lcol!r} (label_column); keys: {', '.join(map(str, obj))}")
            rows.append((str(obj[tcol]), obj[lcol] if want_label else None, at))
    else:
        delimiter = section.delimiter or ("," if fmt == "csv" else "\t")
        reader = csv.DictReader(io.StringIO(content, newline=""), delimiter=delimiter)
        columns = reader.fieldnames or []
        shown = ", ".join(columns) if columns else "none"
        if tcol not in columns:
            raise DataError(str(path), f"no text column {tcol!r} (text_column); columns: {shown}")
        if want_label and lcol not in columns:
            raise DataError(str(path), f"no label column {lcol!r} (label_column); columns: {shown}")
        for record in reader:
            at = f"{path}:{reader.line_num}"
            text = record.get(tcol)
            label = record.get(lcol) if want_label else None
            if text is None or (want_label and label is None):
                raise DataError(at, f"the row has fewer fields than the header ({len(columns)})")
            rows.append((text, label, at))
    if not rows:
        raise DataError(str(path), "no rows (only a header)" if fmt != "jsonl" else "empty file: no rows")
    return rows


def _labels(section: Union[TextTable, TextDirectory], rows: list[Row], source: str) -> tuple[list, Optional[list[str]]]:
    """Encode labels: class indices (classification) or floats (regression)."""
    if not section.labeled:
        return [], section.class_names
    if section.task == "regression":
        values = []
        for _, raw, at in rows:
            try:
                values.append(float(raw))
            except (TypeError, ValueError):
                raise DataError(at, f"label {raw!r} is not a number (task: regression)") from None
        return values, None
    names = [str(r[1]).strip() for r in rows]
    classes = list(section.class_names) if section.class_names else sorted(set(names))
    index = {c: i for i, c in enumerate(classes)}
    if section.class_names:
        for name, (_, _, at) in zip(names, rows):
            if name not in index:
                raise DataError(at, f"label {name!r} is not in class_names [{', '.join(classes)}]")
    elif len(classes) < 2:
        raise DataError(source, f"only one class ({classes[0]!r}): a classifier needs at least two")
    return [index[n] for n in names], classes


def _source(
    section: Union[TextTable, TextDirectory], rows: list[Row], context: RunContext, source: str
) -> DataSource:
    import numpy as np

    labels, classes = _labels(section, rows, source)
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
    if not section.labeled:
        dataset = tf.data.Dataset.from_tensor_slices(x)
    elif section.task == "regression":
        dataset = tf.data.Dataset.from_tensor_slices((x, tf.constant([labels[i] for i in order], tf.float32)))
    else:
        dataset = tf.data.Dataset.from_tensor_slices((x, tf.constant([labels[i] for i in order], tf.int32)))
    context.log.info("%s: %d examples%s", source, len(texts), f", classes {classes}" if classes else "")
    return DataSource(
        dataset=dataset,
        size=len(texts),
        input_shape=(),
        class_names=classes,
        labeled=section.labeled,
        target_shape=(),
    )


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
                rows.append((_read_text(f, section.encoding).strip(), label, str(f)))
    if not rows:
        raise DataError(str(root), f"no {' / '.join(section.extensions)} files")
    return _source(section, rows, context, str(root))
