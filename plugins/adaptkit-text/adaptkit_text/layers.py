"""The Keras layers of the text plugin, registered so saved models reload.

- :class:`StripWhitespace`: strips strings as Python's ``str.strip`` does
  (``text_directory`` strips each file's text: the saved model does the same);
- :class:`BertEmbeddings`: BERT's embedding block (token + position + segment
  embeddings, LayerNorm, dropout) as one layer, so it is one layer group;
- :class:`TextPacker`: KerasHub's BERT preprocessor (WordPiece + packing) as a
  layer of a functional model that takes raw strings and reloads in safe mode;
- :class:`SequencePooling`: CLS or masked-mean pooling, optional L2 norm;
- :class:`SavedModelLayer`: a TF2 SavedModel (TF Hub) inside a Keras 3 model,
  its variables tracked so they train (or stay frozen) like any layer's.

The package registers them as soon as Keras is imported
(``adaptkit.register_keras_classes``), so plain ``keras.saving.load_model``
reads a saved model after ``import adaptkit_text``. Importing this module
imports TensorFlow, not KerasHub (the layers import it when built), so that
registering costs a run without text nothing; ``ExactGeluBertBackbone``, a
KerasHub subclass, lives in :mod:`adaptkit_text.legacy`.
"""

from __future__ import annotations

from typing import Any, Optional

import keras
import tensorflow as tf
from keras import ops

__all__ = ["StripWhitespace", "BertEmbeddings", "TextPacker", "SequencePooling", "SavedModelLayer", "KERAS_OBJECTS"]

PACKAGE = "adaptkit_text"

_WHITESPACE = r"\x{9}-\x{d}\x{1c}-\x{20}\x{85}\x{a0}\x{1680}\x{2000}-\x{200a}\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
"""Every character ``str.isspace`` accepts (Python 3.11's Unicode database), as an RE2 character class body."""


@keras.saving.register_keras_serializable(package=PACKAGE)
class StripWhitespace(keras.layers.Layer):
    """Strings without leading and trailing whitespace, exactly as Python's ``str.strip()``
    (Unicode whitespace included; ``tf.strings.strip`` strips ASCII whitespace only)."""

    def call(self, texts: Any) -> Any:
        return tf.strings.regex_replace(texts, f"^[{_WHITESPACE}]+|[{_WHITESPACE}]+$", "")

    def compute_output_spec(self, texts: Any) -> Any:
        return keras.KerasTensor(texts.shape, dtype="string")


