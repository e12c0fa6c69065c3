"""Evaluation: every split batched once, every evaluation plugin's metrics gathered into one dict.

Evaluation runs after training, so one plugin's failure must not throw the
trained model away: each plugin is called on its own
(:meth:`PluginHost.call_each_isolated`), a failing one's metrics are left
out, and its error is kept in ``run.errors``: the run completes, and the CLI
reports the error and exits with status 2.
"""

from __future__ import annotations

import logging
from typing import Any, Optional

from ._errors import AdaptkitError
from ._readfaults import is_read_error, read_fault
from ._state import RunState
from ._types import ModelParts

__all__ = ["evaluation_sets", "evaluate"]

log = logging.getLogger("adaptkit")


def evaluation_sets(run: RunState) -> dict[str, Any]:
    """Every non-empty split, batched in order (no shuffling, no cache)."""
    bs = run.spec.data.batch_size
    return {name: run.splits.batched(name, bs) for name, size in run.splits.sizes.items() if size}


def evaluate(run: RunState, parts: ModelParts, sets: dict, before: Optional[ModelParts] = None, predictions: Any = None) -> dict[str, Any]:
    """The metrics of ``parts`` from every ``adaptkit_evaluate`` implementation that answers;
    the errors of those that fail are added to ``run.errors``. ``predictions`` (a
    :class:`~adaptkit._predictions.Predictions` over ``sets``) lets every plugin share one
    prediction per split, and the verdict and report after them."""
    metrics: dict[str, Any] = {}
    answers, errors = run.host.call_each_isolated(
        "adaptkit_evaluate", "evaluation", spec=run.spec, parts=parts, data=sets, context=run.ctx.at("evaluation"),
        before=before, predictions=predictions,
    )
    for _, answer in answers:  # each answer already checked: a dict of numbers, no key of another plugin's
        metrics.update(answer)
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
