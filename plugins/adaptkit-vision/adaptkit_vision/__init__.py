"""adaptkit's vision plugin: keras.applications and torchvision source models, image data (folders, arrays, CSV manifests), image augmentation.

Declares the sections in :mod:`adaptkit_vision.sections` and builds them.
TensorFlow is imported only inside the building hooks.
"""

from __future__ import annotations

from typing import Any, Optional

import adaptkit
from adaptkit import AugmentSection, DataSource, DataSourceSection, RunContext, SourceSection

from .sections import (
    SECTIONS,
    ImageArraysData,
    ImageDirectoryData,
    ImageManifestData,
    KerasApplicationSource,
    RandomContrastAugment,
    RandomFlipAugment,
    RandomRotationAugment,
    RandomZoomAugment,
    TorchvisionMobileNetV2Source,
)

__version__ = "0.1.0"

_AUGMENTS = (RandomFlipAugment, RandomRotationAugment, RandomZoomAugment, RandomContrastAugment)


@adaptkit.hookimpl
def adaptkit_sections():
    return list(SECTIONS)


@adaptkit.hookimpl
def adaptkit_load_data(section: DataSourceSection, context: RunContext) -> Optional[DataSource]:
    if isinstance(section, ImageDirectoryData):
        from .data import load_image_directory

        return load_image_directory(section, context)
    if isinstance(section, ImageArraysData):
        from .data import load_image_arrays

        return load_image_arrays(section, context)
    if isinstance(section, ImageManifestData):
        from .manifest import load_image_manifest

        return load_image_manifest(section, context)
    return None


@adaptkit.hookimpl
def adaptkit_build_augmentation(section: AugmentSection, context: RunContext) -> Optional[Any]:
    if not isinstance(section, _AUGMENTS):
        return None
    from .augment import build_augmentation

    return build_augmentation(section, context)


@adaptkit.hookimpl
def adaptkit_load_source(section: SourceSection, input_shape: tuple, context: RunContext):
    if isinstance(section, KerasApplicationSource):
        from .sources import build_source

        return build_source(section, input_shape, context)
    if isinstance(section, TorchvisionMobileNetV2Source):
        from .torchvision_mobilenet import build_torchvision_mobilenet_v2

        return build_torchvision_mobilenet_v2(section, input_shape, context)
    return None


@adaptkit.hookimpl
def adaptkit_keras_objects():
    from .sources import FamilyPreprocess

    return {"adaptkit_vision>FamilyPreprocess": FamilyPreprocess}
