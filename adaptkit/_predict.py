"""``adaptkit predict``: a finished run's model applied to new examples, one row per example, as CSV or JSON lines.

The examples are read by the run's own data plugin (``data.train``'s kind, or
the kind of a YAML data section), without labels, and predicted by
``model.keras`` (behind its preprocessing front, as
:mod:`adaptkit._afterrun` explains). A row holds the example's id (its
file, ``file:line`` or row index: :attr:`adaptkit.DataSource.ids`), the
predicted class name (or value), and each class's probability; a multi-task
run has these per task, prefixed ``<task>/``. Rows are in the ids' natural
order (the files' order). The output file is written whole or not at all.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import sys
from pathlib import Path
from typing import Any, Optional

import numpy as np

from ._afterrun import FinishedRun, RunModel, check_shape, load_run_model, open_run, read_new_data
from ._errors import SpecError
from ._rundir import atomic_write_text
from ._types import TaskInfo

__all__ = ["predict_run", "prediction_columns", "write_rows", "FORMATS"]

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _natural(text: str) -> list:
    """Sort key: digits compared as numbers (``img2`` before ``img10``, ``f.csv:9`` before ``f.csv:10``)."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", text)]


def _task_columns(prefix: str, info: TaskInfo, p: np.ndarray) -> dict[str, np.ndarray]:
    """One task's columns for a batch of outputs ``p``."""
    if info.class_names is not None and p.ndim == 2 and p.shape[1] == len(info.class_names):
        names = np.asarray(info.class_names, dtype=object)
        out: dict[str, Any] = {f"{prefix}prediction": names[p.argmax(-1)]}
        out.update({f"{prefix}prob_{name}": p[:, k] for k, name in enumerate(info.class_names)})
        return out
    flat = p.reshape(len(p), -1)
    if info.class_names is not None and len(info.class_names) == 2 and flat.shape[1] == 1:  # one sigmoid unit
        from ._predictions import predicted_classes

        names = np.asarray(info.class_names, dtype=object)
        return {f"{prefix}prediction": names[predicted_classes(flat)], f"{prefix}score_{info.class_names[1]}": flat[:, 0]}
    if flat.shape[1] == 1:
        return {f"{prefix}prediction": flat[:, 0]}
    return {f"{prefix}prediction_{k}": flat[:, k] for k in range(flat.shape[1])}


def prediction_columns(run: FinishedRun, outputs: Any) -> dict[str, np.ndarray]:
    """Every task's columns for a batch of model outputs (a dict by task for a multi-task run)."""
    if not run.multitask:
        return _task_columns("", run.tasks[None], np.asarray(outputs))
    columns: dict[str, np.ndarray] = {}
    for name, info in run.tasks.items():
        columns.update(_task_columns(f"{name}/", info, np.asarray(outputs[name])))
    return columns


def _progress() -> Any:
    """A progress bar on stderr (rows may go to stdout), gone when done."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("predicting"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=True,
    )


def _shown_ids(ids: list[str], given: str) -> list[str]:
    """Files under INPUT named as the user named INPUT (``new/cat.png``, not an absolute path)."""
    import os

    root = os.path.abspath(given)
    return [given + i[len(root):] if i == root or i.startswith(root + os.sep) or i.startswith(root + ":") else i for i in ids]


def _predict_rows(run: FinishedRun, model: RunModel, source: Any, batch_size: int, given: str) -> list[dict[str, Any]]:
    dataset = source.dataset
    if isinstance(dataset.element_spec, tuple):  # a kind without `labeled`: its labels are dropped
        dataset = dataset.map(lambda x, *_: x)
    ids = _shown_ids(list(source.ids), given) if source.ids is not None else [str(i) for i in range(source.size)]
    batches = math.ceil(source.size / batch_size)
    rows: list[dict[str, Any]] = []
    with _progress() as bar:
        task = bar.add_task("predict", total=batches)
        for x in dataset.batch(batch_size):
            columns = prediction_columns(run, model.loaded(x, training=False))
            n = len(next(iter(columns.values())))
            for i in range(n):
                rows.append({"id": ids[len(rows)], **{k: _plain(v[i]) for k, v in columns.items()}})
            bar.advance(task)
    return sorted(rows, key=lambda r: _natural(r["id"]))


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def write_rows(rows: list[dict[str, Any]], output: Optional[Path]) -> None:
    """CSV (or JSON lines, by ``output``'s suffix) to ``output``, written whole; to stdout when ``None``."""
    fmt = "csv" if output is None else FORMATS.get(output.suffix.lower())
    if fmt is None:
        raise SpecError("--output", f"{output}: write .csv or .jsonl (one JSON object a line)")
    if fmt == "jsonl":
        text = "".join(json.dumps(r) + "\n" for r in rows)
    else:
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else ["id"], lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        text = buf.getvalue()
    if output is None:
        sys.stdout.write(text)
        return
    try:
        atomic_write_text(output, text)
    except OSError as exc:
        raise SpecError("--output", f"cannot write {output}: {exc.strerror or exc}") from None


def predict_run(run_dir: Path, given: str, batch_size: Optional[int] = None, trust_code: bool = False) -> list[dict[str, Any]]:
    """The rows ``adaptkit predict RUN INPUT`` writes."""
    run = open_run(run_dir)
    source = read_new_data(run, given, labeled=False, where="INPUT")
    model = load_run_model(run, trust_code)
    check_shape(source, model, given)
    return _predict_rows(run, model, source, batch_size or run.spec.data.batch_size, given)
