"""adaptkit: adapt pre-trained models to new tasks and data, from declarative pipeline specs.

The public face of the host. Importing it does not import TensorFlow, nor anything else: each name is
imported from its module on first use (PEP 562), so the light CLI verbs start fast.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_WHERE = {
    "load_arrays": "_arrays",
    "read_arrays": "_arrays",
    "variable_arrays": "_arrays",
    "write_arrays": "_arrays",
    "FeatureAlignmentLoss": "_alignment",
    "ganin_lambda": "_alignment",
    "progress_weight": "_alignment",
    "check_finite": "_datachecks",
    "class_indices": "_datachecks",
    "warn_rare_classes": "_datachecks",
    "dense_network": "_features",
    "feature_dim": "_features",
    "feature_extractor": "_features",
    "flatten": "_features",
    "layer_names": "_features",
    "model_feature_extractor": "_features",
    "stream_features": "_features",
    "AdaptkitError": "_errors",
    "DataError": "_errors",
    "ModelError": "_errors",
    "PluginError": "_errors",
    "SpecError": "_errors",
    "TrainingError": "_errors",
    "shown": "_errors",
    "hookimpl": "_hookspecs",
    "hookspec": "_hookspecs",
    "all_trainable": "_layers",
    "block_of": "_layers",
    "layer_groups": "_layers",
    "leaf_layers": "_layers",
    "make_trainable": "_layers",
    "set_trainable": "_layers",
    "section_of": "_families",
    "keras_objects": "_models",
    "load_model": "_models",
    "register_keras_classes": "_models",
    "safe_deserialization": "_models",
    "build_optimizer": "_optim",
    "build_schedule": "_optim",
    "ExistingDir": "_paths",
    "ExistingFile": "_paths",
    "ExistingPath": "_paths",
    "existing_path": "_paths",
    "PluginHost": "_plugins",
    "PluginInfo": "_plugins",
    "get_host": "_plugins",
    "reset_host": "_plugins",
    "AugmentSection": "_sections",
    "DataSourceSection": "_sections",
    "HeadSection": "_sections",
    "LossSection": "_sections",
    "OptimizerSection": "_sections",
    "ScheduleSection": "_sections",
    "Section": "_sections",
    "SourceSection": "_sections",
    "SpecModel": "_sections",
    "SurgerySection": "_sections",
    "ValidatorSection": "_sections",
    "WeightingSection": "_sections",
    "LabelEntry": "_sections",
    "build_spec_model": "_spec",
    "load_spec": "_specfile",
    "load_spec_file": "_specfile",
    "TRUST_FLAG": "_trust",
    "Finding": "_trust",
    "check_saved_model": "_trust",
    "inspect_saved_model": "_trust",
    "untrusted_code": "_trust",
    "DataSource": "_types",
    "Head": "_types",
    "LossComposition": "_types",
    "LossTerm": "_types",
    "ModelParts": "_types",
    "Player": "_types",
    "RunContext": "_types",
    "StepBatch": "_types",
    "TaskInfo": "_types",
    "TaskWeighting": "_types",
    "ValidationData": "_types",
    "Validator": "_types",
}

if TYPE_CHECKING:  # for type checkers and editors: the names as plain imports
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
        OptimizerSection,
        ScheduleSection,
        Section,
        SourceSection,
        SpecModel,
        SurgerySection,
        ValidatorSection,
        WeightingSection,
        LabelEntry,
    )
    from ._spec import build_spec_model
    from ._specfile import load_spec, load_spec_file
    from ._trust import TRUST_FLAG, Finding, check_saved_model, inspect_saved_model, untrusted_code
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
        ValidationData,
        Validator,
    )


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_WHERE))


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
    "StepBatch",
    "SurgerySection",
    "TaskInfo",
    "TRUST_FLAG",
    "TaskWeighting",
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
