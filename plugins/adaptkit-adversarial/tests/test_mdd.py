"""MDD: its disparity against a numpy reference of the paper's formula, and a rotated-moons run that logs it."""

import csv

import numpy as np
import pytest
from keras import ops

from adaptkit.testing import moons_spec, run_spec
from adaptkit_adversarial.layers import margin_disparity


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_margin_disparity_equals_the_papers_formula():
    rng = np.random.default_rng(0)
    ps, pt = _softmax(rng.normal(size=(16, 3))), _softmax(rng.normal(size=(16, 3)))
    zs, zt = rng.normal(size=(16, 3)) * 2, rng.normal(size=(16, 3)) * 2
    ys, yt = ps.argmax(1), pt.argmax(1)
    source = -np.log(_softmax(zs)[np.arange(16), ys]).mean()  # CE of the adversary against h's labels
    target = np.log(1 - _softmax(zt)[np.arange(16), yt] + 1e-6).mean()
    want = -4.0 * source + target
    got = float(ops.convert_to_numpy(margin_disparity(ps.astype("float32"), zs.astype("float32"), pt.astype("float32"), zt.astype("float32"), 4.0)))
    assert got == pytest.approx(want, rel=1e-5)


def test_mdd_trains_on_rotated_moons_and_logs_its_discrepancy(tmp_path, adaptkit_moons):
    stages = [{"name": "source", "epochs": 8, "optimizer": {"learning_rate": 0.01}},
              {"name": "mdd", "epochs": 6, "optimizer": {"learning_rate": 0.003}, "losses": [{"kind": "mdd", "weight": 0.3}]}]
    run = run_spec(tmp_path, moons_spec(adaptkit_moons, stages), name="mdd")
    with open(run.run_dir / "history.csv") as fh:
        rows = [r for r in csv.DictReader(fh) if r["stage"] == "2"]
    values = [float(r["mdd_discrepancy"]) for r in rows]
    assert all(np.isfinite(values)) and len(values) == 6
    # the adversary learns to agree on source and disagree on target: the disparity rises from its start
    assert values[-1] > values[0], values
    assert 0.0 < float(rows[-1]["mdd_lambda"]) <= 0.3 + 1e-6
    assert run.metrics["target_test/accuracy"] > 0.7
