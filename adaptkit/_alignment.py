"""What the domain-alignment loss plugins share: the loss section base whose weight follows the
stage's progress, Ganin et al.'s ramp, and the plan-time check that something below the aligned
layer trains.

A stage's progress ``p`` runs from 0 to 1 over its steps (``StepBatch.progress``).
``schedule: ganin`` weighs a term ``weight * (2 / (1 + exp(-gamma p)) - 1)``,
``schedule: constant`` by ``weight`` throughout. Pydantic at import; Keras only inside
the functions.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Literal, Optional

from pydantic import Field

from ._errors import SpecError
from ._sections import LossSection

__all__ = ["FeatureAlignmentLoss", "ganin_lambda", "progress_weight", "check_alignment_trains"]


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


def _head_layer_hint(parts: Any) -> str:
    """A head layer with weights that could be aligned instead (its name), or a placeholder."""
    from ._features import layer_names

    for name in layer_names(parts.classifier)[:-1]:
        try:
            layer = parts.classifier.get_layer(name)
        except ValueError:
            continue
        if layer.weights:
            return name
    return "<a head layer>"


def check_alignment_trains(section: Any, parts: Any, where: str, unfreezes_later: bool) -> None:
    """A ``SpecError`` at ``where`` when nothing the aligned features depend on trains in this stage.

    Aligning a fully frozen encoder's output would train only the loss's own modules
    (a discriminator): a silent no-op on the model. ``unfreezes_later`` (gradual
    unfreezing in the stage) skips the check. Sections that are not
    :class:`FeatureAlignmentLoss` are not checked.
    """
    from ._features import model_feature_extractor, trainable_below

    if unfreezes_later or not isinstance(section, FeatureAlignmentLoss):
        return
    extract = model_feature_extractor(parts, section.feature_layer, where + ".feature_layer")
    if trainable_below(parts, extract):
        return
    aligned = section.feature_layer or f"the output of {parts.encoder.name!r}"
    aligned = repr(aligned) if section.feature_layer else aligned
    raise SpecError(
        where,
        f"{section.kind} aligns {aligned}, but nothing below it trains in this stage: unfreeze part of the encoder "
        f"(surgery: [{{kind: unfreeze, last_blocks: 2}}]) or align a head layer (feature_layer: {_head_layer_hint(parts)})",
    )
