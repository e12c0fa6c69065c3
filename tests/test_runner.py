"""End-to-end runs with real Keras on real (small) data: run directory, stages, BatchNorm,
sequential learning, determinism, and failures that leave nothing behind."""

from __future__ import annotations

import csv
import re
import json
from pathlib import Path

import numpy as np
import pytest

from adaptkit import DataError, ModelError, SpecError, load_spec_file
from adaptkit._runner import run_pipeline


def run(spec_path: Path, overrides=()):
    spec = load_spec_file(spec_path, list(overrides))
    return run_pipeline(spec, spec_path)


def entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir()) if path.exists() else []


def test_run_writes_a_complete_run_directory_with_baseline(spec_file):
    result = run(spec_file("evaluation: {baseline: true}"))
    files = entries(result.run_dir)
    for name in ("spec.yaml", "model.keras", "metrics.json", "history.csv", "baseline_history.csv", "run.log", "curves.png"):
        assert name in files
    assert not [f for f in files if f.startswith(".")]
    assert not [p for p in entries(result.run_dir.parent) if p.endswith(".partial")]
    metrics = json.loads((result.run_dir / "metrics.json").read_text())
    assert metrics["headline"]["metric"] == "test/accuracy"
    assert metrics["headline"]["value"] > 0.5  # 10 classes: chance is 0.1
    assert metrics["data"] == {"test": 359, "validation": 288, "train": 1150}
    assert set(metrics["transfer"]) >= {"higher_start", "steeper_slope", "higher_asymptote", "negative_transfer"}
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert [r["epoch"] for r in rows] == ["1", "2"] and "val_accuracy" in rows[0]
    import keras

    model = keras.saving.load_model(result.run_dir / "model.keras", safe_mode=True)
    assert model.output_shape == (None, 10)


def test_same_seed_same_metrics(spec_file):
    path = spec_file()
    a = run(path).metrics["metrics"]
    b = run(path).metrics["metrics"]
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == pytest.approx(b[key], abs=1e-6)


def test_missing_data_fails_cleanly_and_writes_nothing(spec_file, tmp_path):
    path = spec_file("data: {train: {kind: arrays, path: nowhere.npz}}")
    with pytest.raises(SpecError) as info:  # found when the spec is read, before TensorFlow
        run(path)
    assert str(info.value) == f"data.train.path: no such file: {tmp_path / 'nowhere.npz'}"
    assert not (tmp_path / "runs").exists()  # not even an empty output folder


def test_corrupt_data_file(spec_file, tmp_path):
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"PK\x03\x04 this is not a zip archive")
    with pytest.raises(DataError, match=r"^data.train.path: .*bad.npz is not a readable .npz file"):
        run(spec_file(f"data: {{train: {{kind: arrays, path: {bad}}}}}"))
    assert entries(tmp_path / "runs") == []


def test_unknown_layer_in_surgery(spec_file, tmp_path):
    path = spec_file("surgery: [{kind: truncate, layer: dense9}]")
    with pytest.raises(SpecError) as info:
        run(path)
    assert str(info.value).startswith("surgery.0.layer: the model has no layer 'dense9'")
    assert entries(tmp_path / "runs") == []


CONV = """
data: {{train: {{kind: arrays, path: {npz}}}, batch_size: 64}}
source: {{kind: convnet, filters: [8, 8], batch_norm: true, scale: 0.0625}}
surgery: [{{kind: freeze}}]
training:
  verbose: 0
  batch_norm: {bn}
  stages:
    - {{name: head, epochs: 1, optimizer: {{learning_rate: 0.01}}}}
    - name: finetune
      epochs: 1
      optimizer: {{learning_rate: 0.001}}
      surgery: [{{kind: unfreeze, last_blocks: 1}}]
"""


def _bn_stats(model):
    from adaptkit import leaf_layers
    import keras

    return {
        layer.name: np.asarray(layer.moving_mean)
        for layer in leaf_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization)
    }


@pytest.mark.parametrize("bn", ["frozen", "adapt"])
def test_two_stages_and_batch_norm_switch(spec_file, digits_npz, bn):
    import keras

    result = run(spec_file(CONV.format(npz=digits_npz, bn=bn)))
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert [r["stage_name"] for r in rows] == ["head", "finetune"]
    log = (result.run_dir / "run.log").read_text()
    # stage 1 trains the head only; stage 2 also block2's conv (BN stays frozen unless 'adapt')
    head_params = 8 * 10 + 10
    assert f"stage 1 (head): {head_params:,} of" in log
    block2_conv = 3 * 3 * 8 * 8
    bn_params = 2 * 8 if bn == "adapt" else 0
    assert f"stage 2 (finetune): {head_params + block2_conv + bn_params:,} of" in log
    model = keras.saving.load_model(result.run_dir / "model.keras", safe_mode=True)
    stats = _bn_stats(model)
    assert np.allclose(stats["block1_bn"], 0.0)  # never unfrozen
    if bn == "frozen":
        assert np.allclose(stats["block2_bn"], 0.0)
    else:
        assert not np.allclose(stats["block2_bn"], 0.0)


