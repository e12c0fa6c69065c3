"""The test, docs and README templates of ``adaptkit new-plugin`` (see :mod:`adaptkit._scaffold_code`).

The generated tests use adaptkit's test kit (:mod:`adaptkit.testing`): one small
end-to-end run shared by the module (a spec with every generated kind), plus one
fast test per kind on dummy inputs and one for a bad setting.
"""

from __future__ import annotations

TESTS_HEAD = '''\
"""Tests of adaptkit-$dist with adaptkit's test kit (the ``adaptkit.testing`` pytest plugin:
its fixtures, such as ``adaptkit_digits``, come with adaptkit; without its entry point, run
``pytest -p adaptkit.testing``)."""

from __future__ import annotations

import numpy as np
import pytest

from adaptkit.testing import build_head, check_plugin, check_save_reload, compose_loss, digits_arrays, digits_spec, expect_error, fake_step_batch, run_spec

PLUGIN = "adaptkit_$prefix"


@pytest.fixture(scope="module")
def csv_file(tmp_path_factory):
    """The 400 real digits of the test kit as a CSV table: 64 pixel columns (0..1) and ``label``."""
    x, y = digits_arrays()
    x = x.reshape(len(x), -1) / 16.0
    path = tmp_path_factory.mktemp("csv") / "digits.csv"
    header = ",".join(f"p{i}" for i in range(x.shape[1])) + ",label"
    path.write_text("\\n".join([header] + [",".join(f"{v:.4g}" for v in row) + f",{label}" for row, label in zip(x, y)]) + "\\n")
    return path


def spec_with_every_kind(digits, csv_file):
    """A small spec (400 digits, one stage) that uses each kind of this plugin."""
    spec = digits_spec(digits, name="$prefix")
    spec["training"]["stages"][0]["epochs"] = 8
$spec_lines    return spec


@pytest.fixture(scope="module")
def run(tmp_path_factory, adaptkit_digits, csv_file):
    """One real run, shared by the tests that read its results."""
    return run_spec(tmp_path_factory.mktemp("run"), spec_with_every_kind(adaptkit_digits, csv_file))


def test_the_plugin_is_sound(csv_file):
    """Imports without TensorFlow, no unmarked hooks, every kind built on dummy inputs and accepted."""
    report = check_plugin(PLUGIN, sections={"${prefix}_csv": {"kind": "${prefix}_csv", "path": str(csv_file)}})
    assert not report.skipped, report.skipped


def test_a_spec_with_every_kind_trains(run):
    assert run.result["headline"]["value"] > 0.3  # 10 classes: chance is 0.1
'''

