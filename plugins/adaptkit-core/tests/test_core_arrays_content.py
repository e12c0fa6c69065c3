"""arrays content checks: NaN and infinities, one class, stray labels, declared classes, rare classes."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from adaptkit import DataError, RunContext
from adaptkit_core.data import load_arrays
from adaptkit_core.sections import ArraysData


def ctx(tmp_path):
    return RunContext(seed=0, spec_dir=tmp_path, where="data.train", log=logging.getLogger("adaptkit.test"))


def load(tmp_path, x, y=None, **section):
    arrays = {"x": np.asarray(x)} if y is None else {"x": np.asarray(x), "y": np.asarray(y)}
    np.savez(tmp_path / "d.npz", **arrays)
    return load_arrays(ArraysData(kind="arrays", path="d.npz", **section), ctx(tmp_path))


def refused(tmp_path, x, y=None, **section) -> DataError:
    with pytest.raises(DataError) as err:
        load(tmp_path, x, y, **section)
    assert "\n" not in str(err.value)
    return err.value


X = np.arange(40, dtype="float32").reshape(20, 2)
Y = np.arange(20) % 4


def test_nan_and_inf_in_the_features_are_counted_and_refused(tmp_path):
    x = X.copy()
    x[3, 0], x[5, 1], x[7, 0] = np.nan, np.inf, -np.inf
    err = refused(tmp_path, x, Y)
    assert str(err) == f"data.train.path: {tmp_path / 'd.npz'}: 3 non-finite values (NaN/inf) in 'x'"
    err = refused(tmp_path, x, labeled=False)  # unlabeled target data too
    assert err.message.endswith("3 non-finite values (NaN/inf) in 'x'")


def test_values_that_overflow_float32_after_scale_are_refused(tmp_path):
    x = np.full((4, 2), 1e30)  # float64, finite; as float32 times 1e10, infinite
    err = refused(tmp_path, x, [0, 1, 0, 1], scale=1e10)
    assert err.message.endswith("8 non-finite values (NaN/inf) in 'x' (after scale 1e+10)")


def test_non_numeric_features_are_refused(tmp_path):
    err = refused(tmp_path, np.array([["a", "b"]] * 4), [0, 1, 0, 1])
    assert err.message.endswith("'x' must hold numbers, got <U1")


def test_nan_regression_targets_are_refused(tmp_path):
    err = refused(tmp_path, X, np.where(Y == 1, np.nan, Y / 2), task="regression")
    assert str(err) == f"data.train.path: {tmp_path / 'd.npz'}: 5 non-finite values (NaN/inf) in 'y'"
    err = refused(tmp_path, X, np.array(["1"] * 20), task="regression")
    assert err.message.endswith("regression targets must be numbers, got <U1 in 'y'")


def test_nan_class_labels_are_not_integers(tmp_path):
    err = refused(tmp_path, X, np.where(Y == 1, np.nan, Y))
    assert err.message.endswith("class labels must be integers, got float64 with 5 that are not (e.g. np.float64(nan))")


def test_one_class_is_refused_like_the_text_plugin_does(tmp_path):
    err = refused(tmp_path, X, np.zeros(20, int))
    assert str(err) == f"data.train.path: {tmp_path / 'd.npz'}: only one class (0, 20 examples): a classifier needs at least two"


def test_a_stray_label_is_named_with_its_count_instead_of_making_a_100_class_model(tmp_path):
    y = np.arange(20) % 10
    y[4] = 99
    err = refused(tmp_path, X, y)
    assert err.where == "data.train.path"
    assert err.message == (
        f"{tmp_path / 'd.npz'}: label 99 (1 example) is above classes with no example (10..98): "
        "class labels must be 0..K-1 with an example of each; fix the stray labels, or name every class in class_names"
    )


def test_negative_labels_are_named(tmp_path):
    err = refused(tmp_path, X, np.where(Y == 3, -1, Y))
    assert err.message.endswith("class labels must be 0 or more; label -1 (5 examples) is not")


def test_declared_classes_make_labels_outside_them_an_error_and_allow_classes_without_examples(tmp_path):
    names = ["a", "b", "c", "d", "e"]
    err = refused(tmp_path, X, np.where(Y == 3, 7, Y), class_names=names)
    assert err.where == "data.train.class_names"
    assert err.message.endswith("label 7 (5 examples) is outside the 5 classes of class_names")
    source = load(tmp_path, X, np.where(Y == 3, 4, Y), class_names=names)  # no 'd': fine, it was declared
    assert source.class_names == names
    assert sorted({int(y) for _, y in source.dataset.as_numpy_iterator()}) == [0, 1, 2, 4]


def test_labels_of_shape_n_by_1_are_one_label_each(tmp_path):
    source = load(tmp_path, X, Y[:, None])
    assert source.class_names == ["0", "1", "2", "3"]
    assert source.dataset.element_spec[1].shape == ()


def test_a_class_with_under_one_percent_of_the_largest_is_warned_about(tmp_path, caplog):
    x = np.zeros((402, 2), "float32")
    y = np.array([0] * 200 + [1] * 201 + [2])
    with caplog.at_level(logging.WARNING, logger="adaptkit.test"):
        source = load(tmp_path, x, y)
    assert source.class_names == ["0", "1", "2"]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning == (
        f"{tmp_path / 'd.npz'}: class '2' has 1 example against 201 in the largest class: a stray label? "
        "(class_names refuses labels outside them)"
    )


def test_several_labels_are_each_checked(tmp_path):
    np.savez(tmp_path / "m.npz", x=X, digit=Y, score=np.where(Y == 0, np.inf, 1.0), parity=np.zeros(20, int))
    section = dict(kind="arrays", path="m.npz")
    with pytest.raises(DataError) as err:
        load_arrays(ArraysData(**section, labels=[{"key": "digit"}, {"key": "score", "task": "regression"}]), ctx(tmp_path))
    assert err.value.where == "data.train.labels.1.key" and err.value.message.endswith("5 non-finite values (NaN/inf) in 'score'")
    with pytest.raises(DataError) as err:
        load_arrays(ArraysData(**section, labels=[{"key": "digit"}, {"key": "parity"}]), ctx(tmp_path))
    assert err.value.where == "data.train.labels.1.key" and "only one class (0, 20 examples)" in err.value.message
