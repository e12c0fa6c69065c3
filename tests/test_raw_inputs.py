"""model.keras takes raw inputs: the data plugin's preprocessing (arrays' scale here) is in front
of the trained model, for one task, several tasks and ADDA's adapted model; the encoder that a
later pipeline reuses still takes loaded examples; the adaptkit_input_preprocessing answers are checked."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

import adaptkit
from adaptkit import DataSource, PluginError, PluginHost, PluginInfo, RunContext, hookimpl
from adaptkit.testing import moons_spec, run_spec, write_rotated_moons

SCALE = 0.0625  # UCI digits hold 0..16


@pytest.fixture(scope="module")
def raw_digits(tmp_path_factory) -> Path:
    """UCI digits as the file stores them (0..16, float64), split in a train and a test file."""
    from sklearn.datasets import load_digits

    d = load_digits()
    folder = tmp_path_factory.mktemp("raw")
    x, y = d.images[..., None], d.target
    np.savez(folder / "train.npz", x=x[:1400], y=y[:1400], parity=y[:1400] % 2)
    np.savez(folder / "test.npz", x=x[1400:], y=y[1400:], parity=y[1400:] % 2)
    return folder


def raw_test(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    with np.load(folder / "test.npz") as f:
        return f["x"], f["y"], f["parity"]


def cross_entropy(p: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(-np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1.0))))


def arrays(folder: Path, name: str, **extra) -> dict:
    return {"kind": "arrays", "path": str(folder / name), "scale": SCALE, **extra}


def test_raw_arrays_in_the_saved_model_give_the_runs_test_metrics(tmp_path, raw_digits):
    import keras

    spec = {
        "data": {"train": arrays(raw_digits, "train.npz"), "test": arrays(raw_digits, "test.npz"), "batch_size": 64},
        "source": {"kind": "mlp", "units": [32]},
        "head": {"kind": "classifier"},
        "training": {"verbose": 0, "stages": [{"epochs": 3, "optimizer": {"learning_rate": 0.01}}]},
        "evaluation": {"plots": False},
    }
    run = run_spec(tmp_path, spec, name="raw")
    model = keras.saving.load_model(run.run_dir / "model.keras", safe_mode=True)  # no custom objects
    x, y, _ = raw_test(raw_digits)
    p = model.predict(x, verbose=0)  # the file's own values and dtype (float64, 0..16)
    assert run.metrics["test/accuracy"] > 0.5
    assert float(np.mean(p.argmax(1) == y)) == pytest.approx(run.metrics["test/accuracy"], abs=1e-9)
    assert cross_entropy(p, y) == pytest.approx(run.metrics["test/loss"], rel=1e-4)
    # the encoder (what a keras_file source reuses) takes the loaded examples, as in training
    encoder, classifier = model.get_layer("encoder"), model.get_layer("classifier")
    assert tuple(encoder.inputs[0].shape[1:]) == (8, 8, 1)
    loaded = (x.astype("float32") * np.float32(SCALE)).astype("float32")
    np.testing.assert_allclose(classifier.predict(encoder.predict(loaded, verbose=0), verbose=0), p, rtol=1e-6, atol=1e-7)


def test_every_task_of_a_multi_task_model_takes_raw_arrays(tmp_path, raw_digits):
    import keras

    labels = [{"key": "y", "name": "digit"}, {"key": "parity"}]
    spec = {
        "data": {"train": arrays(raw_digits, "train.npz", labels=labels), "test": arrays(raw_digits, "test.npz", labels=labels)},
        "source": {"kind": "mlp", "units": [32]},
        "tasks": [{"name": "digit", "head": {"kind": "classifier"}}, {"name": "parity", "head": {"kind": "classifier"}}],
        "training": {"verbose": 0, "stages": [{"epochs": 2, "optimizer": {"learning_rate": 0.01}}]},
        "evaluation": {"plots": False},
    }
    run = run_spec(tmp_path, spec, name="tasks")
    model = keras.saving.load_model(run.run_dir / "model.keras", safe_mode=True)
    x, y, parity = raw_test(raw_digits)
    out = model.predict(x, verbose=0)
    assert set(out) == {"digit", "parity"}
    for task, truth in (("digit", y), ("parity", parity)):
        assert float(np.mean(out[task].argmax(1) == truth)) == pytest.approx(run.metrics[f"test/{task}/accuracy"], abs=1e-9)


def test_adda_s_adapted_model_takes_raw_arrays(tmp_path):
    import keras

    write_rotated_moons(tmp_path, n=300, test_n=200)
    for name in ("source", "source_test", "target"):  # stored ten times larger; scale brings them back
        with np.load(tmp_path / f"{name}.npz") as f:
            np.savez(tmp_path / f"{name}.npz", x=f["x"] * 10, y=f["y"])
    spec = moons_spec(tmp_path, [{"epochs": 4}, {"epochs": 2, "losses": [{"kind": "adda", "discriminator": {"hidden": [16]}}]}])
    for key in ("train", "test", "target"):
        spec["data"][key]["scale"] = 0.1
    run = run_spec(tmp_path, spec, name="adda")
    model = keras.saving.load_model(run.run_dir / "model.keras", safe_mode=True)
    assert model.name == "adda_adapted" and [layer.name for layer in model.layers][1:] == ["preprocessing", "encoder", "classifier"]
    with np.load(tmp_path / "source_test.npz") as f:
        x, y = f["x"], f["y"]
    p = model.predict(x, verbose=0)
    assert float(np.mean(p.argmax(1) == y)) == pytest.approx(run.metrics["test/accuracy"], abs=1e-9)


# -- the hook's answers are checked ------------------------------------------------------------


class RawData(adaptkit.DataSourceSection):
    kind: Literal["raw_probe"]


class Preprocessor:
    """Declares a data kind and answers adaptkit_input_preprocessing with what the test gives."""

    def __init__(self, answer):
        self.answer = answer

    @hookimpl
    def adaptkit_sections(self):
        return [RawData]

    @hookimpl
    def adaptkit_input_preprocessing(self, section, input_shape):
        return self.answer() if callable(self.answer) else self.answer


def preprocessing_of(answer, tmp_path):
    import tensorflow as tf

    from adaptkit._rawinput import input_preprocessing

    host = PluginHost()
    host.register(Preprocessor(answer), PluginInfo("probe", "tests", None, None))
    spec = types.SimpleNamespace(data=types.SimpleNamespace(train=RawData(kind="raw_probe")))
    data = DataSource(tf.data.Dataset.from_tensor_slices(np.zeros((4, 3), "float32")), 4, (3,), labeled=False)
    return input_preprocessing(spec, host, RunContext(seed=0, spec_dir=tmp_path), data)


def dense(shape=(3,), dtype="float32"):
    """A model from ``shape`` to 3 numbers (the loaded examples' shape) of ``dtype``."""
    import keras

    raw = keras.Input(shape)
    return keras.Model(raw, keras.layers.Dense(3, dtype=dtype)(raw))


def reshaped():
    import keras

    raw = keras.Input((3,))
    return keras.Model(raw, keras.layers.Reshape((1, 3))(raw))


@pytest.mark.parametrize("answer, problem", [
    ("scale", "str, not a keras.Model"),
    (reshaped, "a model whose output shape (1, 3) is not the loaded examples' (3,)"),
    (lambda: dense(dtype="float16"), "a model whose output dtype float16 is not the loaded examples' float32"),
])
def test_a_wrong_preprocessing_answer_names_the_plugin(tmp_path, answer, problem):
    with pytest.raises(PluginError) as info:
        preprocessing_of(answer, tmp_path)
    assert str(info.value) == f"data.train: plugin 'probe' answered adaptkit_input_preprocessing with {problem}"


def test_no_answer_means_the_loaded_examples_are_the_raw_ones(tmp_path):
    assert preprocessing_of(None, tmp_path) is None


def test_a_right_preprocessing_answer_is_named_preprocessing(tmp_path):
    model = preprocessing_of(lambda: dense((7,)), tmp_path)
    assert model.name == "preprocessing" and tuple(model.inputs[0].shape) == (None, 7)
