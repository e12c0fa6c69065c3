"""adaptkit plugin: adversarial domain adaptation (DANN, CDAN).

The hooks live here; TensorFlow/Keras code is imported inside them, so listing
the plugin and validating specs stay TensorFlow-free.
"""

from __future__ import annotations

from typing import Optional

import adaptkit

from .sections import SECTIONS, CdanLoss, DannLoss

__all__ = ["adaptkit_sections", "adaptkit_compose_loss", "adaptkit_keras_objects", "DannLoss", "CdanLoss"]


@adaptkit.hookimpl
def adaptkit_sections() -> list[type]:
    return list(SECTIONS)


@adaptkit.hookimpl
def adaptkit_compose_loss(
    section: adaptkit.LossSection, parts: adaptkit.ModelParts, context: adaptkit.RunContext
) -> Optional[adaptkit.LossComposition]:
    if not isinstance(section, (DannLoss, CdanLoss)):
        return None
    from .compose import compose_adversarial

    return compose_adversarial(section, parts, context)



@adaptkit.hookimpl
def adaptkit_keras_objects() -> dict:
    from .layers import GradientReversal, RandomizedMultilinearMap

    return {
        "adaptkit_adversarial>GradientReversal": GradientReversal,
        "adaptkit_adversarial>RandomizedMultilinearMap": RandomizedMultilinearMap,
    }
