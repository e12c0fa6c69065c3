"""ADDA/WDGRL/MMD/CORAL compositions in the host's two-stream trainer, and rotated-moons runs from the CLI."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import adaptkit
from adaptkit import testing
from adaptkit import ModelParts, RunContext, TaskInfo
from adaptkit_gan import adaptkit_compose_loss
from adaptkit_gan.sections import AddaLoss, CoralLoss, MmdLoss, WdgrlLoss


def tiny_parts(seed=0):
    keras.utils.set_random_seed(seed)
    src_in = keras.Input((2,), name="inputs")
    x = keras.layers.Dense(8, activation="relu", name="dense1")(src_in)
    x = keras.layers.Dense(8, activation="relu", name="dense2")(x)
    source = keras.Model(src_in, x, name="source")
    inp = keras.Input((2,), name="inputs")
    encoder = keras.Model(inp, source(inp), name="encoder")
    f_in = keras.Input((8,), name="features")
    classifier = keras.Model(f_in, keras.layers.Dense(2, activation="softmax", name="predictions")(f_in), name="classifier")
    m_in = keras.Input((2,), name="inputs")
    model = keras.Model(m_in, classifier(encoder(m_in)), name="adapted")
    return ModelParts(encoder, classifier, model, TaskInfo(["0", "1"]))


def ctx():
    return RunContext(seed=0, spec_dir=Path("."), where="training.stages.1.losses.0")


def two_stream_fit(parts, comps, steps):
    from adaptkit._training import Trainer  # the host's trainer: the contract these compositions are written for

    rng = np.random.default_rng(0)
    xs = rng.normal(size=(64, 2)).astype("float32")
    ys = (xs[:, 0] > 0).astype("int32")
    xt = rng.normal(1.0, 1.0, size=(64, 2)).astype("float32")
    src = tf.data.Dataset.from_tensor_slices((xs, ys)).batch(16)
    tgt = tf.data.Dataset.from_tensor_slices(xt).batch(16).repeat()
    trainer = Trainer(parts, comps, True, steps)
    main_opt = keras.optimizers.Adam(1e-2)
    trainer.compile(optimizer=main_opt, loss=keras.losses.SparseCategoricalCrossentropy())
    history = trainer.fit(tf.data.Dataset.zip((src, tgt)), epochs=1, steps_per_epoch=steps, verbose=0)
    return main_opt, history


def values(variables):
    return [v.numpy().copy() for v in variables]


def changed(before, variables):
    return any(not np.array_equal(b, v.numpy()) for b, v in zip(before, variables))


def test_adda_discriminator_trains_only_through_its_own_optimizer_and_main_is_frozen():
    parts = tiny_parts()
    comp = adaptkit_compose_loss(
        section=AddaLoss(kind="adda", steps=2, discriminator={"hidden": [8]}), parts=parts, context=ctx()
    )
    assert comp.freeze_main and [p.name for p in comp.players] == ["adda_discriminator"]
    target_encoder, disc = comp.modules
    disc_opt = comp.players[0].optimizer
    x = np.random.default_rng(5).normal(size=(4, 2)).astype("float32")
    np.testing.assert_allclose(np.asarray(target_encoder(x)), np.asarray(parts.encoder(x)), rtol=1e-6)
    model_before, disc_before, tenc_before = (values(parts.model.weights), values(disc.weights),
                                              values(target_encoder.weights))
    main_opt, history = two_stream_fit(parts, [comp], steps=3)
    assert not changed(model_before, parts.model.weights)  # source encoder and head frozen
    assert changed(disc_before, disc.weights) and changed(tenc_before, target_encoder.weights)
    assert int(disc_opt.iterations.numpy()) == 3 * 2  # steps x Player.steps, all by the discriminator's optimizer
    assert int(main_opt.iterations.numpy()) == 3
    disc_ids = {id(v) for v in disc.trainable_variables}
    main_slots = {id(v) for v in main_opt.variables}
    assert not any(id(v) in main_slots for v in disc.variables)
    assert disc_ids and "adda_domain_accuracy" in history.history
    adapted = comp.finalize(parts)
    np.testing.assert_allclose(np.asarray(adapted(x)), np.asarray(parts.classifier(target_encoder(x))), rtol=1e-6)


def test_adda_head_layer_aligns_the_frozen_heads_hidden_layer():
    keras.utils.set_random_seed(0)
    parts = tiny_parts()
    f_in = keras.Input((8,), name="features")
    hidden = keras.layers.Dense(3, activation="relu", name="head_dense1")(f_in)
    classifier = keras.Model(f_in, keras.layers.Dense(2, activation="softmax", name="predictions")(hidden),
                             name="classifier")
    m_in = keras.Input((2,), name="inputs")
    parts = ModelParts(parts.encoder, classifier, keras.Model(m_in, classifier(parts.encoder(m_in))), parts.task)
    comp = adaptkit_compose_loss(section=AddaLoss(kind="adda", head_layer="head_dense1", discriminator={"hidden": [4]}),
                                 parts=parts, context=ctx())
    target_encoder, disc = comp.modules
    assert int(disc.input.shape[-1]) == 3  # the head's hidden layer, not the encoder's 8 features
    head_before, tenc_before = values(classifier.weights), values(target_encoder.weights)
    two_stream_fit(parts, [comp], steps=3)
    assert not changed(head_before, classifier.weights) and changed(tenc_before, target_encoder.weights)
    with pytest.raises(adaptkit.SpecError) as err:
        adaptkit_compose_loss(section=AddaLoss(kind="adda", head_layer="nope"), parts=parts, context=ctx())
    assert str(err.value).startswith("training.stages.1.losses.0.head_layer: the head has no layer 'nope'")


def test_wdgrl_critic_takes_several_steps_with_gradient_penalty_and_the_encoder_trains():
    parts = tiny_parts()
    comp = adaptkit_compose_loss(
        section=WdgrlLoss(kind="wdgrl", steps=3, critic={"hidden": [8]}), parts=parts, context=ctx()
    )
    critic = comp.modules[0]
    critic_opt = comp.players[0].optimizer
    enc_before, critic_before = values(parts.encoder.weights), values(critic.weights)
    main_opt, history = two_stream_fit(parts, [comp], steps=2)
    assert int(critic_opt.iterations.numpy()) == 2 * 3 and int(main_opt.iterations.numpy()) == 2
    assert changed(enc_before, parts.encoder.weights) and changed(critic_before, critic.weights)
    assert not any(id(v) in {id(s) for s in main_opt.variables} for v in critic.variables)
    assert np.isfinite(history.history["wdgrl_critic_loss"][-1])


@pytest.mark.parametrize("section", [MmdLoss(kind="mmd", feature_layer="dense1"), CoralLoss(kind="coral", weight=2.0)])
def test_discrepancy_terms_train_the_main_model(section):
    parts = tiny_parts()
    comp = adaptkit_compose_loss(section=section, parts=parts, context=ctx())
    assert not comp.players and comp.terms[0].player == "main"
    before = values(parts.encoder.weights)
    _, history = two_stream_fit(parts, [comp], steps=2)
    assert changed(before, parts.encoder.weights)
    assert history.history[f"{section.kind}_loss"][-1] >= 0


def test_bad_feature_layer_and_missing_target_are_spec_errors():
    with pytest.raises(adaptkit.SpecError) as err:
        adaptkit_compose_loss(section=CoralLoss(kind="coral", feature_layer="fc9"), parts=tiny_parts(), context=ctx())
    assert err.value.where.endswith("losses.0.feature_layer") and "fc9" in err.value.message
    spec = moons_spec("/x", [{"kind": "adda"}])
    del spec["data"]["target"]
    with pytest.raises(adaptkit.SpecError) as err:
        adaptkit.load_spec(spec)
    assert err.value.where == "training.stages.1.losses.0" and "data.target" in err.value.message


# -- rotated moons through the CLI --------------------------------------------------------


def moons_spec(folder, losses, source_epochs=30, adapt_epochs=30, adapt_lr=1e-3):
    stages = [{"epochs": source_epochs, "optimizer": {"learning_rate": 0.003}}]
    if losses:
        stages.append({"epochs": adapt_epochs, "optimizer": {"learning_rate": adapt_lr}, "losses": losses})
    return testing.moons_spec(folder, stages)


def run_spec(tmp_path, name, spec):
    run = testing.run_spec(tmp_path, spec, name)
    return run.metrics, run.run_dir


def test_adda_and_mmd_beat_source_only_on_rotated_moons(tmp_path):
    testing.write_rotated_moons(tmp_path)
    folder = str(tmp_path)
    base, _ = run_spec(tmp_path, "source_only", moons_spec(folder, []))
    adda, run = run_spec(tmp_path, "adda", moons_spec(folder, [{"kind": "adda", "discriminator": {"hidden": [32]}}],
                                                      adapt_lr=1e-4))
    mmd, _ = run_spec(tmp_path, "mmd", moons_spec(folder, [{"kind": "mmd"}]))
    assert base["test/accuracy"] > 0.95
    assert adda["target_test/accuracy"] > base["target_test/accuracy"] + 0.08, (base, adda)
    assert mmd["target_test/accuracy"] > base["target_test/accuracy"] + 0.05, (base, mmd)
    saved = keras.saving.load_model(run / "model.keras", compile=False)
    assert saved.name == "adda_adapted" and "encoder" in [layer.name for layer in saved.layers]


def test_player_optimizers_are_the_optimizer_family_with_gan_defaults():
    """Any optimizer name, as a stage's; adam's moments keep the plugin's defaults."""
    parts = tiny_parts()
    adda = AddaLoss(kind="adda")
    assert adda.optimizer.name == "adam" and adda.optimizer.beta_1 == 0.5 and adda.optimizer.beta_2 == 0.999
    wdgrl = WdgrlLoss(kind="wdgrl")
    assert (wdgrl.optimizer.beta_1, wdgrl.optimizer.beta_2) == (0.5, 0.9)
    sgd = AddaLoss(kind="adda", optimizer={"name": "sgd", "learning_rate": 0.02, "momentum": 0.5})
    comp = adaptkit_compose_loss(section=sgd, parts=parts, context=ctx())
    optimizer = comp.players[0].optimizer
    assert isinstance(optimizer, keras.optimizers.SGD) and optimizer.momentum == 0.5
    assert optimizer.name == "adda_discriminator_optimizer"
    assert float(optimizer.learning_rate) == pytest.approx(0.02)
    with pytest.raises(adaptkit.SpecError) as info:
        adaptkit.load_spec(testing.moons_spec(".", [{"epochs": 1, "losses": [
            {"kind": "adda", "optimizer": {"name": "sgd", "beta_1": 0.5}}]}]))
    assert str(info.value) == "training.stages.0.losses.0.optimizer.beta_1: unknown key (misspelt?)"
