"""The generic hooks around layers and the run directory: adaptkit_after_trainable,
adaptkit_baseline_config, adaptkit_save_artifacts (each with a tiny plugin object), and the
LoRA technique that the core plugin builds on them."""

from __future__ import annotations

import json

import pytest

import adaptkit
from adaptkit import PluginError, PluginHost, PluginInfo, get_host, load_spec_file, reset_host


class Pinned:
    """Keeps every variable named ``pinned`` frozen inside a trainable layer."""

    @adaptkit.hookimpl
    def adaptkit_after_trainable(self, layer):
        for variable in layer.weights:
            if variable.path.endswith("/pinned"):
                variable.trainable = False


class NoBias:
    """The baseline re-creates Dense layers without a bias."""

    @adaptkit.hookimpl
    def adaptkit_baseline_config(self, layer, config):
        return {**config, "use_bias": False} if type(layer).__name__ == "Dense" else None


class Notes:
    """Writes notes.txt beside model.keras and names it in metrics.json."""

    def __init__(self, key="notes"):
        self.key = key

    @adaptkit.hookimpl
    def adaptkit_save_artifacts(self, model, run_dir, context):
        (run_dir / "notes.txt").write_text(f"{model.name} seed {context.seed}\n")
        return {self.key: {"file": "notes.txt"}}


@pytest.fixture
def process_host():
    reset_host()
    yield get_host()
    reset_host()


def test_after_trainable_lets_a_plugin_keep_variables_frozen(process_host):
    import keras

    class WithPinned(keras.layers.Layer):
        def build(self, shape):
            self.pinned = self.add_weight(shape=(2,), name="pinned")
            self.free = self.add_weight(shape=(2,), name="free")

        def call(self, x):
            return x * self.pinned * self.free

    layer = WithPinned(name="w")
    layer.build((None, 2))
    adaptkit.make_trainable(layer)
    assert len(layer.trainable_weights) == 2  # no plugin pins anything
    process_host.register(Pinned(), PluginInfo("pinned", "tests", None, None))
    layer.trainable = False
    adaptkit.make_trainable(layer)
    assert [v.path for v in layer.trainable_weights] == ["w/free"]


def test_baseline_config_is_passed_through_every_plugin():
    import keras

    from adaptkit._baseline import fresh_layer

    host = PluginHost()
    host.load_entry_points()
    dense = keras.layers.Dense(3, name="d")
    dense.build((None, 2))
    assert fresh_layer(dense, host).use_bias
    host.register(NoBias(), PluginInfo("nobias", "tests", None, None))
    fresh = fresh_layer(dense, host)
    assert not fresh.use_bias and fresh.units == 3 and fresh is not dense
    dense.enable_lora(2)
    config = fresh_layer(dense, host).get_config()  # core took LoRA out, NoBias the bias
    assert config.get("lora_rank") is None and not config["use_bias"]


def test_save_artifacts_writes_beside_the_model_and_fills_metrics(spec_file):
    from adaptkit._runner import run_pipeline

    host = PluginHost()
    host.load_entry_points()
    host.register(Notes(), PluginInfo("notes", "tests", None, None))
    path = spec_file()
    result = run_pipeline(load_spec_file(path, host=host), path, host=host)
    assert (result.run_dir / "notes.txt").read_text().startswith("adapted")  # written in the run directory
    assert json.loads((result.run_dir / "metrics.json").read_text())["notes"] == {"file": "notes.txt"}
    assert not (result.run_dir / "adapters.npz").exists()  # no LoRA layers: core writes nothing


def test_an_artifact_key_already_in_metrics_is_blamed_on_its_plugin(spec_file):
    from adaptkit._runner import run_pipeline

    host = PluginHost()
    host.load_entry_points()
    host.register(Notes(key="headline"), PluginInfo("clash", "tests", None, None))
    path = spec_file()
    with pytest.raises(PluginError) as info:
        run_pipeline(load_spec_file(path, host=host), path, host=host)
    assert "plugin 'clash' returned metrics.json keys that are already there: headline" in str(info.value)


def test_adapters_file_errors_name_the_spec_key(spec_file, tmp_path):
    import numpy as np

    from adaptkit import ModelError, SpecError
    from adaptkit._runner import run_pipeline

    bad = tmp_path / "bad.npz"
    np.savez(bad, **{"dense1/lora_kernel_a": np.zeros((64, 3), "float32")})
    for arrays, error, words in ((None, SpecError, "no such file"), (bad, ModelError, "has shape (64, 3)")):
        target = arrays or tmp_path / "missing.npz"
        path = spec_file(f"surgery: [{{kind: lora, rank: 2, adapters: {target}}}]")
        with pytest.raises(error) as info:
            run_pipeline(load_spec_file(path), path)
        assert info.value.where == "surgery.0.adapters" and words in str(info.value)
