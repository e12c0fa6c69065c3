"""Spec sections of the core plugin (pydantic only: no TensorFlow here)."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Optional

from pydantic import Field, PositiveInt, model_validator

from adaptkit import DataSourceSection, ExistingFile, HeadSection, LabelEntry, SourceSection, SurgerySection

Pooling = Literal["avg", "max", "flatten", "none"]


class ArrayLabel(LabelEntry):
    """One named label of a multi-label ``arrays`` source: an array of the ``.npz`` file."""

    source_field: ClassVar[str] = "key"
    key: str = Field(..., min_length=1, description="Name of the labels array in the .npz file.")


# The single-label fields that ``labels`` replaces, with their defaults: a spec may list them
# at their defaults (a rendered spec does) but not set them to anything else beside ``labels``.
_SINGLE_LABEL_DEFAULTS = {"y_key": "y", "task": "classification", "class_names": None}


class ArraysData(DataSourceSection):
    """Numeric arrays from a ``.npz`` file: features ``x`` and labels ``y``."""

    kind: Literal["arrays"]
    path: ExistingFile = Field(..., description="The .npz file (relative to the spec's directory).")
    x_key: str = Field("x", description="Name of the features array in the file.")
    y_key: str = Field("y", description="Name of the labels array in the file.")
    labeled: bool = Field(True, description="False for unlabeled (target-domain) data: y is not read.")
    task: Literal["classification", "regression"] = Field(
        "classification", description="classification: y holds integer class indices; regression: numbers."
    )
    class_names: Optional[list[str]] = Field(
        None, description="Names of the classes 0..K-1; default: '0'..str(max label)."
    )
    scale: float = Field(1.0, gt=0, description="Multiply x by this (e.g. 1/255).")
    labels: Optional[list[ArrayLabel]] = Field(
        None,
        min_length=1,
        description=(
            "Several named labels per example, one array each (replaces y_key, task and class_names). "
            "One entry: the source yields (x, y) like y_key does; two or more: (x, {name: y})."
        ),
    )

    @model_validator(mode="after")
    def _labels(self):
        if self.labels is None:
            return self
        clash = [k for k, default in _SINGLE_LABEL_DEFAULTS.items() if getattr(self, k) != default]
        if clash:
            raise ValueError(
                f"labels replaces {', '.join(_SINGLE_LABEL_DEFAULTS)}: remove {', '.join(clash)} "
                "(give each label's key, task and class_names in its labels entry)"
            )
        if not self.labeled:
            raise ValueError("labels with labeled: false: remove labels for unlabeled data")
        names = [entry.label_name for entry in self.labels]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"two labels entries are named {twice[0]!r}: give each a distinct name")
        return self


class MLPSource(SourceSection):
    """A dense network, randomly initialised (a source model to pre-train in a first pipeline)."""

    kind: Literal["mlp"]
    units: list[PositiveInt] = Field([64, 64], min_length=1, description="Units of each hidden Dense layer.")
    activation: str = Field("relu", description="Keras activation name of the hidden layers.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout after each hidden layer.")

    def has_pretrained_weights(self) -> bool:
        return False


class ConvNetSource(SourceSection):
    """A small convolutional network, randomly initialised (e.g. for digits)."""

    kind: Literal["convnet"]
    filters: list[PositiveInt] = Field([32, 64], min_length=1, description="Filters of each conv block (conv-BN?-relu-pool).")
    kernel_size: int = Field(3, ge=1, description="Kernel size of every convolution.")
    batch_norm: bool = Field(False, description="Put BatchNormalization after each convolution.")
    scale: float = Field(1.0 / 255, gt=0, description="Rescale raw inputs by this inside the model.")

    def has_pretrained_weights(self) -> bool:
        return False


class KerasFileSource(SourceSection):
    """A model saved as ``.keras`` (for example by an earlier adaptkit pipeline): sequential learning."""

    kind: Literal["keras_file"]
    path: ExistingFile = Field(..., description="The .keras file (relative to the spec's directory). Loaded in safe mode.")
    output_layer: Optional[str] = Field(
        None,
        min_length=1,
        description=(
            "Layer whose output becomes the features. Default: the 'encoder' sub-model of a model saved by "
            "adaptkit (its old head is dropped), else the whole model."
        ),
    )
    resize_input: bool = Field(
        False,
        description=(
            "Images whose size or channels differ from the model's input are resized (bilinear) to the model's "
            "height and width and their channels averaged (or repeated) inside the model, e.g. to reuse a 28x28 "
            "grayscale digits model on 64x64 RGB images. Default: such data is refused."
        ),
    )

    def has_pretrained_weights(self) -> bool:
        return True  # a saved model: trained by whoever saved it


class Freeze(SurgerySection):
    """Make layers non-trainable: all of them, or those up to / from a named layer."""

    kind: Literal["freeze"]
    up_to: Optional[str] = Field(None, min_length=1, description="Freeze layers from the input up to and including this one.")
    from_layer: Optional[str] = Field(None, min_length=1, description="Freeze this layer and every one after it.")

    @model_validator(mode="after")
    def _one(self):
        if self.up_to and self.from_layer:
            raise ValueError("give up_to or from_layer, not both")
        return self


class Unfreeze(SurgerySection):
    """Make layers trainable: all, the last N weighted layers or blocks, or from a named layer on."""

    kind: Literal["unfreeze"]
    last_layers: Optional[int] = Field(None, ge=1, description="Unfreeze the last N layers that have weights.")
    last_blocks: Optional[int] = Field(
        None, ge=1, description="Unfreeze the last N blocks (layers grouped by name prefix, see block_depth)."
    )
    block_depth: int = Field(
        1, ge=1, description="How many '_'-separated name parts form a block name (block5_conv1 -> block5 at 1)."
    )
    from_layer: Optional[str] = Field(None, min_length=1, description="Unfreeze this layer and every one after it.")

    @model_validator(mode="after")
    def _one(self):
        given = [k for k in ("last_layers", "last_blocks", "from_layer") if getattr(self, k) is not None]
        if len(given) > 1:
            raise ValueError(f"give at most one of last_layers, last_blocks, from_layer (got {', '.join(given)})")
        return self


class Truncate(SurgerySection):
    """Cut the source model at a named layer: its output becomes the features."""

    structural: ClassVar[bool] = True
    kind: Literal["truncate"]
    layer: str = Field(..., min_length=1, description="Name of the layer whose output becomes the features.")


class LoRA(SurgerySection):
    """Low-rank adapters (Keras ``enable_lora``): the chosen layers' kernels freeze, and a
    trainable rank-``rank`` update ``A @ B`` is learnt beside each."""

    kind: Literal["lora"]
    rank: int = Field(4, ge=1, description="Rank of the adapters.")
    alpha: Optional[float] = Field(None, gt=0, description="Scale of the update is alpha / rank; default: alpha = rank.")
    layers: Optional[list[Annotated[str, Field(min_length=1)]]] = Field(
        None,
        min_length=1,
        description="Names of the layers to adapt; default: every Dense, EinsumDense, convolution and Embedding layer of the source.",
    )
    adapters: Optional[ExistingFile] = Field(
        None,
        description="An adapters.npz written by an earlier run (its adapted weights only): loaded into the new adapters.",
    )


class _Trunk(HeadSection):
    """Fields shared by the core heads: pooling, optional normalisation, hidden layers."""

    pooling: Pooling = Field("avg", description="How a feature map becomes a vector: avg, max, flatten or none.")
    batch_norm: bool = Field(
        False, description="Normalise the pooled features with BatchNormalization (helps with large, unscaled features)."
    )
    hidden: list[PositiveInt] = Field([], description="Units of hidden Dense layers before the output layer.")
    activation: str = Field("relu", description="Activation of the hidden layers.")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout before each Dense layer.")


class ClassifierHead(_Trunk):
    """Pooling, optional hidden layers with dropout, and a softmax over the classes."""

    predicts: ClassVar[Literal["classification"]] = "classification"

    kind: Literal["classifier"]


class RegressionHead(_Trunk):
    """Pooling, optional hidden layers with dropout, and a linear output."""

    predicts: ClassVar[Literal["regression"]] = "regression"

    kind: Literal["regression"]
    loss: Literal["mse", "mae", "huber"] = Field("mse", description="Regression loss.")


from .optim_sections import OPTIMIZERS, SCHEDULES  # noqa: E402  (their own module: kept small)
from .validator_sections import VALIDATORS  # noqa: E402
from .metric_sections import METRICS  # noqa: E402
from .score_sections import SCORES  # noqa: E402
from .tracker_sections import TRACKERS  # noqa: E402

SECTIONS = [
    ArraysData,
    MLPSource,
    ConvNetSource,
    KerasFileSource,
    Freeze,
    Unfreeze,
    Truncate,
    LoRA,
    ClassifierHead,
    RegressionHead,
    *SCHEDULES,
    *OPTIMIZERS,
    *VALIDATORS,
    *METRICS,
    *SCORES,
    *TRACKERS,
]
