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
    from . import compose

    build = {
        AddaLoss: compose.compose_adda,
        WdgrlLoss: compose.compose_wdgrl,
        MmdLoss: compose.compose_discrepancy,
        CoralLoss: compose.compose_discrepancy,
    }.get(type(section))
    return None if build is None else build(section, parts, context)