def test_sequential_learning_from_a_saved_model(spec_file, tmp_path):
    import keras

    first = run(spec_file())
    source_model = keras.saving.load_model(first.run_dir / "model.keras", safe_mode=True)
    saved = source_model.get_layer("encoder").get_layer("source").get_layer("dense1").get_weights()[0]
    second_spec = spec_file(
        f"""
        name: second
        source: {{kind: keras_file, path: {first.run_dir / 'model.keras'}}}
        surgery: [{{kind: freeze}}]
        head: {{kind: classifier, hidden: [16]}}
        """
    )
    second = run(second_spec)
    reused = keras.saving.load_model(second.run_dir / "model.keras", safe_mode=True)
    after = reused.get_layer("encoder").get_layer("encoder").get_layer("source").get_layer("dense1").get_weights()[0]
    np.testing.assert_array_equal(saved, after)  # frozen source weights carried over unchanged
    assert second.metrics["headline"]["value"] > 0.5


def test_keras_file_source_errors(spec_file, tmp_path):
    with pytest.raises(SpecError, match=r"^source.path: no such file: .*missing.keras$"):
        run(spec_file("source: {kind: keras_file, path: missing.keras}"))
    junk = tmp_path / "junk.keras"
    junk.write_bytes(b"not a model")
    with pytest.raises(ModelError, match=r"^source.path: .*junk.keras does not load as a Keras model"):
        run(spec_file(f"source: {{kind: keras_file, path: {junk}}}"))
    assert entries(tmp_path / "runs") == []


def test_proxy_a_distance():
    from adaptkit_core.evaluate import proxy_a_distance

    rng = np.random.default_rng(0)
    same = proxy_a_distance(rng.normal(size=(400, 5)), rng.normal(size=(400, 5)))
    shifted = proxy_a_distance(rng.normal(size=(400, 5)), rng.normal(size=(400, 5)) + 3.0)
    assert same < 0.3
    assert shifted > 1.9


def test_domain_adaptation_run_reports_target_and_before_after(spec_file, tmp_path, digits_npz):
    with np.load(digits_npz) as d:
        x, y = d["x"], d["y"]
    target = tmp_path / "target.npz"
    np.savez(target, x=(16 - x).astype("float32"), y=y)  # inverted digits: a strong shift
    path = spec_file(
        f"""
        data:
          train: {{kind: arrays, path: {digits_npz}, scale: 0.0625}}
          target: {{kind: arrays, path: {target}, scale: 0.0625}}
          batch_size: 64
        training:
          verbose: 0
          stages:
            - {{name: source, epochs: 2, optimizer: {{learning_rate: 0.01}}}}
            - {{name: adapt, epochs: 2, optimizer: {{learning_rate: 0.003}}, losses: [{{kind: mmd}}]}}
        """
    )
    result = run(path)
    m = result.metrics["metrics"]
    for key in ("test/accuracy", "target_test/accuracy", "domain/proxy_a_distance", "domain/proxy_a_distance_before"):
        assert key in m, key
    assert m["domain/proxy_a_distance_before"] > 1.5  # inverted digits are easy to tell apart
    assert "mmd_loss" in result.metrics["last_epoch"]


def test_baseline_trains_every_layer_from_scratch(spec_file):
    result = run(spec_file("surgery: [{kind: freeze}]\nevaluation: {baseline: true}"))
    log = (result.run_dir / "run.log").read_text()
    line = next(l for l in log.splitlines() if "baseline (from scratch)" in l)
    trainable, total = re.search(r"([\d,]+) of ([\d,]+) parameters trainable", line).groups()
    assert trainable == total
    stage = next(l for l in log.splitlines() if "stage 1 (stage1)" in l)
    assert re.search(r"([\d,]+) of", stage).group(1) != total  # the transfer run kept its source frozen


def test_target_with_other_shapes_is_refused(spec_file, tmp_path, digits_npz):
    np.savez(tmp_path / "wide.npz", x=np.zeros((20, 9, 9, 1), "float32"), y=np.zeros(20, "int64"))
    path = spec_file(
        f"""
        data:
          train: {{kind: arrays, path: {digits_npz}}}
          target: {{kind: arrays, path: {tmp_path / 'wide.npz'}, labeled: false}}
        training:
          verbose: 0
          stages: [{{epochs: 1, losses: [{{kind: coral}}]}}]
        """
    )
    with pytest.raises(SpecError) as info:
        run(path)
    assert str(info.value) == "data.target: examples of shape (9, 9, 1) do not match data.train's (8, 8, 1)"
    assert entries(tmp_path / "runs") == []


def test_domain_loss_without_target_is_a_spec_error(spec_file):
    path = spec_file("training: {stages: [{epochs: 1, losses: [{kind: dann}]}]}")
    with pytest.raises(SpecError) as info:
        load_spec_file(path)
    assert str(info.value) == "training.stages.0.losses.0: 'dann' needs target-domain data: add data.target"
