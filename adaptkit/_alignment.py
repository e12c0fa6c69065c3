"""What the domain-alignment loss plugins share: the loss section base whose weight follows the
stage's progress, and Ganin et al.'s ramp.

A stage's progress ``p`` runs from 0 to 1 over its steps (``StepBatch.progress``).
``schedule: ganin`` weighs a term ``weight * (2 / (1 + exp(-gamma p)) - 1)``,
``schedule: constant`` by ``weight`` throughout. Pydantic at import; Keras only inside
the functions.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Literal, Optional

from pydantic import Field

from ._sections import LossSection

__all__ = ["FeatureAlignmentLoss", "ganin_lambda", "progress_weight"]


class FeatureAlignmentLoss(LossSection):
    """A loss that aligns source and target features (needs ``data.target``), weighted over the stage.

    Plugins subclass it with their ``kind``; one that wants another default schedule
    re-declares ``schedule`` (the adversarial plugin defaults to ``ganin``).
    """

    needs_target: ClassVar[bool] = True

    weight: float = Field(
        1.0,
        ge=0,
        description="Weight of the alignment term (for gradient reversal: lambda, its coefficient); its largest value under the ganin schedule.",
    )
    schedule: Literal["constant", "ganin"] = Field(
        "constant",
        description=(
            "How the weight moves over the stage: constant = weight throughout; ganin = weight * "
            "(2 / (1 + exp(-gamma * p)) - 1) with p the stage's progress from 0 to 1 (Ganin et al. 2016)."
        ),
    )
    gamma: float = Field(10.0, gt=0, description="ganin schedule: how fast the weight rises from 0.")
    feature_layer: Optional[str] = Field(
        None,
        min_length=1,
        description=(
            "Name of the layer whose (flattened) output is aligned: a layer of the encoder (nested models "
            "searched) or, failing that, of the head. Default: the encoder's output, the features the head sees."
        ),
    )


def ganin_lambda(progress: Any, gamma: float = 10.0) -> Any:
    """``2 / (1 + exp(-gamma * p)) - 1``: 0 at p=0, rising to ~1 at p=1 (Ganin et al. 2016)."""
    from keras import ops

    p = ops.cast(progress, "float32")
    return 2.0 / (1.0 + ops.exp(-gamma * p)) - 1.0


def progress_weight(section: Any) -> Callable[[Any], Any]:
    """``progress -> weight`` (a float32 scalar) for a section with ``weight``, ``schedule`` and ``gamma``."""
    from keras import ops

    if section.schedule == "constant":
        return lambda progress: ops.cast(section.weight, "float32")
    return lambda progress: section.weight * ganin_lambda(progress, section.gamma)
