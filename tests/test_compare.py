"""``adaptkit compare``: one table (or JSON) across real run directories, and one-line errors for what is not one."""

from __future__ import annotations

import json
import shutil

from click.testing import CliRunner

from adaptkit.cli import main


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_compare_gives_headline_metrics_baseline_verdict_and_time_as_in_metrics_json(finished_run, tmp_path):
    other = tmp_path / "again"
    shutil.copytree(finished_run, other)
    result = invoke("compare", finished_run, other, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    m = json.loads((finished_run / "metrics.json").read_text())
    assert [r["run"] for r in rows] == [str(finished_run), str(other)]
    row = rows[0]
    assert row["name"] == "finished" and row["kind"] == "run" and row["seeds"] == 1
    assert row["headline"] == {"metric": "test/accuracy", "mean": m["headline"]["value"], "n": 1}
    assert set(row["metrics"]) == {"test/accuracy", "test/balanced_accuracy", "test/loss"}  # every test metric
    assert row["metrics"]["test/loss"]["mean"] == m["metrics"]["test/loss"]
    assert row["baseline"]["mean"] == m["baseline"]["metrics"]["test/accuracy"]
    test = m["transfer"]["test"]
    assert row["verdict"] == {"verdict": m["transfer"]["verdict"], "difference": test["difference"], "ci_low": test["ci_low"], "ci_high": test["ci_high"]}
    assert row["wall_time_s"] == m["wall_time_s"]
    table = invoke("compare", finished_run, "--metric", "validation/loss")
    assert table.exit_code == 0, table.output
    assert "validation/loss" in table.output and "test/balanced_accuracy" not in table.output
    assert f"{m['metrics']['validation/loss']:.4f}" in table.output and f"{m['headline']['value']:.4f}" in table.output
    assert f"{m['transfer']['verdict']} {test['difference']:+.4f} [{test['ci_low']:+.4f}, {test['ci_high']:+.4f}]" in table.output


def test_paths_that_are_not_run_directories_give_one_line_each_and_exit_2(finished_run, tmp_path):
    corrupt = tmp_path / "corrupt"
    shutil.copytree(finished_run, corrupt)
    (corrupt / "metrics.json").write_text('{"headline": ')
    partial = tmp_path / ".digits-1.partial"
    (partial / "checkpoints").mkdir(parents=True)
    empty = tmp_path / "empty"
    empty.mkdir()
    spec = finished_run / "spec.yaml"
    result = invoke("compare", finished_run, tmp_path / "nowhere", spec, finished_run.parent, partial, empty, corrupt)
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [
        f"error: {tmp_path / 'nowhere'}: no such run directory",
        f"error: {spec}: not a run directory: it is a file (name the folder that holds metrics.json)",
        f"error: {finished_run.parent}: a folder of 1 run(s), not a run: name the runs themselves (e.g. {finished_run})",
        f"error: {partial}: an unfinished run (no metrics.json yet): finish it with adaptkit run SPEC --resume",
        f"error: {empty}: not a run directory: it has no metrics.json (a run) or aggregate.json (repeated seeds)",
        f"error: {corrupt / 'metrics.json'}: not a readable JSON file (JSONDecodeError: Expecting value: line 1 column 14 (char 13))",
    ]
    assert "Traceback" not in result.output


def test_a_metric_no_run_has_is_an_error(finished_run):
    result = invoke("compare", finished_run, "--metric", "test/acuracy")
    assert result.exit_code == 2
    assert result.output.startswith("error: --metric: no run has 'test/acuracy' (they have: test/accuracy, ")
