"""image_manifest: a CSV of image paths and label columns; the one-entry rule, unlabeled mode,
one-line errors naming the place, and the prepared ELPV manifest."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import adaptkit
from adaptkit import DataError, RunContext, SpecError, TaskInfo
from adaptkit_vision.data import load_image_directory
from adaptkit_vision.manifest import load_image_manifest
from adaptkit_vision.sections import ImageDirectoryData, ImageManifestData

ROOT = Path(__file__).resolve().parents[3]


def ctx(tmp_path: Path, seed: int = 0) -> RunContext:
    return RunContext(seed=seed, spec_dir=tmp_path, where="data.train")


def draw(path: Path, shape: str, shade: int, size: int = 20) -> None:
    """A real image file: a white circle or square on a background whose shade tells the example."""
    img = Image.new("RGB", (size, size + 4), (shade, shade, shade))
    box = (size // 4, size // 4, 3 * size // 4, 3 * size // 4)
    (ImageDraw.Draw(img).ellipse if shape == "circle" else ImageDraw.Draw(img).rectangle)(box, fill=(255, 255, 255))
    img.save(path)


@pytest.fixture()
def manifest(tmp_path: Path) -> Path:
    """data/cells.csv: 8 images in data/img/ (PNG and JPEG), shape and colour classes, a size number."""
    folder = tmp_path / "data"
    (folder / "img").mkdir(parents=True)
    lines = ["path,shape,colour,area"]
    for i in range(8):
        shape, colour = ("circle", "square")[i % 2], ("dark", "light")[i // 4]
        name = f"img/{i}.{'png' if i % 3 else 'jpg'}"
        draw(folder / name, shape, 10 * i + (0 if colour == "dark" else 100))
        lines.append(f"{name},{shape},{colour},{i / 2}")
    (folder / "cells.csv").write_text("\n".join(lines) + "\n")
    return folder / "cells.csv"


def manifest_data(**kw) -> ImageManifestData:
    kw.setdefault("path", "data/cells.csv")
    kw.setdefault("image_size", (8, 8))
    return ImageManifestData(**kw)


LABELS = [{"column": "shape"}, {"column": "colour", "name": "tone", "class_names": ["light", "dark"]},
          {"column": "area", "task": "regression"}]


def example_index(x: np.ndarray) -> int:
    """Which example an image is: its background holds 10 * i (+100 for light ones; JPEG shifts it a little)."""
    return int(round(float(np.median(x[-1, :, 0])) % 100 / 10))


def test_several_labels_yield_a_dict_of_named_labels(manifest, tmp_path):
    src = load_image_manifest(manifest_data(labels=LABELS, color_mode="grayscale"), ctx(tmp_path))
    assert src.size == 8 and src.labeled and src.input_shape == (8, 8, 1) and src.class_names is None
    assert src.labels == {"shape": TaskInfo(["circle", "square"]), "tone": TaskInfo(["light", "dark"]), "area": TaskInfo(None, ())}
    seen = []
    for x, y in src.dataset.as_numpy_iterator():
        i = example_index(x)
        assert x.shape == (8, 8, 1) and x.dtype == np.float32 and x.max() > 200
        assert (int(y["shape"]), int(y["tone"]), float(y["area"])) == (i % 2, 1 - i // 4, i / 2)
        seen.append(i)
    assert sorted(seen) == list(range(8))
    again = [example_index(x) for x, _ in load_image_manifest(manifest_data(labels=LABELS), ctx(tmp_path)).dataset.as_numpy_iterator()]
    other = [example_index(x) for x, _ in load_image_manifest(manifest_data(labels=LABELS), ctx(tmp_path, 1)).dataset.as_numpy_iterator()]
    assert again == seen != other  # the order is the seed's


def test_one_entry_yields_image_y_like_image_directory(manifest, tmp_path):
    src = load_image_manifest(manifest_data(labels=[{"column": "shape", "name": "form"}]), ctx(tmp_path))
    assert src.labels is None and src.class_names == ["circle", "square"] and src.input_shape == (8, 8, 3)
    tree = tmp_path / "tree"
    for x, y in src.dataset.as_numpy_iterator():
        assert y.shape == () and int(y) == example_index(x) % 2
    for i, line in enumerate(manifest.read_text().splitlines()[1:]):
        rel, shape = line.split(",")[:2]
        (tree / shape).mkdir(parents=True, exist_ok=True)
        (tree / shape / Path(rel).name).write_bytes((manifest.parent / rel).read_bytes())
    folder = load_image_directory(ImageDirectoryData(path="tree", image_size=(8, 8)), ctx(tmp_path))
    assert folder.dataset.element_spec == src.dataset.element_spec  # same structure, dtypes, shapes
    by_pixels = lambda s: sorted((x.tobytes(), int(y)) for x, y in s.dataset.as_numpy_iterator())
    assert by_pixels(folder) == by_pixels(src)  # the same decoding
    reg = load_image_manifest(manifest_data(labels=[{"column": "area", "task": "regression"}], limit=3), ctx(tmp_path))
    assert reg.labels is None and reg.class_names is None and reg.target_shape == () and reg.size == 3
    assert reg.dataset.element_spec[1].dtype.name == "float32"


def test_unlabeled_yields_images_only(manifest, tmp_path):
    (manifest.parent / "paths.csv").write_text("file\n" + "\n".join(f"{manifest.parent}/img/{i}.png" for i in (1, 2)) + "\n")
    src = load_image_manifest(manifest_data(path="data/paths.csv", path_column="file", labeled=False), ctx(tmp_path))
    assert not src.labeled and src.size == 2 and src.labels is None
    assert [x.shape for x in src.dataset.as_numpy_iterator()] == [(8, 8, 3)] * 2


def bad(manifest: Path, case: str) -> tuple[dict, str, str]:
    """Damage the manifest; return the section fields, the expected place and message part."""
    rows = manifest.read_text().splitlines()
    folder = manifest.parent
    if case == "missing_csv":
        return {"path": "data/none.csv"}, "data.train.path", "does not exist"
    if case == "missing_path_column":
        return {"path_column": "file"}, "data.train.path_column", "has no column 'file'; columns: path, shape, colour, area"
    if case == "missing_label_column":
        return {"labels": [{"column": "shape"}, {"column": "defect"}]}, "data.train.labels.1.column", "has no column 'defect'"
    if case == "missing_image":
        (folder / "img" / "2.png").unlink()
        return {}, f"{manifest}:4", f"no such image file {folder / 'img' / '2.png'}"
    if case in ("corrupt_png", "corrupt_jpg"):
        image = folder / "img" / ("2.png" if case == "corrupt_png" else "3.jpg")
        data = image.read_bytes()
        image.write_bytes(data[: len(data) // 2])
        return {}, str(image), "corrupt or unreadable image"
    if case == "short_row":
        manifest.write_text("\n".join(rows[:3] + ["img/1.png,circle"] + rows[3:]) + "\n")
        return {}, f"{manifest}:4", "fewer fields than the header"
    if case == "class_outside":
        return {"labels": [{"column": "shape", "class_names": ["circle", "star"]}]}, f"{manifest}:3", "shape 'square' is not in labels.0.class_names [circle, star]"
    if case == "not_a_number":
        return {"labels": [{"column": "area"}, {"column": "shape", "task": "regression"}]}, f"{manifest}:2", "shape 'circle' is not a number (labels.1: regression)"
    if case == "one_class":
        manifest.write_text(manifest.read_text().replace("light", "dark"))
        return {"labels": [{"column": "colour"}]}, "data.train.labels.0", "only one class ('dark')"
    if case == "header_only":
        manifest.write_text(rows[0] + "\n")
        return {}, "data.train.path", "lists no images"
    if case == "empty":
        manifest.write_text("")
        return {}, "data.train.path", "is empty"
    raise AssertionError(case)


CASES = ["missing_csv", "missing_path_column", "missing_label_column", "missing_image", "corrupt_png", "corrupt_jpg",
         "short_row", "class_outside", "not_a_number", "one_class", "header_only", "empty"]


@pytest.mark.parametrize("case", CASES)
def test_bad_input_is_a_one_line_error_naming_the_place(manifest, tmp_path, case):
    fields, where, part = bad(manifest, case)
    fields.setdefault("labels", LABELS[:2])
    with pytest.raises(DataError) as err:
        load_image_manifest(manifest_data(**fields), ctx(tmp_path))
    assert err.value.where == where and part in err.value.message and "\n" not in str(err.value), str(err.value)
    if case.startswith("corrupt"):
        assert f"(listed at {manifest}:" in err.value.message


def spec(train: dict) -> dict:
    return {"name": "t", "data": {"train": {"kind": "image_manifest", "path": "cells.csv", **train}},
            "source": {"kind": "keras_application", "architecture": "VGG16", "weights": "none"},
            "head": {"kind": "classifier"}, "training": {"stages": [{"epochs": 1}]}}


@pytest.mark.parametrize(
    "train, where, match",
    [
        ({}, "data.train", "labeled data needs labels"),
        ({"labeled": False, "labels": [{"column": "a"}]}, "data.train", "labels with labeled: false"),
        ({"labels": [{"column": "a", "name": "b"}, {"column": "b"}]}, "data.train", "two labels entries are named 'b'"),
        ({"labels": [{"column": "path"}]}, "data.train", "the path column 'path' cannot also be a label column"),
        ({"labels": [{"column": "a", "task": "regression", "class_names": ["x", "y"]}]}, "data.train.labels.0", "class_names is for classification"),
        ({"labels": [{"column": "a", "key": "a"}]}, "data.train.labels.0.key", "unknown key"),
        ({"labels": []}, "data.train.labels", "at least 1"),
    ],
)
def test_contradictory_specs_are_spec_errors(train, where, match):
    with pytest.raises(SpecError) as err:
        adaptkit.load_spec(spec(train))
    assert err.value.where == where and match in err.value.message, str(err.value)


def test_plugin_answers_the_data_hook_through_the_host(manifest, tmp_path):
    source = adaptkit.get_host().hook.adaptkit_load_data(section=manifest_data(labels=LABELS), context=ctx(tmp_path))
    assert set(source.labels) == {"shape", "tone", "area"}


def test_prepared_elpv_manifest_loads_with_defect_and_cell_type(tmp_path):
    module_spec = importlib.util.spec_from_file_location("prepare_data", ROOT / "pipelines" / "prepare_data.py")
    prep = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(prep)
    assert prep.main(["elpv-multitask", str(tmp_path / "elpv"), "--size", "16", "--per-class", "3", "--seed", "1"]) == 0
    header, *rows = (tmp_path / "elpv" / "cells.csv").read_text().splitlines()
    assert header == "path,defect,cell_type,defect_probability" and len(rows) == 12
    groups = sorted((r.split(",")[1], r.split(",")[2]) for r in rows)
    assert groups == sorted([(d, t) for d in ("defective", "functional") for t in ("mono", "poly")] * 3)  # balanced
    assert all((r.split(",")[1] == "defective") == (float(r.split(",")[3]) >= 0.5) for r in rows)
    section = ImageManifestData(
        path="elpv/cells.csv", image_size=(16, 16), color_mode="grayscale",
        labels=[{"column": "defect", "class_names": ["functional", "defective"]}, {"column": "cell_type"},
                {"column": "defect_probability", "task": "regression"}],
    )
    src = load_image_manifest(section, ctx(tmp_path))
    assert src.size == 12 and src.input_shape == (16, 16, 1)
    assert src.labels == {"defect": TaskInfo(["functional", "defective"]), "cell_type": TaskInfo(["mono", "poly"]),
                          "defect_probability": TaskInfo(None, ())}
    ys = [y for _, y in src.dataset.as_numpy_iterator()]
    assert sorted((int(y["defect"]), int(y["cell_type"])) for y in ys) == sorted([(d, t) for d in (0, 1) for t in (0, 1)] * 3)
    assert all(int(y["defect"]) == int(y["defect_probability"] >= 0.5) for y in ys)


def test_non_finite_regression_values_name_the_row(manifest, tmp_path):
    rows = manifest.read_text().splitlines()
    rows[3] = rows[3].rsplit(",", 1)[0] + ",nan"  # float() reads it
    manifest.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError) as err:
        load_image_manifest(manifest_data(labels=[{"column": "shape"}, {"column": "area", "task": "regression"}]), ctx(tmp_path))
    assert err.value.where == f"{manifest}:4" and err.value.message == "area nan is not a finite number (labels.1: regression)"


def test_a_rare_class_read_from_the_column_is_warned_about(tmp_path, caplog):
    import logging

    folder = tmp_path / "data"
    (folder / "img").mkdir(parents=True)
    draw(folder / "img" / "a.png", "circle", 10)
    lines = ["path,shape"] + [f"img/a.png,{'circle' if i % 2 else 'square'}" for i in range(200)] + ["img/a.png,cirlce"]
    (folder / "cells.csv").write_text("\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING, logger="adaptkit"):
        source = load_image_manifest(manifest_data(labels=[{"column": "shape"}], verify=False), ctx(tmp_path))
    assert source.class_names == ["circle", "cirlce", "square"]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        f"{folder / 'cells.csv'} column 'shape': class 'cirlce' has 1 example against 100 in the largest class: "
        "a stray label? (class_names refuses labels outside them)"
    ]
