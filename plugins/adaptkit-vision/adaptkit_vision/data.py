"""Image datasets: a folder of class sub-folders, or arrays in a ``.npz`` file, as seeded ``tf.data`` pipelines.

The decoding and checking of image files here is shared with :mod:`adaptkit_vision.manifest`.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional, Sequence

import numpy as np

from adaptkit import DataError, DataSource, RunContext, check_finite, class_indices, warn_rare_classes

from .sections import ImageArraysData, ImageDirectoryData

if TYPE_CHECKING:  # pragma: no cover
    import keras

__all__ = ["IMAGE_EXTENSIONS", "load_image_directory", "load_image_arrays", "image_decoder", "verify_image", "find_undecodable", "input_preprocessing"]

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif")
"""What ``tf.io.decode_image`` reads (as ``keras.utils.image_dataset_from_directory`` accepts)."""
_PIL_FORMATS = {"PNG", "JPEG", "MPO", "BMP", "GIF"}


def _list_classes(root: Path, section: ImageDirectoryData, where: str) -> list[str]:
    folders = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if section.class_names is None:
        if not folders:
            raise DataError(str(root), "no class sub-folders (expected one sub-folder of images per class)")
        return folders
    missing = [c for c in section.class_names if c not in folders]
    if missing:
        raise DataError(
            where + ".class_names",
            f"no sub-folder {missing[0]!r} in {root} (found: {', '.join(folders) or 'none'})",
        )
    return list(section.class_names)


def verify_image(path: Path) -> None:
    """Open ``path`` with Pillow; a corrupt or unsupported file is a DataError naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            fmt = img.format
            img.verify()  # PNG: checks every chunk's CRC without decoding
        if fmt != "PNG":  # verify() does not see a truncated JPEG: decode it
            with Image.open(path) as img:
                img.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise DataError(str(path), f"corrupt or unreadable image ({type(exc).__name__}: {exc})") from None
    if fmt not in _PIL_FORMATS:
        raise DataError(str(path), f"unsupported image format {fmt} (use PNG, JPEG, BMP or GIF)")


def _reason(exc: Exception) -> str:
    """TensorFlow's message without its ``{{function_node ...}}`` and ``[Op:...]`` wrapping."""
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", getattr(exc, "message", None) or str(exc))
    return re.sub(r"\s*\[Op:[^\]]*\].*$", "", " ".join(text.split())) or type(exc).__name__


def find_undecodable(files: Sequence[str], decode: Callable, listed_at: Optional[Sequence[str]] = None) -> None:
    """Decode every file as the dataset does; the first that fails is a DataError naming it (and the
    manifest line listing it). A :attr:`adaptkit.DataSource.diagnose`: runs only after reading failed."""
    import tensorflow as tf

    for i, file in enumerate(files):
        try:
            decode(tf.constant(str(file)))
        except tf.errors.OpError as exc:
            note = f" (listed at {listed_at[i]})" if listed_at is not None else ""
            try:
                verify_image(Path(file))  # Pillow's reason reads better, when it sees the fault
            except DataError as bad:
                raise DataError(bad.where, bad.message + note) from None
            raise DataError(str(file), f"the image does not decode ({_reason(exc)}){note}") from None


def image_decoder(color_mode: str, image_size) -> tuple[Callable, tuple[int, int, int]]:
    """``decode(path) -> float32 image`` (values 0..255, resized bilinear) and the image shape."""
    import tensorflow as tf

    channels = 3 if color_mode == "rgb" else 1
    height, width = image_size

    def decode(path):
        image = tf.io.decode_image(tf.io.read_file(path), channels=channels, expand_animations=False)
        image = tf.image.resize(image, (height, width), method="bilinear")
        return tf.ensure_shape(tf.cast(image, tf.float32), (height, width, channels))

    return decode, (height, width, channels)


def input_preprocessing(input_shape: tuple) -> "keras.Model":
    """What the loaders do to a decoded image, as a model: an image of any size (values 0..255,
    the data's channels) -> resized to the data's size, bilinear without antialiasing, exactly
    as ``tf.image.resize`` in :func:`image_decoder` and :func:`load_image_arrays` (at the data's
    own size the resize changes nothing)."""
    import keras

    height, width, channels = input_shape
    raw = keras.Input(shape=(None, None, channels), dtype="float32", name="image")
    resized = keras.layers.Resizing(height, width, interpolation="bilinear", antialias=False, dtype="float32", name="resize")(raw)
    return keras.Model(raw, resized)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS)


def _unlabeled_directory(section: ImageDirectoryData, context: RunContext, root: Path) -> DataSource:
    """Every image under ``root`` (``labeled: false``), alone, shuffled by the seed."""
    import tensorflow as tf

    files = _images_in(root)
    if not files:
        raise DataError(str(root), f"no images ({', '.join(IMAGE_EXTENSIONS)})")
    if section.verify:
        for f in files:
            verify_image(f)
    paths_arr = np.array([str(f) for f in files])[np.random.default_rng(context.seed).permutation(len(files))]
    decode, shape = image_decoder(section.color_mode, section.image_size)
    dataset = tf.data.Dataset.from_tensor_slices(paths_arr).map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    return DataSource(
        dataset, len(paths_arr), shape, labeled=False, diagnose=lambda: find_undecodable(paths_arr, decode), ids=list(paths_arr)
    )


