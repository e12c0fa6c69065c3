"""adaptkit: adapt pre-trained models to new tasks and data, from declarative pipeline specs.

The public face of the host. Importing it does not import TensorFlow.
"""

from ._arrays import load_arrays, read_arrays, variable_arrays, write_arrays
from ._alignment import FeatureAlignmentLoss, ganin_lambda, progress_weight
from ._datachecks import check_finite, class_indices, warn_rare_classes
from ._features import (
    dense_network,
    feature_dim,
    feature_extractor,
    flatten,
    layer_names,
    model_feature_extractor,
    stream_features,
)
from ._errors import AdaptkitError, DataError, ModelError, PluginError, SpecError, TrainingError, shown
from ._hookspecs import hookimpl, hookspec
from ._layers import all_trainable, block_of, layer_groups, leaf_layers, make_trainable, set_trainable
from ._families import section_of
from ._models import keras_objects, load_model, register_keras_classes, safe_deserialization
from ._optim import build_optimizer, build_schedule
from ._paths import ExistingDir, ExistingFile, ExistingPath, existing_path
from ._plugins import PluginHost, PluginInfo, get_host, reset_host
from ._sections import (
    AugmentSection,
    DataSourceSection,
    HeadSection,
    LossSection,
    MetricSection,
    OptimizerSection,
    ScheduleSection,
    Section,
    SourceSection,
    SpecModel,
    SurgerySection,
    TrackerSection,
    ValidatorSection,
    WeightingSection,
    LabelEntry,
)
from ._tracking import StageInfo
from ._spec import build_spec_model
from ._specfile import load_spec, load_spec_file
from ._trust import TRUST_FLAG, Finding, check_saved_model, inspect_saved_model, untrusted_code
from ._types import (
    DataSource,
    Head,
    LossComposition,
    LossTerm,
    Metric,
    ModelParts,
    Player,
    RunContext,
    StepBatch,
    TaskInfo,
    TaskWeighting,
    ValidationData,
    Validator,
)

__version__ = "0.1.0"

__all__ = [
    "AdaptkitError",
    "AugmentSection",
    "DataError",
    "DataSource",
    "DataSourceSection",
    "ExistingDir",
    "ExistingFile",
    "ExistingPath",
    "FeatureAlignmentLoss",
    "Finding",
    "Head",
    "HeadSection",
    "LossComposition",
    "LossSection",
    "LossTerm",
    "Metric",
    "MetricSection",
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
    "SpecModel",
    "StageInfo",
    "StepBatch",
    "SurgerySection",
    "TaskInfo",
    "TRUST_FLAG",
    "TaskWeighting",
    "TrackerSection",
    "ValidationData",
    "Validator",
    "ValidatorSection",
    "WeightingSection",
    "LabelEntry",
    "__version__",
    "build_optimizer",
    "build_schedule",
    "build_spec_model",
    "check_saved_model",
    "check_finite",
    "class_indices",
    "dense_network",
    "existing_path",
    "feature_dim",
    "feature_extractor",
    "flatten",
    "ganin_lambda",
    "get_host",
    "hookimpl",
    "hookspec",
    "inspect_saved_model",
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
    "safe_deserialization",
    "section_of",
    "set_trainable",
    "shown",
    "stream_features",
    "untrusted_code",
    "variable_arrays",
    "warn_rare_classes",
    "write_arrays",
]
