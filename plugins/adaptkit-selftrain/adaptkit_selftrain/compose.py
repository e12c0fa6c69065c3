"""MCC, information maximisation and label-shift reweighting as adaptkit loss compositions.

Every term is on the main player: MCC and information maximisation act on the target batch's
class predictions; ``label_shift`` adds ``mean((w(y) - 1) * CE)`` on the source batch, which with
the host's task loss makes the source loss ``mean(w(y) * CE)`` (importance-weighted ERM).
"""

from __future__ import annotations

from keras import ops

from adaptkit import LossComposition, LossTerm, ModelParts, RunContext, SpecError, StepBatch, class_probabilities, progress_weight

from .objectives import EPSILON, im_loss, mcc_loss
from .prior import PriorEstimate
from .sections import InformationMaximizationLoss, LabelShiftLoss, MccLoss

__all__ = ["compose_mcc", "compose_im", "compose_label_shift"]

SHOWN_CLASSES = 10
"""The estimated prior is logged per class (``<kind>_prior<k>``) for the first this many classes."""


def _one_task(section, parts: ModelParts, context: RunContext) -> int:
    if parts.tasks:
        raise SpecError(context.where, f"{section.kind} acts on one classifier's predictions; a multi-task model has one per task")
    if parts.task.num_classes is None:
        raise SpecError(context.where, f"{section.kind} needs a classifier; this head predicts a regression target")
    return max(2, parts.task.num_classes)


def compose_mcc(section: MccLoss, parts: ModelParts, context: RunContext) -> LossComposition:
    _one_task(section, parts, context)
    probs = class_probabilities(parts, section.outputs)

    def term(batch: StepBatch):
        return mcc_loss(probs(batch.outputs_target), section.temperature)

    return LossComposition(terms=[LossTerm("mcc_loss", term, progress_weight(section))])


def _prior_metrics(kind: str, estimate: PriorEstimate, classes: int) -> dict:
    out = {f"{kind}_prior{k}": (lambda batch, k=k: estimate.prior[k]) for k in range(min(classes, SHOWN_CLASSES))}
    out[f"{kind}_weight_max"] = lambda batch: ops.max(estimate.weights_per_class())
    return out


def compose_im(section: InformationMaximizationLoss, parts: ModelParts, context: RunContext) -> LossComposition:
    classes = _one_task(section, parts, context)
    probs = class_probabilities(parts, section.outputs)
    estimate = None
    if section.prior == "estimated":
        estimate = PriorEstimate(classes, "em", section.momentum, name="information_maximization_prior")

    def term(batch: StepBatch):
        pt = probs(batch.outputs_target)
        prior = None if estimate is None else estimate.update(batch.y_source, probs(batch.outputs_source), pt)
        return im_loss(pt, section.diversity, prior)

    metrics = {} if estimate is None else _prior_metrics("information_maximization", estimate, classes)
    return LossComposition(
        terms=[LossTerm("information_maximization_loss", term, progress_weight(section))],
        modules=[] if estimate is None else [estimate],
        metrics=metrics,
    )


def compose_label_shift(section: LabelShiftLoss, parts: ModelParts, context: RunContext) -> LossComposition:
    classes = _one_task(section, parts, context)
    probs = class_probabilities(parts, section.outputs)
    estimate = PriorEstimate(classes, section.estimator, section.momentum, section.max_weight, name="label_shift_prior")

    def term(batch: StepBatch):
        ps = probs(batch.outputs_source)
        estimate.update(batch.y_source, ps, probs(batch.outputs_target))
        labels = ops.reshape(ops.cast(batch.y_source, "int32"), (-1,))
        w = ops.stop_gradient(ops.take(estimate.weights_per_class(), labels))
        ce = -ops.log(ops.take_along_axis(ps, ops.expand_dims(labels, 1), axis=1)[:, 0] + EPSILON)
        active = ops.cast(ops.cast(batch.progress, "float32") >= section.warmup, "float32")
        return active * ops.mean((w - 1.0) * ce)

    return LossComposition(
        terms=[LossTerm("label_shift_loss", term, progress_weight(section))],
        modules=[estimate],
        metrics=_prior_metrics("label_shift", estimate, classes),
    )
