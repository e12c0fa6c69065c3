"""adaptkit's vision plugin: keras.applications and torchvision source models, image data (folders, arrays, CSV manifests), image augmentation.

Declares the sections in :mod:`adaptkit_vision.sections` and builds them. The
host calls a building hook only with this plugin's own sections. TensorFlow is
imported only inside the building hooks.
"""

from __future__ import annotations

from typing import Any, Optional

import adaptkit
from adaptkit import AugmentSection, DataSource, DataSourceSection, RunContext, SourceSection

from .sections import SECTIONS, ImageArraysData, ImageDirectoryData, ImageManifestData, KerasApplicationSource, TorchvisionMobileNetV2Source

__version__ = "0.1.0"

adaptkit.register_keras_classes("adaptkit_vision.layers")  # plain keras.saving.load_model reads saved models


@adaptkit.hookimpl
def adaptkit_sections():
    return list(SECTIONS)


@adaptkit.hookimpl
def adaptkit_load_data(section: DataSourceSection, context: RunContext) -> Optional[DataSource]:
    from . import data

    if isinstance(section, ImageManifestData):
        from .manifest import load_image_manifest

        return load_image_manifest(section, context)
    load = {ImageDirectoryData: data.load_image_directory, ImageArraysData: data.load_image_arrays}.get(type(section))
    return None if load is None else load(section, context)


@adaptkit.hookimpl
def adaptkit_input_preprocessing(section: DataSourceSection, input_shape: tuple, context: RunContext) -> Any:
    if not isinstance(section, (ImageDirectoryData, ImageArraysData, ImageManifestData)):
        return None
    from .data import input_preprocessing

    return input_preprocessing(input_shape)  # the same for every image kind: resize as the loader does


@adaptkit.hookimpl
def adaptkit_build_augmentation(section: AugmentSection, input_shape: tuple, context: RunContext) -> Any:
    from .augment import build_augmentation

    return build_augmentation(section, context, input_shape)  # the host routes only this plugin's augment kinds here


@adaptkit.hookimpl
def adaptkit_load_source(section: SourceSection, input_shape: tuple, context: RunContext):
    from . import sources, torchvision_mobilenet

    build = {
        KerasApplicationSource: sources.build_source,
        TorchvisionMobileNetV2Source: torchvision_mobilenet.build_torchvision_mobilenet_v2,
    }.get(type(section))
    return None if build is None else build(section, input_shape, context)


@adaptkit.hookimpl
def adaptkit_keras_objects():
    from .layers import FamilyPreprocess

    return {"adaptkit_vision>FamilyPreprocess": FamilyPreprocess}
