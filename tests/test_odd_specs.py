"""Valid but odd specs, run through the real CLI: each ends in a result (exit 0, a complete run
directory with metrics.json) or in a clean error (exit 2, one line `error: place: message`, no
traceback, nothing left in the output folder) — never in a crash or a half-written run."""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from adaptkit import reset_host
from adaptkit.cli import main


@pytest.fixture(scope="module")
def files(tmp_path_factory, digits_npz) -> dict[str, Path]:
    """The digits, two examples of them, and a test set holding only classes 0 and 1."""
    folder = tmp_path_factory.mktemp("odd")
    with np.load(digits_npz) as f:
        x, y = f["x"], f["y"]
    np.savez(folder / "two.npz", x=x[:2], y=np.array([0, 1]))
    np.savez(folder / "test01.npz", x=x[y < 2][:20], y=y[y < 2][:20])
    return {"digits": digits_npz, "two": folder / "two.npz", "test01": folder / "test01.npz"}


def base(files: dict[str, Path]) -> dict[str, Any]:
    return {
        "name": "odd",
        "seed": 0,
        "data": {"train": {"kind": "arrays", "path": str(files["digits"]), "scale": 0.0625}, "batch_size": 64},
        "source": {"kind": "mlp", "units": [16]},
        "head": {"kind": "classifier"},
        "training": {"verbose": 0, "stages": [{"epochs": 1}]},
        "evaluation": {"plots": False},
    }


def merged(a: dict, b: dict) -> dict:
    out = dict(a)
    for key, value in b.items():
        out[key] = merged(a[key], value) if isinstance(value, dict) and isinstance(a.get(key), dict) else value
    return out


RESULT, ERROR, EITHER = "result", "error", "either"
Check = Optional[Callable[[dict], None]]


def sizes(**expected) -> Callable[[dict], None]:
    def check(metrics: dict) -> None:
        assert {k: metrics["data"][k] for k in expected} == expected

    return check


def one_epoch(metrics: dict) -> None:
    assert metrics["epochs"] == 1 and metrics["headline"]["value"] is not None


def nothing_trainable(metrics: dict) -> None:
    assert metrics["parameters"]["trainable_last_stage"] == 0 and metrics["metrics"]["test/accuracy"] >= 0


# name -> (changes to the base spec, with FILE:<name> for a file above; outcome; a check of
# metrics.json for a result, or the exact error line)
CASES: dict[str, tuple[dict, str, Any]] = {
    "batch_size larger than the data": ({"data": {"batch_size": 4096}}, RESULT, one_epoch),
    "1 epoch with early stopping": (
        {"training": {"stages": [{"epochs": 1, "early_stopping": {"patience": 1, "restore_best_weights": True}}]}},
        RESULT, one_epoch,
    ),
    "a validation set of 1 example": (
        {"data": {"validation_split": 0.001}, "training": {"stages": [{"epochs": 2, "early_stopping": {"patience": 1}}]}},
        RESULT, sizes(validation=1),
    ),
    "a validation split that rounds to 0, with early stopping": (
        {"data": {"validation_split": 0.0001}, "training": {"stages": [{"epochs": 2, "early_stopping": {"patience": 1}}]}},
        RESULT, sizes(validation=0),
    ),
    "test_split 0": ({"data": {"test_split": 0.0}}, EITHER, sizes(test=0)),  # how it is reported: another change's call
    "a test split of 2 examples (at most 2 of 10 classes)": ({"data": {"test_split": 0.001}}, RESULT, sizes(test=2)),
    "test data with 2 of the 10 classes": (
        {"data": {"test": {"kind": "arrays", "path": "FILE:test01", "scale": 0.0625}}}, ERROR,
        "error: data.test: classes ['0', '1'] differ from data.train's ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']",
    ),
    "test data with 2 of the 10 classes, the 10 declared": (
        {"data": {"test": {"kind": "arrays", "path": "FILE:test01", "scale": 0.0625, "class_names": list("0123456789")}}},
        RESULT, sizes(test=20),
    ),
    "two examples in all": ({"data": {"train": {"kind": "arrays", "path": "FILE:two"}}}, EITHER, None),
    "a stage with 0 trainable weights (frozen source, weightless head)": (
        {"surgery": [{"kind": "freeze"}], "source": {"kind": "mlp", "units": [10]}, "head": {"kind": "feature_softmax"}},
        RESULT, nothing_trainable,
    ),
}

