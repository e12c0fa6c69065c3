"""DANN/CDAN compositions on tiny Keras models: gradients, feature layers, errors, and a rotated-moons run."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import adaptkit
from adaptkit import testing
from adaptkit import ModelParts, RunContext, StepBatch, TaskInfo
from adaptkit_adversarial import adaptkit_compose_loss
from adaptkit_adversarial.sections import CdanLoss, DannLoss


def tiny_parts(input_dim=2, units=(8, 8), classes=2, seed=0):
    keras.utils.set_random_seed(seed)
    src_in = keras.Input((input_dim,), name="inputs")
    x = src_in
    for i, u in enumerate(units, start=1):
        x = keras.layers.Dense(u, activation="relu", name=f"dense{i}")(x)
    source = keras.Model(src_in, x, name="source")
    inp = keras.Input((input_dim,), name="inputs")
    encoder = keras.Model(inp, source(inp), name="encoder")
    f_in = keras.Input((units[-1],), name="features")
    classifier = keras.Model(f_in, keras.layers.Dense(classes, activation="softmax", name="predictions")(f_in),
                             name="classifier")
    m_in = keras.Input((input_dim,), name="inputs")
    model = keras.Model(m_in, classifier(encoder(m_in)), name="adapted")
    return ModelParts(encoder, classifier, model, TaskInfo([str(i) for i in range(classes)]))


def step_batch(parts, progress=0.5, n=6, seed=1):
    rng = np.random.default_rng(seed)
    xs = tf.constant(rng.normal(size=(n, 2)).astype("float32"))
    xt = tf.constant(rng.normal(1.0, 1.0, size=(n + 2, 2)).astype("float32"))
    fs, ft = parts.encoder(xs), parts.encoder(xt)
    return StepBatch(xs, None, fs, parts.classifier(fs), tf.constant(progress), xt, None, ft, parts.classifier(ft))


def ctx(where="training.stages.0.losses.0"):
    return RunContext(seed=0, spec_dir=Path("."), where=where)


def test_dann_domain_loss_trains_the_classifier_and_reverses_into_the_encoder():
    parts = tiny_parts()
    section = DannLoss(kind="dann", weight=0.7, schedule="constant", discriminator={"hidden": [4]})
    comp = adaptkit_compose_loss(section=section, parts=parts, context=ctx())
    assert len(comp.terms) == 1 and comp.terms[0].player == "main" and not comp.players
    disc = comp.modules[0]
    enc_vars = parts.encoder.trainable_variables
    with tf.GradientTape(persistent=True) as tape:
        batch = step_batch(parts)
        loss = comp.terms[0].fn(batch)
        # the same loss without the reversal: the domain classifier on the plain features
        n = batch.features_source.shape[0]
        h = tf.concat([batch.features_source, batch.features_target], 0)
        out = disc(h)
        plain = adaptkit_adversarial_domain_loss(out[:n], out[n:])
    np.testing.assert_allclose(float(loss), float(plain), rtol=1e-6)
    for g_rev, g_plain in zip(tape.gradient(loss, enc_vars), tape.gradient(plain, enc_vars)):
        np.testing.assert_allclose(g_rev.numpy(), -0.7 * g_plain.numpy(), rtol=1e-4, atol=1e-7)
    for g_rev, g_plain in zip(tape.gradient(loss, disc.trainable_variables), tape.gradient(plain, disc.trainable_variables)):
        np.testing.assert_allclose(g_rev.numpy(), g_plain.numpy(), rtol=1e-5, atol=1e-7)
    acc = float(comp.metrics["dann_domain_accuracy"](batch))
    assert 0.0 <= acc <= 1.0
    assert float(comp.metrics["dann_lambda"](batch)) == pytest.approx(0.7)


def adaptkit_adversarial_domain_loss(ls, lt):
    from adaptkit_adversarial.layers import domain_loss

    return domain_loss(ls, lt)


def test_ganin_schedule_scales_the_reversed_gradient_with_progress():
    parts = tiny_parts()
    comp = adaptkit_compose_loss(section=DannLoss(kind="dann", discriminator={"hidden": []}), parts=parts, context=ctx())
    var = parts.encoder.trainable_variables[0]
    grads = {}
    for p in (0.0, 1.0):
        with tf.GradientTape() as tape:
            loss = comp.terms[0].fn(step_batch(parts, progress=p))
        grads[p] = tape.gradient(loss, var).numpy()
    np.testing.assert_allclose(grads[0.0], 0.0, atol=1e-8)  # lambda(0) = 0: no adversarial signal yet
    assert np.abs(grads[1.0]).max() > 0


def test_feature_layer_inside_the_nested_source_model():
    parts = tiny_parts()
    comp = adaptkit_compose_loss(
        section=DannLoss(kind="dann", feature_layer="dense1", discriminator={"hidden": [4]}), parts=parts, context=ctx()
    )
    dense1 = parts.encoder.get_layer("source").get_layer("dense1")
    dense2 = parts.encoder.get_layer("source").get_layer("dense2")
    with tf.GradientTape() as tape:
        loss = comp.terms[0].fn(step_batch(parts))
    g1, g2 = tape.gradient(loss, [dense1.kernel, dense2.kernel])
    assert g1 is not None and np.abs(g1.numpy()).max() > 0
    assert g2 is None  # dense2 lies after the chosen layer


def test_feature_layer_of_the_head_reverses_through_it_into_the_encoder():
    base = tiny_parts()
    f_in = keras.Input((8,), name="features")
    hidden = keras.layers.Dense(3, activation="relu", name="head_dense1")
    classifier = keras.Model(f_in, keras.layers.Dense(2, activation="softmax", name="predictions")(hidden(f_in)),
                             name="classifier")
    m_in = keras.Input((2,), name="inputs")
    parts = ModelParts(base.encoder, classifier, keras.Model(m_in, classifier(base.encoder(m_in))), base.task)
    comp = adaptkit_compose_loss(section=DannLoss(kind="dann", feature_layer="head_dense1", discriminator={"hidden": []}),
                                 parts=parts, context=ctx())
    assert int(comp.modules[0].input.shape[-1]) == 3  # the head's hidden layer
    dense1 = parts.encoder.get_layer("source").get_layer("dense1")
    with tf.GradientTape() as tape:
        loss = comp.terms[0].fn(step_batch(parts))
    g_enc, g_hidden = tape.gradient(loss, [dense1.kernel, hidden.kernel])
    assert np.abs(g_enc.numpy()).max() > 0 and np.abs(g_hidden.numpy()).max() > 0


def test_unknown_feature_layer_is_a_one_line_spec_error_naming_the_key():
    with pytest.raises(adaptkit.SpecError) as err:
        adaptkit_compose_loss(section=DannLoss(kind="dann", feature_layer="nope"), parts=tiny_parts(), context=ctx())
    assert err.value.where == "training.stages.0.losses.0.feature_layer"
    assert "nope" in err.value.message and "dense1" in err.value.message and "\n" not in str(err.value)


def test_cdan_full_and_randomized_maps_and_entropy_weighting():
    parts = tiny_parts(units=(8, 8), classes=3)
    full = adaptkit_compose_loss(section=CdanLoss(kind="cdan", entropy=True, discriminator={"hidden": [4]}),
                                 parts=parts, context=ctx())
    assert full.modules[0].input_shape[-1] == 8 * 3 and len(full.modules) == 1
    rand = adaptkit_compose_loss(section=CdanLoss(kind="cdan", max_map_dim=16, random_dim=32), parts=parts, context=ctx())
    assert rand.modules[0].input_shape[-1] == 32 and rand.modules[1].output_dim == 32
    for comp in (full, rand):
        with tf.GradientTape() as tape:
            loss = comp.terms[0].fn(step_batch(parts))
        assert np.isfinite(float(loss))
        g = tape.gradient(loss, parts.encoder.trainable_variables[0])
        assert np.abs(g.numpy()).max() > 0


def test_sections_validate_and_require_a_target():
    host = adaptkit.get_host()
    assert {"dann", "cdan"} <= set(host.sections["loss"])
    spec = moons_spec("/nonexistent", [{"kind": "dann", "gamma": 5}], epochs=1)
    assert adaptkit.load_spec(spec).training.stages[0].losses[0].gamma == 5
    del spec["data"]["target"]
    with pytest.raises(adaptkit.SpecError) as err:
        adaptkit.load_spec(spec)
    assert err.value.where == "training.stages.0.losses.0" and "data.target" in err.value.message
    spec = moons_spec("/nonexistent", [{"kind": "dann", "lamda": 1}], epochs=1)
    with pytest.raises(adaptkit.SpecError):
        adaptkit.load_spec(spec)


# -- a real two-stream run through the host ------------------------------------------------


def moons_spec(folder, losses, epochs):
    return testing.moons_spec(folder, [{"epochs": epochs, "optimizer": {"learning_rate": 0.003}, "losses": losses}])


def run_spec(tmp_path, name, spec):
    return testing.run_spec(tmp_path, spec, name).metrics


def test_dann_beats_source_only_on_rotated_moons(tmp_path):
    testing.write_rotated_moons(tmp_path)
    folder = str(tmp_path)
    base = run_spec(tmp_path, "source_only", moons_spec(folder, [], epochs=40))
    dann = run_spec(tmp_path, "dann", moons_spec(folder, [{"kind": "dann", "discriminator": {"hidden": [32]}}], 40))
    assert base["test/accuracy"] > 0.95 and dann["test/accuracy"] > 0.9
    assert dann["target_test/accuracy"] > base["target_test/accuracy"] + 0.08, (base, dann)
