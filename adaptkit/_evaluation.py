"""Evaluation: every split batched once, every evaluation plugin's metrics gathered into one dict."""

from __future__ import annotations

from typing import Any, Optional

from ._state import RunState
from ._types import ModelParts

__all__ = ["evaluation_sets", "evaluate"]


def evaluation_sets(run: RunState) -> dict[str, Any]:
    """Every non-empty split, batched in order (no shuffling, no cache)."""
    bs = run.spec.data.batch_size
    return {name: run.splits.batched(name, bs) for name, size in run.splits.sizes.items() if size}


def evaluate(run: RunState, parts: ModelParts, sets: dict, before: Optional[ModelParts] = None) -> dict[str, Any]:
    """The metrics of ``parts`` from every ``adaptkit_evaluate`` implementation."""
    metrics: dict[str, Any] = {}
    answers = run.host.call_each(
        "adaptkit_evaluate", "evaluation", spec=run.spec, parts=parts, data=sets, context=run.ctx.at("evaluation"), before=before
    )
    for _, answer in answers:  # each answer already checked: a dict of numbers, no key of another plugin's
        metrics.update(answer)
    return metrics
