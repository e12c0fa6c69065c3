"""adaptkit plugin: target-side objectives (MCC, information maximisation), label-shift correction and AdaBN.

The hooks live here; TensorFlow/Keras code is imported inside them, so listing
the plugin and validating specs stay TensorFlow-free.
"""

from __future__ import annotations

from typing import Optional

import adaptkit

from .sections import SECTIONS, AdaBnLoss, InformationMaximizationLoss, LabelShiftLoss, MccLoss

__all__ = ["adaptkit_sections", "adaptkit_compose_loss", "adaptkit_keras_objects", "MccLoss", "InformationMaximizationLoss", "LabelShiftLoss", "AdaBnLoss"]


@adaptkit.hookimpl
def adaptkit_sections() -> list[type]:
    return list(SECTIONS)


@adaptkit.hookimpl
def adaptkit_compose_loss(
    section: adaptkit.LossSection, parts: adaptkit.ModelParts, context: adaptkit.RunContext
) -> Optional[adaptkit.LossComposition]:
    from . import compose

    build = {
        MccLoss: compose.compose_mcc,
        InformationMaximizationLoss: compose.compose_im,
        LabelShiftLoss: compose.compose_label_shift,
    }.get(type(section))
    if isinstance(section, AdaBnLoss):
        from .adabn import compose_adabn

        return compose_adabn(section, parts, context)
    return None if build is None else build(section, parts, context)


@adaptkit.hookimpl
def adaptkit_keras_objects() -> dict:
    from .prior import PriorEstimate

    return {"adaptkit_selftrain>PriorEstimate": PriorEstimate}
