"""adaptkit's text plugin: BERT-family encoders through KerasHub (preset names,
kaggle:// and hf:// handles, local KerasHub or HuggingFace directories, installed
model packages), LoRA inside transformer blocks, TF Hub SavedModels as Keras 3 layers, and text data (CSV, TSV,
JSON lines, one folder per class).

TensorFlow, Keras and KerasHub are imported only inside the hooks that build
things. The plugin's Keras layers are registered as soon as Keras is imported
(KerasHub's subclass of an earlier version as soon as KerasHub is), so plain
``keras.saving.load_model`` reads a saved model after ``import adaptkit_text``.
"""

from __future__ import annotations

import adaptkit
from adaptkit import hookimpl

from . import sections as S

__all__ = ["keras_objects"]

adaptkit.register_keras_classes("adaptkit_text.layers")
adaptkit.register_keras_classes("adaptkit_text.legacy", after="keras_hub")


def keras_objects() -> dict:
    """The Keras classes this plugin's models contain, by registered name (imports TensorFlow and KerasHub)."""
    from . import layers, legacy

    return {**layers.KERAS_OBJECTS, **legacy.KERAS_OBJECTS}


@hookimpl
def adaptkit_sections():
    return S.SECTIONS


@hookimpl
def adaptkit_keras_objects():
    return keras_objects()


@hookimpl
def adaptkit_load_data(section, context):
    from . import data

    load = {S.TextTable: data.load_text_table, S.TextDirectory: data.load_text_directory}.get(type(section))
    return None if load is None else load(section, context)


@hookimpl
def adaptkit_input_preprocessing(section, input_shape, context):
    from . import data

    return data.input_preprocessing(section)


@hookimpl
def adaptkit_load_source(section, input_shape, context):
    from . import bert, hub

    build = {S.BertSource: bert.build_bert_source, S.TFHubSource: hub.build_hub_source}.get(type(section))
    return None if build is None else build(section, input_shape, context)


@hookimpl
def adaptkit_apply_surgery(section, model, context):
    from .lora import transformer_lora

    return transformer_lora(section, model, context)  # the host routes only TransformerLoRA here
