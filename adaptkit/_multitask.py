"""Multi-task runs: the weighting strategy, per-task headline keys, and multi-task vs single-task (Δm%).

With ``evaluation.single_task_baselines`` each task is trained alone on the
same trunk (same source, surgery, stages, seed and data), and the run reports
per task the multi-task and single-task test metric and the mean relative
improvement over single-task learning, Δm% (Maninis et al. 2019, as LibMTL
reports it): the mean over tasks of ±(M_multi − M_single) / M_single × 100,
the sign + when higher is better.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

from ._state import RunState
from ._tasks import monitor_key
from ._types import TaskWeighting

__all__ = ["build_weighting", "task_headlines", "delta_m", "single_task_spec", "compare_single_task"]

log = logging.getLogger("adaptkit")


def build_weighting(run: RunState) -> Optional[TaskWeighting]:
    """The run's task-weighting strategy: the spec's ``training.task_weighting`` from its plugin,
    or the weighted sum of the task losses; ``None`` for a one-task run."""
    if not run.assembly.multitask:
        return None
    weights = {t.name: t.weight for t in run.assembly.tasks}
    section = run.spec.training.task_weighting
    if section is None:
        return TaskWeighting(weights)
    where = "training.task_weighting"
    return run.host.call_first("adaptkit_build_weighting", where, section, weights=weights, context=run.ctx.at(where))


def task_headlines(run: RunState) -> dict[str, tuple[str, str, bool]]:
    """Per task: (metrics.json key of its test metric, its history-column name, higher is better)."""
    out = {}
    for name, head in run.assembly.heads.items():
        prefix = f"test/{name}/" if run.assembly.multitask else "test/"
        column = monitor_key(name if run.assembly.multitask else "", head.monitor)
        out[name] = (prefix + head.monitor, column, head.higher_is_better)
    return out


def delta_m(pairs: list[tuple[float, float, bool]]) -> Optional[float]:
    """Δm% over ``(multi, single, higher_is_better)`` triples; ``None`` if any single-task value is 0 or missing."""
    terms = []
    for multi, single, higher in pairs:
        if multi is None or single is None or single == 0:
            return None
        terms.append((1.0 if higher else -1.0) * (multi - single) / abs(single) * 100.0)
    return sum(terms) / len(terms) if terms else None


def single_task_spec(spec: Any, task_name: str) -> Any:
    """The spec with one task alone: same trunk, stages and data; no weighting strategy, no baselines.

    A task with its own data trains alone on it: its ``data.train``/``data.test`` become the
    spec's (the same seed and split fractions cut the same splits), without ``data.target``."""
    task = next(t for t in spec.tasks if t.name == task_name)
    training = spec.training.model_copy(update={"task_weighting": None})
    evaluation = spec.evaluation.model_copy(update={"single_task_baselines": False, "baseline": False})
    update = {"tasks": [task], "training": training, "evaluation": evaluation}
    if task.data is not None:
        update["tasks"] = [task.model_copy(update={"data": None})]
        update["data"] = spec.data.model_copy(update={"train": task.data.train, "test": task.data.test, "target": None})
    return spec.model_copy(update=update)


def compare_single_task(
    run: RunState, metrics: dict[str, Any], train_alone: Callable[[Any], tuple[dict[str, Any], Any]], sets: dict
) -> dict[str, Any]:
    """Train every task alone (``train_alone(spec) -> (metrics, parts)``) and compare it with the
    multi-task run: per task both values and the paired test on the same test examples."""
    from ._verdict import paired_test, decide

    per_task: dict[str, Any] = {}
    pairs = []
    for name, (key, _, higher) in task_headlines(run).items():
        log.info("single-task baseline: %s alone", name)
        alone, parts = train_alone(single_task_spec(run.spec, name))
        test, warnings = paired_test(
            key, name, run.parts.tasks[name], run.parts.model, parts.model, sets, run.spec.seed,
            ("the multi-task model", "the single-task model"),
        )
        metric = key.split("/")[-1]
        single = alone.get(f"test/{metric}")
        multi = metrics.get(key)
        per_task[name] = {
            "metric": metric,
            "multi_task": multi,
            "single_task": single,
            "relative_percent": delta_m([(multi, single, higher)]),
            "single_task_metrics": alone,
            "test": test or {"method": f"none: {metric} is not a mean over examples"},
            "verdict": {"better": "multi-task better", "worse": "multi-task worse", "inconclusive": "inconclusive"}[
                "inconclusive" if test is None else decide(test, higher)
            ],
        }
        if warnings:
            per_task[name]["warnings"] = warnings
        pairs.append((multi, single, higher))
    return {"tasks": per_task, "delta_m_percent": delta_m(pairs)}
