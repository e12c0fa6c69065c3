"""Data that used to be accepted silently (a `null` loss at exit 0, accuracy 1.0 on one class, a
stray label making a 100-class model) is refused by `adaptkit run` in one line naming the file."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from adaptkit.cli import main


def damaged(path, case):
    with np.load(path) as f:
        x, y = f["x"].copy(), f["y"].copy()
    if case == "nan":
        x[:12, 0, 0, 0] = np.nan
    elif case == "one class":
        y[:] = 0
    elif case == "stray label":
        y[7] = 99
    return x, y


EXPECTED = {
    "nan": "data.train.path: {path}: 12 non-finite values (NaN/inf) in 'x' (after scale 0.0625)",
    "one class": "data.train.path: {path}: only one class (0, 1797 examples): a classifier needs at least two",
    "stray label": "data.train.path: {path}: label 99 (1 example) is above classes with no example (10..98): "
    "class labels must be 0..K-1 with an example of each; fix the stray labels, or name every class in class_names",
}


@pytest.mark.parametrize("case", list(EXPECTED))
def test_bad_array_content_is_refused_before_training(case, tmp_path, digits_npz):
    path = tmp_path / "bad.npz"
    x, y = damaged(digits_npz, case)
    np.savez(path, x=x, y=y)
    spec = {
        "name": "bad", "data": {"train": {"kind": "arrays", "path": str(path), "scale": 0.0625}},
        "source": {"kind": "mlp", "units": [8]}, "head": {"kind": "classifier"},
        "training": {"verbose": 0, "stages": [{"epochs": 1}]},
    }
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(main, ["run", str(tmp_path / "bad.yaml"), "--output", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    assert [e for e in result.stderr.splitlines() if e.startswith("error: ")] == ["error: " + EXPECTED[case].format(path=path)]
    assert "Traceback" not in result.output
    assert not (tmp_path / "runs").exists()
