"""Spec sections of the core plugin's label-free validators (pydantic only: no TensorFlow here).

``evaluation.validators: [{kind: snd}, {kind: dev}]`` logs each score per epoch
as ``score_<kind>``; a stage's ``select_by: snd`` keeps the epoch it prefers.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from adaptkit import ValidatorSection

__all__ = ["EntropyValidator", "IMValidator", "SNDValidator", "DEVValidator", "VALIDATORS"]


class EntropyValidator(ValidatorSection):
    """Mean entropy of the target predictions (lower is better: confident predictions)."""

    kind: Literal["entropy"]


class IMValidator(ValidatorSection):
    """Information maximisation: entropy of the mean target prediction minus the mean entropy
    (higher is better: confident and diverse predictions)."""

    kind: Literal["im"]


class SNDValidator(ValidatorSection):
    """Soft neighbourhood density (Saito et al. 2021): mean entropy of each target example's
    softmax over its cosine similarities to the others (higher is better)."""

    kind: Literal["snd"]
    temperature: float = Field(0.05, gt=0, description="Temperature of the softmax over cosine similarities (the paper's 0.05).")


class DEVValidator(ValidatorSection):
    """Deep embedded validation (You et al. 2019): the source validation risk importance-weighted
    towards the target, with a control variate (lower is better)."""

    needs_source_validation: ClassVar[bool] = True
    kind: Literal["dev"]
    error: Literal["loss", "zero_one"] = Field(
        "loss", description="Per-example risk on source validation: cross-entropy (loss) or misclassification (zero_one)."
    )
    classifier: Literal["logistic", "mlp"] = Field(
        "logistic",
        description=(
            "The domain classifier on features: logistic regression (fast), or the reference code's MLP "
            "with hidden layers (d, d, 2); either's L2 strength is chosen by cross-entropy on a held-out 20%."
        ),
    )
    normalization: Literal["none", "max", "standardize"] = Field(
        "none", description="Rescale the importance weights before the risk (pytorch-adapt's DEV options; 'max' is its DEVN)."
    )


VALIDATORS = [EntropyValidator, IMValidator, SNDValidator, DEVValidator]