WEIGHTLESS_HEAD = '''
"""A third-party head without weights: a softmax over the features themselves."""
from typing import Literal
import adaptkit

class FeatureSoftmax(adaptkit.HeadSection):
    kind: Literal["feature_softmax"]

@adaptkit.hookimpl
def adaptkit_sections():
    return [FeatureSoftmax]

@adaptkit.hookimpl
def adaptkit_attach_head(section, features, task, context):
    import keras
    outputs = keras.layers.Activation("softmax", dtype="float32", name="predictions")(features)
    return adaptkit.Head(outputs=outputs, loss=keras.losses.SparseCategoricalCrossentropy(),
                         metrics=["accuracy"], monitor="accuracy", higher_is_better=True)
'''


@pytest.fixture()
def weightless_head(tmp_path, monkeypatch):
    site = tmp_path / "site"
    (site / "adaptkit_weightless-1.0.dist-info").mkdir(parents=True)
    (site / "adaptkit_weightless.py").write_text(textwrap.dedent(WEIGHTLESS_HEAD))
    (site / "adaptkit_weightless-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: adaptkit-weightless\nVersion: 1.0\n")
    (site / "adaptkit_weightless-1.0.dist-info" / "entry_points.txt").write_text("[adaptkit]\nweightless = adaptkit_weightless\n")
    monkeypatch.syspath_prepend(str(site))
    reset_host()
    yield
    reset_host()


def with_files(value: Any, files: dict[str, Path]) -> Any:
    if isinstance(value, dict):
        return {k: with_files(v, files) for k, v in value.items()}
    if isinstance(value, list):
        return [with_files(v, files) for v in value]
    if isinstance(value, str) and value.startswith("FILE:"):
        return str(files[value[5:]])
    return value


ERROR_LINE = re.compile(r"^error: [^\s:]+(:\d+)?: \S.*$")


@pytest.mark.parametrize("case", list(CASES))
def test_an_odd_spec_ends_in_a_result_or_a_clean_error(case, files, tmp_path, request):
    changes, outcome, expected = CASES[case]
    if "feature_softmax" in json.dumps(changes):
        request.getfixturevalue("weightless_head")
    path = tmp_path / "odd.yaml"
    path.write_text(yaml.safe_dump(merged(base(files), with_files(changes, files))))
    out = tmp_path / "runs"
    result = CliRunner().invoke(main, ["run", str(path), "--output", str(out)])
    assert "Traceback" not in result.output
    assert result.exit_code in (0, 2), f"exit {result.exit_code}: {result.output[-3000:]}"
    left = sorted(p.name for p in out.iterdir()) if out.exists() else []
    assert not [name for name in left if name.endswith(".partial")], left
    if result.exit_code == 0:
        assert outcome in (RESULT, EITHER), f"expected an error, got a result: {result.output[-2000:]}"
        run_dir = (out / "odd-latest").resolve()
        assert left == sorted([run_dir.name, "odd-latest"])
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert (run_dir / "model.keras").is_file() and (run_dir / "history.csv").is_file()
        if callable(expected):
            expected(metrics)
    else:
        assert outcome in (ERROR, EITHER), f"expected a result, got: {result.stderr[-2000:]}"
        errors = [line for line in result.stderr.splitlines() if line.startswith("error")]
        assert len(errors) == 1 and ERROR_LINE.match(errors[0]), result.stderr
        if isinstance(expected, str):
            assert errors == [expected]
        assert left == []
