"""The from-scratch baseline and the transfer verdict (higher start, steeper slope, higher asymptote?).

The baseline is the same architecture from random initialisation, every layer
trainable, trained on the same data for as many epochs as the stages together.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Optional

import keras

from ._distribution import build_for_fit
from ._divergence import Diverged, StopOnDivergence
from ._history import EpochLog, learning_rate_reader
from ._layers import set_trainable
from ._pace import resolve_steps_per_execution
from ._state import RunState, Streams
from ._streams import TaskValidation, task_streams
from ._streams import fit_data as streams_fit_data
from ._tracking import stage_info, tracker_callbacks
from ._training import Trainer, build_optimizer, count_params, steps_per_epoch
from ._types import ModelParts, TaskWeighting

__all__ = ["train_baseline", "fresh_layer", "compare_transfer", "BaselineDiverged"]

log = logging.getLogger("adaptkit")


class BaselineDiverged(Exception):
    """The baseline's loss became NaN or infinite: there is no verdict to give."""


def fresh_layer(layer: Any, host: Any) -> Any:
    """A new layer from ``layer``'s config, as every plugin's ``adaptkit_baseline_config`` leaves it."""
    config = host.call_chain("adaptkit_baseline_config", "evaluation.baseline", "config", layer.get_config(), layer=layer)
    return layer.__class__.from_config(config)


def train_baseline(run: RunState, rows: list) -> ModelParts:
    """Train the run's architecture from random initialisation; ``rows`` receives its history."""
    spec = run.spec
    keras.utils.set_random_seed(spec.seed)
    model = keras.models.clone_model(run.parts.model, clone_function=lambda layer: fresh_layer(layer, run.host), recursive=True)
    set_trainable(model, lambda i, _: True)  # every layer, BatchNorm included: nothing was learnt before
    ev = spec.evaluation
    epochs = ev.baseline_epochs or sum(stage.epochs for stage in spec.training.stages)
    optimizer_section = ev.baseline_optimizer or spec.training.stages[0].optimizer
    where = "evaluation.baseline_optimizer" if ev.baseline_optimizer else "training.stages.0.optimizer"
    optimizer = build_optimizer(optimizer_section, optimizer_section.learning_rate, context=run.ctx.at(where), host=run.host)
    streams = Streams.of(spec, run.splits)  # fresh datasets: the same order as the transfer run saw
    steps = steps_per_epoch(run.splits.sizes["train"], spec.data.batch_size)
    fitted, fit_data, callbacks = _with_task_streams(run, model, streams, epochs * steps)
    fitted.compile(
        optimizer=optimizer,
        **(run.assembly.compile_arguments() if fitted is model else {}),
        steps_per_execution=resolve_steps_per_execution(spec.training.steps_per_execution, steps, count_params(model)[1]),
        jit_compile=spec.training.jit_compile,
    )
    own = len(callbacks)  # the trackers' go after the history's
    callbacks += tracker_callbacks(run, stage_info(run, 0, "baseline", epochs, 0, role="baseline"))
    trainable, total = count_params(model)
    log.info("baseline (from scratch): %s of %s parameters trainable, %d epochs", f"{trainable:,}", f"{total:,}", epochs)
    build_for_fit(fitted, fit_data)
    try:
        fitted.fit(
            fit_data,
            validation_data=streams.validation,
            epochs=epochs,
            steps_per_epoch=steps,
            callbacks=[StopOnDivergence()] + callbacks[:own] + [EpochLog(rows, 1, "baseline", learning_rate_reader(optimizer))] + callbacks[own:],
            verbose=spec.training.verbose,
            shuffle=False,
        )
    except Diverged as exc:
        raise BaselineDiverged(f"the from-scratch baseline {exc} (learning rate {optimizer_section.learning_rate:g}, from {where})") from None
    return ModelParts(model.get_layer("encoder"), model.get_layer("classifier"), model, run.parts.task, run.parts.tasks)


def _with_task_streams(run: RunState, model: Any, streams: Streams, total_steps: int) -> tuple[Any, Any, list]:
    """What the baseline fits: the model itself, or (tasks on their own data) a trainer over every
    stream with the tasks' static weights, and the callbacks that validate the own-data tasks."""
    info = task_streams(run)
    if info is None:
        return model, streams.train, []
    parts = ModelParts(model.get_layer("encoder"), model.get_layer("classifier"), model, run.parts.task, run.parts.tasks)
    weights = {t.name: t.weight for t in run.assembly.tasks}
    losses = {name: head.loss for name, head in run.assembly.heads.items()}
    trainer = Trainer(parts, [], False, total_steps, task_losses=losses, weighting=TaskWeighting(weights), task_streams=info)
    callbacks = [TaskValidation(streams.task_validation, weights)] if streams.task_validation else []
    return trainer, streams_fit_data(streams.train, streams), callbacks


def compare_transfer(
    transfer_rows: list, baseline_rows: list, monitor: str, higher: bool, t_final: Optional[float], b_final: Optional[float]
) -> dict[str, Any]:
    """Start, slope, asymptote: does transfer help, or is it negative transfer?"""

    def curve(rows: list) -> list[float]:
        key = "val_" + monitor if rows and ("val_" + monitor) in rows[0] else monitor
        return [float(r[key]) for r in rows if key in r]

    t, b = curve(transfer_rows), curve(baseline_rows)
    sign = 1.0 if higher else -1.0

    def slope(c: list[float]) -> float:
        k = max(2, math.ceil(len(c) / 2))
        c = c[:k]
        return (c[-1] - c[0]) / (len(c) - 1) if len(c) > 1 else 0.0

    validation = bool(transfer_rows) and "val_" + monitor in transfer_rows[0]
    out: dict[str, Any] = {"metric": monitor, "curve": "validation" if validation else "train"}
    if t and b:
        out.update(
            start_transfer=t[0],
            start_baseline=b[0],
            higher_start=bool(sign * (t[0] - b[0]) > 0),
            slope_transfer=slope(t),
            slope_baseline=slope(b),
            steeper_slope=bool(sign * (slope(t) - slope(b)) > 0),
        )
    if t_final is not None and b_final is not None:
        out.update(
            asymptote_transfer=t_final,
            asymptote_baseline=b_final,
            higher_asymptote=bool(sign * (t_final - b_final) > 0),
            negative_transfer=bool(sign * (t_final - b_final) < 0),
        )
    return out
