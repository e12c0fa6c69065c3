"""The tfhub source on a tiny SavedModel built here: it trains, and freezing stops it."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

import adaptkit
from adaptkit_text.sections import TFHubSource

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from adaptkit_text.hub import build_hub_source  # noqa: E402


class Tiny(tf.Module):
    """A string -> 2 features encoder: a hashed bag of words times a matrix, plus a bias."""

    def __init__(self):
        super().__init__()
        self.table = tf.Variable(tf.random.stateless_normal((16, 2), seed=(1, 2)), name="table")
        self.bias = tf.Variable(tf.zeros((2,)), name="bias")
        self.calls = tf.Variable(0, trainable=False, name="calls")  # a non-trainable variable

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts):
        words = tf.strings.split(texts)
        ids = tf.strings.to_hash_bucket_fast(words, 16)
        return tf.reduce_mean(tf.gather(self.table, ids), axis=1) + self.bias

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def embed(self, texts):
        return {"pooled": self.__call__(texts), "twice": 2.0 * self.__call__(texts)}


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("hub") / "tiny"
    module = Tiny()
    tf.saved_model.save(module, str(path), signatures={"serving_default": module.embed})
    return path


def ctx(spec_dir):
    return adaptkit.RunContext(seed=0, spec_dir=Path(spec_dir), where="source", log=logging.getLogger("test"))


TEXTS = tf.constant(["good film", "bad film", "a good good day", "bad"])
LABELS = tf.constant([0, 1, 0, 1])


def train_step(encoder):
    model = keras.Model(encoder.input, keras.layers.Dense(2)(encoder.output))
    model.compile(keras.optimizers.SGD(1.0), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hub = encoder.get_layer("hub_module")
    before = [v.numpy().copy() for v in hub.weights]
    model.fit(tf.data.Dataset.from_tensor_slices((TEXTS, LABELS)).batch(4), epochs=1, verbose=0)
    return before, [v.numpy() for v in hub.weights], model


def test_training_changes_the_module_variables(saved_model):
    encoder = build_hub_source(TFHubSource(kind="tfhub", handle=str(saved_model)), (), ctx(saved_model.parent))
    hub = encoder.get_layer("hub_module")
    assert len(hub.trainable_weights) == 2 and len(hub.non_trainable_weights) == 1
    out_before = encoder(TEXTS).numpy()
    before, after, _ = train_step(encoder)
    assert not np.allclose(before[0], after[0]) and not np.allclose(before[1], after[1])
    # the module's own functions read the trained variables
    assert not np.allclose(out_before, encoder(TEXTS).numpy())


def test_frozen_module_does_not_change(saved_model):
    section = TFHubSource(kind="tfhub", handle="tiny", trainable=False)  # relative to the spec dir
    encoder = build_hub_source(section, (), ctx(saved_model.parent))
    assert encoder.get_layer("hub_module").trainable_weights == []
    before, after, model = train_step(encoder)
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)
    assert len(model.trainable_weights) == 2  # only the Dense head


def test_signature_and_output_key(saved_model):
    section = TFHubSource(kind="tfhub", handle=str(saved_model), signature="serving_default", output_key="twice")
    encoder = build_hub_source(section, (), ctx(saved_model.parent))
    plain = build_hub_source(TFHubSource(kind="tfhub", handle=str(saved_model)), (), ctx(saved_model.parent))
    np.testing.assert_allclose(encoder(TEXTS).numpy(), 2 * plain(TEXTS).numpy(), rtol=1e-6)


def test_save_reload_keeps_trained_values_and_refuses_safe_mode(saved_model, tmp_path):
    import adaptkit_text.layers  # noqa: F401

    encoder = build_hub_source(TFHubSource(kind="tfhub", handle=str(saved_model)), (), ctx(saved_model.parent))
    _, _, model = train_step(encoder)
    path = tmp_path / "m.keras"
    model.save(path)
    with pytest.raises(ValueError, match="safe_mode=False"):
        keras.saving.load_model(path, safe_mode=True)
    reloaded = keras.saving.load_model(path, safe_mode=False)
    np.testing.assert_allclose(reloaded(TEXTS).numpy(), model(TEXTS).numpy(), atol=1e-6)


def test_bad_handles_are_one_line_errors(saved_model, tmp_path):
    with pytest.raises(adaptkit.SpecError, match="no such SavedModel directory") as err:
        build_hub_source(TFHubSource(kind="tfhub", handle="missing"), (), ctx(tmp_path))
    assert err.value.where == "source.handle"
    (tmp_path / "empty").mkdir()
    with pytest.raises(adaptkit.SpecError, match="no saved_model.pb"):
        build_hub_source(TFHubSource(kind="tfhub", handle="empty"), (), ctx(tmp_path))
    with pytest.raises(adaptkit.ModelError, match="no signature 'nope'") as err:
        build_hub_source(TFHubSource(kind="tfhub", handle=str(saved_model), signature="nope"), (), ctx(tmp_path))
    assert "\n" not in str(err.value)