def load_image_directory(section: ImageDirectoryData, context: RunContext) -> DataSource:
    """``(image, class_index)`` pairs from one sub-folder per class (images alone with ``labeled:
    false``), shuffled by the seed."""
    import tensorflow as tf

    where = context.where or "data"
    root = context.resolve(section.path)
    if not root.is_dir():
        what = "is not a directory" if root.exists() else "does not exist"
        raise DataError(where + ".path", f"image directory {root} {what}")
    if not section.labeled:
        return _unlabeled_directory(section, context, root)
    class_names = _list_classes(root, section, where)
    if len(class_names) < 2 and section.class_names is None:
        raise DataError(
            where + ".path", f"{root}: only one class sub-folder ({class_names[0]!r}): a classifier needs at least two"
        )

    rng = np.random.default_rng(context.seed)
    paths: list[str] = []
    labels: list[int] = []
    for index, name in enumerate(class_names):
        folder = root / name
        files = _images_in(folder)
        if not files:
            raise DataError(str(folder), f"class folder {name!r} has no images ({', '.join(IMAGE_EXTENSIONS)})")
        if section.limit_per_class is not None and len(files) > section.limit_per_class:
            keep = np.sort(rng.choice(len(files), section.limit_per_class, replace=False))
            files = [files[i] for i in keep]
        if section.verify:
            for f in files:
                verify_image(f)
        paths.extend(str(f) for f in files)
        labels.extend([index] * len(files))

    order = rng.permutation(len(paths))
    paths_arr = np.array(paths)[order]
    labels_arr = np.array(labels, dtype=np.int32)[order]
    decode, shape = image_decoder(section.color_mode, section.image_size)
    dataset = tf.data.Dataset.from_tensor_slices((paths_arr, labels_arr)).map(
        lambda path, label: (decode(path), label), num_parallel_calls=tf.data.AUTOTUNE, deterministic=True
    )
    return DataSource(
        dataset=dataset,
        size=len(paths_arr),
        input_shape=shape,
        class_names=class_names,
        diagnose=lambda: find_undecodable(paths_arr, decode),
        ids=[str(p) for p in paths_arr],
    )


def load_image_arrays(section: ImageArraysData, context: RunContext) -> DataSource:
    """Images (and labels) from a ``.npz`` file, shuffled by the seed."""
    import tensorflow as tf

    where = context.where or "data"
    path = context.resolve(section.path)
    if not path.is_file():
        raise DataError(where + ".path", f"array file {path} does not exist")
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = list(npz.files)
            if section.x_key not in keys:
                raise DataError(
                    where + ".x_key", f"{path} has no array {section.x_key!r} (it has: {', '.join(keys) or 'none'})"
                )
            x = np.asarray(npz[section.x_key])
            y = None
            if section.labeled:
                if section.y_key not in keys:
                    raise DataError(
                        where + ".y_key",
                        f"{path} has no array {section.y_key!r} (it has: {', '.join(keys)}); "
                        "set labeled: false for unlabeled data",
                    )
                y = np.asarray(npz[section.y_key])
    except DataError:
        raise
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise DataError(str(path), f"corrupt or unreadable .npz file ({type(exc).__name__}: {exc})") from None

    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3) or len(x) == 0:
        raise DataError(
            where + ".x_key", f"{path}: {section.x_key!r} must have shape (N, H, W) or (N, H, W, C), got {x.shape} (C = 1 or 3)"
        )
    if not np.issubdtype(x.dtype, np.number) or np.issubdtype(x.dtype, np.complexfloating):
        raise DataError(where + ".x_key", f"{path}: {section.x_key!r} is not numeric ({x.dtype})")
    check_finite(x, repr(section.x_key), path, where + ".x_key")

    class_names = None
    if y is not None:
        if y.ndim != 1 and not (section.targets == "values" and y.ndim >= 1):
            raise DataError(where + ".y_key", f"{path}: {section.y_key!r} must have shape (N,), got {y.shape}")
        if len(y) != len(x):
            raise DataError(
                where + ".y_key",
                f"{path}: {len(x)} images in {section.x_key!r} but {len(y)} labels in {section.y_key!r}",
            )
        if section.targets == "classes":
            y, class_names = class_indices(y, section.class_names, path, where + ".y_key", where + ".class_names")
            warn_rare_classes(class_names, np.bincount(y, minlength=len(class_names)), path, context.log)
        else:
            if not np.issubdtype(y.dtype, np.number) or np.issubdtype(y.dtype, np.complexfloating):
                raise DataError(where + ".y_key", f"{path}: regression targets must be numbers, got {y.dtype}")
            y = y.astype(np.float32)
            check_finite(y, repr(section.y_key), path, where + ".y_key")

    order = np.random.default_rng(context.seed).permutation(len(x))
    if section.limit is not None:
        order = order[: section.limit]
    x = x[order]
    y = None if y is None else y[order]

    height, width = x.shape[1:3]
    size = section.image_size
    x_ds = tf.data.Dataset.from_tensor_slices(x)
    if size is not None and tuple(size) != (height, width):
        height, width = size
        x_ds = x_ds.map(lambda im: tf.image.resize(tf.cast(im, tf.float32), (height, width), method="bilinear"))
    else:
        x_ds = x_ds.map(lambda im: tf.cast(im, tf.float32))
    dataset = x_ds if y is None else tf.data.Dataset.zip((x_ds, tf.data.Dataset.from_tensor_slices(y)))
    return DataSource(
        dataset=dataset,
        size=len(x),
        input_shape=(int(height), int(width), int(x.shape[-1])),
        class_names=class_names,
        labeled=y is not None,
        target_shape=() if y is None or y.ndim == 1 else tuple(y.shape[1:]),
        ids=[str(i) for i in order],  # the row in the file
    )
