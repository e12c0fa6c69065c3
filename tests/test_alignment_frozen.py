"""A domain-alignment loss whose aligned layer has nothing trainable below it is refused at plan time."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaptkit import SpecError, load_spec_file
from adaptkit._alignment import check_alignment_trains
from adaptkit._runner import run_pipeline


def test_dann_on_a_frozen_encoder_is_refused_before_training_and_writes_nothing(spec_file, digits_npz, tmp_path):
    path = spec_file(
        f"""
        data:
          train: {{kind: arrays, path: {digits_npz}, scale: 0.0625}}
          target: {{kind: arrays, path: {digits_npz}, scale: 0.0625, labeled: false}}
          batch_size: 64
        head: {{kind: classifier, hidden: [8]}}
        training:
          verbose: 0
          stages:
            - {{epochs: 1}}
            - {{epochs: 1, surgery: [{{kind: freeze}}], losses: [{{kind: coral}}, {{kind: dann}}]}}
        """
    )
    with pytest.raises(SpecError) as info:
        run_pipeline(load_spec_file(path), path)
    assert str(info.value) == (
        "training.stages.1.losses.0: coral aligns the output of 'encoder', but nothing below it trains in this stage: "
        "unfreeze part of the encoder (surgery: [{kind: unfreeze, last_blocks: 2}]) or align a head layer "
        "(feature_layer: head_dense1)"
    )
    runs = tmp_path / "runs"
    assert not runs.exists() or list(runs.iterdir()) == []


def test_a_head_layer_or_gradual_unfreezing_passes_the_check():
    import keras

    from adaptkit import ModelParts, TaskInfo
    from adaptkit_adversarial.sections import DannLoss

    inp = keras.Input((4,), name="inputs")
    encoder = keras.Model(inp, keras.layers.Dense(3, name="enc_dense")(inp), name="encoder")
    f_in = keras.Input((3,), name="features")
    h = keras.layers.Dense(5, name="head_dense1")(f_in)
    classifier = keras.Model(f_in, keras.layers.Dense(2, name="predictions")(h), name="classifier")
    parts = ModelParts(encoder, classifier, keras.Model(inp, classifier(encoder(inp))), TaskInfo(["a", "b"]))
    encoder.trainable = False
    where = "training.stages.0.losses.0"
    with pytest.raises(SpecError, match="^training.stages.0.losses.0: dann aligns 'enc_dense', but nothing below"):
        check_alignment_trains(DannLoss(kind="dann", feature_layer="enc_dense"), parts, where, unfreezes_later=False)
    check_alignment_trains(DannLoss(kind="dann", feature_layer="head_dense1"), parts, where, unfreezes_later=False)
    check_alignment_trains(DannLoss(kind="dann"), parts, where, unfreezes_later=True)
    classifier.get_layer("head_dense1").trainable = False
    with pytest.raises(SpecError, match="dann aligns 'head_dense1', but nothing below"):
        check_alignment_trains(DannLoss(kind="dann", feature_layer="head_dense1"), parts, where, unfreezes_later=False)
    encoder.trainable = True
    check_alignment_trains(DannLoss(kind="dann", feature_layer="head_dense1"), parts, where, unfreezes_later=False)
