"""The from-scratch baseline and the transfer verdict (higher start, steeper slope, higher asymptote?).

The baseline is the same architecture from random initialisation, every layer
trainable, trained on the same data for as many epochs as the stages together.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Optional

import keras

from ._history import EpochLog, learning_rate_reader
from ._layers import set_trainable
from ._state import RunState, Streams
from ._training import build_optimizer, count_params, steps_per_epoch
from ._types import ModelParts

__all__ = ["train_baseline", "fresh_layer", "compare_transfer"]

log = logging.getLogger("adaptkit")


def fresh_layer(layer: Any, host: Any) -> Any:
    """A new layer from ``layer``'s config, as every plugin's ``adaptkit_baseline_config`` leaves it."""
    config = host.call_chain("adaptkit_baseline_config", "evaluation.baseline", "config", layer.get_config(), layer=layer)
    return layer.__class__.from_config(config)


def train_baseline(run: RunState, rows: list) -> ModelParts:
    """Train the run's architecture from random initialisation; ``rows`` receives its history."""
    spec, head = run.spec, run.head
    keras.utils.set_random_seed(spec.seed)
    model = keras.models.clone_model(run.parts.model, clone_function=lambda layer: fresh_layer(layer, run.host), recursive=True)
    set_trainable(model, lambda i, _: True)  # every layer, BatchNorm included: nothing was learnt before
    ev = spec.evaluation
    epochs = ev.baseline_epochs or sum(stage.epochs for stage in spec.training.stages)
    optimizer_section = ev.baseline_optimizer or spec.training.stages[0].optimizer
    where = "evaluation.baseline_optimizer" if ev.baseline_optimizer else "training.stages.0.optimizer"
    optimizer = build_optimizer(optimizer_section, optimizer_section.learning_rate, context=run.ctx.at(where), host=run.host)
    model.compile(
        optimizer=optimizer,
        loss=head.loss,
        metrics=list(head.metrics),
        steps_per_execution=spec.training.steps_per_execution,
        jit_compile=spec.training.jit_compile,
    )
    streams = Streams.of(spec, run.splits)  # fresh datasets: the same order as the transfer run saw
    trainable, total = count_params(model)
    log.info("baseline (from scratch): %s of %s parameters trainable, %d epochs", f"{trainable:,}", f"{total:,}", epochs)
    model.fit(
        streams.train,
        validation_data=streams.validation,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch(run.splits.sizes["train"], spec.data.batch_size),
        callbacks=[EpochLog(rows, 1, "baseline", learning_rate_reader(optimizer)), keras.callbacks.TerminateOnNaN()],
        verbose=spec.training.verbose,
        shuffle=False,
    )
    return ModelParts(model.get_layer("encoder"), model.get_layer("classifier"), model, run.parts.task)


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
