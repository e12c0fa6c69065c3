"""adaptkit: adapt pre-trained models to new tasks and data, from declarative pipeline specs.

The public face of the host. Importing it does not import TensorFlow.
"""

from ._arrays import load_arrays, read_arrays, variable_arrays, write_arrays
from ._alignment import FeatureAlignmentLoss, ganin_lambda, progress_weight
from ._features import (
    dense_network,
    feature_dim,
    feature_extractor,
    flatten,
    layer_names,
    model_feature_extractor,
    stream_features,
)
from ._errors import AdaptkitError, DataError, ModelError, PluginError, SpecError, TrainingError
from ._hookspecs import hookimpl, hookspec
from ._layers import all_trainable, block_of, layer_groups, leaf_layers, make_trainable, set_trainable
from ._families import section_of
from ._models import keras_objects, load_model, register_keras_classes
from ._optim import build_optimizer, build_schedule
from ._plugins import PluginHost, PluginInfo, get_host, reset_host
from ._sections import (
    AugmentSection,
    DataSourceSection,
    HeadSection,
    LossSection,
    OptimizerSection,
    ScheduleSection,
    Section,
    SourceSection,
    SurgerySection,
    WeightingSection,
    LabelEntry,
)
from ._spec import build_spec_model
from ._specfile import load_spec, load_spec_file
from ._types import (
    DataSource,
    Head,
    LossComposition,
    LossTerm,
    ModelParts,
    Player,
    RunContext,
    StepBatch,
    TaskInfo,
    TaskWeighting,
)

__version__ = "0.1.0"

__all__ = [
    "AdaptkitError",
    "AugmentSection",
    "DataError",
    "DataSource",
    "DataSourceSection",
    "FeatureAlignmentLoss",
    "Head",
    "HeadSection",
    "LossComposition",
    "LossSection",
    "LossTerm",
    "ModelError",
    "ModelParts",
    "OptimizerSection",
    "Player",
    "PluginError",
    "TrainingError",
    "PluginHost",
    "PluginInfo",
    "RunContext",
    "ScheduleSection",
    "Section",
    "SourceSection",
    "SpecError",
    "StepBatch",
    "SurgerySection",
    "TaskInfo",
    "TaskWeighting",
    "WeightingSection",
    "LabelEntry",
    "__version__",
    "build_optimizer",
    "build_schedule",
    "build_spec_model",
    "dense_network",
    "feature_dim",
    "feature_extractor",
    "flatten",
    "ganin_lambda",
    "get_host",
    "hookimpl",
    "hookspec",
    "all_trainable",
    "block_of",
    "keras_objects",
    "layer_groups",
    "layer_names",
    "leaf_layers",
    "load_arrays",
    "load_model",
    "load_spec",
    "load_spec_file",
    "make_trainable",
    "model_feature_extractor",
    "progress_weight",
    "read_arrays",
    "register_keras_classes",
    "reset_host",
    "section_of",
    "set_trainable",
    "stream_features",
    "variable_arrays",
    "write_arrays",
]
