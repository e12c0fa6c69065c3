"""adaptkit plugin: GAN feature alignment (ADDA, WDGRL) and discrepancy losses (MMD, CORAL).

The hooks live here; TensorFlow/Keras code is imported inside them, so listing
the plugin and validating specs stay TensorFlow-free.
"""

from __future__ import annotations

from typing import Optional

import adaptkit

from .sections import SECTIONS, AddaLoss, CoralLoss, MmdLoss, WdgrlLoss

__all__ = ["adaptkit_sections", "adaptkit_compose_loss", "AddaLoss", "WdgrlLoss", "MmdLoss", "CoralLoss"]


@adaptkit.hookimpl
def adaptkit_sections() -> list[type]:
    return list(SECTIONS)


@adaptkit.hookimpl
def adaptkit_compose_loss(
    section: adaptkit.LossSection, parts: adaptkit.ModelParts, context: adaptkit.RunContext
) -> Optional[adaptkit.LossComposition]:
    if not isinstance(section, (AddaLoss, WdgrlLoss, MmdLoss, CoralLoss)):
        return None
    from . import compose

    if isinstance(section, AddaLoss):
        return compose.compose_adda(section, parts, context)
    if isinstance(section, WdgrlLoss):
        return compose.compose_wdgrl(section, parts, context)
    return compose.compose_discrepancy(section, parts, context)
