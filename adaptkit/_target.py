"""Target-side evaluation for domain adaptation: the target metric per epoch, and adapted vs source-only.

With a labeled ``data.target``, the held-out ``target_test`` split is what a
domain-adaptation run is for: it becomes the headline, every epoch logs its
metrics (``target_<metric>`` in history.csv, for reading only — nothing is
selected on it), and ``evaluation.source_only`` trains the same pipeline
without its alignment losses so that the gain from adaptation is one number
on the same target examples, with a paired interval (adaptkit._verdict).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Optional

import keras

from ._evaluation import evaluate
from ._state import RunState
from ._training import finalize_model
from ._types import ModelParts

__all__ = ["TARGET_SPLIT", "TargetMetrics", "has_target_test", "source_only_spec", "compare_source_only"]

log = logging.getLogger("adaptkit")

TARGET_SPLIT = "target_test"


def has_target_test(run: RunState) -> bool:
    return bool(run.splits.sizes.get(TARGET_SPLIT))


class TargetMetrics(keras.callbacks.Callback):
    """At each epoch end, the adapted model's metrics on ``target_test``, logged as ``target_<metric>``.

    It goes before the history callback, which then writes them in the epoch's row. The model
    evaluated is the one the stage would save now (``finalize`` of an ADDA stage, say)."""

    def __init__(self, run: RunState, compositions: list, dataset: Any) -> None:
        super().__init__()
        self.run, self.compositions, self.dataset = run, compositions, dataset

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        if logs is None:
            return
        parts = self.run.parts
        adapted = finalize_model(parts, self.compositions)
        if adapted is not None:
            parts = ModelParts(parts.encoder, parts.classifier, adapted, parts.task, parts.tasks)
        metrics = evaluate(self.run, parts, {TARGET_SPLIT: self.dataset})
        prefix = TARGET_SPLIT + "/"
        for key, value in metrics.items():
            if key.startswith(prefix) and not key.endswith("/examples"):
                logs["target_" + key[len(prefix) :].replace("/", "_")] = float(value)


def source_only_spec(spec: Any) -> Any:
    """The same pipeline without its domain-adaptation losses (and without baselines of its own)."""
    stages = [stage.model_copy(update={"losses": []}) for stage in spec.training.stages]
    training = spec.training.model_copy(update={"stages": stages})
    evaluation = spec.evaluation.model_copy(update={"baseline": False, "source_only": False, "single_task_baselines": False})
    return spec.model_copy(update={"training": training, "evaluation": evaluation})


def compare_source_only(
    run: RunState, metrics: dict[str, Any], sets: dict, train_alone: Callable[[Any], tuple[dict, ModelParts]]
) -> dict[str, Any]:
    """Adapted vs source-only on the same target test examples: both values and the paired test."""
    from ._verdict import judge_adaptation

    alone_metrics, alone_parts = train_alone(source_only_spec(run.spec))
    key = f"{TARGET_SPLIT}/{run.head.monitor}"
    out = judge_adaptation(
        key, run.head.higher_is_better, run.parts, alone_parts, sets, run.spec.seed
    )
    out.update(metric=key, adapted=metrics.get(key), source_only=alone_metrics.get(key))
    out["source_only_metrics"] = {k: v for k, v in alone_metrics.items() if k.startswith(TARGET_SPLIT + "/")}
    return out
