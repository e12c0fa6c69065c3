"""arrays with ``labels``: several named labels per example, the one-entry rule, and one-line errors."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from adaptkit import DataError, RunContext, SpecError, TaskInfo, load_spec
from adaptkit_core.data import load_arrays
from adaptkit_core.sections import ArraysData

N = 12


def ctx(tmp_path, seed=0):
    return RunContext(seed=seed, spec_dir=tmp_path, where="data.train")


@pytest.fixture()
def npz(tmp_path):
    """x (N, 3) with x[:, 0] = index, a digit class, a parity class and a float target."""
    x = np.stack([np.arange(N), np.ones(N), np.zeros(N)], 1).astype("float32")
    np.savez(tmp_path / "d.npz", x=x, digit=np.arange(N) % 4, parity=(np.arange(N) % 2).astype("float64"),
             size=np.linspace(0, 1, N), pair=np.stack([np.arange(N), -np.arange(N)], 1), y=np.arange(N) % 3)
    return tmp_path / "d.npz"


def arrays(**kw):
    return ArraysData(kind="arrays", path="d.npz", **kw)


def test_several_labels_yield_a_dict_with_task_infos(npz, tmp_path):
    section = arrays(labels=[
        {"key": "digit", "class_names": ["a", "b", "c", "d"]},
        {"key": "parity", "name": "odd"},
        {"key": "size", "task": "regression"},
        {"key": "pair", "task": "regression"},
    ])
    src = load_arrays(section, ctx(tmp_path))
    assert src.labeled and src.size == N and src.input_shape == (3,) and src.class_names is None
    assert src.labels == {
        "digit": TaskInfo(["a", "b", "c", "d"]), "odd": TaskInfo(["0", "1"]),
        "size": TaskInfo(None, ()), "pair": TaskInfo(None, (2,)),
    }
    assert src.label_infos() == src.labels
    spec = src.dataset.element_spec[1]
    assert {k: v.dtype.name for k, v in spec.items()} == {"digit": "int32", "odd": "int32", "size": "float32", "pair": "float32"}
    seen = []
    for x, y in src.dataset.as_numpy_iterator():
        i = int(x[0])  # every label still belongs to its own example after the seeded shuffle
        assert (y["digit"], y["odd"], y["pair"].tolist()) == (i % 4, i % 2, [i, -i])
        assert y["size"] == pytest.approx(i / (N - 1))
        seen.append(i)
    assert sorted(seen) == list(range(N)) and seen != list(range(N))


def test_one_entry_yields_x_y_like_y_key(npz, tmp_path):
    one = load_arrays(arrays(labels=[{"key": "y", "name": "digit", "class_names": ["a", "b", "c"]}]), ctx(tmp_path))
    old = load_arrays(arrays(class_names=["a", "b", "c"]), ctx(tmp_path))
    assert one.labels is None and old.labels is None
    assert one.class_names == old.class_names == ["a", "b", "c"]
    assert one.dataset.element_spec == old.dataset.element_spec
    pairs = lambda s: [(x.tolist(), int(y)) for x, y in s.dataset.as_numpy_iterator()]
    assert pairs(one) == pairs(old)
    reg = load_arrays(arrays(labels=[{"key": "size", "task": "regression"}]), ctx(tmp_path))
    assert reg.labels is None and reg.class_names is None and reg.target_shape == ()
    assert reg.label_infos() == {"label": TaskInfo(None, ())}


def test_single_label_sources_are_unchanged(npz, tmp_path):
    src = load_arrays(arrays(), ctx(tmp_path))
    assert src.labels is None and src.class_names == ["0", "1", "2"]
    x, y = next(iter(src.dataset))
    assert y.shape == () and y.dtype.name == "int32"


@pytest.mark.parametrize(
    "labels, where, match",
    [
        ([{"key": "digit"}, {"key": "nope"}], "data.train.labels.1.key", "has no array 'nope'"),
        ([{"key": "digit"}, {"key": "size"}], "data.train.labels.1.key", "class labels must be integers"),
        ([{"key": "digit", "class_names": ["a", "b"]}, {"key": "y"}], "data.train.labels.0.class_names",
         r"labels 2 \(3 examples\), 3 \(3 examples\) are outside the 2 classes of class_names"),
        ([{"key": "y"}, {"key": "short"}], "data.train.labels.1.key", "12 examples in 'x' but 5 labels in 'short'"),
    ],
)
def test_bad_label_arrays_are_one_line_errors(npz, tmp_path, labels, where, match):
    with np.load(npz) as f:
        np.savez(npz, **dict(f), short=np.zeros(5, int))
    with pytest.raises(DataError, match=match) as err:
        load_arrays(arrays(labels=labels), ctx(tmp_path))
    assert err.value.where == where and "\n" not in str(err.value)


def spec(train: dict) -> dict:
    return {
        "name": "t",
        "data": {"train": {"kind": "arrays", "path": "d.npz", **train}},
        "source": {"kind": "mlp"},
        "head": {"kind": "classifier"},
        "training": {"stages": [{"epochs": 1}]},
    }


@pytest.mark.parametrize(
    "train, where, match",
    [
        ({"y_key": "digit", "labels": [{"key": "y"}]}, "data.train", "labels replaces y_key, task, class_names: remove y_key"),
        ({"task": "regression", "class_names": ["a"], "labels": [{"key": "y"}]}, "data.train", "remove task, class_names"),
        ({"labeled": False, "labels": [{"key": "y"}]}, "data.train", "labeled: false"),
        ({"labels": [{"key": "y"}, {"key": "digit", "name": "y"}]}, "data.train", "two labels entries are named 'y'"),
        ({"labels": []}, "data.train.labels", "at least 1"),
        ({"labels": [{"key": "y", "task": "regression", "class_names": ["a", "b"]}]}, "data.train.labels.0", "class_names is for classification"),
        ({"labels": [{"key": "y", "column": "y"}]}, "data.train.labels.0.column", "unknown key"),
    ],
)
def test_contradictory_specs_are_spec_errors_naming_the_place(train, where, match):
    with pytest.raises(SpecError) as err:
        load_spec(spec(train))
    assert err.value.where == where and match in err.value.message, str(err.value)


def test_defaults_beside_labels_validate_so_a_rendered_spec_round_trips():
    section = arrays(labels=[{"key": "digit"}], y_key="y", task="classification", class_names=None)
    again = ArraysData.model_validate(section.model_dump(mode="json"))
    assert again == section and again.labels[0].label_name == "digit"
    with pytest.raises(ValidationError):
        arrays(labels=[{"key": "digit"}], y_key="digit")
