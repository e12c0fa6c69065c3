"""Model files of the text plugin never run code unless --trust-code: tfhub SavedModels (local, and
URLs from tensorflow_hub's cache) are inspected before loading; KerasHub presets load in safe mode."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import adaptkit
from adaptkit.cli import main
from adaptkit_text.sections import BertSource, TFHubSource

import tensorflow as tf  # noqa: E402

from adaptkit_text.bert import build_bert_source  # noqa: E402
from adaptkit_text.hub import build_hub_source  # noqa: E402

class Encoder(tf.Module):
    """Strings -> 2 features (a hashed bag of words), and optionally a side effect on every call."""

    def __init__(self, effect=None):
        super().__init__()
        self.table = tf.Variable(tf.random.stateless_normal((16, 2), seed=(1, 2)), name="table")
        self.effect = effect

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts):
        if self.effect is not None:
            self.effect(texts)
        ids = tf.strings.to_hash_bucket_fast(tf.strings.split(texts), 16)
        return tf.reduce_mean(tf.gather(self.table, ids), axis=1)


@pytest.fixture(scope="module")
def hub_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("hub")
    marker = root / "PWNED"
    effects = {
        "benign": None,
        "writes_file": lambda t: tf.io.write_file(str(marker), tf.strings.reduce_join(t)),
        "prints_to_file": lambda t: tf.print(t, output_stream="file://" + str(marker)),
        "py_function": lambda t: tf.py_function(lambda s: open(marker, "w").close() or 0, [t], tf.int32),
    }
    paths = {"marker": marker}
    for name, effect in effects.items():
        tf.saved_model.save(Encoder(effect), str(root / name))
        paths[name] = root / name
    assert not marker.exists()
    return paths


def ctx(spec_dir, trust_code=False):
    return adaptkit.RunContext(seed=0, spec_dir=Path(spec_dir), where="source", log=logging.getLogger("test"), trust_code=trust_code)


@pytest.mark.parametrize("name, op", [("writes_file", "WriteFile"), ("prints_to_file", "PrintV2"), ("py_function", "EagerPyFunc")])
def test_a_savedmodel_with_side_effects_is_refused_and_never_runs(hub_models, name, op):
    section = TFHubSource(kind="tfhub", handle=str(hub_models[name]))
    with pytest.raises(adaptkit.ModelError) as err:
        build_hub_source(section, (), ctx(hub_models[name].parent))
    assert err.value.where == "source.handle"
    assert f"refused to run SavedModel {hub_models[name]}: op {op} (" in str(err.value)
    assert str(err.value).endswith("; pass --trust-code to run it anyway")
    assert not hub_models["marker"].exists()


def test_a_refused_preprocessor_stops_before_anything_loads(hub_models):
    section = TFHubSource(kind="tfhub", handle=str(hub_models["benign"]), preprocessor=str(hub_models["writes_file"]))
    with pytest.raises(adaptkit.ModelError) as err:
        build_hub_source(section, (), ctx(hub_models["benign"].parent))
    assert err.value.where == "source.preprocessor"


def test_trusted_it_loads_and_its_code_runs(hub_models):
    section = TFHubSource(kind="tfhub", handle=str(hub_models["writes_file"]))
    encoder = build_hub_source(section, (), ctx(hub_models["writes_file"].parent, trust_code=True))
    encoder(tf.constant(["good film"]))
    assert hub_models["marker"].read_text() == "good film"
    hub_models["marker"].unlink()


def test_a_url_is_inspected_in_tensorflow_hubs_cache_before_loading(hub_models, tmp_path, monkeypatch):
    # tensorflow_hub resolves a URL to <TFHUB_CACHE_DIR>/<sha1 of the URL> (downloading it when absent);
    # a module already there is used as it is, so this runs offline through the real resolver
    handle = "https://models.example.org/encoder/1"
    cached = tmp_path / "cache" / hashlib.sha1(handle.encode("utf8")).hexdigest()
    shutil.copytree(hub_models["writes_file"], cached)
    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(adaptkit.ModelError) as err:
        build_hub_source(TFHubSource(kind="tfhub", handle=handle), (), ctx(tmp_path))
    assert str(err.value).startswith(f"source.handle: refused to run SavedModel {cached}: op WriteFile")
    shutil.rmtree(cached)
    shutil.copytree(hub_models["benign"], cached)
    encoder = build_hub_source(TFHubSource(kind="tfhub", handle=handle), (), ctx(tmp_path))
    assert encoder(tf.constant(["a b"])).shape == (1, 2)
    assert encoder.get_layer("hub_module").handle == handle  # the config keeps the URL


def _spec(tmp_path: Path, handle: Path) -> Path:
    rows = ["text,label"] + [f"{w} film,{w}" for w in ("good", "bad") * 20]
    (tmp_path / "texts.csv").write_text("\n".join(rows) + "\n")
    spec = {
        "name": "hub",
        "data": {"train": {"kind": "text_table", "path": "texts.csv"}, "batch_size": 8},
        "source": {"kind": "tfhub", "handle": str(handle)},
        "head": {"kind": "classifier", "pooling": "none"},
        "training": {"verbose": 0, "stages": [{"epochs": 1}]},
        "evaluation": {"plots": False},
    }
    path = tmp_path / "hub.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_run_refuses_in_one_line_and_leaves_nothing_then_runs_when_trusted(hub_models, tmp_path):
    spec = _spec(tmp_path, hub_models["writes_file"])
    out = CliRunner().invoke(main, ["run", str(spec), "--output", str(tmp_path / "runs")])
    assert out.exit_code == 2, out.output
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and errors[0].startswith(
        f"error: source.handle: refused to run SavedModel {hub_models['writes_file']}: op WriteFile (writes files) in function "
    ), out.stderr
    assert errors[0].endswith("; pass --trust-code to run it anyway")
    assert "Traceback" not in out.output
    assert not hub_models["marker"].exists()
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []

    result = CliRunner().invoke(main, ["run", str(spec), "--output", str(tmp_path / "runs"), "--trust-code"])
    assert result.exit_code == 0, result.output
    assert hub_models["marker"].exists()  # trusted, the SavedModel's own code ran
    hub_models["marker"].unlink()


# ------------------------------------------------------------------ KerasHub presets


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    """A tiny KerasHub BERT preset (config.json, tokenizer.json, preprocessor.json, weights, vocabulary)."""
    import keras_hub

    root = tmp_path_factory.mktemp("preset") / "tiny-bert"
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "good", "bad", "film"]
    keras_hub.models.BertBackbone(
        vocabulary_size=len(vocab), num_layers=1, num_heads=1, hidden_dim=8, intermediate_dim=16, max_sequence_length=16
    ).save_to_preset(str(root))
    tokenizer = keras_hub.models.BertTokenizer(vocabulary=vocab)
    keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=16).save_to_preset(str(root))
    return root


def _tamper(preset: Path, tmp_path: Path, tokenizer: dict) -> Path:
    """A copy of ``preset`` whose preprocessor's tokenizer is ``tokenizer`` (a Keras config)."""
    copy = tmp_path / "tampered"
    shutil.copytree(preset, copy)
    config = json.loads((copy / "preprocessor.json").read_text())
    config["config"]["tokenizer"] = tokenizer
    (copy / "preprocessor.json").write_text(json.dumps(config))
    return copy


