"""Repeated seeds: one run directory per seed on one split, the aggregate, --resume; the one-seed verdict's warnings."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

import adaptkit._repeats as repeats
from adaptkit._plugins import get_host
from adaptkit._specfile import load_spec_file
from adaptkit._splits import load_splits
from adaptkit._types import RunContext
from adaptkit.cli import main


def _test_labels(spec, spec_path: Path) -> np.ndarray:
    splits = load_splits(spec, get_host(), RunContext(seed=spec.seed, spec_dir=spec_path.parent))
    return np.concatenate([y.numpy() for _, y in splits.batched("test", 512)])


def test_repeats_keep_the_split_unless_asked_to_vary_it(spec_file):
    path = spec_file("repeats: {seeds: 3}")
    spec = load_spec_file(path)
    specs = repeats.seed_specs(spec)
    assert [s.seed for s in specs] == [3, 4, 5] and {s.split_seed for s in specs} == {3}
    first, *others = [_test_labels(s, path) for s in specs]
    assert all(np.array_equal(first, o) for o in others)  # the same test examples, in the same order
    varied = repeats.seed_specs(load_spec_file(path, ["repeats.vary_split=true"]))
    labels = [_test_labels(s, path) for s in varied]
    assert not np.array_equal(labels[0], labels[1])


def test_seeds_write_one_run_each_and_an_aggregate_with_intervals(spec_file):
    path = spec_file("evaluation: {baseline: true}")
    result = CliRunner().invoke(main, ["run", str(path), "--seeds", "2"])
    assert result.exit_code == 0, result.output
    runs = path.parent / "runs"
    (group,) = [p for p in runs.iterdir() if not p.is_symlink()]
    assert (runs / "digits-latest").resolve() == group.resolve()
    assert sorted(p.name for p in group.iterdir()) == ["aggregate.json", "report.html", "seed3", "seed4", "seeds.csv", "spec.yaml"]
    per_seed = [json.loads((group / f"seed{s}" / "metrics.json").read_text()) for s in (3, 4)]
    agg = json.loads((group / "aggregate.json").read_text())
    accs = [m["metrics"]["test/accuracy"] for m in per_seed]
    stats = agg["metrics"]["test/accuracy"]
    assert stats["mean"] == pytest.approx(np.mean(accs)) and stats["sd"] == pytest.approx(np.std(accs, ddof=1))
    assert stats["ci_low"] < stats["mean"] < stats["ci_high"] and stats["n"] == 2
    assert agg["headline"]["metric"] == "test/accuracy" and agg["split_seed"] == 3
    assert "test/accuracy" in agg["baseline"]
    verdict = agg["transfer"]
    assert verdict["seeds"] == 2 and verdict["verdict"] in ("positive transfer", "negative transfer", "inconclusive")
    assert "paired t test over 2 seeds" in verdict["method"]
    assert any("no pretrained weights" in w for w in verdict["warnings"])  # an mlp source starts at random
    with open(group / "seeds.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["seed"] for r in rows] == ["3", "4"] and float(rows[0]["headline"]) == pytest.approx(accs[0])
    assert "95% interval" in result.output and "warning: the source (mlp) has no pretrained weights" in result.output
    # the parent's report.html: the aggregate, a row and a link per seed (each seed has its own report), the paired verdict
    page = (group / "report.html").read_text()
    for s in (3, 4):
        assert f'<a href="seed{s}/report.html">seed{s}</a>' in page and (group / f"seed{s}" / "report.html").is_file()
    assert f'data-metric="test/accuracy" data-model="transfer" data-stat="mean" data-value="{stats["mean"]!r}"' in page
    assert f'data-verdict="{verdict["verdict"]}"' in page and "paired t test over 2 seeds" in page
    assert f'data-value="{verdict["asymptote"]["difference"]!r}"' in page
    # adaptkit compare: the group as one row of means ± sd, and each seed as its own row
    compared = CliRunner().invoke(main, ["compare", str(group), "--per-seed", "--json"])
    assert compared.exit_code == 0, compared.output
    row, *seed_rows = json.loads(compared.output)
    assert row["kind"] == "seeds" and row["seeds"] == 2 and row["metrics"]["test/accuracy"] == stats
    assert row["headline"]["mean"] == agg["headline"]["mean"] and row["baseline"] == agg["baseline"]["test/accuracy"]
    assert row["verdict"]["verdict"] == verdict["verdict"] and row["verdict"]["difference"] == verdict["asymptote"]["difference"]
    assert [r["headline"]["mean"] for r in seed_rows] == accs
    table = CliRunner().invoke(main, ["compare", str(group)])
    assert f"{stats['mean']:.4f} ± {stats['sd']:.4f}" in table.output


def test_an_interrupted_repeat_resumes_and_skips_finished_seeds(spec_file, monkeypatch):
    path = spec_file("repeats: {seeds: 2}")
    real = repeats.run_pipeline
    calls = []

    def interrupt_the_second(spec, *args, run_name=None, **kwargs):
        calls.append((run_name, kwargs.get("resume")))
        if run_name == "seed4" and len(calls) == 2:
            raise KeyboardInterrupt
        return real(spec, *args, run_name=run_name, **kwargs)

    monkeypatch.setattr(repeats, "run_pipeline", interrupt_the_second)
    first = CliRunner().invoke(main, ["run", str(path)])
    assert first.exit_code == 130 and "--resume" in first.output
    runs = path.parent / "runs"
    (partial,) = runs.glob(".digits-*.partial")
    done = partial / "seed3" / "metrics.json"
    stamp = done.stat().st_mtime_ns
    again = CliRunner().invoke(main, ["run", str(path), "--resume"])
    assert again.exit_code == 0, again.output
    assert calls[2:] == [("seed4", False)]  # seed3 was not run again
    (group,) = [p for p in runs.iterdir() if not p.is_symlink()]
    assert (group / "seed3" / "metrics.json").stat().st_mtime_ns == stamp
    assert json.loads((group / "aggregate.json").read_text())["seeds"] == [3, 4]


def test_bad_input_in_repeats_leaves_nothing(spec_file, tmp_path):
    path = spec_file(f"data: {{train: {{kind: arrays, path: {tmp_path / 'missing.npz'}}}}}")
    result = CliRunner().invoke(main, ["run", str(path), "--seeds", "2"])
    assert result.exit_code == 2 and "missing.npz" in result.output
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").iterdir())


def test_a_baseline_that_predicts_one_class_gives_no_positive_verdict(digits_npz):
    import keras

    from adaptkit._verdict import judge_one_seed
    from adaptkit._types import TaskInfo
    import tensorflow as tf

    d = np.load(digits_npz)
    x, y = d["x"][:300] / 16.0, d["y"][:300]
    good = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    good.compile("adam", "sparse_categorical_crossentropy")
    good.fit(x, y, epochs=30, verbose=0)
    stuck = keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10, activation="softmax")])
    stuck.layers[-1].set_weights([np.zeros((64, 10)), np.eye(10)[0] * 5])  # always class 0
    sets = {"test": tf.data.Dataset.from_tensor_slices((x, y)).batch(64)}
    out = judge_one_seed({"metric": "accuracy"}, "test/accuracy", True, None, TaskInfo(list("0123456789"), ()), good, stuck, sets, 0)
    assert out["test"]["ci_low"] > 0  # far better than the stuck baseline...
    assert out["verdict"] == "inconclusive" and not out["higher_asymptote"]  # ...which says nothing
    assert any("baseline predicts one class (0)" in w for w in out["warnings"])


def test_repeats_may_not_run_past_the_largest_seed(spec_file):
    from adaptkit import SpecError

    with pytest.raises(SpecError) as info:
        load_spec_file(spec_file("{seed: 4294967295, repeats: {seeds: 3}}"))
    assert info.value.where == "repeats.seeds" and "4294967295" in info.value.message
