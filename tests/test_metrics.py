"""evaluation.metrics: a section family fed each split's predictions once; its numbers are scikit-learn's
on the saved model's predictions, the baseline has them too, a failing metric costs only its own, and
the defaults are the keys metrics.json always had."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

import adaptkit
from adaptkit import PluginError, PluginHost, PluginInfo, RunContext, SpecError, TaskInfo, get_host, load_spec
from adaptkit._metrics import build_metrics
from adaptkit.cli import main

LISTED = ["accuracy", "loss", "balanced_accuracy", "f1_macro", "auc", "top_3_accuracy"]


def _spec(**evaluation):
    return {
        "name": "m", "data": {"train": {"kind": "arrays", "path": "d.npz"}}, "source": {"kind": "mlp"},
        "head": {"kind": "classifier"}, "training": {"stages": [{"epochs": 1}]}, "evaluation": evaluation,
    }


CLASSES, VALUES = TaskInfo([f"c{k}" for k in range(3)]), TaskInfo(None, ())


def test_listed_metrics_are_scikit_learns_on_the_saved_models_test_predictions(tracked_run):
    from sklearn import metrics as sk

    result, x, y = tracked_run
    p = adaptkit.load_model(result.run_dir / "model.keras").predict(x, verbose=0)  # raw values in: the scale is inside
    m = json.loads((result.run_dir / "metrics.json").read_text())["metrics"]
    labels = list(range(10))
    expected = {
        "accuracy": sk.accuracy_score(y, p.argmax(1)),
        "loss": sk.log_loss(y, np.clip(p, 1e-7, 1), labels=labels),
        "balanced_accuracy": sk.balanced_accuracy_score(y, p.argmax(1)),
        "f1_macro": sk.f1_score(y, p.argmax(1), average="macro"),
        "auc": sk.roc_auc_score(y, p / p.sum(1, keepdims=True), multi_class="ovr", average="macro"),
        "top_3_accuracy": sk.top_k_accuracy_score(y, p, k=3, labels=labels),
    }
    assert m["test/examples"] == len(y) == 397
    for name, value in expected.items():
        assert m[f"test/{name}"] == pytest.approx(value, abs=2e-4), name
    assert set(m) >= {f"validation/{name}" for name in LISTED}
    assert 0.3 < m["test/accuracy"] < 1.0  # it learnt something, and the numbers are not all equal
    assert len({round(m[f"test/{n}"], 6) for n in LISTED}) == len(LISTED)


def test_the_baseline_the_summary_and_the_report_carry_the_listed_metrics(tracked_run):
    result, _, _ = tracked_run
    written = json.loads((result.run_dir / "metrics.json").read_text())
    base = written["baseline"]["metrics"]
    assert {f"test/{n}" for n in LISTED} <= set(base) and base["test/examples"] == 397
    assert base["test/f1_macro"] != written["metrics"]["test/f1_macro"]  # its own predictions, not the run's
    assert written["headline"] == {"metric": "test/accuracy", "value": written["metrics"]["test/accuracy"]}
    html = (result.run_dir / "report.html").read_text()
    assert "test/f1_macro" in html and "test/top_3_accuracy" in html


def test_a_failing_metric_costs_only_its_own_numbers(tracked_run):
    result, _, _ = tracked_run
    written = json.loads((result.run_dir / "metrics.json").read_text())
    assert not any("broken" in k for k in written["metrics"])
    assert written["errors"] == [
        "evaluation.metrics.6: metric 'broken' failed on test: ZeroDivisionError: division by zero",
        "evaluation.metrics.6: metric 'broken' failed on validation: ZeroDivisionError: division by zero",
    ]  # the baseline's failing the same way adds nothing
    assert [str(e) for e in result.errors] == written["errors"]


def test_without_evaluation_metrics_the_defaults_are_the_keys_metrics_json_always_had(tmp_path):
    spec = load_spec(_spec())
    ctx = RunContext(seed=0, spec_dir=tmp_path)
    names = lambda tasks: [n for m in build_metrics(spec, get_host(), ctx, tasks) for n in m.metric.names if m.fits(next(iter(tasks.values())))]  # noqa: E731
    assert names({"": CLASSES}) == ["accuracy", "loss", "balanced_accuracy"]
    assert names({"": VALUES}) == ["mae", "mse"]
    y, p = np.array([0, 1, 2, 2]), np.array([[0.8, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.6, 0.3], [0.1, 0.1, 0.8]])
    got = {k: v for m in build_metrics(spec, get_host(), ctx, {"": CLASSES}) for k, v in m.metric.compute(y, p, CLASSES).items()}
    assert got == pytest.approx({"accuracy": 0.75, "balanced_accuracy": (1 + 1 + 0.5) / 3,
                                 "loss": -np.mean(np.log([0.8, 0.7, 0.3, 0.8]))})


def test_a_probability_metric_on_a_regression_head_is_refused_when_the_spec_validates(tmp_path, digits_npz):
    import yaml

    data = _spec(metrics=[{"kind": "mae"}, {"kind": "auc"}])
    data["head"] = {"kind": "regression"}
    data["data"]["train"]["path"] = str(digits_npz)
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(main, ["validate", str(tmp_path / "s.yaml")])
    assert result.exit_code == 2
    path = tmp_path / "s.yaml"
    assert result.stderr.strip() == f"error: {path}: evaluation.metrics.1: 'auc' needs a classification head; the spec's head is 'regression'"


def test_before_training_a_metric_for_no_task_of_the_run_or_a_name_reported_twice_is_refused(tmp_path):
    ctx = RunContext(seed=0, spec_dir=tmp_path)
    twice = load_spec(_spec(metrics=[{"kind": "f1"}, {"kind": "accuracy"}, {"kind": "f1", "average": "macro"}]))
    with pytest.raises(SpecError, match=r"^evaluation\.metrics\.2: 'f1' reports 'f1_macro', as evaluation\.metrics\.0 does$"):
        build_metrics(twice, get_host(), ctx, {"": CLASSES})
    values = load_spec(_spec(metrics=[{"kind": "top_k_accuracy"}]))  # the classifier head reads regression data
    with pytest.raises(SpecError, match=r"^evaluation\.metrics\.0: 'top_k_accuracy' needs a classification head"):
        build_metrics(values, get_host(), ctx, {"": VALUES})


def test_a_metric_answer_without_names_is_a_plugin_error_naming_the_plugin(tmp_path):
    from typing import Literal

    class Odd(adaptkit.MetricSection):
        """A third party's kind."""

        kind: Literal["odd"]

    class ThirdParty:
        @adaptkit.hookimpl
        def adaptkit_sections(self):
            return [Odd]

        @adaptkit.hookimpl
        def adaptkit_build_metric(self, section, context):
            return adaptkit.Metric("odd", lambda y, p, task: {})

    host = PluginHost()
    host.load_entry_points()
    host.register(ThirdParty(), PluginInfo("odd", "tests", None, None))
    spec = load_spec(_spec(metrics=[{"kind": "odd"}]), host)
    with pytest.raises(PluginError, match="plugin 'odd' answered adaptkit_build_metric with a Metric whose names are 'odd'"):
        build_metrics(spec, host, RunContext(seed=0, spec_dir=tmp_path), {"": CLASSES})