TESTS = {
    "loss": '''

def test_the_penalty_is_the_negative_entropy_of_the_predictions():
    batch = fake_step_batch()
    check = compose_loss({"kind": "${prefix}_confidence_penalty", "weight": 0.5}, batch=batch)
    import keras

    p = keras.ops.convert_to_numpy(batch.outputs_source)
    assert check.values["${prefix}_confidence_penalty"] == pytest.approx(float(np.mean(np.sum(p * np.log(p), axis=1))), rel=1e-4)
    assert check.weights == {"${prefix}_confidence_penalty": 0.5}


def test_the_penalty_is_logged_per_epoch(run):
    header = (run.run_dir / "history.csv").read_text().splitlines()[0].split(",")
    assert "${prefix}_confidence_penalty" in header


def test_a_negative_weight_is_refused(tmp_path, adaptkit_digits):
    spec = digits_spec(adaptkit_digits)
    spec["training"]["stages"][0]["losses"] = [{"kind": "${prefix}_confidence_penalty", "weight": -1.0}]
    expect_error(spec, where="training.stages.0.losses.0.weight", message="greater than or equal to 0", directory=tmp_path)
''',
    "head": '''

def test_the_head_emits_probabilities():
    built = build_head({"kind": "${prefix}_head", "temperature": 2.0})
    assert np.allclose(built.outputs.sum(axis=1), 1.0, atol=1e-5)


def test_the_heads_layer_survives_save_and_reload():
    from adaptkit_$prefix.layers import TemperatureSoftmax

    check_save_reload(TemperatureSoftmax(2.0), np.random.default_rng(0).normal(size=(4, 3)).astype("float32"))


def test_a_head_without_units_is_refused(tmp_path, adaptkit_digits):
    spec = digits_spec(adaptkit_digits, head={"kind": "${prefix}_head", "hidden": 0})
    expect_error(spec, where="head.hidden", message="greater than or equal to 1", directory=tmp_path)
''',
    "data": '''

def test_a_missing_label_column_is_a_one_line_error(tmp_path, adaptkit_digits, csv_file):
    spec = digits_spec(adaptkit_digits)
    spec["data"]["train"] = {"kind": "${prefix}_csv", "path": str(csv_file), "label": "digit"}
    expect_error(spec, where="data.train.label", message="has no column 'digit'", directory=tmp_path)
''',
    "source": '''

def test_the_source_flattens_examples_into_named_dense_layers():
    from adaptkit import get_host
    from adaptkit.testing import context, section

    source = section("source", {"kind": "${prefix}_dense", "units": 16, "depth": 2})
    model = get_host().call_first("adaptkit_load_source", "source", source, input_shape=(8, 8, 1), context=context("source"))
    assert tuple(model.output.shape[1:]) == (16,)
    assert [layer.name for layer in model.layers][-2:] == ["${prefix}_dense1", "${prefix}_dense2"]
''',
    "metric": '''

def test_the_macro_f1_is_reported_beside_accuracy(run):
    f1, accuracy = run.metrics["test/${prefix}_macro_f1"], run.metrics["test/accuracy"]
    assert 0.0 <= f1 <= 1.0 and abs(f1 - accuracy) < 0.2
''',
}

SPEC_LINES = {
    "data": '    spec["data"]["train"] = {"kind": "${prefix}_csv", "path": str(csv_file)}\n',
    "source": '    spec["source"] = {"kind": "${prefix}_dense", "units": 64}\n',
    "head": '    spec["head"] = {"kind": "${prefix}_head", "hidden": 32}\n',
    "loss": '    spec["training"]["stages"][0]["losses"] = [{"kind": "${prefix}_confidence_penalty", "weight": 0.1}]\n',
    "metric": '    spec["evaluation"]["metrics"] = [{"kind": "accuracy"}, {"kind": "${prefix}_macro_f1"}]\n',
}

DOC_HEAD = '''\
# adaptkit-$dist

$title.

Install it beside adaptkit (`pip install -e .` in this folder); `adaptkit plugins` then
lists `$prefix` as `ok` and `adaptkit schema` includes its kinds. Run its tests with
`pytest` (adaptkit's test kit comes with adaptkit; without its pytest entry point,
`pytest -p adaptkit.testing`).

| kind | family | what |
|---|---|---|
$kind_rows
A spec using them (save it beside a `digits.csv` with pixel columns and a `label` column):

```yaml
$example```
'''

KIND_ROWS = {
    "loss": "| `${prefix}_confidence_penalty` | `training.stages[i].losses` | the mean negative entropy of the head's probabilities, times `weight` (default 0.1); logged per epoch as `${prefix}_confidence_penalty` |\n",
    "head": "| `${prefix}_head` | `head` | Dense(`hidden`, relu), class logits, softmax at `temperature` (a registered layer, so `model.keras` reloads) |\n",
    "data": "| `${prefix}_csv` | `data.train` / `data.test` / `data.target` | a CSV table: numeric feature columns and an integer class column `label` |\n",
    "source": "| `${prefix}_dense` | `source` | `depth` Dense layers of `units`, random initialisation |\n",
    "metric": "| `${prefix}_macro_f1` | `evaluation.metrics` | macro-averaged F1 on every labeled split (`<split>/${prefix}_macro_f1` in `metrics.json`) |\n",
}

EXAMPLE = {
    "head": "head: {kind: ${prefix}_head, hidden: 32, temperature: 1.0}\n",
    "source": "source: {kind: ${prefix}_dense, units: 64}\n",
}
