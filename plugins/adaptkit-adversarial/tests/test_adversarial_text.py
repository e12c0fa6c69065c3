"""DANN with ``feature_layer`` on a model that takes raw strings: the feature size comes from the layer's
symbolic shape (or a string probe), not from float zeros fed to a string input."""

from __future__ import annotations

from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from adaptkit import ModelParts, RunContext, StepBatch, TaskInfo, feature_dim
from adaptkit_adversarial import adaptkit_compose_loss
from adaptkit_adversarial.sections import DannLoss

TEXTS = ["a good film", "a bad film", "great acting", "dull plot", "fine work here", "poor sound", "nice", "awful"]


def text_parts():
    keras.utils.set_random_seed(0)
    vectorize = keras.layers.TextVectorization(max_tokens=32, output_sequence_length=6, name="vectorize")
    vectorize.adapt(tf.constant(TEXTS))
    inp = keras.Input((), dtype="string", name="text")
    seq = keras.layers.Embedding(32, 4, name="embedding")(vectorize(inp))
    pooled = keras.layers.GlobalAveragePooling1D(name="pooled")(seq)
    dense = keras.layers.Dense(5, activation="relu", name="enc_dense")
    dense(keras.Input((4,)))  # called once before the graph, as KerasHub builds its blocks: two inbound nodes
    encoder = keras.Model(inp, dense(pooled), name="encoder")
    f_in = keras.Input((5,), name="features")
    classifier = keras.Model(f_in, keras.layers.Dense(2, activation="softmax", name="predictions")(f_in), name="classifier")
    m_in = keras.Input((), dtype="string", name="text")
    return ModelParts(encoder, classifier, keras.Model(m_in, classifier(encoder(m_in))), TaskInfo(["neg", "pos"]))


def test_dann_feature_layer_on_a_string_model_sizes_and_trains_the_layer():
    parts = text_parts()
    ctx = RunContext(seed=0, spec_dir=Path("."), where="training.stages.0.losses.0")
    section = DannLoss(kind="dann", feature_layer="embedding", schedule="constant", discriminator={"hidden": [4]})
    comp = adaptkit_compose_loss(section=section, parts=parts, context=ctx)
    assert comp.modules[0].input_shape == (None, 6 * 4)  # the embedding's (6, 4) output, flattened
    xs, xt = tf.constant(TEXTS[:4]), tf.constant(TEXTS[4:])
    emb = parts.encoder.get_layer("embedding").embeddings
    with tf.GradientTape() as tape:
        fs, ft = parts.encoder(xs), parts.encoder(xt)
        batch = StepBatch(xs, None, fs, parts.classifier(fs), tf.constant(0.5), xt, None, ft, parts.classifier(ft))
        loss = comp.terms[0].fn(batch)
    grad = tape.gradient(loss, emb)
    assert np.isfinite(float(loss)) and grad is not None and float(tf.reduce_sum(tf.abs(tf.convert_to_tensor(grad)))) > 0
    # an extractor with no known shape is run once on a string probe of the model's own input
    assert feature_dim(parts.encoder, lambda x, training=False: parts.encoder(x, training=training)) == 5
    # a layer with two calls: the one in the encoder's graph is aligned
    comp = adaptkit_compose_loss(section=DannLoss(kind="dann", feature_layer="enc_dense"), parts=parts, context=ctx)
    assert comp.modules[0].input_shape == (None, 5) and np.isfinite(float(comp.terms[0].fn(batch)))