def test_listed_metrics_are_reported_per_task_each_for_the_tasks_it_reads(tmp_path):
    """A two-output Keras model (a classifier task, a regression task): each metric is fed its tasks'
    predictions of the split, keyed split/task/name."""
    import keras
    import tensorflow as tf
    from sklearn.metrics import f1_score, r2_score

    from adaptkit import ModelParts
    from adaptkit._metrics import metric_values
    from adaptkit._predictions import Predictions

    inputs = keras.Input((4,))
    model = keras.Model(inputs, {"kind": keras.layers.Dense(3, activation="softmax")(inputs), "size": keras.layers.Dense(1)(inputs)})
    rng = np.random.default_rng(0)
    x, kind, size = rng.normal(size=(20, 4)).astype("float32"), rng.integers(0, 3, 20), rng.normal(size=20).astype("float32")
    data = _spec(metrics=[{"kind": "f1", "average": "micro"}, {"kind": "r2"}])
    del data["head"]
    data["tasks"] = [{"name": "kind", "head": {"kind": "classifier"}}, {"name": "size", "head": {"kind": "regression"}}]
    tasks = {"kind": CLASSES, "size": VALUES}
    built = build_metrics(load_spec(data), get_host(), RunContext(seed=0, spec_dir=tmp_path), tasks)
    sets = {"test": tf.data.Dataset.from_tensor_slices((x, {"kind": kind, "size": size})).batch(8), "target": None}
    values, errors = metric_values(built, ModelParts(model, model, model, CLASSES, tasks), Predictions(sets))
    p = model.predict(x, verbose=0)
    assert not errors and sorted(values) == ["test/examples", "test/kind/f1_micro", "test/size/r2"]
    assert values["test/examples"] == 20
    assert values["test/kind/f1_micro"] == pytest.approx(f1_score(kind, p["kind"].argmax(1), average="micro"), abs=1e-6)
    assert values["test/size/r2"] == pytest.approx(r2_score(size, p["size"].reshape(-1)), abs=1e-5)


def test_a_listed_set_without_the_heads_headline_metric_is_refused_before_training(spec_file, tmp_path):
    from adaptkit import load_spec_file
    from adaptkit._runner import run_pipeline

    path = spec_file("evaluation: {metrics: [{kind: f1}]}")
    with pytest.raises(SpecError, match=r"^evaluation\.metrics: no metric reports 'accuracy', the headline \(the head's monitor\): list it, e.g. \{kind: accuracy\}$"):
        run_pipeline(load_spec_file(path), path)
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing left behind
