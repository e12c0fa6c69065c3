"""Evaluation: every split batched once, the spec's metrics and every evaluation plugin's gathered into one dict.

The ``evaluation.metrics`` (:mod:`adaptkit._metrics`) read the predictions of
the run's :class:`Predictions`, computed once per split and model; the
``adaptkit_evaluate`` plugins then add what predictions alone do not give
(core: the proxy A-distance between features). Evaluation runs after
training, so one failure must not throw the trained model away: each metric
and each plugin is called on its own
(:meth:`PluginHost.call_each_isolated`), a failing one's metrics are left
out, and its error is kept in ``run.errors``: the run completes, and the CLI
reports the error and exits with status 2.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from ._errors import AdaptkitError, PluginError
from ._metrics import metric_values
from ._predictions import Predictions
from ._readfaults import is_read_error, read_fault
from ._plugins import PluginHost
from ._state import RunState
from ._types import ModelParts, RunContext

__all__ = ["evaluation_sets", "evaluate", "all_metrics", "aligned_layers"]

log = logging.getLogger("adaptkit")


def evaluation_sets(run: RunState) -> dict[str, Any]:
    """Every non-empty split, batched in order (no shuffling, no cache)."""
    bs = run.spec.data.batch_size
    return {name: run.splits.batched(name, bs) for name, size in run.splits.sizes.items() if size}


def all_metrics(
    host: PluginHost,
    spec: Any,
    built: list,
    parts: ModelParts,
    sets: dict,
    ctx: RunContext,
    before: Optional[ModelParts] = None,
    predictions: Optional[Predictions] = None,
    aligned_at: tuple = (),
) -> tuple[dict[str, Any], list[AdaptkitError]]:
    """The metrics of ``parts`` on ``sets``: the built ``evaluation.metrics`` on ``predictions``, then every
    ``adaptkit_evaluate`` implementation's, merged; and the errors of those that failed (each on its own)."""
    predictions = predictions if predictions is not None else Predictions(sets)
    metrics, failed = metric_values(built, parts, predictions)
    answers, errors = host.call_each_isolated(
        "adaptkit_evaluate", "evaluation", spec=spec, parts=parts, data=sets, context=ctx.at("evaluation"),
        before=before, predictions=predictions, aligned_at=aligned_at,
    )
    for plugin, answer in answers:  # each answer already checked: a dict of numbers, no key of another plugin's
        taken = sorted(set(answer) & set(metrics))
        if taken:
            errors.append(PluginError("evaluation", f"plugin {plugin!r} answered adaptkit_evaluate with the key {taken[0]!r}, which evaluation.metrics reports"))
            continue
        metrics.update(answer)
    return metrics, failed + errors


def aligned_layers(compositions: list) -> tuple:
    """The layers the compositions align, each once, in order (``None``: the encoder's output)."""
    return tuple(dict.fromkeys(c.aligned_at for c in compositions))


def evaluate(
    run: RunState, parts: ModelParts, sets: dict, before: Optional[ModelParts] = None, predictions: Optional[Predictions] = None
) -> dict[str, Any]:
    """The metrics of ``parts`` (:func:`all_metrics`); what fails is added to ``run.errors``.

    With ``before`` (the model before adaptation), the plugins are told where the run's
    losses aligned the domains (``aligned_at``), to compare the features there."""
    aligned = aligned_layers(run.compositions) if before is not None else ()
    metrics, errors = all_metrics(run.host, run.spec, run.metrics, parts, sets, run.ctx, before, predictions, aligned)
    for error in errors:
        _keep(run, _located(run, error))
    return metrics


def _located(run: RunState, error: AdaptkitError) -> AdaptkitError:
    """A plugin that failed because a split could not be read: the bad example, when a source finds it."""
    cause = error.__cause__
    if cause is not None and is_read_error(cause):
        found = read_fault(run.splits.loaded, cause)
        if found.where != "data":  # a source named the bad example
            return found
    return error


def _keep(run: RunState, error: AdaptkitError) -> None:
    if str(error) in {str(e) for e in run.errors}:
        return  # the baseline's evaluation failing the same way says nothing new
    run.errors.append(error)
    log.error("%s (its metrics are missing; the run goes on)", error)
