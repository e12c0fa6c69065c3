"""``evaluation.metrics``: metric sections built once per run, fed every labeled split's predictions.

The metric kinds come from plugins (``adaptkit_build_metric``). A spec that
leaves ``evaluation.metrics`` out gets every kind whose class says
``default = True`` (core's: accuracy, loss and balanced accuracy for
classifiers, MAE and MSE for regressions), so ``metrics.json`` keeps its keys.
Each metric applies to the tasks it reads (``MetricSection.task``); one that
reads none of the run's tasks is refused before training, as is a name two
metrics both report. The predictions come from the run's
:class:`~adaptkit._predictions.Predictions`, so each split is predicted once
for every metric, the verdict and the report. No TensorFlow here.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Optional

from ._errors import AdaptkitError, PluginError, SpecError
from ._types import Metric, TaskInfo

__all__ = ["LABELED_SPLITS", "BuiltMetric", "metric_sections", "build_metrics", "metric_values"]

LABELED_SPLITS = ("validation", "test", "target_test")
"""The splits metrics are reported on (the training split is not: its numbers are history.csv's)."""


@dataclass(frozen=True)
class BuiltMetric:
    where: str
    section: Any
    metric: Metric

    def fits(self, task: TaskInfo) -> bool:
        return fits(self.section, task)


def fits(section: Any, task: TaskInfo) -> bool:
    """Whether the metric reads this kind of task (class probabilities, or values)."""
    need = type(section).task
    return need is None or (need == "classification") == (task.num_classes is not None)


def metric_sections(spec: Any, host: Any) -> list[tuple[str, Any]]:
    """``(where, section)`` of the spec's ``evaluation.metrics``, or of the default kinds when it has none."""
    listed = spec.evaluation.metrics
    if listed is not None:
        return [(f"evaluation.metrics.{i}", section) for i, section in enumerate(listed)]
    defaults = [(kind, cls) for kind, (cls, _) in host.sections["metric"].items() if cls.default]
    return [("evaluation.metrics", cls.model_validate({"kind": kind})) for kind, cls in defaults]


def build_metrics(
    spec: Any, host: Any, ctx: Any, tasks: dict[str, TaskInfo], headlines: Optional[dict[str, str]] = None
) -> list[BuiltMetric]:
    """Every metric of the spec, built by its plugin; a metric for no task of the run, a name
    reported twice for one task, or a listed set without a task's headline (``headlines``: the
    heads' ``monitor`` by task) is a ``SpecError`` (raised before training)."""
    built = []
    for where, section in metric_sections(spec, host):
        if not any(fits(section, t) for t in tasks.values()):
            if where == "evaluation.metrics":
                continue  # a default for the other kind of task
            classes = type(section).task == "classification"
            need = "a classification head (class probabilities)" if classes else "a regression head"
            other = "a regression" if classes else "a classification"
            found = f"the run's task is {other}" if len(tasks) == 1 else "none of the run's tasks is one"
            raise SpecError(where, f"{section.kind!r} needs {need}; {found}")
        metric = host.call_first("adaptkit_build_metric", where, section, context=ctx.at(where))
        built.append(BuiltMetric(where, section, metric))
    for name, task in tasks.items():
        owner: dict[str, str] = {"examples": "the host"}
        for m in (m for m in built if m.fits(task)):
            for key in m.metric.names:
                other = owner.setdefault(key, m.where)
                if other != m.where:
                    raise SpecError(m.where, f"{m.section.kind!r} reports {key!r}, as {other} does" + (f" (task {name})" if name else ""))
    if spec.evaluation.metrics is not None:
        _check_headlines(built, tasks, headlines or {})
    return built


def _check_headlines(built: list[BuiltMetric], tasks: dict[str, TaskInfo], headlines: dict[str, str]) -> None:
    for name, monitor in headlines.items():
        task = tasks.get(name) or (next(iter(tasks.values())) if len(tasks) == 1 else None)
        if task is None or monitor == "loss" and task.num_classes is None:
            continue  # a regression's loss is no metric kind: the history has it
        if not any(monitor in m.metric.names for m in built if m.fits(task)):
            of = f" of task {name}" if len(tasks) > 1 else ""
            raise SpecError("evaluation.metrics", f"no metric reports {monitor!r}, the headline{of} (the head's monitor): list it, e.g. {{kind: {monitor}}}")


def _labeled(dataset: Any) -> bool:
    return dataset is not None and isinstance(dataset.element_spec, tuple)


def _one(m: BuiltMetric, prefix: str, y: Any, p: Any, task: TaskInfo) -> dict[str, float]:
    """One metric on one task's labels and predictions, its answer checked."""
    if task.num_classes is not None:
        y = y.astype(int).reshape(-1)
    else:
        p = p.reshape(y.shape)
    try:
        answer = m.metric.compute(y, p, task)
    except AdaptkitError:
        raise
    except Exception as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise PluginError(m.where, f"metric {m.section.kind!r} failed on {prefix.rstrip('/')}: {type(exc).__name__}: {text}") from exc
    if not isinstance(answer, dict) or any(k not in m.metric.names or not _number(v) for k, v in answer.items()):
        raise PluginError(m.where, f"metric {m.section.kind!r} answered {answer!r}, not numbers by its names {list(m.metric.names)}")
    return {prefix + k: int(v) if isinstance(v, numbers.Integral) else float(v) for k, v in answer.items()}


def _number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _task_values(built: list[BuiltMetric], prefix: str, y: Any, p: Any, task: TaskInfo, errors: list) -> dict:
    out: dict[str, Any] = {}
    for m in built:
        if m.fits(task):
            try:
                out.update(_one(m, prefix, y, p, task))
            except AdaptkitError as exc:
                errors.append(exc)
    return out


def _predicted(predictions: Any, model: Any, split: str, errors: list) -> Any:
    try:
        return predictions.of(model, split)
    except Exception as exc:  # a split that cannot be read: its metrics are missing, the run goes on
        error = PluginError("evaluation", f"predicting the {split} split failed: {type(exc).__name__}: {' '.join(str(exc).split())}")
        error.__cause__ = exc
        errors.append(error)
        return None


def metric_values(built: list[BuiltMetric], parts: Any, predictions: Any) -> tuple[dict[str, Any], list[AdaptkitError]]:
    """``<split>/<name>`` (``<split>/<task>/<name>`` per task, and ``<split>/examples``) of every
    labeled split; the errors of metrics (or splits) that failed, whose numbers are left out."""
    out: dict[str, Any] = {}
    errors: list[AdaptkitError] = []
    tasks = parts.tasks or {}
    for name, dataset in predictions.sets.items():
        split, _, own = name.partition("@")
        if split not in LABELED_SPLITS or not _labeled(dataset) or (own and own not in tasks):
            continue
        got = _predicted(predictions, parts.model, name, errors)
        if got is None:
            continue
        y, p = got
        if own:  # a task's own data: its label alone, the model's output for it
            if len(y):
                out[f"{split}/{own}/examples"] = int(len(y))
                out.update(_task_values(built, f"{split}/{own}/", y, p[own], tasks[own], errors))
            continue
        if isinstance(y, dict):
            n = len(next(iter(y.values()))) if y else 0
            if n:
                out[f"{split}/examples"] = int(n)
                for task, info in tasks.items():
                    if task in y:
                        out.update(_task_values(built, f"{split}/{task}/", y[task], p[task], info, errors))
            continue
        if len(y):
            out[f"{split}/examples"] = int(len(y))
            out.update(_task_values(built, f"{split}/", y, p, parts.task, errors))
    return out, errors
