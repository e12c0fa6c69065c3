"""Model selection without target labels: each validator's math, scores logged per epoch, and a
stage that keeps the epoch its validator prefers."""

from __future__ import annotations

import csv
import json
from typing import Literal

import numpy as np
import pytest
from click.testing import CliRunner

import adaptkit
from adaptkit import PluginError, PluginHost, PluginInfo, RunContext, SpecError, ValidationData, load_spec
from adaptkit._specfile import load_spec_file
from adaptkit.cli import main
from adaptkit_core.validators import (
    dev_risk,
    importance_weights,
    information_maximization,
    mean_entropy,
    soft_neighborhood_density,
)

P = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]])


def _h(row) -> float:
    return -sum(v * np.log(v) for v in row if v > 0)


def test_entropy_and_im_are_the_hand_computed_values():
    assert mean_entropy(P) == pytest.approx(np.mean([_h(r) for r in P]), abs=1e-12)
    mean = P.mean(axis=0)  # [0.3667, 0.4333, 0.2]
    assert information_maximization(P) == pytest.approx(_h(mean) - np.mean([_h(r) for r in P]), abs=1e-12)
    one_hot = np.eye(3)
    assert mean_entropy(one_hot) == 0.0 and information_maximization(one_hot) == pytest.approx(np.log(3))
    assert information_maximization(np.tile([1.0, 0, 0], (3, 1))) == 0.0  # confident but not diverse


def test_snd_is_the_mean_entropy_of_each_rows_softmax_over_the_others_similarities():
    t = 0.05
    x = P / np.linalg.norm(P, axis=1, keepdims=True)
    expected = []
    for i in range(3):
        sims = np.array([x[i] @ x[j] for j in range(3) if j != i]) / t
        q = np.exp(sims - sims.max())
        expected.append(_h(q / q.sum()))
    assert soft_neighborhood_density(P, t) == pytest.approx(np.mean(expected), abs=1e-12)
    # two tight clusters of three: each example's mass splits over its two twins, entropy log 2;
    # the same six predictions spread evenly between the classes have sparser neighbourhoods
    clusters = np.array([[0.99, 0.01]] * 3 + [[0.01, 0.99]] * 3)
    a = np.linspace(0.99, 0.01, 6)
    assert soft_neighborhood_density(clusters) == pytest.approx(np.log(2), abs=1e-6)
    assert soft_neighborhood_density(np.stack([a, 1 - a], axis=1)) < np.log(2) - 0.05


def test_dev_risk_is_the_control_variate_estimate():
    w = np.array([0.5, 1.0, 1.5, 2.0])
    err = np.array([1.0, 0.0, 1.0, 0.0])
    wl = w * err
    eta = -np.cov(wl, w)[0, 1] / np.var(w, ddof=1)
    assert dev_risk(w, err) == pytest.approx(wl.mean() + eta * w.mean() - eta, abs=1e-12)
    assert dev_risk(np.ones(4), err) == pytest.approx(0.5)  # equal weights: the plain validation risk
    normed = dev_risk(w, err, "max")  # w / max, shifted to mean 1
    v = w / 2.0
    v = v - (v.mean() - 1)
    assert normed == pytest.approx(dev_risk(v, err), abs=1e-12)


def test_dev_weights_favour_validation_examples_that_look_like_the_target():
    rng = np.random.default_rng(0)
    source = rng.normal(0, 1, (400, 2))
    target = rng.normal(0, 1, (400, 2)) + [1.5, 0]
    validation = np.array([[-2.0, 0.0], [0.0, 0.0], [2.0, 0.0]])
    w, accuracy = importance_weights(source, target, validation, seed=0)
    assert w[0] < w[1] < w[2] and accuracy > 0.7
    # the true ratio p_t / p_s at (x1, x2) is exp(1.5 x1 - 1.125): 0.016, 0.32, 6.5 at x1 = -2, 0, 2
    assert w[0] < 0.05 and 0.2 < w[1] < 0.45 and 4 < w[2] < 10


