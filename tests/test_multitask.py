"""Multi-task learning through the whole pipeline: per-task heads, labels, metrics, baselines and bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from adaptkit import ModelError, SpecError, load_spec_file
from adaptkit._runner import run_pipeline


@pytest.fixture(scope="module")
def digits_labels(tmp_path_factory) -> Path:
    """UCI digits with three labels per image: the digit, its parity, and its value as a number."""
    from sklearn.datasets import load_digits

    d = load_digits()
    path = tmp_path_factory.mktemp("mt") / "digits_mt.npz"
    np.savez(path, x=d.images[..., None].astype("float32"), digit=d.target.astype("int64"),
             parity=(d.target % 2).astype("int64"), value=d.target.astype("float32"))
    return path


def mt_spec(tmp_path: Path, npz: Path, extra: str = "", tasks: str = "", labels: str = "") -> Path:
    import textwrap

    import yaml

    text = f"""
    name: mt
    seed: 1
    output_dir: {tmp_path / 'runs'}
    data:
      train:
        kind: arrays
        path: {npz}
        scale: 0.0625
        labels: {labels or '[{key: digit}, {key: parity}, {key: value, task: regression}]'}
      batch_size: 64
    source: {{kind: mlp, units: [32, 16]}}
    tasks: {tasks or '[{name: digit, head: {kind: classifier}}, {name: parity, head: {kind: classifier}}, {name: value, head: {kind: regression}, weight: 0.05}]'}
    training:
      verbose: 0
      stages: [{{epochs: 2, optimizer: {{learning_rate: 0.01}}}}]
    """
    data = yaml.safe_load(textwrap.dedent(text))
    if extra:
        for key, value in yaml.safe_load(textwrap.dedent(extra)).items():
            data[key] = {**data[key], **value} if isinstance(data.get(key), dict) and isinstance(value, dict) else value
    path = tmp_path / "mt.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def run(path: Path, overrides=()):
    return run_pipeline(load_spec_file(path, list(overrides)), path)


def crash_in_evaluation_then_resume(spec, path: Path, monkeypatch):
    """Run the spec until evaluation crashes (every stage trained), then ``--resume`` it."""
    import adaptkit._runner as runner

    with monkeypatch.context() as m:
        m.setattr(runner, "evaluate", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("evaluation crashed")))
        with pytest.raises(RuntimeError):
            run_pipeline(spec, path)
    return run_pipeline(spec, path, resume=True)


def test_three_tasks_report_per_task_metrics_history_and_a_model_with_one_output_each(tmp_path, digits_labels, monkeypatch):
    import adaptkit._predictions as predictions

    calls, real = [], predictions.predict
    monkeypatch.setattr(predictions, "predict", lambda model, dataset: calls.append((id(model), id(dataset))) or real(model, dataset))
    result = run(mt_spec(tmp_path, digits_labels, "evaluation: {baseline: true}"))
    # each split once per model (adapted, baseline): the metrics, three verdicts and the report share them
    assert len(calls) == len(set(calls)) and len({m for m, _ in calls}) == 2 and len(calls) >= 4
    m = json.loads((result.run_dir / "metrics.json").read_text())
    assert m["headline"]["metric"] == "test/digit/accuracy"
    assert m["metrics"]["test/digit/accuracy"] > 0.3  # 10 classes: chance 0.1
    assert m["metrics"]["test/parity/accuracy"] > 0.6
    assert m["metrics"]["test/value/mae"] < 2.5  # predicting the mean (4.5) gives 2.5
    assert set(m["transfer"]) == {"digit", "parity", "value"}
    assert m["transfer"]["value"]["metric"] == "value_mae"
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    for column in ("digit_loss", "parity_accuracy", "value_mae", "val_digit_accuracy", "val_value_loss", "loss"):
        assert column in rows[0]
    # the training loss is the weighted sum of the task losses (default weighting)
    last = rows[-1]
    assert float(last["val_loss"]) == pytest.approx(
        float(last["val_digit_loss"]) + float(last["val_parity_loss"]) + 0.05 * float(last["val_value_loss"]), rel=1e-4
    )
    import keras

    model = keras.saving.load_model(result.run_dir / "model.keras", safe_mode=True)
    out = model(np.zeros((2, 8, 8, 1), "float32"))
    assert set(out) == {"digit", "parity", "value"}
    assert tuple(out["digit"].shape) == (2, 10) and tuple(out["parity"].shape) == (2, 2)
    # report.html: each task's verdict, confusion matrix (classifiers) or R² (regression)
    by_task = {e["task"]: e for e in m["test_predictions"]}
    n = m["metrics"]["test/examples"]
    assert np.trace(by_task["digit"]["confusion_matrix"]) / n == pytest.approx(m["metrics"]["test/digit/accuracy"])
    assert np.sum(by_task["parity"]["baseline_confusion_matrix"]) == n
    assert by_task["value"]["r2"] is not None and "baseline_r2" in by_task["value"] and "mean_predictor" in by_task["value"]
    page = (result.run_dir / "report.html").read_text()
    for task in ("digit", "parity", "value"):
        assert f"<h3>task {task}: test split, {n:,} examples</h3>" in page and f"<h3>{task}</h3>" in page
    mae = m["baseline"]["metrics"]["test/value/mae"]
    assert f'data-metric="test/value/mae" data-model="baseline" data-value="{mae!r}"' in page


def test_single_task_baselines_give_delta_m_as_the_headline(tmp_path, digits_labels):
    path = mt_spec(
        tmp_path, digits_labels, "evaluation: {single_task_baselines: true}",
        tasks="[{name: digit, head: {kind: classifier}}, {name: parity, head: {kind: classifier}}]",
        labels="[{key: digit}, {key: parity}]",
    )
    m = run(path).metrics
    single = m["single_task"]
    assert m["headline"]["metric"] == "delta_m_percent"
    rel = [single["tasks"][t]["relative_percent"] for t in ("digit", "parity")]
    assert m["headline"]["value"] == pytest.approx(sum(rel) / 2)
    for t in ("digit", "parity"):
        entry = single["tasks"][t]
        assert entry["multi_task"] == m["metrics"][f"test/{t}/accuracy"]
        assert entry["single_task"] == entry["single_task_metrics"]["test/accuracy"]
        assert entry["relative_percent"] == pytest.approx((entry["multi_task"] - entry["single_task"]) / entry["single_task"] * 100)
        # the paired test on the same test examples: its difference is the metrics' difference
        assert entry["test"]["difference"] == pytest.approx(entry["multi_task"] - entry["single_task"], abs=1e-9)
        assert entry["test"]["ci_low"] <= entry["test"]["difference"] <= entry["test"]["ci_high"]
        assert entry["verdict"] in ("multi-task better", "multi-task worse", "inconclusive")


def test_one_task_of_a_multi_label_source_is_a_plain_single_output_run(tmp_path, digits_labels):
    path = mt_spec(tmp_path, digits_labels, tasks="[{name: parity, head: {kind: classifier}}]")
    result = run(path)
    assert result.metrics["headline"]["metric"] == "test/accuracy"
    assert "test/accuracy" in result.metrics["metrics"]


@pytest.mark.parametrize(
    "tasks, where, message",
    [
        ("[{name: digit, head: {kind: classifier}}, {name: colour, head: {kind: classifier}}]", "tasks.1.label",
         "data.train has no label 'colour' (it has: digit, parity, value)"),
        ("[{name: digit, head: {kind: classifier}}, {name: p, label: parity, head: {kind: regression}}]", "tasks.1.head",
         "a regression head needs numeric targets"),
    ],
)
def test_bad_tasks_fail_before_training_and_leave_nothing(tmp_path, digits_labels, tasks, where, message):
    with pytest.raises((SpecError, ModelError)) as info:
        run(mt_spec(tmp_path, digits_labels, tasks=tasks))
    assert str(info.value).startswith(f"{where}: {message}")
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


@pytest.mark.parametrize(
    "extra, where",
    [
        ("training: {task_weighting: {kind: pcgrad}}", "training.task_weighting"),
        ("evaluation: {single_task_baselines: true}", "evaluation.single_task_baselines"),
    ],
)
def test_strategies_that_need_two_tasks_are_refused_for_one(tmp_path, digits_labels, extra, where):
    path = mt_spec(tmp_path, digits_labels, extra, tasks="[{name: digit, head: {kind: classifier}}]")
    with pytest.raises(SpecError) as info:
        load_spec_file(path)
    assert info.value.where == where


def test_head_and_tasks_together_or_twice_the_same_task_are_spec_errors(tmp_path, digits_labels):
    with pytest.raises(SpecError, match="^head: give either head"):
        load_spec_file(mt_spec(tmp_path, digits_labels, "head: {kind: classifier}"))
    twice = "[{name: digit, head: {kind: classifier}}, {name: digit, head: {kind: classifier}}]"
    with pytest.raises(SpecError, match="^tasks.1.name: task 'digit' is given twice"):
        load_spec_file(mt_spec(tmp_path, digits_labels, tasks=twice))


def test_multi_task_composes_with_stages_unfreezing_and_resume(tmp_path, digits_labels, monkeypatch):
    extra = """
    surgery: [{kind: freeze}]
    training:
      verbose: 0
      stages:
        - {name: heads, epochs: 1, optimizer: {learning_rate: 0.01}}
        - {name: all, epochs: 2, surgery: [{kind: unfreeze}], discriminative: {factor: 2}, optimizer: {learning_rate: 0.003}}
    """
    path = mt_spec(tmp_path, digits_labels, extra)
    spec = load_spec_file(path)
    result = crash_in_evaluation_then_resume(spec, path, monkeypatch)
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert [r["stage_name"] for r in rows] == ["heads", "all", "all"]
    assert result.metrics["metrics"]["test/parity/accuracy"] > 0.6


def test_lr_find_sweeps_a_multi_task_model(tmp_path, digits_labels):
    from adaptkit._lrfind import lr_find

    path = mt_spec(tmp_path, digits_labels)
    result, _ = lr_find(load_spec_file(path), path, steps=20, min_lr=1e-4, max_lr=1.0)
    assert len(result.losses) >= 10 and all(np.isfinite(result.losses[:10]))


def test_a_domain_adaptation_loss_acts_on_the_shared_trunk_of_a_multi_task_model(tmp_path, digits_labels):
    with np.load(digits_labels) as d:
        x = d["x"]
    target = tmp_path / "target.npz"
    np.savez(target, x=(16 - x).astype("float32"))  # inverted digits, unlabeled
    extra = f"""
    data: {{target: {{kind: arrays, path: {target}, scale: 0.0625, labeled: false}}}}
    training:
      verbose: 0
      stages:
        - {{name: source, epochs: 1, optimizer: {{learning_rate: 0.01}}}}
        - {{name: dann, epochs: 1, losses: [{{kind: dann}}]}}
    """
    result = run(mt_spec(tmp_path, digits_labels, extra))
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert "dann_domain_loss" in rows[-1] or any(k.startswith("dann") for k in rows[-1])
    assert "domain/proxy_a_distance" in result.metrics["metrics"]
    with pytest.raises(SpecError, match=r"^training.stages.1.losses.0: cdan conditions on one classifier's outputs"):
        run(mt_spec(tmp_path, digits_labels, extra.replace("kind: dann", "kind: cdan")))


# -- tasks on different datasets ---------------------------------------------------------


@pytest.fixture(scope="module")
def digits_halves(tmp_path_factory) -> tuple[Path, Path]:
    """UCI digits cut in two: half A labeled with the digit, half B with its parity (and value)."""
    from sklearn.datasets import load_digits

    d = load_digits()
    x, y = d.images[..., None].astype("float32"), d.target.astype("int64")
    n = len(x) // 2
    folder = tmp_path_factory.mktemp("streams")
    a, b = folder / "a.npz", folder / "b.npz"
    np.savez(a, x=x[:n], digit=y[:n])
    np.savez(b, x=x[n:], parity=y[n:] % 2, value=y[n:].astype("float32"))
    return a, b


def streams_spec(tmp_path: Path, halves, extra: str = "", parity: str = "", tasks: str = "") -> Path:
    a, b = halves
    own = parity or f"{{train: {{kind: arrays, path: {b}, scale: 0.0625, labels: [{{key: parity}}, {{key: value, task: regression}}]}}}}"
    return mt_spec(
        tmp_path, a, extra, labels="[{key: digit}]",
        tasks=tasks or f"[{{name: digit, head: {{kind: classifier}}}}, {{name: parity, head: {{kind: classifier}}, data: {own}}}]",
    )


def test_tasks_on_different_datasets_train_validate_and_test_each_on_its_own_data(tmp_path, digits_halves):
    path = streams_spec(tmp_path, digits_halves, "evaluation: {baseline: true}")
    result = run(path)
    m = json.loads((result.run_dir / "metrics.json").read_text())
    metrics = m["metrics"]
    assert metrics["test/digit/accuracy"] > 0.3
    assert metrics["test/parity/accuracy"] > 0.6
    n_b = 1797 - 1797 // 2
    assert metrics["test/parity/examples"] == round(n_b * 0.2)  # parity's test split of half B
    assert metrics["test/examples"] == round(1797 // 2 * 0.2)  # digit's, of half A
    assert "test/parity/accuracy" in m["baseline"]["metrics"] and set(m["transfer"]) == {"digit", "parity"}
    for task in ("digit", "parity"):  # each verdict's paired test reads its own task's output, own test split or not
        base = m["baseline"]["metrics"][f"test/{task}/accuracy"]
        assert m["transfer"][task]["test"]["difference"] == pytest.approx(metrics[f"test/{task}/accuracy"] - base)
    parity = next(e for e in m["test_predictions"] if e["task"] == "parity")  # the report's confusion matrix too
    assert parity["split"] == "test@parity" and np.sum(parity["confusion_matrix"]) == metrics["test/parity/examples"]
    assert np.trace(parity["confusion_matrix"]) / metrics["test/parity/examples"] == pytest.approx(metrics["test/parity/accuracy"])
    assert m["data"]["train@parity"] > 0 and m["data"]["validation@parity"] > 0
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    for column in ("digit_accuracy", "parity_accuracy", "parity_loss", "val_digit_accuracy", "val_parity_accuracy", "val_parity_loss"):
        assert column in rows[0], column
    last = rows[-1]
    assert float(last["val_loss"]) == pytest.approx(float(last["val_digit_loss"]) + float(last["val_parity_loss"]), rel=1e-4)
    import keras

    model = keras.saving.load_model(result.run_dir / "model.keras", safe_mode=True)
    assert set(model(np.zeros((2, 8, 8, 1), "float32"))) == {"digit", "parity"}


def test_a_task_stream_trains_with_a_gradient_weighting_and_single_task_baselines(tmp_path, digits_halves):
    extra = "{training: {verbose: 0, task_weighting: {kind: pcgrad}, stages: [{epochs: 2, optimizer: {learning_rate: 0.01}}]}, evaluation: {single_task_baselines: true}}"
    import yaml

    path = streams_spec(tmp_path, digits_halves, yaml.safe_dump(yaml.safe_load(extra)))
    m = run(path).metrics
    single = m["single_task"]["tasks"]
    assert single["parity"]["single_task_metrics"]["test/examples"] == m["metrics"]["test/parity/examples"]
    assert single["parity"]["multi_task"] == m["metrics"]["test/parity/accuracy"]
    assert m["headline"]["metric"] == "delta_m_percent" and m["headline"]["value"] is not None


def test_a_task_stream_with_its_own_test_data_and_lr_find(tmp_path, digits_halves):
    from adaptkit._lrfind import lr_find

    a, b = digits_halves
    own = (f"{{train: {{kind: arrays, path: {b}, scale: 0.0625, labels: [{{key: parity}}]}}, "
           f"test: {{kind: arrays, path: {a}, scale: 0.0625, y_key: digit}}}}")
    # the digit file as parity's test data: 10 classes, not parity's 2
    with pytest.raises(SpecError, match=r"^tasks.1.data.test: classes \[.*\] differ from tasks.1.data.train's"):
        run(streams_spec(tmp_path, digits_halves, parity=own))
    path = streams_spec(tmp_path, digits_halves, parity=f"{{train: {{kind: arrays, path: {b}, scale: 0.0625, labels: [{{key: parity}}]}}, test: {{kind: arrays, path: {b}, scale: 0.0625, y_key: parity}}}}")
    m = run(path).metrics["metrics"]
    assert m["test/parity/examples"] == 1797 - 1797 // 2
    result, _ = lr_find(load_spec_file(path), path, steps=15, min_lr=1e-4, max_lr=1.0)
    assert len(result.losses) >= 10 and all(np.isfinite(result.losses[:10]))


def test_bad_task_datasets_fail_before_training_and_leave_nothing(tmp_path, digits_halves):
    a, b = digits_halves
    wide = tmp_path / "wide.npz"
    np.savez(wide, x=np.zeros((40, 4, 4, 1), "float32"), parity=np.arange(40) % 2)
    cases = [
        (f"{{train: {{kind: arrays, path: {wide}, labels: [{{key: parity}}]}}}}",
         r"^tasks.1.data.train: examples of shape \(4, 4, 1\) do not match data.train's \(8, 8, 1\)"),
        (f"{{train: {{kind: arrays, path: {b}, labeled: false}}}}", r"^tasks.1.data.train: a task's data must be labeled"),
    ]
    for own, message in cases:
        with pytest.raises(SpecError, match=message):
            run(streams_spec(tmp_path, digits_halves, parity=own))
        assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())
    colour = f"[{{name: digit, head: {{kind: classifier}}}}, {{name: colour, head: {{kind: classifier}}, data: {{train: {{kind: arrays, path: {b}, labels: [{{key: parity}}, {{key: value, task: regression}}]}}}}}}]"
    with pytest.raises(SpecError, match=r"^tasks.1.label: tasks.1.data.train has no label 'colour' \(it has: parity, value\)"):
        run(streams_spec(tmp_path, digits_halves, tasks=colour))
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_task_streams_refuse_domain_adaptation_losses_and_need_a_task_on_data_train(tmp_path, digits_halves):
    a, b = digits_halves
    extra = f"""
    data: {{target: {{kind: arrays, path: {b}, scale: 0.0625, labeled: false}}}}
    training: {{verbose: 0, stages: [{{epochs: 1, losses: [{{kind: dann}}]}}]}}
    """
    with pytest.raises(SpecError, match=r"^training.stages.0.losses.0: 'dann' works on data.train's stream alone; tasks.1 has its own data"):
        load_spec_file(streams_spec(tmp_path, digits_halves, extra))
    own = f"{{train: {{kind: arrays, path: {b}, labels: [{{key: parity}}]}}}}"
    both = f"[{{name: digit, head: {{kind: classifier}}, data: {own}}}, {{name: parity, head: {{kind: classifier}}, data: {own}}}]"
    with pytest.raises(SpecError, match=r"^tasks.1.data: every task has its own data"):
        load_spec_file(streams_spec(tmp_path, digits_halves, tasks=both))


def test_the_spec_shown_for_tasks_on_different_datasets_runs(tmp_path, digits_halves):
    import re

    import yaml

    a, b = digits_halves
    doc = (Path(__file__).resolve().parents[1] / "docs" / "multi-task.md").read_text()
    section = doc.split("## Tasks on different datasets", 1)[1]
    block = re.findall(r"```yaml\n(.*?)```", section, re.S)[0]
    text = block.replace("data/digits_a.npz", str(a)).replace("data/digits_b.npz", str(b))
    spec = {"name": "streams_doc", "output_dir": str(tmp_path / "runs"), **yaml.safe_load(text)}
    spec["training"]["stages"][0]["epochs"] = 1
    spec["training"]["verbose"] = 0
    path = tmp_path / "doc.yaml"
    path.write_text(yaml.safe_dump(spec))
    metrics = run(path).metrics["metrics"]
    assert {"test/digit/accuracy", "test/parity/accuracy"} <= set(metrics)


def test_task_streams_compose_with_stages_unfreezing_early_stopping_and_resume(tmp_path, digits_halves, monkeypatch):
    extra = """
    surgery: [{kind: freeze}]
    training:
      verbose: 0
      task_weighting: {kind: uncertainty}
      stages:
        - {name: heads, epochs: 1, optimizer: {learning_rate: 0.01}}
        - {name: all, epochs: 2, surgery: [{kind: unfreeze}], gradual_unfreezing: {start: 1}, early_stopping: {patience: 2}, optimizer: {learning_rate: 0.003}}
    """
    path = streams_spec(tmp_path, digits_halves, extra)
    spec = load_spec_file(path)
    result = crash_in_evaluation_then_resume(spec, path, monkeypatch)
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert [r["stage_name"] for r in rows] == ["heads", "all", "all"]
    assert "weight_parity" in rows[-1] and "val_parity_accuracy" in rows[-1]
    assert result.metrics["metrics"]["test/parity/accuracy"] > 0.6


def test_resume_after_a_completed_stage_restores_the_weighting_strategys_variables(tmp_path, digits_labels, monkeypatch):
    import adaptkit._runner as runner

    extra = """
    training:
      verbose: 0
      task_weighting: {kind: uncertainty}
      stages:
        - {name: a, epochs: 2, optimizer: {learning_rate: 0.01}}
        - {name: b, epochs: 1, optimizer: {learning_rate: 0.01}}
    """
    path = mt_spec(tmp_path, digits_labels, extra)
    spec = load_spec_file(path)
    whole = run_pipeline(spec, path)
    first = list(csv.DictReader((whole.run_dir / "history.csv").open()))
    with monkeypatch.context() as m:
        original = runner.plan_stage

        def stop_at_b(run, s, *a, **k):
            if s == 1:
                raise KeyboardInterrupt
            return original(run, s, *a, **k)

        m.setattr(runner, "plan_stage", stop_at_b)
        with pytest.raises(KeyboardInterrupt):
            run_pipeline(spec, path)
    resumed = run_pipeline(spec, path, resume=True)
    again = list(csv.DictReader((resumed.run_dir / "history.csv").open()))
    # stage b starts from the log-variances stage a learnt, not from 0 (weight 0.5); a resumed
    # stage sees the data in another order, so the epoch's mean weight agrees closely, not exactly
    assert float(again[-1]["weight_digit"]) == pytest.approx(float(first[-1]["weight_digit"]), rel=0.01)
    assert float(again[-1]["weight_digit"]) != pytest.approx(0.5, abs=1e-3)


def test_task_names_that_clash_with_keras_validation_prefix_are_refused(tmp_path, digits_labels):
    tasks = "[{name: val, label: digit, head: {kind: classifier}}, {name: parity, head: {kind: classifier}}]"
    with pytest.raises(SpecError, match=r"^tasks.0.name: 'val': task names may not"):
        load_spec_file(mt_spec(tmp_path, digits_labels, tasks=tasks))


def test_head_on_multi_label_data_says_to_use_tasks(tmp_path, digits_labels):
    import yaml

    path = mt_spec(tmp_path, digits_labels)
    data = yaml.safe_load(path.read_text())
    data.pop("tasks")
    data["head"] = {"kind": "classifier"}
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(SpecError, match=r"^head: data.train has several labels \(digit, parity, value\): use tasks"):
        run(path)


def test_adda_on_a_multi_task_model_keeps_every_tasks_metrics(tmp_path, digits_labels):
    with np.load(digits_labels) as d:
        x = d["x"]
    target = tmp_path / "target.npz"
    np.savez(target, x=(16 - x).astype("float32"))
    extra = f"""
    data: {{target: {{kind: arrays, path: {target}, scale: 0.0625, labeled: false}}}}
    training:
      verbose: 0
      stages:
        - {{name: source, epochs: 1, optimizer: {{learning_rate: 0.01}}}}
        - {{name: adda, epochs: 1, losses: [{{kind: adda}}]}}
    """
    result = run(mt_spec(tmp_path, digits_labels, extra))
    assert result.metrics["headline"]["value"] is not None
    assert {"test/digit/accuracy", "test/parity/accuracy", "test/value/mae"} <= set(result.metrics["metrics"])
