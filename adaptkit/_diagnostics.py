"""What the test predictions show beyond the metrics: confusion matrices (classifiers), R² and a predict-the-mean baseline (regression).

Computed once at the end of a run from the shared :class:`Predictions` (the
verdict's test predictions are reused, nothing is predicted twice) and kept in
``metrics.json`` as ``test_predictions``, one entry per task, so the report can
be drawn from the run directory's files alone. A task is a classifier when its
data names classes (``TaskInfo.class_names``), else a regression; the host
knows no more about it than that. No TensorFlow import here.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ._predictions import Predictions, labels_of, predicted_classes

__all__ = ["confusion_matrix", "r_squared", "mean_predictor", "summarize_predictions"]


def confusion_matrix(y: np.ndarray, p: np.ndarray, num_classes: int) -> list[list[int]]:
    """Rows: the true class; columns: the predicted class (the arg-max of ``p``; one sigmoid unit: above 0.5)."""
    true = np.asarray(y).astype(int).reshape(-1)
    predicted = predicted_classes(p)
    out = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(out, (true, predicted), 1)
    return out.tolist()


def _columns(y: np.ndarray, p: Optional[np.ndarray] = None) -> tuple[np.ndarray, Optional[np.ndarray]]:
    y = np.asarray(y, dtype="float64")
    y2 = y.reshape(len(y), -1)
    return y2, None if p is None else np.asarray(p, dtype="float64").reshape(y2.shape)


def r_squared(y: np.ndarray, p: np.ndarray) -> Optional[float]:
    """1 − SSE/SST per output (SST about the test mean), averaged over outputs; ``None`` when the
    test targets are constant (SST = 0) or there are fewer than two."""
    y2, p2 = _columns(y, p)
    if len(y2) < 2:
        return None
    sst = ((y2 - y2.mean(0)) ** 2).sum(0)
    if np.any(sst == 0):
        return None
    sse = ((y2 - p2) ** 2).sum(0)
    return float(np.mean(1.0 - sse / sst))


def mean_predictor(y_test: np.ndarray, y_train: np.ndarray) -> dict[str, Any]:
    """MAE and MSE on the test split of always predicting the training targets' mean."""
    test, _ = _columns(y_test)
    train, _ = _columns(y_train)
    mean = train.mean(0)
    error = test - mean
    value: Any = float(mean[0]) if mean.size == 1 else [float(v) for v in mean]
    return {"value": value, "mae": float(np.abs(error).mean()), "mse": float((error**2).mean())}


def _pick(value: Any, output: Optional[str]) -> Any:
    """One task's array out of a multi-task model's outputs (or labels), by task name."""
    return value[output] if output is not None and isinstance(value, dict) else value


def _task_entry(
    task: Optional[str], info: Any, split: str, y: np.ndarray, p: np.ndarray, p_base: Optional[np.ndarray], train_y: Any
) -> dict[str, Any]:
    entry: dict[str, Any] = {"task": task, "split": split, "examples": int(len(y))}
    if info.num_classes is not None:
        entry["class_names"] = list(info.class_names)
        entry["confusion_matrix"] = confusion_matrix(y, p, info.num_classes)
        if p_base is not None:
            entry["baseline_confusion_matrix"] = confusion_matrix(y, p_base, info.num_classes)
        return entry
    entry["r2"] = r_squared(y, p)
    if p_base is not None:
        entry["baseline_r2"] = r_squared(y, p_base)
    if train_y is not None and len(train_y):
        entry["mean_predictor"] = mean_predictor(y, train_y)
    return entry


def _task_splits(run: Any, predictions: Predictions, multitask: bool) -> list[tuple[str, str]]:
    """(task, split) pairs to summarize: each task's test split; a one-task run's labeled target test first."""
    from ._multitask import task_headlines
    from ._target import TARGET_SPLIT

    out = []
    for name in task_headlines(run):
        own = f"@{name}" if multitask and predictions.has(f"test@{name}") else ""
        splits = ["test" + own] if multitask else [TARGET_SPLIT, "test"]
        out.extend((name, split) for split in splits if predictions.has(split))
    return out


def summarize_predictions(run: Any, predictions: Predictions, baseline_model: Any = None) -> list[dict[str, Any]]:
    """One entry per task and test split (a labeled target's too): classifiers get confusion matrices (the
    baseline's too when it was trained), regressions R² and the predict-the-training-mean baseline's MAE and MSE."""
    out = []
    multitask = run.assembly.multitask
    for name, split in _task_splits(run, predictions, multitask):
        task = name if multitask else None
        info = run.parts.tasks[name] if multitask else run.parts.task
        own = split[len("test"):] if split.startswith("test@") else ""
        y, p = predictions.of(run.parts.model, split)
        y, p = _pick(y, task), _pick(p, task)
        if not len(y):
            continue
        p_base = None
        if baseline_model is not None:
            _, p_base = predictions.of(baseline_model, split)  # computed already for the verdict
            p_base = _pick(p_base, task)
        train_y = None
        if info.num_classes is None:
            train = run.splits.batched("train" + own, run.spec.data.batch_size)
            train_y = None if train is None else _pick(labels_of(train), task)
        out.append(_task_entry(task, info, split, y, p, p_base, train_y))
    return out
