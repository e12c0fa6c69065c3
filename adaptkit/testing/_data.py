"""Tiny data for plugin tests, with numpy alone: 400 real digits, two moons, a rotated-moons domain shift.

No scikit-learn (a plugin author has adaptkit and its plugins, not adaptkit's dev
extra): the digits are shipped in :mod:`adaptkit.testing._digits_data`, the moons are
drawn exactly as ``sklearn.datasets.make_moons`` draws them (same numbers for the same
``random_state``), so tests written against the old helper keep their data.
"""

from __future__ import annotations

import base64
import zlib
from pathlib import Path
from typing import Any

__all__ = ["digits_arrays", "write_digits", "make_moons", "write_rotated_moons", "moons_spec", "digits_spec"]


def digits_arrays() -> tuple[Any, Any]:
    """``(x, y)``: 400 real UCI digits, ``x`` float32 ``(400, 8, 8, 1)`` grey levels 0..16, ``y`` int64 0..9."""
    import numpy as np

    from ._digits_data import PACKED, ROWS

    rows = np.frombuffer(zlib.decompress(base64.b85decode("".join(PACKED))), dtype=np.uint8).reshape(ROWS, 65)
    return rows[:, 1:].reshape(ROWS, 8, 8, 1).astype("float32"), rows[:, 0].astype("int64")


def write_digits(path: Path, flat: bool = False) -> Path:
    """Write :func:`digits_arrays` to ``path`` (a ``.npz`` of ``x`` and ``y``, as core's ``arrays`` reads
    it); ``flat``: ``x`` as ``(400, 64)`` vectors."""
    import numpy as np

    x, y = digits_arrays()
    np.savez(path, x=x.reshape(len(x), -1) if flat else x, y=y)
    return Path(path)


def make_moons(n: int = 100, noise: float = 0.1, random_state: int = 0) -> tuple[Any, Any]:
    """Two interleaved half circles: ``(x (n, 2) float64, y (n,) int)``, the numbers of
    ``sklearn.datasets.make_moons(n, noise=noise, random_state=random_state)``."""
    import numpy as np

    rng = np.random.RandomState(random_state)
    n_out, n_in = n // 2, n - n // 2
    outer = np.linspace(0, np.pi, n_out)
    inner = np.linspace(0, np.pi, n_in)
    x = np.vstack([np.append(np.cos(outer), 1 - np.cos(inner)), np.append(np.sin(outer), 1 - np.sin(inner) - 0.5)]).T
    y = np.hstack([np.zeros(n_out, dtype=np.intp), np.ones(n_in, dtype=np.intp)])
    order = np.arange(n)
    rng.shuffle(order)
    x, y = x[order], y[order]
    return x + rng.normal(scale=noise, size=x.shape), y


def write_rotated_moons(folder: Path, n: int = 600, test_n: int = 300, degrees: float = 30.0) -> None:
    """A small domain shift for tests: ``source.npz`` and ``source_test.npz`` hold two-moons
    draws, ``target.npz`` an independent draw rotated by ``degrees`` (labels kept for scoring)."""
    import numpy as np

    xs, ys = make_moons(n, noise=0.1, random_state=0)
    xs2, ys2 = make_moons(test_n, noise=0.1, random_state=5)
    xt, yt = make_moons(n, noise=0.1, random_state=1000)
    t = np.deg2rad(degrees)
    xt = xt @ np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]).T
    for name, x, y in (("source", xs, ys), ("source_test", xs2, ys2), ("target", xt, yt)):
        np.savez(Path(folder) / f"{name}.npz", x=x.astype("float32"), y=y)


def moons_spec(folder: Any, stages: list[dict[str, Any]]) -> dict[str, Any]:
    """A two-stream spec over the files of :func:`write_rotated_moons` (MLP 32-32, softmax head)."""
    return {
        "name": "moons",
        "seed": 0,
        "data": {
            "train": {"kind": "arrays", "path": f"{folder}/source.npz"},
            "test": {"kind": "arrays", "path": f"{folder}/source_test.npz"},
            "target": {"kind": "arrays", "path": f"{folder}/target.npz"},
            "validation_split": 0.0,
            "target_test_split": 0.5,
            "batch_size": 64,
        },
        "source": {"kind": "mlp", "units": [32, 32]},
        "head": {"kind": "classifier", "pooling": "none"},
        "training": {"stages": stages, "verbose": 0},
        "evaluation": {"plots": False},
    }


def digits_spec(path: Any, **sections: Any) -> dict[str, Any]:
    """A one-stage, two-epoch spec over :func:`write_digits`' file (core's ``arrays``, ``mlp`` and
    ``classifier``): pass ``head=...``, ``source=...``, ``training=...`` (any top-level key) to replace one."""
    spec: dict[str, Any] = {
        "name": "digits",
        "seed": 0,
        "data": {"train": {"kind": "arrays", "path": str(path), "scale": 0.0625}, "batch_size": 64, "test_split": 0.25},
        "source": {"kind": "mlp", "units": [32]},
        "head": {"kind": "classifier"},
        "training": {"stages": [{"epochs": 2, "optimizer": {"learning_rate": 0.01}}], "verbose": 0},
        "evaluation": {"plots": False},
    }
    spec.update(sections)
    return spec