@pytest.fixture
def da_spec(spec_file, tmp_path, digits_npz):
    """Digits -> inverted digits, an MLP, MMD in a second stage; the target labeled or not."""
    with np.load(digits_npz) as d:
        x, y = d["x"], d["y"]
    target = tmp_path / "target.npz"
    np.savez(target, x=(16 - x).astype("float32"), y=y)

    def make(validators: str = "[{kind: entropy}, {kind: im}, {kind: snd}, {kind: dev}]", select: str = "",
             labeled: bool = True, epochs: int = 3):
        sel = f", select_by: {select}" if select else ""
        return spec_file(
            f"""
            data:
              train: {{kind: arrays, path: {digits_npz}, scale: 0.0625}}
              target: {{kind: arrays, path: {target}, scale: 0.0625, labeled: {str(labeled).lower()}}}
              batch_size: 64
            evaluation: {{validators: {validators}, validator_sample: 300, plots: false}}
            training:
              verbose: 0
              stages:
                - {{name: source, epochs: 1, optimizer: {{learning_rate: 0.01}}}}
                - {{name: adapt, epochs: {epochs}, optimizer: {{learning_rate: 0.01}}, losses: [{{kind: mmd}}]{sel}}}
            """
        )

    return make


def _finished(spec) -> tuple:
    (run,) = [p for p in (spec.parent / "runs").iterdir() if not p.is_symlink()]
    with open(run / "history.csv") as fh:
        return run, json.loads((run / "metrics.json").read_text()), list(csv.DictReader(fh))


def test_every_epoch_of_every_stage_logs_each_score(da_spec):
    spec = da_spec()
    result = CliRunner().invoke(main, ["run", str(spec)])
    assert result.exit_code == 0, result.output
    _, metrics, history = _finished(spec)
    assert len(history) == 4
    for row in history:
        scores = {k: float(row[f"score_{k}"]) for k in ("entropy", "im", "snd", "dev")}
        assert all(np.isfinite(v) for v in scores.values())
        assert 0 <= scores["entropy"] <= np.log(10) and -np.log(10) <= scores["im"] <= np.log(10)
    assert "selection" not in metrics  # scores alone select nothing


def test_select_by_keeps_the_best_scored_epochs_weights(da_spec):
    spec = da_spec("[{kind: im}, {kind: snd}]", select="snd", epochs=4)
    result = CliRunner().invoke(main, ["run", str(spec)])
    assert result.exit_code == 0, result.output
    _, metrics, history = _finished(spec)
    rows = [r for r in history if r["stage_name"] == "adapt"]
    scores = [float(r["score_snd"]) for r in rows]
    best = int(np.argmax(scores))
    chosen = metrics["selection"]["adapt"]
    assert chosen["validator"] == "snd" and chosen["higher_is_better"] is True
    assert best < len(rows) - 1  # this seeded run's SND peaks early: the kept weights are not the last epoch's
    assert chosen["epoch"] == best + 1 and chosen["epochs_run"] == 4
    assert chosen["score"] == pytest.approx(scores[best], rel=1e-6)
    assert chosen["last_epoch_score"] == pytest.approx(scores[-1], rel=1e-6)
    # the saved model is that epoch's: its target accuracy is the one logged in that epoch's row
    assert metrics["metrics"]["target_test/accuracy"] == pytest.approx(float(rows[best]["target_accuracy"]), abs=1e-6)


def test_scores_and_selection_need_no_target_labels(da_spec):
    spec = da_spec("[{kind: entropy}, {kind: dev}]", select="dev", labeled=False)
    result = CliRunner().invoke(main, ["run", str(spec)])
    assert result.exit_code == 0, result.output
    _, metrics, history = _finished(spec)
    assert "target_test/accuracy" not in metrics["metrics"] and "target_accuracy" not in history[0]
    rows = [r for r in history if r["stage_name"] == "adapt"]
    scores = [float(r["score_dev"]) for r in rows]
    assert metrics["selection"]["adapt"]["epoch"] == int(np.argmin(scores)) + 1  # lower DEV risk is better
    assert metrics["selection"]["adapt"]["higher_is_better"] is False