@keras.saving.register_keras_serializable(package=PACKAGE)
class BertEmbeddings(keras.layers.Layer):
    """BERT's embedding block: token + position + segment embeddings, LayerNorm, dropout.

    The same computation as the first layers of KerasHub's ``BertBackbone``, as one
    layer named ``embeddings``: adaptkit groups a source's layers into blocks by
    name, and the four weighted layers of the backbone's embedding block
    (``token_embedding``, ``position_embedding``, ``segment_embedding``,
    ``embeddings_layer_norm``) would otherwise be four groups.
    """

    def __init__(
        self,
        vocabulary_size: int,
        hidden_dim: int,
        max_sequence_length: int = 512,
        num_segments: int = 2,
        dropout: float = 0.1,
        layer_norm_epsilon: float = 1e-12,
        **kwargs: Any,
    ):
        import keras_hub

        super().__init__(**kwargs)
        self.vocabulary_size = int(vocabulary_size)
        self.hidden_dim = int(hidden_dim)
        self.max_sequence_length = int(max_sequence_length)
        self.num_segments = int(num_segments)
        self.dropout = float(dropout)
        self.layer_norm_epsilon = float(layer_norm_epsilon)
        policy = self.dtype_policy
        self.token_embedding = keras.layers.Embedding(
            self.vocabulary_size, self.hidden_dim, dtype=policy, name="token_embedding"
        )
        self.position_embedding = keras_hub.layers.PositionEmbedding(
            sequence_length=self.max_sequence_length, dtype=policy, name="position_embedding"
        )
        self.segment_embedding = keras.layers.Embedding(
            self.num_segments, self.hidden_dim, dtype=policy, name="segment_embedding"
        )
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, dtype=policy, name="layer_norm"
        )
        self.dropout_layer = keras.layers.Dropout(self.dropout, dtype=policy, name="dropout")

    def build(self, token_ids_shape: Any, segment_ids_shape: Any = None) -> None:
        vectors = tuple(token_ids_shape) + (self.hidden_dim,)
        self.token_embedding.build(token_ids_shape)
        self.position_embedding.build(vectors)
        self.segment_embedding.build(token_ids_shape)
        self.layer_norm.build(vectors)
        self.built = True

    def call(self, token_ids: Any, segment_ids: Any, training: Any = None) -> Any:
        tokens = self.token_embedding(token_ids)
        x = tokens + self.position_embedding(tokens) + self.segment_embedding(segment_ids)
        return self.dropout_layer(self.layer_norm(x), training=training)

    def compute_output_shape(self, token_ids_shape: Any, segment_ids_shape: Any = None) -> tuple:
        return tuple(token_ids_shape) + (self.hidden_dim,)

    def copy_from(self, backbone: Any) -> None:
        """Take the embedding weights of a KerasHub ``BertBackbone``."""
        self.token_embedding.set_weights(backbone.token_embedding.get_weights())
        self.position_embedding.set_weights(backbone.position_embedding.get_weights())
        self.segment_embedding.set_weights(backbone.segment_embedding.get_weights())
        self.layer_norm.set_weights(backbone.embeddings_layer_norm.get_weights())

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(
            vocabulary_size=self.vocabulary_size,
            hidden_dim=self.hidden_dim,
            max_sequence_length=self.max_sequence_length,
            num_segments=self.num_segments,
            dropout=self.dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
        )
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class TextPacker(keras.layers.Layer):
    """Raw strings -> ``{token_ids, segment_ids, padding_mask}`` with a KerasHub preprocessor.

    KerasHub preprocessors call their tokenizer to infer output shapes, and a
    tokenizer's vocabulary is restored from the saved file's assets only
    *after* a functional model has been rebuilt from its config, so a bare
    preprocessor in a functional model does not reload. This layer states its
    output spec itself; the vocabulary travels as the tokenizer's asset.

    The vocabulary is also kept in the layer's config: ``keras.models.clone_model``
    rebuilds layers from their configs alone (no assets), and adaptkit clones models
    for the from-scratch baseline and the before-adaptation snapshot.
    """

    def __init__(self, preprocessor: Any, vocabulary: Optional[list] = None, **kwargs: Any):
        super().__init__(**kwargs)
        if isinstance(preprocessor, dict):
            preprocessor = keras.saving.deserialize_keras_object(preprocessor)
        if vocabulary is not None:
            preprocessor.tokenizer.set_vocabulary(list(vocabulary))
        self.preprocessor = preprocessor
        self.sequence_length = int(preprocessor.sequence_length)

    def build(self, input_shape: Any) -> None:
        self.built = True

    def call(self, texts: Any) -> dict:
        return self.preprocessor(texts)

    def compute_output_spec(self, texts: Any) -> dict:
        shape = (texts.shape[0], self.sequence_length)
        return {
            "token_ids": keras.KerasTensor(shape, dtype="int32"),
            "segment_ids": keras.KerasTensor(shape, dtype="int32"),
            "padding_mask": keras.KerasTensor(shape, dtype="bool"),
        }

    def get_config(self) -> dict:
        config = super().get_config()
        config["preprocessor"] = keras.saving.serialize_keras_object(self.preprocessor)
        config["vocabulary"] = list(self.preprocessor.tokenizer.get_vocabulary())
        return config


@keras.saving.register_keras_serializable(package=PACKAGE)
class SequencePooling(keras.layers.Layer):
    """Token vectors ``(batch, tokens, dim)`` -> one vector ``(batch, dim)``.

    ``mode="cls"`` takes the first token; ``mode="mean"`` averages the tokens
    whose padding-mask entry is true (sentence-transformers' mean pooling).
    ``normalize`` divides by the L2 norm.
    """

    def __init__(self, mode: str = "mean", normalize: bool = False, **kwargs: Any):
        super().__init__(**kwargs)
        if mode not in ("mean", "cls"):
            raise ValueError(f"pooling mode must be 'mean' or 'cls', not {mode!r}")
        self.mode = mode
        self.normalize = bool(normalize)

    def call(self, sequence: Any, padding_mask: Any) -> Any:
        if self.mode == "cls":
            pooled = sequence[:, 0, :]
        else:
            mask = ops.cast(ops.expand_dims(padding_mask, -1), sequence.dtype)
            pooled = ops.sum(sequence * mask, axis=1) / ops.maximum(ops.sum(mask, axis=1), 1e-9)
        if self.normalize:
            pooled = ops.normalize(pooled, axis=-1, order=2)
        return pooled

    def compute_output_shape(self, sequence_shape: Any, padding_mask_shape: Any = None) -> tuple:
        return (sequence_shape[0], sequence_shape[-1])

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(mode=self.mode, normalize=self.normalize)
        return config


def resolve_handle(handle: str) -> str:
    """A local directory for a SavedModel handle: itself, or tensorflow_hub's cached download."""
    import os

    if os.path.isdir(handle):
        return handle
    import tensorflow_hub as hub

    return hub.resolve(handle)


