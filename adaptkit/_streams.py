"""Tasks on different datasets: per-task streams, their metrics in the trainer, their validation per epoch.

A task with its own ``data`` is trained on a stream of its own, drawn at
every step alongside data.train's (and repeating, like ``data.target``). Its
batches yield ``(x, y)`` with that task's label alone. Keras' compiled
metrics expect one label structure, so when any task has its own stream the
:class:`~adaptkit._training.Trainer` keeps every task's metrics itself
(:class:`TaskMetrics`, logged as ``<task>_<metric>`` like Keras does); the
validation split of data.train is evaluated by Keras for the tasks on it, and
:class:`TaskValidation` adds ``val_<task>_*`` for the other tasks, each on its
own validation split, at the end of every epoch.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

import keras
import tensorflow as tf
from keras.src.trainers.compile_utils import CompileMetrics  # resolves "accuracy" from the shapes, as compile does

from ._state import RunState
from ._tasks import stream_tasks

__all__ = ["TaskStreams", "TaskMetrics", "TaskValidation", "StreamsMixin", "task_streams", "fit_data", "build_task_metrics"]


@dataclass
class TaskStreams:
    """What the trainer needs to know about the tasks when some have streams of their own."""

    names: list[str]
    """The tasks with their own stream, in the spec's order."""
    metrics: dict[str, list]
    """Every task's head metrics (as ``compile`` would take them), by task."""
    labels: dict[str, Any]
    """Every task's label spec (one unbatched ``y``), by task."""


class TaskMetrics(CompileMetrics):
    """One task's compiled metrics, logged as ``<task>_<metric>``."""

    def __init__(self, task: str, metrics: list) -> None:
        super().__init__(list(metrics), None, name=f"{task}_metrics")
        self.task = task

    def result(self) -> dict:
        return {f"{self.task}_{k}": v for k, v in super().result().items()}


def build_task_metrics(streams: TaskStreams, classifier: Any) -> dict[str, TaskMetrics]:
    """Every task's metrics, built eagerly (on zeros of the right shapes) so that no variable
    is created inside the compiled step."""
    features = keras.ops.zeros((1,) + tuple(classifier.inputs[0].shape[1:]), dtype=classifier.inputs[0].dtype)
    outputs = classifier(features, training=False)
    out = {}
    for task, metrics in streams.metrics.items():
        spec = streams.labels[task]
        y = tf.zeros((1,) + tuple(spec.shape), dtype=spec.dtype)
        m = TaskMetrics(task, metrics)
        m.build(y, outputs[task])
        out[task] = m
    return out


def task_streams(run: RunState) -> Optional[TaskStreams]:
    """The run's task streams; ``None`` when every task reads data.train."""
    names = [t.name for t in stream_tasks(run.spec)]
    if not names:
        return None
    labels = {}
    for task in run.assembly.heads:
        split = f"train@{task}" if task in names else "train"
        y = run.splits.sets[split].element_spec[1]
        labels[task] = y if task in names else y[task]
    metrics = {task: list(head.metrics) for task, head in run.assembly.heads.items()}
    return TaskStreams(names, metrics, labels)


def fit_data(train: Any, streams: Any) -> Any:
    """What ``fit`` iterates: ``((x, {task: y}), {task: (x_task, y_task)})``, one batch of every stream."""
    return tf.data.Dataset.zip((train, dict(streams.tasks)))


class TaskValidation(keras.callbacks.Callback):
    """At the end of every epoch, each own-data task's validation loss and metrics on its own
    validation split, logged as ``val_<task>_*``; ``val_loss`` (data.train's tasks, weighted)
    gains their weighted losses."""

    def __init__(self, sets: dict[str, Any], weights: dict[str, float]) -> None:
        super().__init__()
        self.sets, self.weights = sets, weights

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        if logs is None:
            return
        for task, dataset in self.sets.items():
            values = self.model.validate_task(task, dataset)
            logs.update({f"val_{k}": v for k, v in values.items()})
            if "val_loss" in logs:
                logs["val_loss"] = float(logs["val_loss"]) + self.weights[task] * values[f"{task}_loss"]


class StreamsMixin:
    """The :class:`~adaptkit._training.Trainer`'s part for task streams."""

    def _init_streams(self, task_streams: Optional[TaskStreams]) -> None:
        """Must run after ``self.classifier`` is set and before the metrics are read."""
        self.streams = task_streams
        self.own_metrics = build_task_metrics(task_streams, self.classifier) if task_streams else {}
        self._stream_keys = {f"{t}_loss" for t in task_streams.names} if task_streams else set()
        for t in task_streams.names if task_streams else []:
            self._stream_keys.update(self.own_metrics[t].result())

    def _own_streams(self, data: Any, ys: Any, os_: Any) -> tuple[dict, dict]:
        """Labels and outputs of every task, each from its own stream (the model run on each stream's x)."""
        if self.streams is None:
            return ys, os_
        _, own = data
        ys_all, os_all = dict(ys), {name: os_[name] for name in ys}
        for name, (x, y) in own.items():
            ys_all[name] = y
            os_all[name] = self.net(x, training=True)[name]
        return ys_all, os_all

    def _update_own_metrics(self, ys: dict, outputs: dict) -> None:
        for name, metric in self.own_metrics.items():
            if name in ys:
                metric.update_state(ys[name], outputs[name])

    def validate_task(self, task: str, dataset: Any) -> dict[str, float]:
        """``<task>_loss`` and ``<task>_<metric>`` on a batched split (own-data tasks' validation)."""
        return _validate(self, task, dataset)



def _validate(trainer: Any, task: str, dataset: Any) -> dict[str, float]:
    """One task's loss and metrics on a (batched) split, eagerly, with the trainer's own trackers."""
    tracker, metrics = trainer.task_trackers[task], trainer.own_metrics[task]
    tracker.reset_state()
    metrics.reset_state()
    loss = trainer.task_losses[task]
    for x, y in dataset:
        p = trainer.net(x, training=False)[task]
        tracker.update_state(keras.ops.cast(loss(y, p), "float32"), sample_weight=tf.shape(y)[0])
        metrics.update_state(y, p)
    out = {f"{task}_loss": float(tracker.result())}
    out.update({k: float(v) for k, v in metrics.result().items()})
    return out