def test_a_clean_preset_loads_in_safe_mode(preset, tmp_path):
    encoder = build_bert_source(BertSource(kind="bert", preset=str(preset), sequence_length=16), (), ctx(tmp_path))
    assert encoder(tf.constant(["good film"])).shape == (1, 8)


def test_a_preset_with_a_lambda_is_refused(preset, tmp_path):
    import keras

    marker = tmp_path / "PWNED"
    evil = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")  # noqa: S307 - the payload under test
    tampered = _tamper(preset, tmp_path, keras.saving.serialize_keras_object(keras.layers.Lambda(evil)))
    section = BertSource(kind="bert", preset=str(tampered), sequence_length=16)
    with pytest.raises(adaptkit.ModelError) as err:
        build_bert_source(section, (), ctx(tmp_path))
    assert str(err.value) == (
        f"source.preset: refused to load BERT preset {tampered}: it requests the deserialization of a `Lambda` layer "
        "whose `function` is a Python lambda (Keras' safe mode runs no code from model files); "
        "pass --trust-code to load it anyway"
    )
    assert not marker.exists()
    # trusted, the Lambda is deserialized (the preset then fails for what it is: a Lambda is no tokenizer)
    with pytest.raises(AttributeError, match="'Lambda' object has no attribute"):
        build_bert_source(section, (), ctx(tmp_path, trust_code=True))


def test_a_preset_that_reads_a_file_outside_it_is_refused(preset, tmp_path):
    import keras_hub

    outside = tmp_path / "elsewhere.txt"
    outside.write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\n")
    config = keras_hub.models.BertTokenizer(vocabulary=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]).get_config()
    tokenizer = {"module": "keras_hub.src.models.bert.bert_tokenizer", "class_name": "BertTokenizer",
                 "config": {**config, "vocabulary": str(outside)}, "registered_name": "keras_hub>BertTokenizer"}
    tampered = _tamper(preset, tmp_path, tokenizer)
    with pytest.raises(adaptkit.ModelError, match=r"^source.preset: refused to load BERT preset .*vocabulary file outside"):
        build_bert_source(BertSource(kind="bert", preset=str(tampered), sequence_length=16), (), ctx(tmp_path))


def test_safe_mode_holds_even_after_a_global_opt_out(preset, tmp_path):
    import keras
    from keras.src.saving import serialization_lib

    evil = eval("lambda x: x")  # noqa: S307
    tampered = _tamper(preset, tmp_path, keras.saving.serialize_keras_object(keras.layers.Lambda(evil)))
    keras.config.enable_unsafe_deserialization()  # some other code switched safe mode off for the process
    try:
        with pytest.raises(adaptkit.ModelError, match="refused to load BERT preset"):
            build_bert_source(BertSource(kind="bert", preset=str(tampered), sequence_length=16), (), ctx(tmp_path))
    finally:
        serialization_lib.global_state.set_global_attribute("safe_mode_saving", None)
