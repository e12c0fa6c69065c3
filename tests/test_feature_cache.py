"""Frozen features computed once (training.cache): exact against the uncached run, the cut found
where it should be, recomputed when it moves, spilled to disk beyond the memory limit, refused
where caching would change the results, and the saved model still takes raw inputs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from adaptkit import get_host, load_spec
from adaptkit._runner import configure_determinism, run_pipeline, start_run
from adaptkit._types import RunContext


def _spec(digits_npz, tmp_path, **over):
    spec = {
        "name": "fc",
        "seed": 1,
        "output_dir": str(tmp_path / "runs"),
        "data": {"train": {"kind": "arrays", "path": str(digits_npz), "scale": 0.0625}, "batch_size": 64},
        "source": {"kind": "mlp", "units": [64, 32]},
        "surgery": [{"kind": "freeze"}],
        "head": {"kind": "classifier", "hidden": [16], "dropout": 0.2},
        "training": {
            "verbose": 0,
            "stages": [
                {"epochs": 2, "optimizer": {"learning_rate": 0.01}},
                {"epochs": 1, "optimizer": {"learning_rate": 0.003}, "surgery": [{"kind": "unfreeze", "last_layers": 1}]},
            ],
        },
        "evaluation": {"plots": False},
    }
    spec.update(over)
    return spec


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, digits_npz):
    """The same spec (frozen base + head, then the top layer unfrozen: both cached; then everything
    unfrozen: uncached after cached stages), cached and uncached."""
    out = {}
    for mode in ("auto", "off"):
        folder = tmp_path_factory.mktemp(mode)
        spec = _spec(digits_npz, folder)
        spec["training"]["stages"].append({"epochs": 2, "optimizer": {"learning_rate": 0.001}, "surgery": [{"kind": "unfreeze"}]})
        spec["training"]["cache"] = {"mode": mode}
        path = folder / "spec.yaml"
        path.write_text(yaml.safe_dump(spec))
        out[mode] = run_pipeline(load_spec(spec), path).run_dir
    return out


def _history(run_dir: Path) -> list[dict]:
    with open(run_dir / "history.csv") as f:
        return list(csv.DictReader(f))


def test_cached_run_gives_the_uncached_metrics_epoch_by_epoch(two_runs):
    cached, plain = (json.loads((two_runs[m] / "metrics.json").read_text())["metrics"] for m in ("auto", "off"))
    assert cached.keys() == plain.keys()
    for key in plain:
        assert cached[key] == pytest.approx(plain[key], rel=1e-4, abs=1e-5), key
    assert plain["test/accuracy"] > 0.5  # it learnt something: the comparison means something
    rows = list(zip(_history(two_runs["auto"]), _history(two_runs["off"])))
    assert [r["stage"] for r, _ in rows] == ["1", "1", "2", "3", "3"]
    for a, b in rows:
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert float(a[key]) == pytest.approx(float(b[key]), rel=1e-4, abs=1e-5), (a["epoch"], key)


def test_the_saved_model_is_the_whole_model_taking_raw_inputs(two_runs, digits_npz):
    import keras

    with np.load(digits_npz) as f:
        x = f["x"][:200]  # raw values: the 1/16 scale is inside the model
    cached, plain = (keras.saving.load_model(two_runs[m] / "model.keras") for m in ("auto", "off"))
    assert cached.input_shape == plain.input_shape
    np.testing.assert_allclose(cached.predict(x, verbose=0), plain.predict(x, verbose=0), atol=1e-5)
    assert not list(two_runs["auto"].rglob("*.npy"))  # no features left in the run directory


def _state(spec_dict, tmp_path):
    spec = load_spec(spec_dict)
    configure_determinism(spec.seed)
    ctx = RunContext(seed=spec.seed, spec_dir=tmp_path)
    ctx.run_dir = tmp_path / "run"
    return start_run(spec, get_host(), ctx)


def _plan(run, s):
    from adaptkit._stages import plan_stage, prepare_stage

    prepare_stage(run, s)
    return plan_stage(run, s)


def test_the_cut_moves_with_trainability_and_spills_beyond_the_memory_limit(digits_npz, tmp_path):
    from adaptkit._feature_cache import close_cache

    spec = _spec(digits_npz, tmp_path)
    spec["training"]["cache"] = {"memory_limit_mb": 0}
    run = _state(spec, tmp_path)
    first = _plan(run, 0)
    assert first.model.name == "cached_suffix" and first.model is not run.parts.model
    x, y = next(iter(first.fit_data))
    assert tuple(x.shape) == (64, 32)  # the encoder's output: the head trains on it
    stored = run.feature_cache.splits["train"].features[0]
    files = sorted(p.name for p in run.feature_cache.folder.glob("*.npy"))
    assert files == ["train_0.npy", "validation_0.npy"] and isinstance(stored, np.memmap)
    np.testing.assert_allclose(stored[:5], run.parts.encoder.predict(next(iter(run.splits.batched("train", 5)))[0], verbose=0), atol=1e-6)
    key = run.feature_cache.key
    second = _plan(run, 1)  # dense2 trains now: the cut moves below it
    assert run.feature_cache.key != key
    x, _ = next(iter(second.fit_data))
    assert tuple(x.shape) == (64, 64)
    folder = run.feature_cache.folder
    close_cache(run)
    assert not folder.exists()


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"augment": [{"kind": "random_flip"}]}, "random"),
        ({"training": {"cache": {"mode": "off"}}}, "off"),
        ({"surgery": []}, "everything trains"),
    ],
)
def test_no_cache_where_it_would_change_the_results(digits_npz, tmp_path, change, reason):
    spec = _spec(digits_npz, tmp_path)
    if "augment" in change:  # images for the flip: the digits as 8x8x1 pictures
        spec["augment"] = change["augment"]
    else:
        for key, value in change.items():
            spec[key] = dict(spec[key], **value) if key == "training" else value
    spec["training"]["stages"] = spec["training"]["stages"][:1]
    run = _state(spec, tmp_path)
    plan = _plan(run, 0)
    assert plan.model is run.parts.model, reason
    assert plan.validation is run.streams.validation


def test_the_cut_stops_below_dropout_in_the_frozen_source(digits_npz, tmp_path):
    spec = _spec(digits_npz, tmp_path, source={"kind": "mlp", "units": [64, 32], "dropout": 0.3})
    spec["training"]["stages"] = spec["training"]["stages"][:1]
    run = _state(spec, tmp_path)
    plan = _plan(run, 0)
    x, _ = next(iter(plan.fit_data))
    assert tuple(x.shape) == (64, 64)  # dense1's output: dropout1 (random in training) and dense2 run each step


def test_layers_random_in_training_are_found_inside_other_layers():
    import keras

    from adaptkit._cache_boundary import random_layer

    assert random_layer(keras.layers.Dropout(0.0)) is None
    assert "Dropout" in random_layer(keras.layers.Dropout(0.1))
    assert "RandomFlip" in random_layer(keras.layers.RandomFlip())
    attention = keras.layers.MultiHeadAttention(2, 4, dropout=0.1)
    attention.build((None, 3, 8), (None, 3, 8))
    assert random_layer(attention) is not None  # its dropout is a sublayer
    bn = keras.layers.BatchNormalization()
    assert random_layer(bn) is not None
    bn.trainable = False
    assert random_layer(bn) is None


def test_the_evaluation_predicts_the_cached_splits_with_the_head_on_their_features(digits_npz, tmp_path):
    """The last stage cached train and validation: the evaluation's predictions of those splits come
    from the trained head on the stored features, and equal the whole model's on the raw examples."""
    from adaptkit._evaluation import evaluation_sets
    from adaptkit._feature_cache import cached_predictions, close_cache
    from adaptkit._predictions import Predictions, predict
    from adaptkit._runner import train_stages

    spec = _spec(digits_npz, tmp_path)
    spec["training"]["stages"] = spec["training"]["stages"][:1]  # frozen base + head: cached to the end
    run = _state(spec, tmp_path)
    train_stages(run, keep_cache=True)
    sets = evaluation_sets(run)
    predictions = Predictions(sets)
    assert cached_predictions(run, predictions) == ["train", "validation"]
    for split in ("train", "validation"):
        y, p = predictions.of(run.parts.model, split)
        y_whole, p_whole = predict(run.parts.model, sets[split])
        np.testing.assert_array_equal(y, y_whole)
        np.testing.assert_allclose(p, p_whole, atol=1e-5)
        assert (p.argmax(-1) == y).mean() > 0.5  # a trained head, not a constant
    close_cache(run)
    assert run.feature_cache is None
    train_stages(run)  # without keep_cache (the baseline's, lr-find's runs): the features are dropped
    assert run.feature_cache is None


def test_a_run_whose_last_stage_is_cached_gives_the_uncached_metrics(digits_npz, tmp_path):
    metrics = {}
    for mode in ("auto", "off"):
        spec = _spec(digits_npz, tmp_path / mode)
        spec["training"]["stages"] = spec["training"]["stages"][:1]
        spec["training"]["cache"] = {"mode": mode}
        result = run_pipeline(load_spec(spec), tmp_path / "spec.yaml")
        metrics[mode] = json.loads((result.run_dir / "metrics.json").read_text())["metrics"]
        assert not list(result.run_dir.rglob("*.npy"))
    assert metrics["auto"].keys() == metrics["off"].keys()
    assert {"validation/accuracy", "test/accuracy"} <= metrics["off"].keys()
    for key, value in metrics["off"].items():
        assert metrics["auto"][key] == pytest.approx(value, rel=1e-4, abs=1e-5), key
