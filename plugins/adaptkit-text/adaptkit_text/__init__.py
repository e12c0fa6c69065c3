"""adaptkit's text plugin: BERT-family encoders through KerasHub (preset names,
kaggle:// and hf:// handles, local KerasHub or HuggingFace directories, installed
model packages), LoRA inside transformer blocks, TF Hub SavedModels as Keras 3 layers, and text data (CSV, TSV,
JSON lines, one folder per class).

TensorFlow, Keras and KerasHub are imported only inside the hooks that build
things. Saved models that contain this plugin's layers need them registered
before ``keras.saving.load_model``: ``import adaptkit_text.layers`` (or call
:func:`keras_objects`).
"""

from __future__ import annotations

from adaptkit import hookimpl

from . import sections as S

__all__ = ["keras_objects"]


def keras_objects() -> dict:
    """The Keras classes this plugin's models contain, by registered name (imports TensorFlow)."""
    from . import layers

    return layers.KERAS_OBJECTS


@hookimpl
def adaptkit_sections():
    return S.SECTIONS


@hookimpl
def adaptkit_keras_objects():
    return keras_objects()


@hookimpl
def adaptkit_load_data(section, context):
    if isinstance(section, S.TextTable):
        from .data import load_text_table

        return load_text_table(section, context)
    if isinstance(section, S.TextDirectory):
        from .data import load_text_directory

        return load_text_directory(section, context)
    return None


@hookimpl
def adaptkit_load_source(section, input_shape, context):
    if isinstance(section, S.BertSource):
        from .bert import build_bert_source

        return build_bert_source(section, input_shape, context)
    if isinstance(section, S.TFHubSource):
        from .hub import build_hub_source

        return build_hub_source(section, input_shape, context)
    return None


@hookimpl
def adaptkit_apply_surgery(section, model, context):
    if isinstance(section, S.TransformerLoRA):
        from .lora import transformer_lora

        return transformer_lora(section, model, context)
    return None
