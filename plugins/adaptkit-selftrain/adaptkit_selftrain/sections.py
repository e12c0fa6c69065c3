"""Spec sections of the self-training plugin (pydantic only: no TensorFlow here)."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from adaptkit import LossSection

__all__ = ["TargetObjective", "MccLoss", "InformationMaximizationLoss", "LabelShiftLoss", "AdaBnLoss", "SECTIONS"]


class TargetObjective(LossSection):
    """A term on the target batch's class predictions: weight, its schedule over the stage, and what the head outputs."""

    needs_target: ClassVar[bool] = True

    weight: float = Field(1.0, ge=0, description="Weight of the term (its largest value under the ganin schedule).")
    schedule: Literal["constant", "ganin"] = Field(
        "constant",
        description="How the weight moves over the stage: constant; or ganin = weight * (2 / (1 + exp(-gamma * p)) - 1), p the stage's progress.",
    )
    gamma: float = Field(10.0, gt=0, description="ganin schedule: how fast the weight rises from 0.")
    outputs: Literal["auto", "probabilities", "logits"] = Field(
        "auto",
        description="What the head outputs: auto reads its last layer's activation (softmax/sigmoid: probabilities, else logits).",
    )


class _RunningPrior(TargetObjective):
    """A target objective that keeps a running estimate of the target's class prior."""

    momentum: float = Field(
        0.99, ge=0, lt=1,
        description="The running averages behind the prior estimate (source prior, confusion, mean target prediction, EM's estimate) keep this share of themselves at each step.",
    )


class MccLoss(TargetObjective):
    """Minimum class confusion (Jin et al. 2020): the uncertainty-weighted, class-normalised confusion between
    classes of the target batch's temperature-scaled predictions, off-diagonal mass averaged over classes."""

    kind: Literal["mcc"]
    temperature: float = Field(2.5, gt=0, description="Temperature T of the softmax rescaling (the paper's and TLlib's 2.5).")


class InformationMaximizationLoss(_RunningPrior):
    """Information maximisation (SHOT, Liang et al. 2020): the target predictions' mean entropy minus
    ``diversity`` times the entropy of their mean (confident, yet spread over the classes)."""

    kind: Literal["information_maximization"]
    diversity: float = Field(
        1.0, ge=0, description="Weight of the diversity term, the entropy of the batch's mean prediction (SHOT's 1.0; 0: entropy minimisation alone)."
    )
    prior: Literal["uniform", "estimated"] = Field(
        "uniform",
        description=(
            "What the diversity term pulls the batch's mean prediction towards: uniform = its entropy (SHOT's); "
            "estimated = minus its KL divergence from the target class prior estimated during the stage by EM "
            "(Saerens et al. 2002), for a target whose classes are not balanced."
        ),
    )


class LabelShiftLoss(_RunningPrior):
    """Label-shift correction: estimate the target's class prior q(y) during the stage (BBSE, Lipton et al. 2018;
    or EM, Saerens et al. 2002) and reweight the source task loss by w(y) = q(y) / p(y)."""

    kind: Literal["label_shift"]
    estimator: Literal["bbse", "em"] = Field(
        "bbse",
        description=(
            "bbse: w = C^-1 mu, C the source batches' soft confusion matrix (joint of predicted and true class), mu the "
            "target batches' mean prediction, solved by least squares, clipped at 0; em: Saerens' EM on each target "
            "batch's predictions, started from the running estimate."
        ),
    )
    warmup: float = Field(
        0.1, ge=0, lt=1, description="The share of the stage during which the averages gather and the loss is not reweighted yet."
    )
    max_weight: float = Field(10.0, gt=1, description="Each class weight w(y) is clipped to [0, max_weight].")


class AdaBnLoss(LossSection):
    """AdaBN (Li et al. 2016): the saved model's BatchNormalization layers take the target's mean and variance,
    pooled over every target batch of the stage (no loss term: the stage trains as it would without it)."""

    needs_target: ClassVar[bool] = True
    kind: Literal["adabn"]


SECTIONS = [MccLoss, InformationMaximizationLoss, LabelShiftLoss, AdaBnLoss]