def _in_safe_mode() -> bool:
    try:
        from keras.src.saving import serialization_lib
    except ImportError:  # pragma: no cover - a future Keras
        return True
    return serialization_lib.in_safe_mode() is not False


@keras.saving.register_keras_serializable(package=PACKAGE)
class SavedModelLayer(keras.layers.Layer):
    """A TF2 SavedModel (e.g. from TF Hub) called as a Keras 3 layer.

    ``hub.KerasLayer`` is a Keras 2 (tf_keras) layer and cannot live in a Keras
    3 model. This layer loads the module with ``tf.saved_model.load`` and wraps
    each of its ``tf.Variable``s in a Keras variable that *shares* it (Keras'
    TensorFlow backend adopts an existing ``tf.Variable``), so the optimizer
    updates the very variables the module's functions read; ``trainable=False``
    freezes them. The module's own ``trainable_variables`` decides which are
    trainable at all. ``training`` is passed to ``__call__`` when the module
    accepts it (TF Hub's reusable SavedModels do).

    The ``.keras`` file stores the handle and the variables' values; reloading
    loads the SavedModel again from the handle. Like ``keras.layers.TFSMLayer``,
    it refuses to load in safe mode, because a SavedModel is executable graph
    code from outside the ``.keras`` file: reload with ``safe_mode=False`` when
    you trust the handle.
    """

    def __init__(
        self,
        handle: str,
        signature: Optional[str] = None,
        output_key: Optional[str] = None,
        directory: Optional[str] = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.handle = handle
        self.signature = signature
        self.output_key = output_key
        # ``directory``: where the handle was already resolved (and inspected); not in the config
        self._module = tf.saved_model.load(directory or resolve_handle(handle))
        if signature:
            if signature not in self._module.signatures:
                raise ValueError(
                    f"no signature {signature!r}; the SavedModel has: {sorted(self._module.signatures)}"
                )
            self._fn = self._module.signatures[signature]
            self._arg = next(iter(self._fn.structured_input_signature[1]), None)
        elif callable(self._module):
            self._fn = self._module
            self._arg = None
        else:
            raise ValueError(
                f"the SavedModel is not callable; name one of its signatures: {sorted(self._module.signatures)}"
            )
        every = list(getattr(self._module, "variables", None) or [])
        if every:  # a TF Hub reusable SavedModel lists its variables and says which train
            trainable = list(getattr(self._module, "trainable_variables", None) or [])
        else:  # a plain tf.Module: every variable in its object graph, with its own flag
            every = [v for v in tf.train.TrackableView(self._module).descendants() if isinstance(v, tf.Variable)]
            trainable = [v for v in every if v.trainable]
        trainable_ids = {id(v) for v in trainable}
        seen = set()
        for v in every:
            if id(v) in seen:
                continue
            seen.add(id(v))
            self._track_variable(
                keras.Variable(
                    initializer=v,
                    trainable=id(v) in trainable_ids,
                    dtype=v.dtype,
                    shape=v.shape,
                    name=v.name.split(":")[0].replace("/", "_"),
                )
            )
        self._takes_training = True
        self.built = True

    def call(self, inputs: Any, training: Any = None) -> Any:
        if self.signature:
            out = self._fn(**inputs) if isinstance(inputs, dict) else self._fn(**{self._arg: inputs})
        elif self._takes_training:
            try:
                out = self._fn(inputs, training=bool(training))
            except (TypeError, ValueError):
                self._takes_training = False
                out = self._fn(inputs)
        else:
            out = self._fn(inputs)
        if isinstance(out, dict):
            if self.output_key is not None:
                if self.output_key not in out:
                    raise ValueError(f"output_key {self.output_key!r} is not among {sorted(out)}")
                return out[self.output_key]
            if len(out) == 1:
                return next(iter(out.values()))
        return out

    def get_config(self) -> dict:
        config = super().get_config()
        config.update(handle=self.handle, signature=self.signature, output_key=self.output_key)
        return config

    @classmethod
    def from_config(cls, config: dict) -> "SavedModelLayer":
        if _in_safe_mode():
            raise ValueError(
                f"it holds a SavedModel layer that loads {config.get('handle')!r}, graph code from "
                "outside the .keras file; reload with safe_mode=False (adaptkit: --trust-code) if you trust it"
            )
        return cls(**config)


KERAS_OBJECTS = {
    f"{PACKAGE}>{cls.__name__}": cls
    for cls in (StripWhitespace, BertEmbeddings, TextPacker, SequencePooling, SavedModelLayer)
}