@pytest.mark.parametrize(
    "body, where, message",
    [
        ("evaluation: {validators: [{kind: snd}]}", "evaluation.validators", "needs target-domain data: add data.target"),
        ("training: {stages: [{epochs: 1, select_by: snd}]}", "training.stages.0.select_by",
         "'snd' is not in evaluation.validators (none are listed)"),
    ],
)
def test_validators_without_a_target_or_select_by_without_its_validator_are_refused(spec_file, body, where, message):
    with pytest.raises(SpecError) as info:
        load_spec_file(spec_file(body))
    assert info.value.where == where and message in info.value.message


def test_bad_validator_lists_are_one_line_errors(da_spec, tmp_path):
    cases = [
        (("[{kind: im}, {kind: im}]",), "evaluation.validators.1: 'im' is listed twice"),
        (("[{kind: im}]", "snd"), "training.stages.1.select_by: 'snd' is not in evaluation.validators (im)"),
        (("[{kind: snd, temperature: 0}]",), "evaluation.validators.0.temperature:"),
        (("[{kind: sdn}]",), "evaluation.validators.0: unknown kind 'sdn'"),
    ]
    for args, message in cases:
        result = CliRunner().invoke(main, ["validate", str(da_spec(*args))])
        assert result.exit_code == 2 and message in result.output, result.output
        assert "Traceback" not in result.output
    import yaml

    data = yaml.safe_load(da_spec("[{kind: dev}]").read_text())
    data["data"]["validation_split"] = 0
    no_val = tmp_path / "noval.yaml"
    no_val.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(main, ["validate", str(no_val)])
    assert result.exit_code == 2 and "evaluation.validators.0: 'dev' needs source validation data" in result.output
    data = yaml.safe_load(da_spec("[{kind: snd}]", select="snd").read_text())
    data["training"]["stages"][1]["early_stopping"] = {"patience": 2}
    both = tmp_path / "both.yaml"
    both.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(main, ["validate", str(both)])
    assert result.exit_code == 2 and "training.stages.1.select_by: early_stopping.restore_best_weights" in result.output


class Confidence(adaptkit.ValidatorSection):
    """Mean top-class probability on the target (a third party's validator kind)."""

    kind: Literal["confidence"]


class ThirdParty:
    @adaptkit.hookimpl
    def adaptkit_sections(self):
        return [Confidence]

    @adaptkit.hookimpl
    def adaptkit_build_validator(self, section, context):
        return adaptkit.Validator(lambda data: float(data.target_probabilities.max(axis=1).mean()), "yes")


def test_a_third_party_plugin_adds_a_validator_kind_and_its_answer_is_checked(tmp_path):
    host = PluginHost()
    host.load_entry_points()
    host.register(ThirdParty(), PluginInfo("third_party", "tests", None, None))
    assert host.plugins["third_party"].ok and "confidence" in host.plugins["third_party"].sections["validator"]
    spec = load_spec({
        "name": "t",
        "data": {"train": {"kind": "arrays", "path": "d.npz"}, "target": {"kind": "arrays", "path": "t.npz", "labeled": False}},
        "source": {"kind": "mlp"}, "head": {"kind": "classifier"},
        "training": {"stages": [{"epochs": 1, "select_by": "confidence"}]},
        "evaluation": {"validators": [{"kind": "confidence"}, {"kind": "snd"}]},
    }, host)
    ctx = RunContext(seed=0, spec_dir=tmp_path)
    with pytest.raises(PluginError) as info:  # higher_is_better "yes" is no bool
        host.call_first("adaptkit_build_validator", "evaluation.validators.0", spec.evaluation.validators[0], context=ctx)
    assert "plugin 'third_party' answered adaptkit_build_validator with a Validator whose higher_is_better is str" in str(info.value)
    snd = host.call_first("adaptkit_build_validator", "evaluation.validators.1", spec.evaluation.validators[1], context=ctx)
    data = ValidationData(lambda split: (None, P, None))
    assert isinstance(snd, adaptkit.Validator) and snd.higher_is_better
    assert snd.score(data) == pytest.approx(soft_neighborhood_density(P))
