"""Spec sections of the adversarial plugin (pydantic only: no TensorFlow here)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field, PositiveInt

from adaptkit import FeatureAlignmentLoss, SpecModel

__all__ = ["DomainClassifierSpec", "DannLoss", "CdanLoss", "MddLoss", "SECTIONS"]


class DomainClassifierSpec(SpecModel):
    """The domain classifier: Dense layers on the (flattened) features, then one logit."""

    hidden: list[PositiveInt] = Field(
        [256, 256], description="Units of the hidden Dense layers ([] for a logistic-regression classifier)."
    )
    activation: str = Field("relu", description="Keras activation name of the hidden layers.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout after each hidden layer.")


class _AdversarialLoss(FeatureAlignmentLoss):
    """weight (lambda), schedule, gamma, feature_layer: adaptkit.FeatureAlignmentLoss; ganin by default."""

    schedule: Literal["ganin", "constant"] = Field(
        "ganin",
        description=(
            "How lambda, the gradient-reversal coefficient, moves over the stage: ganin = weight * "
            "(2 / (1 + exp(-gamma * p)) - 1) with p the stage's progress from 0 to 1 (Ganin et al. 2016); "
            "constant = weight throughout."
        ),
    )
    discriminator: DomainClassifierSpec = Field(
        DomainClassifierSpec(), description="Architecture of the domain classifier."
    )


class DannLoss(_AdversarialLoss):
    """DANN: a domain classifier behind a gradient reversal layer (Ganin & Lempitsky 2015)."""

    kind: Literal["dann"]


class CdanLoss(_AdversarialLoss):
    """CDAN: the domain classifier sees features x class predictions (multilinear map; Long et al. 2018)."""

    kind: Literal["cdan"]
    entropy: bool = Field(
        False,
        description="CDAN+E: weight each example by 1 + exp(-entropy of its prediction), so confident ones count more.",
    )
    randomized: Optional[bool] = Field(
        None,
        description=(
            "Use the randomized multilinear map (two fixed Gaussian projections, multiplied elementwise). "
            "Default: only when features x classes exceeds max_map_dim."
        ),
    )
    max_map_dim: int = Field(
        4096, ge=1, description="The full outer product is used while features x classes stays at or below this."
    )
    random_dim: int = Field(1024, ge=1, description="Output size of the randomized multilinear map.")
    outputs: Literal["auto", "probabilities", "logits"] = Field(
        "auto",
        description=(
            "What the head outputs: probabilities (softmax/sigmoid) or logits. auto: read the activation of "
            "the classifier's last layer."
        ),
    )


class MddLoss(_AdversarialLoss):
    """MDD: margin disparity discrepancy (Zhang et al. 2019). An adversarial classifier head behind the
    gradient reversal layer learns to agree with the task head on source and disagree on target;
    the features learn to deny it. ``weight`` is the reversal coefficient's largest value."""

    kind: Literal["mdd"]
    weight: float = Field(
        0.1, ge=0, description="Largest gradient-reversal coefficient (TLlib's warm-start reversal rises to 0.1)."
    )
    margin: float = Field(4.0, gt=0, description="The margin gamma: how much more the source agreement counts (4 in the paper for Office-31).")
    trade_off: float = Field(1.0, ge=0, description="Weight of the discrepancy term in the loss (the paper's eta, 1.0).")
    discriminator: DomainClassifierSpec = Field(
        DomainClassifierSpec(hidden=[256], dropout=0.5),
        description="Architecture of the adversarial classifier head (Dense layers, then one logit per class).",
    )
    outputs: Literal["auto", "probabilities", "logits"] = Field(
        "auto", description="What the task head outputs (auto: read its last layer's activation); only its arg-max is used."
    )


SECTIONS = [DannLoss, CdanLoss, MddLoss]
