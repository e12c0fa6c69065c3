"""The run report: the content of metrics.json, the learning-curve plot, the files beside the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ._errors import PluginError
from ._rundir import RunDir
from ._serializable import check_serializable
from ._multitask import task_headlines
from ._rawinput import raw_input_model
from ._state import RunState
from ._training import count_params

__all__ = ["headline_key", "summary", "task_outputs", "save_model", "plot_curves"]


def headline_key(run: RunState) -> str:
    """``test/<metric>``; ``test/<first task>/<metric>`` for a multi-task run; ``target_test/<metric>``
    for a one-task run with a labeled target (what domain adaptation is for)."""
    key = next(iter(task_headlines(run).values()))[0]
    if run.splits.sizes.get("target_test") and not run.assembly.multitask:
        return "target_test/" + key.split("/", 1)[1]
    return key


def summary(run: RunState, metrics: dict[str, Any]) -> dict[str, Any]:
    """The body of metrics.json before the baseline and timing are added."""
    trainable, total = count_params(run.parts.model)
    key = headline_key(run)
    return {
        "headline": {"metric": key, "value": metrics.get(key)},
        "metrics": metrics,
        "parameters": {"total": total, "trainable_last_stage": trainable},
        "tasks": task_outputs(run),
        "data": run.splits.sizes,
        "epochs": len(run.history),
        "last_epoch": run.history[-1] if run.history else {},
        "health": list(run.health),
        # the metrics are those of the weights kept, which may be an earlier epoch's than last_epoch
        **({"early_stopping": dict(run.early_stopping)} if run.early_stopping else {}),
        **({"selection": dict(run.selection)} if run.selection else {}),
    }


def task_outputs(run: RunState) -> list[dict[str, Any]]:
    """What each output of ``model.keras`` predicts, in order: the task's name (``None`` for a
    one-task run, whose output is not a dict), its class names (``None``: a regression) and
    target shape. ``adaptkit predict`` and ``evaluate`` read it back."""
    multitask = run.parts.tasks is not None
    tasks = run.parts.tasks if multitask else {None: run.parts.task}
    return [
        {"name": name, "class_names": None if t.class_names is None else list(t.class_names), "target_shape": list(t.target_shape)}
        for name, t in tasks.items()
    ]


def save_model(rundir: RunDir, run: RunState, result: dict[str, Any]) -> None:
    """``model.keras`` (raw inputs in: the loader's preprocessing in front), then the files plugins
    write beside it (``adaptkit_save_artifacts``)."""
    model = raw_input_model(run.parts.model, run.assembly.preprocessing)
    check_serializable(model, "model.keras", run.host)  # a finalize() may have built new layers
    rundir.save_model("model.keras", model)
    where = "adaptkit_save_artifacts"
    answers = run.host.call_each(where, where, model=model, run_dir=rundir.partial, context=run.ctx)
    for plugin, entries in answers:
        taken = sorted(set(entries) & set(result))
        if taken:
            raise PluginError(where, f"plugin {plugin!r} returned metrics.json keys that are already there: {', '.join(taken)}")
        result.update(entries)


def plot_curves(path: Path, transfer_rows: list, baseline_rows: list) -> None:
    """Every logged quantity and the learning rate per epoch, transfer vs from scratch, stages marked
    (report.html shows the same figure)."""
    from ._plots import learning_curves, save_png

    save_png(learning_curves(transfer_rows, baseline_rows), path)
