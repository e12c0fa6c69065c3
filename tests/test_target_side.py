"""Target-side evaluation of domain adaptation: the target headline, target metrics per epoch, adapted vs source-only."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

from adaptkit import SpecError
from adaptkit._specfile import load_spec_file
from adaptkit.cli import main


@pytest.fixture
def da_spec(spec_file, tmp_path, digits_npz):
    with np.load(digits_npz) as d:
        x, y = d["x"], d["y"]
    target = tmp_path / "target.npz"
    np.savez(target, x=(16 - x).astype("float32"), y=y)  # inverted digits: a strong shift

    def make(evaluation: str = "{}", stages: str = "") -> object:
        return spec_file(
            f"""
            data:
              train: {{kind: arrays, path: {digits_npz}, scale: 0.0625}}
              target: {{kind: arrays, path: {target}, scale: 0.0625}}
              batch_size: 64
            evaluation: {evaluation}
            training:
              verbose: 0
              stages:
                - {{name: source, epochs: 2, optimizer: {{learning_rate: 0.01}}}}
                - {{name: adapt, epochs: 2, optimizer: {{learning_rate: 0.003}}, losses: [{{kind: mmd}}]}}
            """
        )

    return make


def _finished(spec) -> tuple:
    (run,) = [p for p in (spec.parent / "runs").iterdir() if not p.is_symlink()]
    with open(run / "history.csv") as fh:
        return run, json.loads((run / "metrics.json").read_text()), list(csv.DictReader(fh))


def test_a_labeled_target_is_the_headline_and_is_logged_every_epoch(da_spec):
    spec = da_spec()
    result = CliRunner().invoke(main, ["run", str(spec)])
    assert result.exit_code == 0, result.output
    run, metrics, history = _finished(spec)
    assert metrics["headline"]["metric"] == "target_test/accuracy"
    assert metrics["headline"]["value"] == metrics["metrics"]["target_test/accuracy"]
    assert len(history) == 4 and all("target_accuracy" in r and "val_accuracy" in r for r in history)
    # the last epoch's logged target accuracy is the saved model's target_test accuracy
    assert float(history[-1]["target_accuracy"]) == pytest.approx(metrics["metrics"]["target_test/accuracy"], abs=1e-6)
    assert "headline target_test/accuracy" in result.output
    # the report's confusion matrices: the target test split (the headline) first, then the source's
    entries = metrics["test_predictions"]
    assert [e["split"] for e in entries] == ["target_test", "test"]
    matrix = np.asarray(entries[0]["confusion_matrix"])
    assert matrix.sum() == entries[0]["examples"]
    assert np.trace(matrix) / matrix.sum() == pytest.approx(metrics["metrics"]["target_test/accuracy"], abs=1e-6)
    assert "target_test split" in (run / "report.html").read_text()


def test_source_only_gives_the_gain_from_adaptation_with_its_interval(da_spec):
    spec = da_spec("{source_only: true}")
    result = CliRunner().invoke(main, ["run", str(spec)])
    assert result.exit_code == 0, result.output
    _, metrics, _ = _finished(spec)
    a = metrics["adaptation"]
    assert a["metric"] == "target_test/accuracy" and a["adapted"] == metrics["metrics"]["target_test/accuracy"]
    assert 0 < a["source_only"] < 1 and a["verdict"] in ("adaptation helps", "adaptation hurts", "inconclusive")
    test = a["test"]
    assert test["ci_low"] <= test["difference"] <= test["ci_high"]
    assert test["difference"] == pytest.approx(a["adapted"] - a["source_only"], abs=1e-9)
    assert "adapted vs source-only on target_test/accuracy" in result.output
    run, _, _ = _finished(spec)
    page = (run / "report.html").read_text()
    assert 'id="adaptation"' in page and f'data-verdict="{a["verdict"]}"' in page


def test_source_only_needs_adaptation_losses_and_a_labeled_target(spec_file, da_spec, tmp_path, digits_npz):
    with pytest.raises(SpecError) as info:
        load_spec_file(spec_file("evaluation: {source_only: true}"))
    assert info.value.where == "evaluation.source_only"
    unlabeled = spec_file(
        f"""
        data:
          train: {{kind: arrays, path: {digits_npz}, scale: 0.0625}}
          target: {{kind: arrays, path: {digits_npz}, scale: 0.0625, labeled: false}}
        evaluation: {{source_only: true}}
        training: {{verbose: 0, stages: [{{epochs: 1, losses: [{{kind: mmd}}]}}]}}
        """
    )
    result = CliRunner().invoke(main, ["run", str(unlabeled)])
    assert result.exit_code == 2
    assert "error: evaluation.source_only: data.target has no labels" in result.output
    assert not list((tmp_path / "runs").glob(".*.partial"))


def test_over_seeds_the_gain_from_adaptation_is_paired_over_seeds():
    from types import SimpleNamespace

    import adaptkit._repeats as repeats

    spec = SimpleNamespace(seed=0, split_seed=None, repeats=SimpleNamespace(seeds=3, vary_split=False))
    results = []
    for k, (adapted, alone) in enumerate([(0.70, 0.61), (0.72, 0.60), (0.69, 0.62)]):
        m = {
            "headline": {"metric": "target_test/accuracy", "value": adapted},
            "metrics": {"target_test/accuracy": adapted},
            "adaptation": {"metric": "target_test/accuracy", "adapted": adapted, "source_only": alone, "higher_is_better": True},
        }
        results.append((k, f"seed{k}", m))
    aggregate, rows = repeats._aggregate(spec, results)
    a = aggregate["adaptation"]
    assert a["verdict"] == "adaptation helps" and a["test"]["n"] == 3
    assert a["adapted"]["mean"] == pytest.approx(0.70333, abs=1e-4) and a["source_only"]["mean"] == pytest.approx(0.61)
    assert [r["source_only"] for r in rows] == [0.61, 0.60, 0.62]
