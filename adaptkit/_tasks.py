"""Tasks: the spec's ``tasks`` (or its one ``head``) as the list the host trains, and their labels.

A spec with ``head:`` is the one-task short form. With two or more tasks the
model's outputs and the labels are dicts keyed by task name; with one task
they are plain tensors, exactly as with ``head:``. No TensorFlow here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from ._errors import SpecError
from ._types import DataSource, TaskInfo

__all__ = ["Task", "spec_tasks", "stream_tasks", "check_task_data", "is_multitask", "task_labels", "monitor_key"]


@dataclass(frozen=True)
class Task:
    """One task as the host trains it."""

    name: str
    head: Any
    """The head section."""
    label: Optional[str]
    """The data label it learns (``None``: the task's name, or the data's only label)."""
    weight: float
    where: str
    """Spec path of the task (``head`` or ``tasks.<i>``)."""
    data: Any = None
    """The task's own data section (``{train, test}``); ``None``: the task reads ``data.train``."""


def spec_tasks(spec: Any) -> list[Task]:
    if spec.tasks is None:
        return [Task("", spec.head, None, 1.0, "head")]
    return [Task(t.name, t.head, t.label, t.weight, f"tasks.{i}", t.data) for i, t in enumerate(spec.tasks)]


def stream_tasks(spec: Any) -> list[Task]:
    """The tasks with their own data, each trained on a stream of its own."""
    return [t for t in spec_tasks(spec) if t.data is not None]


def is_multitask(spec: Any) -> bool:
    return spec.tasks is not None and len(spec.tasks) > 1


def task_labels(tasks: list[Task], data: DataSource, where: str = "data.train") -> dict[str, tuple[str, TaskInfo]]:
    """Each task's label in ``data``: ``{task: (label name, TaskInfo)}``. A label the data lacks is a SpecError."""
    infos = data.label_infos()
    out: dict[str, tuple[str, TaskInfo]] = {}
    for task in tasks:
        label = task.label or task.name
        if label not in infos and len(infos) == 1:
            label = next(iter(infos))  # a one-label source: its label has no name of its own
        if label not in infos:
            at = f"{task.where}.label" if task.where != "head" else "head"
            if not label:
                raise SpecError(at, f"{where} has several labels ({', '.join(infos)}): use tasks, each with the label it learns")
            raise SpecError(at, f"{where} has no label {label!r} (it has: {', '.join(infos)})")
        out[task.name] = (label, infos[label])
    return out


def check_task_data(spec: Any) -> None:
    """Spec check: tasks with their own data need a task on data.train and no domain-adaptation losses."""
    own = [i for i, t in enumerate(spec.tasks or []) if t.data is not None]
    if not own:
        return
    if len(own) == len(spec.tasks):
        raise SpecError(
            f"tasks.{own[-1]}.data",
            "every task has its own data: at least one task must read data.train (an epoch is one pass over it)",
        )
    for i, stage in enumerate(spec.training.stages):
        for j, loss in enumerate(stage.losses):
            raise SpecError(
                f"training.stages.{i}.losses.{j}",
                f"{loss.kind!r} works on data.train's stream alone; tasks.{own[0]} has its own data "
                "(tasks on different datasets do not combine with domain-adaptation losses)",
            )


def monitor_key(task: str, metric: str) -> str:
    """The name Keras logs a task's metric under (``defect_accuracy``); the metric alone for one task."""
    return f"{task}_{metric}" if task else metric
