"""adaptkit plugin: adversarial domain adaptation (DANN, CDAN).

The hooks live here; TensorFlow/Keras code is imported inside them, so listing
the plugin and validating specs stay TensorFlow-free.
"""

from __future__ import annotations

import adaptkit

from .sections import SECTIONS, CdanLoss, DannLoss

__all__ = ["adaptkit_sections", "adaptkit_compose_loss", "adaptkit_keras_objects", "DannLoss", "CdanLoss"]


@adaptkit.hookimpl
def adaptkit_sections() -> list[type]:
    return list(SECTIONS)


@adaptkit.hookimpl
def adaptkit_compose_loss(
    section: adaptkit.LossSection, parts: adaptkit.ModelParts, context: adaptkit.RunContext
) -> adaptkit.LossComposition:
    from .compose import compose_adversarial

    return compose_adversarial(section, parts, context)  # DannLoss or CdanLoss: the host routes only these


@adaptkit.hookimpl
def adaptkit_keras_objects() -> dict:
    from .layers import GradientReversal, RandomizedMultilinearMap

    return {
        "adaptkit_adversarial>GradientReversal": GradientReversal,
        "adaptkit_adversarial>RandomizedMultilinearMap": RandomizedMultilinearMap,
    }
