"""adaptkit plugin: adversarial domain adaptation (DANN, CDAN, MDD).

The hooks live here; TensorFlow/Keras code is imported inside them, so listing
the plugin and validating specs stay TensorFlow-free.
"""

from __future__ import annotations

import adaptkit

from .sections import SECTIONS, CdanLoss, DannLoss, MddLoss

__all__ = ["adaptkit_sections", "adaptkit_compose_loss", "adaptkit_keras_objects", "DannLoss", "CdanLoss", "MddLoss"]


@adaptkit.hookimpl
def adaptkit_sections() -> list[type]:
    return list(SECTIONS)


@adaptkit.hookimpl
def adaptkit_compose_loss(
    section: adaptkit.LossSection, parts: adaptkit.ModelParts, context: adaptkit.RunContext
) -> adaptkit.LossComposition:
    from .compose import compose_adversarial, compose_mdd

    if isinstance(section, MddLoss):
        return compose_mdd(section, parts, context)
    return compose_adversarial(section, parts, context)  # DannLoss or CdanLoss: the host routes only these


@adaptkit.hookimpl
def adaptkit_keras_objects() -> dict:
    from .layers import GradientReversal, RandomizedMultilinearMap

    return {
        "adaptkit_adversarial>GradientReversal": GradientReversal,
        "adaptkit_adversarial>RandomizedMultilinearMap": RandomizedMultilinearMap,
    }
