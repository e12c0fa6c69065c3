"""After a run: ``adaptkit predict``, ``evaluate``, ``export`` and ``runs`` on one real finished run
(the session's digits run), checked against ``model.keras`` fed the raw examples."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from adaptkit.cli import main

ROOT = Path(__file__).resolve().parents[1]


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def one_error_line(result, *words):
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.exit_code == 2, result.output
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    assert "Traceback" not in result.output


@pytest.fixture(scope="module")
def new_digits(tmp_path_factory, digits_npz):
    """New files as a user has them: raw 0..16 values, 40 labeled examples and 25 without labels."""
    folder = tmp_path_factory.mktemp("new")
    with np.load(digits_npz) as npz:
        x, y = npz["x"], npz["y"]
    np.savez(folder / "labeled.npz", x=x[-40:], y=y[-40:])
    np.savez(folder / "unlabeled.npz", x=x[:25])
    np.savez(folder / "flat.npz", x=x[:5].reshape(5, -1))
    return folder


@pytest.fixture(scope="module")
def model(finished_run):
    from adaptkit import load_model

    return load_model(finished_run / "model.keras")


def digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def test_predict_writes_one_row_per_example_with_the_models_probabilities_on_raw_inputs(finished_run, new_digits, model):
    before = digest(finished_run)
    result = invoke("predict", finished_run, new_digits / "unlabeled.npz")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    names = json.loads((finished_run / "metrics.json").read_text())["tasks"][0]["class_names"]
    assert [r["id"] for r in rows] == [str(i) for i in range(25)]  # the file's order
    assert list(rows[0]) == ["id", "prediction", *[f"prob_{n}" for n in names]]
    with np.load(new_digits / "unlabeled.npz") as npz:
        expected = np.asarray(model(npz["x"]))  # model.keras on the raw values
    probs = np.array([[float(r[f"prob_{n}"]) for n in names] for r in rows])
    np.testing.assert_allclose(probs, expected, atol=1e-6)
    assert [r["prediction"] for r in rows] == [names[k] for k in expected.argmax(-1)]
    assert digest(finished_run) == before  # nothing of the run is touched


def test_predict_reads_a_yaml_data_section_and_writes_json_lines(finished_run, new_digits, tmp_path, model):
    section = tmp_path / "new.yaml"
    section.write_text(f"data: {{kind: arrays, path: {new_digits / 'labeled.npz'}, scale: 0.0625}}\n")
    out = tmp_path / "predictions.jsonl"
    result = invoke("predict", finished_run, section, "--output", out)
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 40 and rows[0]["id"] == "0"
    with np.load(new_digits / "labeled.npz") as npz:
        expected = np.asarray(model(npz["x"]))
    names = [k for k in rows[0] if k.startswith("prob_")]
    np.testing.assert_allclose([[r[k] for k in names] for r in rows], expected, atol=1e-6)


def test_evaluate_scores_new_labeled_data_with_the_runs_metrics(finished_run, new_digits, tmp_path, model):
    before = digest(finished_run)
    out = tmp_path / "scores.json"
    result = invoke("evaluate", finished_run, new_digits / "labeled.npz", "--output", out)
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    with np.load(new_digits / "labeled.npz") as npz:
        p, y = np.asarray(model(npz["x"])), npz["y"]
    assert report["examples"] == 40
    assert report["metrics"]["accuracy"] == pytest.approx(float(np.mean(p.argmax(-1) == y)))
    assert set(report["metrics"]) >= {"accuracy", "loss", "balanced_accuracy"}
    run_metrics = json.loads((finished_run / "metrics.json").read_text())["metrics"]
    assert report["run_test"]["accuracy"] == run_metrics["test/accuracy"]
    assert "accuracy" in result.stdout and "run's test" in result.stdout
    assert digest(finished_run) == before


def test_evaluate_writes_beside_the_run_by_default_never_over_a_file(finished_run, new_digits):
    first = invoke("evaluate", finished_run, new_digits / "labeled.npz")
    second = invoke("evaluate", finished_run, new_digits / "labeled.npz")
    assert first.exit_code == second.exit_code == 0
    written = sorted(finished_run.glob("evaluate-labeled-*.json"))
    assert len(written) == 2
    for path in written:
        path.unlink()


def test_evaluate_refuses_data_without_labels(finished_run, new_digits):
    one_error_line(invoke("evaluate", finished_run, new_digits / "unlabeled.npz"), "no array 'y'")


@pytest.mark.parametrize("fmt", ["saved_model", "tflite", "onnx"])
def test_export_loads_back_and_predicts_as_the_keras_model(fmt, finished_run, new_digits, tmp_path, model):
    if fmt == "onnx":
        pytest.importorskip("tf2onnx")
        ort = pytest.importorskip("onnxruntime")
    import tensorflow as tf

    target = tmp_path / {"saved_model": "sm", "tflite": "m.tflite", "onnx": "m.onnx"}[fmt]
    result = invoke("export", finished_run, "--format", fmt, "--output", target)
    assert result.exit_code == 0, result.output
    with np.load(new_digits / "unlabeled.npz") as npz:
        x = npz["x"][:1]
    expected = np.asarray(model(x))
    if fmt == "saved_model":
        loaded = tf.saved_model.load(str(target))  # kept: its variables live as long as it does
        got = loaded.serve(tf.constant(x)).numpy()
    elif fmt == "tflite":
        interpreter = tf.lite.Interpreter(model_path=str(target))
        interpreter.allocate_tensors()
        interpreter.set_tensor(interpreter.get_input_details()[0]["index"], x)
        interpreter.invoke()
        got = interpreter.get_tensor(interpreter.get_output_details()[0]["index"])
    else:
        session = ort.InferenceSession(str(target))
        got = session.run(None, {session.get_inputs()[0].name: x})[0]
    np.testing.assert_allclose(got, expected, atol=1e-5)
    again = invoke("export", finished_run, "--format", fmt, "--output", target)
    one_error_line(again, "exists")


def test_runs_lists_finished_running_and_interrupted_runs_newest_first(finished_run, tmp_path):
    from adaptkit._rundir import Checkpoints, RunDir

    folder = tmp_path / "runs"
    shutil.copytree(finished_run, folder / finished_run.name)
    interrupted = RunDir(folder, "stopped")
    interrupted.write_text("spec.yaml", "name: stopped\n")
    Checkpoints(interrupted.partial).save_state("digest", 1, [{"epoch": 0, "loss": 1.0}])
    interrupted.release()
    running = RunDir(folder, "busy")  # this process holds its lock, as a live run does
    try:
        result = invoke("runs", folder, "--json")
        assert result.exit_code == 0, result.output
        rows = json.loads(result.stdout)
        assert rows[0]["name"].startswith("busy-")  # no spec.yaml yet: the folder's name
        assert [r["name"] for r in rows][1:] == ["stopped", "finished"]
        status = {r["name"].split("-")[0]: r["status"] for r in rows}
        assert status["busy"] == "running" and status["stopped"].startswith("interrupted (resumable")
        assert status["finished"] == "finished"
        done = rows[2]
        metrics = json.loads((finished_run / "metrics.json").read_text())
        assert done["headline"] == {"metric": metrics["headline"]["metric"], "value": metrics["headline"]["value"]}
        assert done["wall_time_s"] == metrics["wall_time_s"]
        table = invoke("runs", folder)
        assert table.exit_code == 0 and "interrupted" in table.stdout and "running" in table.stdout
    finally:
        running.discard()


def test_runs_imports_no_tensorflow(finished_run):
    import subprocess
    import sys

    code = (
        "import sys; from adaptkit.cli import main; "
        f"main(['runs', {str(finished_run.parent)!r}], standalone_mode=False); "
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert finished_run.name in done.stdout


def test_bad_input_is_one_line_and_exit_2(finished_run, new_digits, tmp_path):
    one_error_line(invoke("predict", tmp_path, new_digits / "unlabeled.npz"), "not a run directory")
    one_error_line(invoke("predict", finished_run, tmp_path / "missing.npz"), "missing.npz", "no such file")
    one_error_line(invoke("predict", finished_run, new_digits / "flat.npz"), "shape (64,)", "(8, 8, 1)")
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"not a zip")
    one_error_line(invoke("evaluate", finished_run, corrupt), "corrupt.npz")
    one_error_line(invoke("predict", finished_run, new_digits / "unlabeled.npz", "--output", tmp_path / "p.txt"), "--output")
    assert not (tmp_path / "p.txt").exists()
    no_model = tmp_path / "no-model"
    shutil.copytree(finished_run, no_model)
    (no_model / "model.keras").unlink()
    one_error_line(invoke("export", no_model), "model.keras", "no saved model")
    one_error_line(invoke("runs", tmp_path / "nowhere"), "no such folder")


def test_new_image_folders_and_text_tables_give_their_ids(tmp_path):
    """The shipped loaders read new data whole, without labels, and name each example."""
    from PIL import Image

    from adaptkit import RunContext
    from adaptkit_text.data import load_text_table
    from adaptkit_text.sections import TextTable
    from adaptkit_vision.data import load_image_directory
    from adaptkit_vision.sections import ImageDirectoryData

    images = tmp_path / "images"
    (images / "sub").mkdir(parents=True)
    for name in ("b.png", "a.png", "sub/c.png"):
        Image.fromarray(np.full((5, 7, 3), 9, dtype=np.uint8)).save(images / name)
    trained = ImageDirectoryData(path=str(tmp_path), image_size=(4, 4), limit_per_class=1)
    section = trained.reading(str(images)).unlabeled()
    assert section.limit_per_class is None and section.labeled is False
    source = load_image_directory(section, RunContext(seed=1, spec_dir=tmp_path))
    assert sorted(source.ids) == sorted(str(images / n) for n in ("a.png", "b.png", "sub/c.png"))
    first = next(iter(source.dataset))
    assert tuple(first.shape) == (4, 4, 3)

    table = tmp_path / "texts.csv"
    table.write_text("text,label\ngood,pos\nbad,neg\nfine,pos\n")
    trained = TextTable(kind="text_table", path="train.csv", label_column="label", skip=2, limit=1)
    section = trained.reading(str(table)).unlabeled()
    source = load_text_table(section, RunContext(seed=1, spec_dir=tmp_path))
    assert source.size == 3 and sorted(source.ids) == [f"{table}:{n}" for n in (2, 3, 4)]


def test_the_docs_yaml_data_section_predicts(finished_run, digits_npz, tmp_path):
    """docs/after-the-run.md's data section, saved beside a data/digits/mnist.npz of this run's shape."""
    import re

    block = re.findall(r"```yaml\n(.*?)```", (ROOT / "docs" / "after-the-run.md").read_text(), re.S)[0]
    (tmp_path / "data" / "digits").mkdir(parents=True)
    shutil.copy(digits_npz, tmp_path / "data" / "digits" / "mnist.npz")
    (tmp_path / "new.yaml").write_text(block)
    result = invoke("predict", finished_run, tmp_path / "new.yaml", "--output", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "p.csv").read_text().splitlines()) == 1 + 1797


def test_a_model_taking_strings_exports_as_a_saved_model_only(tmp_path):
    import keras
    import tensorflow as tf

    from adaptkit import SpecError
    from adaptkit._export import FORMATS, _call_once, _check_inputs

    text = keras.Input(shape=(), dtype="string")
    model = keras.Model(text, keras.layers.StringLookup(vocabulary=["a", "b"])(text))
    _check_inputs(model, "saved_model")
    for fmt in ("tflite", "onnx"):
        with pytest.raises(SpecError, match="takes strings"):
            _check_inputs(model, fmt)
    _call_once(model, "saved_model")  # what export_run does before exporting: nothing for strings
    model.export(str(tmp_path / "sm"), format=FORMATS["saved_model"], verbose=False)
    served = tf.saved_model.load(str(tmp_path / "sm"))
    assert served.serve(tf.constant(["b", "a", "zzz"])).numpy().tolist() == [2, 1, 0]


def test_a_multi_task_run_predicts_and_scores_each_task(tmp_path, digits_npz, new_digits):
    """Two tasks on one file (the digit, and its value as a regression): columns and metrics per task."""
    from adaptkit import load_model, load_spec
    from adaptkit._runner import run_pipeline

    spec = load_spec({
        "name": "mt", "seed": 1, "output_dir": str(tmp_path / "runs"),
        "data": {"train": {"kind": "arrays", "path": str(digits_npz), "scale": 0.0625, "labels": [
            {"key": "y", "name": "digit"}, {"key": "y", "name": "value", "task": "regression"}]}, "batch_size": 128},
        "source": {"kind": "mlp", "units": [16]},
        "tasks": [{"name": "digit", "head": {"kind": "classifier"}}, {"name": "value", "head": {"kind": "regression"}}],
        "training": {"verbose": 0, "stages": [{"epochs": 1}]},
        "evaluation": {"baseline": False, "plots": False},
    })
    run = run_pipeline(spec, tmp_path / "mt.yaml").run_dir
    result = invoke("predict", run, new_digits / "unlabeled.npz")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["id", "digit/prediction", *[f"digit/prob_{k}" for k in range(10)], "value/prediction"]
    with np.load(new_digits / "unlabeled.npz") as npz:
        expected = load_model(run / "model.keras")(npz["x"])
    np.testing.assert_allclose([float(r["value/prediction"]) for r in rows], np.asarray(expected["value"]).reshape(-1), atol=1e-5)
    scored = invoke("evaluate", run, new_digits / "labeled.npz", "--output", "-")
    assert scored.exit_code == 0, scored.output
    metrics = json.loads(scored.stdout)["metrics"]
    assert {"digit/accuracy", "value/mae"} <= set(metrics)


def test_a_run_written_before_tasks_were_kept_takes_its_class_names_from_the_test_predictions(finished_run, new_digits, tmp_path):
    old = tmp_path / "old-run"
    shutil.copytree(finished_run, old)
    metrics = json.loads((old / "metrics.json").read_text())
    names = metrics.pop("tasks")[0]["class_names"]
    (old / "metrics.json").write_text(json.dumps(metrics))
    result = invoke("predict", old, new_digits / "unlabeled.npz")
    assert result.exit_code == 0, result.output
    assert next(csv.reader(io.StringIO(result.stdout))) == ["id", "prediction", *[f"prob_{n}" for n in names]]


def test_a_one_unit_sigmoid_classifier_predicts_class_names():
    import numpy as np

    from adaptkit._predict import _task_columns
    from adaptkit._types import TaskInfo

    columns = _task_columns("", TaskInfo(["ok", "defect"]), np.array([[0.2], [0.9]]))
    assert list(columns["prediction"]) == ["ok", "defect"]
    assert list(columns["score_defect"]) == [0.2, 0.9]
