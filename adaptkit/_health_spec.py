"""The ``training.health`` spec key: the thresholds of the health signals watched in adaptation stages (pydantic only)."""

from __future__ import annotations

from pydantic import Field

from ._sections import SpecModel

__all__ = ["HealthSpec"]


class HealthSpec(SpecModel):
    """Warnings while a stage with loss terms trains (docs/domain-adaptation.md#health-signals)."""

    enabled: bool = Field(True, description="Watch the signals below in every stage that has loss terms (false: watch none).")
    collapse_band: float = Field(
        0.05,
        ge=0,
        le=0.5,
        description=(
            "A domain classifier (a logged *_domain_accuracy) has collapsed when its accuracy stays within 0.5 +- this "
            "in every epoch of the stage from the first: it never told the domains apart, so the reversed gradient carried nothing."
        ),
    )
    flip_below: float = Field(
        0.35,
        ge=0,
        le=0.5,
        description="A domain classifier has flipped when an epoch's accuracy falls below this: it labels the domains the wrong way round.",
    )
    prior_shift: float = Field(
        0.2,
        gt=0,
        le=1,
        description=(
            "Warn when the target's predicted class distribution (arg-max shares on a target sample) is further than this "
            "(total variation) from the target class prior estimated by EM (Saerens et al. 2002) from the model before the "
            "stage (or, in a run's first stage, after its first epoch)."
        ),
    )
    sample: int = Field(512, ge=16, description="At most this many target (and source) examples are predicted for the prior signal.")
    prior_checks: int = Field(
        10,
        ge=1,
        description=(
            "The prior signal predicts the target sample at most this many times a stage: every ceil(epochs / prior_checks) "
            "epochs and at the stage's last epoch (each check is a pass over the sample, outside the compiled training step)."
        ),
    )
