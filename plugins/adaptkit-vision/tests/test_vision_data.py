"""image_directory and image_arrays: shapes, labels, seeded order, and one-line errors naming the place."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

import adaptkit
from adaptkit import DataError, RunContext
from adaptkit_vision.data import load_image_arrays, load_image_directory
from adaptkit_vision.sections import ImageArraysData, ImageDirectoryData


def ctx(tmp_path: Path, seed: int = 0) -> RunContext:
    return RunContext(seed=seed, spec_dir=tmp_path, where="data.train")


def draw(path: Path, shape: str, size: int, shade: int) -> None:
    """A real PNG (or JPEG) file: a filled circle or square on a gray background."""
    img = Image.new("RGB", (size, size + 4), (shade, 255 - shade, 90))
    box = (size // 4, size // 4, 3 * size // 4, 3 * size // 4)
    pen = ImageDraw.Draw(img)
    (pen.ellipse if shape == "circle" else pen.rectangle)(box, fill=(250, 250, 250))
    img.save(path)


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "images"
    for cls, shape in (("circle", "circle"), ("square", "square")):
        (root / cls).mkdir(parents=True)
        for i in range(4):
            draw(root / cls / f"{cls}{i}.{'png' if i % 2 else 'jpg'}", shape, 20 + 3 * i, 40 * i)
    (root / "circle" / "notes.txt").write_text("not an image, ignored")
    return root


def elements(source):
    return [(x.numpy(), int(y.numpy())) for x, y in source.dataset]


def test_image_directory_shapes_labels_and_range(tree, tmp_path):
    section = ImageDirectoryData(path="images", image_size=(16, 12))
    source = load_image_directory(section, ctx(tmp_path))
    assert source.class_names == ["circle", "square"] and source.size == 8 and source.labeled
    assert source.input_shape == (16, 12, 3)
    items = elements(source)
    assert len(items) == 8 and sorted(y for _, y in items) == [0, 0, 0, 0, 1, 1, 1, 1]
    for x, _ in items:
        assert x.shape == (16, 12, 3) and x.dtype == np.float32 and 0 <= x.min() and x.max() <= 255
        assert x.max() > 200  # the white shape survives: values are 0..255, not 0..1


def test_image_directory_order_depends_only_on_the_seed(tree, tmp_path):
    section = ImageDirectoryData(path="images", image_size=(8, 8))
    labels = lambda seed: [y for _, y in elements(load_image_directory(section, ctx(tmp_path, seed)))]
    first = [x.tobytes() for x, _ in elements(load_image_directory(section, ctx(tmp_path, 3)))]
    again = [x.tobytes() for x, _ in elements(load_image_directory(section, ctx(tmp_path, 3)))]
    assert first == again
    assert any(labels(s) != labels(3) for s in range(4, 8))


def test_image_directory_grayscale_subset_and_limit(tree, tmp_path):
    section = ImageDirectoryData(
        path=str(tree), image_size=(10, 10), color_mode="grayscale", class_names=["square"], limit_per_class=3
    )
    source = load_image_directory(section, ctx(tmp_path))
    assert source.class_names == ["square"] and source.size == 3 and source.input_shape == (10, 10, 1)
    assert all(x.shape == (10, 10, 1) and y == 0 for x, y in elements(source))


def assert_one_line(err, where_part: str) -> None:
    text = str(err.value)
    assert "\n" not in text and where_part in err.value.where, text


def test_missing_directory(tmp_path):
    with pytest.raises(DataError) as err:
        load_image_directory(ImageDirectoryData(path="nowhere"), ctx(tmp_path))
    assert_one_line(err, "data.train.path")
    assert "nowhere" in err.value.message


def test_no_class_subfolders(tmp_path):
    (tmp_path / "flat").mkdir()
    draw(tmp_path / "flat" / "a.png", "circle", 20, 0)
    with pytest.raises(DataError, match="no class sub-folders") as err:
        load_image_directory(ImageDirectoryData(path="flat"), ctx(tmp_path))
    assert_one_line(err, "flat")


def test_class_folder_without_images(tree, tmp_path):
    (tree / "empty").mkdir()
    (tree / "empty" / "readme.txt").write_text("no images here")
    with pytest.raises(DataError, match="no images") as err:
        load_image_directory(ImageDirectoryData(path="images"), ctx(tmp_path))
    assert_one_line(err, str(tree / "empty"))


def test_unknown_class_name(tree, tmp_path):
    with pytest.raises(DataError) as err:
        load_image_directory(ImageDirectoryData(path="images", class_names=["circle", "star"]), ctx(tmp_path))
    assert_one_line(err, "data.train.class_names")
    assert "'star'" in err.value.message


@pytest.mark.parametrize("damage, name", [("truncate", "square1.png"), ("garbage", "square1.png"), ("truncate", "square2.jpg")])
def test_corrupt_image_is_named_before_training(tree, tmp_path, damage, name):
    bad = tree / "square" / name
    data = bad.read_bytes()
    bad.write_bytes(data[: len(data) // 2] if damage == "truncate" else b"\x89PNG not really" * 10)
    with pytest.raises(DataError) as err:
        load_image_directory(ImageDirectoryData(path="images"), ctx(tmp_path))
    assert_one_line(err, str(bad))


# -- image_arrays -----------------------------------------------------------------------------


def write_npz(path: Path, n: int = 10, **extra) -> Path:
    rng = np.random.default_rng(1)
    arrays = {"x": rng.integers(0, 256, (n, 8, 8), dtype=np.uint8), "y": np.arange(n) % 3}
    arrays.update(extra)
    np.savez(path, **arrays)
    return path


def test_image_arrays_shapes_labels_resize_and_seeded_order(tmp_path):
    write_npz(tmp_path / "d.npz")
    section = ImageArraysData(path="d.npz", image_size=(12, 12))
    source = load_image_arrays(section, ctx(tmp_path))
    assert source.class_names == ["0", "1", "2"] and source.size == 10 and source.input_shape == (12, 12, 1)
    items = elements(source)
    assert all(x.shape == (12, 12, 1) and x.dtype == np.float32 for x, _ in items)
    assert sorted(y for _, y in items) == sorted(np.arange(10) % 3)
    again = elements(load_image_arrays(section, ctx(tmp_path)))
    assert [y for _, y in items] == [y for _, y in again]
    other = elements(load_image_arrays(section, ctx(tmp_path, seed=1)))
    assert [y for _, y in items] != [y for _, y in other]


def test_image_arrays_unlabeled_named_classes_and_limit(tmp_path):
    np.savez(tmp_path / "u.npz", images=np.zeros((6, 8, 8, 3), np.uint8))
    source = load_image_arrays(ImageArraysData(path="u.npz", x_key="images", labeled=False), ctx(tmp_path))
    assert not source.labeled and source.dataset.element_spec.shape == (8, 8, 3)
    write_npz(tmp_path / "d.npz")
    named = load_image_arrays(
        ImageArraysData(path="d.npz", class_names=["a", "b", "c", "d"], limit=4), ctx(tmp_path)
    )
    assert named.class_names == ["a", "b", "c", "d"] and named.size == 4


@pytest.mark.parametrize(
    "case, where",
    [
        ("missing_file", "data.train.path"),
        ("missing_x", "data.train.x_key"),
        ("missing_y", "data.train.y_key"),
        ("length", "data.train.y_key"),
        ("corrupt", "bad.npz"),
        ("names", "data.train.class_names"),
        ("float_labels", "data.train.y_key"),
    ],
)
def test_image_arrays_errors(tmp_path, case, where):
    kwargs = {}
    if case == "missing_x":
        write_npz(tmp_path / "bad.npz")
        kwargs["x_key"] = "images"
    elif case == "missing_y":
        np.savez(tmp_path / "bad.npz", x=np.zeros((3, 8, 8)))
    elif case == "length":
        np.savez(tmp_path / "bad.npz", x=np.zeros((3, 8, 8)), y=np.zeros(4, int))
    elif case == "corrupt":
        data = write_npz(tmp_path / "good.npz").read_bytes()
        (tmp_path / "bad.npz").write_bytes(data[: len(data) // 3])
    elif case == "names":
        write_npz(tmp_path / "bad.npz")
        kwargs["class_names"] = ["a", "b"]
    elif case == "float_labels":
        np.savez(tmp_path / "bad.npz", x=np.zeros((3, 8, 8)), y=np.array([0.5, 1.0, 2.0]))
    with pytest.raises(DataError) as err:
        load_image_arrays(ImageArraysData(path="bad.npz", **kwargs), ctx(tmp_path))
    assert_one_line(err, where)


def test_plugin_answers_the_data_hook_through_the_host(tmp_path):
    write_npz(tmp_path / "d.npz")
    host = adaptkit.get_host()
    source = host.hook.adaptkit_load_data(section=ImageArraysData(path="d.npz"), context=ctx(tmp_path))
    assert source.size == 10


def test_image_arrays_content_is_checked(tmp_path):
    """NaN pixels, a stray label and one class are refused before anything trains."""
    path = write_npz(tmp_path / "d.npz", x=np.where(np.arange(10 * 64).reshape(10, 8, 8) == 5, np.nan, 1.0))
    with pytest.raises(DataError) as err:
        load_image_arrays(ImageArraysData(path="d.npz"), ctx(tmp_path))
    assert str(err.value) == f"data.train.x_key: {path}: 1 non-finite value (NaN/inf) in 'x'"
    write_npz(tmp_path / "d.npz", y=np.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 99]))
    with pytest.raises(DataError) as err:
        load_image_arrays(ImageArraysData(path="d.npz"), ctx(tmp_path))
    assert err.value.where == "data.train.y_key"
    assert "label 99 (1 example) is above classes with no example (3..98)" in err.value.message
    write_npz(tmp_path / "d.npz", y=np.zeros(10, int))
    with pytest.raises(DataError, match=r"only one class \(0, 10 examples\): a classifier needs at least two"):
        load_image_arrays(ImageArraysData(path="d.npz"), ctx(tmp_path))
    write_npz(tmp_path / "d.npz", y=np.where(np.arange(10) == 3, np.inf, 0.5))
    with pytest.raises(DataError) as err:
        load_image_arrays(ImageArraysData(path="d.npz", targets="values"), ctx(tmp_path))
    assert err.value.message.endswith("1 non-finite value (NaN/inf) in 'y'")


def test_image_directory_with_one_class_folder_is_refused_unless_declared(tree, tmp_path):
    import shutil

    shutil.rmtree(tree / "square")
    with pytest.raises(DataError) as err:
        load_image_directory(ImageDirectoryData(path="images", image_size=(8, 8)), ctx(tmp_path))
    assert str(err.value) == f"data.train.path: {tree}: only one class sub-folder ('circle'): a classifier needs at least two"
    declared = load_image_directory(ImageDirectoryData(path="images", image_size=(8, 8), class_names=["circle"]), ctx(tmp_path))
    assert declared.class_names == ["circle"]  # said on purpose (a one-class target set, say)


# -- a corrupt image that was not verified: named when training reads it --------------------------

GARBAGE_PNG = b"\x89PNG\r\n\x1a\n" + b"not the rest of a PNG file" * 4


@pytest.fixture()
def test_images(tree, tmp_path):
    import shutil

    shutil.copytree(tree, tmp_path / "test_images")


def run_images(tmp_path: Path, train: dict, test: dict):
    import yaml
    from click.testing import CliRunner

    from adaptkit.cli import main

    spec = {
        "name": "unverified",
        "data": {"train": train, "test": test, "validation_split": 0.0, "batch_size": 4},
        "source": {"kind": "convnet", "filters": [2]},
        "head": {"kind": "classifier"},
        "training": {"verbose": 0, "stages": [{"epochs": 1}]},
        "evaluation": {"plots": False},
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    return CliRunner().invoke(main, ["run", str(tmp_path / "spec.yaml"), "--output", str(tmp_path / "runs")])


def test_an_unverified_corrupt_image_is_named_when_training_reads_it(tree, test_images, tmp_path):
    bad = tree / "square" / "square1.png"
    bad.write_bytes(GARBAGE_PNG)
    folder = {"kind": "image_directory", "image_size": [8, 8]}
    result = run_images(tmp_path, {**folder, "path": "images", "verify": False}, {**folder, "path": "test_images"})
    assert result.exit_code == 2, result.output
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith(f"error: {bad}: corrupt or unreadable image ("), error
    assert "Graph execution error" not in result.output and "Traceback" not in result.output
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


def test_an_unverified_corrupt_image_in_a_manifest_names_the_line(tree, test_images, tmp_path):
    files = sorted(p for p in tree.rglob("*") if p.suffix in (".png", ".jpg"))
    (tree / "list.csv").write_text("path,shape\n" + "".join(f"{p},{p.parent.name}\n" for p in files))
    files[5].write_bytes(GARBAGE_PNG if files[5].suffix == ".png" else b"\xff\xd8\xff\xe0 garbage")
    manifest = {"kind": "image_manifest", "image_size": [8, 8], "labels": [{"column": "shape"}]}
    result = run_images(
        tmp_path, {**manifest, "path": "images/list.csv", "verify": False},
        {"kind": "image_directory", "image_size": [8, 8], "path": "test_images"},
    )
    assert result.exit_code == 2, result.output
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith(f"error: {files[5]}: ") and error.endswith(f"(listed at {tree / 'list.csv'}:7)"), error


def test_find_undecodable_is_quiet_on_good_files(tree):
    from adaptkit_vision.data import find_undecodable, image_decoder

    decode, _ = image_decoder("rgb", (8, 8))
    find_undecodable(sorted(str(p) for p in tree.rglob("*.png")), decode)  # nothing to report
