"""An image run's model.keras takes decoded images of any size: the loaders' resize is inside it,
so it predicts on the raw files what the run predicted on the loader's resized images."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from adaptkit.testing import run_spec
from adaptkit_vision.data import image_decoder, input_preprocessing

SIZES = [(16, 16), (20, 24), (12, 12)]  # (height, width) of the files; the run reads them at 12x12


def _rgb(image: np.ndarray, size: tuple[int, int]) -> "PIL.Image.Image":  # noqa: F821
    """One UCI digit (8x8, 0..16) as an RGB image of ``size``: ink red, background blue."""
    from PIL import Image

    v = (image / 16.0 * 255).astype("uint8")
    gray = Image.fromarray(v).resize((size[1], size[0]), Image.BILINEAR)
    g = np.asarray(gray)
    return Image.fromarray(np.stack([g, g // 2, 255 - g], axis=-1))


@pytest.fixture(scope="module")
def digit_folders(tmp_path_factory) -> Path:
    """UCI digits 0, 1 and 2 as PNG files of three sizes, one sub-folder per class, train and test."""
    from sklearn.datasets import load_digits

    d = load_digits()
    root = tmp_path_factory.mktemp("pngs")
    keep = np.flatnonzero(d.target < 3)[:240]
    for n, i in enumerate(keep):
        split = "test" if n % 4 == 0 else "train"
        folder = root / split / str(d.target[i])
        folder.mkdir(parents=True, exist_ok=True)
        _rgb(d.images[i], SIZES[n % len(SIZES)]).save(folder / f"{i}.png")
    return root


def test_raw_png_files_of_any_size_give_the_runs_predictions(tmp_path, digit_folders):
    import keras
    from PIL import Image

    data = {"kind": "image_directory", "image_size": [12, 12], "color_mode": "rgb"}
    spec = {
        "data": {"train": {**data, "path": str(digit_folders / "train")}, "test": {**data, "path": str(digit_folders / "test")},
                 "batch_size": 32},
        "source": {"kind": "convnet", "filters": [8]},
        "head": {"kind": "classifier", "pooling": "flatten"},
        "training": {"verbose": 0, "stages": [{"epochs": 4, "optimizer": {"learning_rate": 0.01}}]},
        "evaluation": {"plots": False},
    }
    run = run_spec(tmp_path, spec, name="pngs")
    model = keras.saving.load_model(run.run_dir / "model.keras", safe_mode=True)
    assert tuple(model.inputs[0].shape) == (None, None, None, 3)
    encoder, classifier = model.get_layer("encoder"), model.get_layer("classifier")
    decode, _ = image_decoder("rgb", (12, 12))  # the loader's own decode-and-resize
    files = sorted((digit_folders / "test").rglob("*.png"))
    by_size: dict[tuple, list[Path]] = {}
    for file in files:
        by_size.setdefault(Image.open(file).size, []).append(file)
    assert set(by_size) == {(w, h) for h, w in SIZES}
    right = 0
    for group in by_size.values():  # a batch holds images of one size
        raw = np.stack([np.asarray(Image.open(f).convert("RGB")) for f in group])  # uint8, the files' own size
        p = keras.ops.convert_to_numpy(model(raw))
        loaded = np.stack([keras.ops.convert_to_numpy(decode(str(f))) for f in group])
        np.testing.assert_allclose(p, keras.ops.convert_to_numpy(classifier(encoder(loaded))), atol=1e-6)
        right += int(np.sum(p.argmax(1) == [int(f.parent.name) for f in group]))
    assert right / len(files) == pytest.approx(run.metrics["test/accuracy"], abs=1e-9)
    assert run.metrics["test/accuracy"] > 0.5  # 3 classes: chance is 1/3


def test_image_arrays_raw_values_give_the_runs_test_accuracy(tmp_path):
    import keras
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.images[d.target < 3], d.target[d.target < 3]  # (N, 8, 8) float64, 0..16: no channel axis
    np.savez(tmp_path / "train.npz", x=x[:400], y=y[:400])
    np.savez(tmp_path / "test.npz", x=x[400:], y=y[400:])
    data = {"kind": "image_arrays", "image_size": [16, 16]}
    spec = {
        "data": {"train": {**data, "path": str(tmp_path / "train.npz")}, "test": {**data, "path": str(tmp_path / "test.npz")}},
        "source": {"kind": "convnet", "filters": [8], "scale": 0.0625},
        "head": {"kind": "classifier", "pooling": "flatten"},
        "training": {"verbose": 0, "stages": [{"epochs": 3, "optimizer": {"learning_rate": 0.01}}]},
        "evaluation": {"plots": False},
    }
    run = run_spec(tmp_path, spec, name="arrays")
    model = keras.saving.load_model(run.run_dir / "model.keras", safe_mode=True)
    p = model.predict(x[400:, ..., None], verbose=0)  # the stored 8x8 values, a channel axis added
    assert float(np.mean(p.argmax(1) == y[400:])) == pytest.approx(run.metrics["test/accuracy"], abs=1e-9)


def test_the_resize_at_the_datas_own_size_changes_nothing():
    """image_arrays without image_size does not resize: the model's resize to the same size must be exact."""
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (3, 9, 7, 1)).astype("float32")
    front = input_preprocessing((9, 7, 1))
    np.testing.assert_array_equal(front.predict(images, verbose=0), images)
