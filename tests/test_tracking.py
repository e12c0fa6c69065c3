"""tracking: trackers add Keras callbacks to every stage and the baseline; core's TensorBoard logs
history.csv's values into the run directory; the JSONL tracker of docs/tracking.md runs as written."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from adaptkit import PluginError, StageInfo, get_host, load_spec


def _history(path: Path) -> list[dict]:
    with path.open() as f:
        return list(csv.DictReader(f))


def _epoch_scalars(folder: Path, tag: str = "epoch_loss") -> dict[int, float]:
    import tensorflow as tf

    out = {}
    for events in sorted(folder.glob("events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(str(events)):
            for value in event.summary.value:
                if value.tag == tag:
                    out[event.step] = float(tf.make_ndarray(value.tensor))
    return out


def test_tensorboard_logs_history_csvs_epoch_losses_in_the_run_directory_epochs_counted_over_the_run(tracked_run):
    pytest.importorskip("tensorboard", reason="TensorFlow writes summaries through the tensorboard package")
    result, _, _ = tracked_run
    board = result.run_dir / "tensorboard"
    assert sorted(p.name for p in board.iterdir()) == ["1-head", "2-all_layers", "baseline"]
    rows = _history(result.run_dir / "history.csv")
    logged = {**_epoch_scalars(board / "1-head" / "train"), **_epoch_scalars(board / "2-all_layers" / "train")}
    assert sorted(logged) == [0, 1, 2]  # stage 2's epochs follow stage 1's
    assert [logged[k] for k in range(3)] == pytest.approx([float(r["loss"]) for r in rows], rel=1e-6)
    validation = _epoch_scalars(board / "2-all_layers" / "validation", "epoch_accuracy")
    assert [validation[k] for k in (1, 2)] == pytest.approx([float(r["val_accuracy"]) for r in rows[1:]], rel=1e-6)
    base = _epoch_scalars(board / "baseline" / "train")
    assert [base[k] for k in (0, 1)] == pytest.approx([float(r["loss"]) for r in _history(result.run_dir / "baseline_history.csv")], rel=1e-6)


def test_the_docs_jsonl_tracker_sees_every_stage_and_the_baseline_with_their_seed(tracked_run):
    result, _, _ = tracked_run
    lines = [json.loads(line) for line in (result.run_dir / "epochs.jsonl").read_text().splitlines()]
    assert [(r["run"], r["stage"], r["epoch"], r["seed"]) for r in lines] == [
        ("main", "head", 1, 4), ("main", "all layers", 2, 4), ("main", "all layers", 3, 4),
        ("baseline", "baseline", 1, 4), ("baseline", "baseline", 2, 4),
    ]
    rows = _history(result.run_dir / "history.csv")
    assert [r["loss"] for r in lines[:3]] == pytest.approx([float(r["loss"]) for r in rows], rel=1e-6)
    assert "val_accuracy" in lines[0]  # it runs after the host's callbacks: every value of the epoch


def test_a_tracker_is_listed_once():
    spec = {
        "name": "t", "data": {"train": {"kind": "arrays", "path": "d.npz"}}, "source": {"kind": "mlp"},
        "head": {"kind": "classifier"}, "training": {"stages": [{"epochs": 1}]},
        "tracking": [{"kind": "tensorboard"}, {"kind": "tensorboard", "histogram_freq": 1}],
    }
    with pytest.raises(Exception, match=r"tracking\.1: 'tensorboard' is listed twice"):
        load_spec(spec)


def test_a_stage_folder_is_file_name_safe_and_side_runs_have_their_own():
    info = StageInfo("r", "main", 1, "../all $layers <b>", 3, 2, 0, None)
    assert info.folder == "2-all_layers_b" and not info.is_baseline
    assert StageInfo("r", "baseline", 0, "baseline", 3, 0, 0, None).folder == "baseline"
    assert StageInfo("r", "source_only", 0, "head", 3, 0, 0, None).folder == "source_only/1-head"


def test_an_answer_that_is_not_a_list_of_callbacks_is_a_plugin_error():
    from adaptkit._answers import check_answer

    assert get_host().sections["tracker"]["tensorboard"][1] == "core"
    with pytest.raises(PluginError, match=r"^tracking\.0: plugin 'x' answered adaptkit_stage_callbacks with a list holding str, not a keras"):
        check_answer("adaptkit_stage_callbacks", "tracking.0", "x", ["not a callback"])
    with pytest.raises(PluginError, match=r"with dict, not a list of keras\.callbacks\.Callback"):
        check_answer("adaptkit_stage_callbacks", "tracking.0", "x", {})


@pytest.mark.parametrize("doc", ["README.md", "docs/tracking.md", "docs/plugins/core.md"])
def test_the_docs_tracking_and_metrics_snippets_validate_in_a_spec(doc, docs_tracker):
    """The YAML fragments these pages show for tracking and evaluation.metrics, put into a small spec."""
    import re

    import yaml

    from adaptkit import PluginHost, PluginInfo

    host = PluginHost()
    host.load_entry_points()
    host.register(docs_tracker, PluginInfo("jsonl", "docs/tracking.md", None, None))
    text = (Path(__file__).resolve().parents[1] / doc).read_text()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S) if re.search(r"^tracking:|^  metrics:", b, re.M)]
    assert blocks
    for block in blocks:
        fragment = yaml.safe_load(block)
        spec = {"name": "t", "data": {"train": {"kind": "arrays", "path": "d.npz"}}, "source": {"kind": "mlp"},
                "head": {"kind": "classifier"}, "training": {"stages": [{"epochs": 1}]}, **fragment}
        load_spec(spec, host)


def test_a_resumed_run_keeps_its_trackers_epochs_counted_over_the_run(spec_file, docs_tracker, monkeypatch):
    """Interrupted in stage 2's first epoch (after the backup and the history, before the trackers):
    the resumed run's tracker goes on at the run's epoch 3, with history.csv's loss."""
    from adaptkit import PluginHost, PluginInfo
    from adaptkit._history import EpochLog
    from adaptkit._runner import run_pipeline

    host = PluginHost()
    host.load_entry_points()
    host.register(docs_tracker, PluginInfo("jsonl", "docs/tracking.md", None, None))
    path = spec_file("""
    tracking: [{kind: jsonl}]
    evaluation: {plots: false}
    training:
      verbose: 0
      stages:
        - {name: a, epochs: 1, optimizer: {learning_rate: 0.01}}
        - {name: b, epochs: 2, optimizer: {learning_rate: 0.001}}
    """)
    import yaml

    spec = load_spec(yaml.safe_load(path.read_text()), host)
    original = EpochLog.on_epoch_end

    def interrupted(self, e, logs=None):
        original(self, e, logs)
        if self.stage_index == 2 and e == 0:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(EpochLog, "on_epoch_end", interrupted)
        with pytest.raises(KeyboardInterrupt):
            run_pipeline(spec, path, host=host)
    result = run_pipeline(spec, path, host=host, resume=True)
    lines = [json.loads(line) for line in (result.run_dir / "epochs.jsonl").read_text().splitlines()]
    rows = _history(result.run_dir / "history.csv")
    assert [(r["stage_name"], r["stage_epoch"]) for r in rows] == [("a", "1"), ("b", "1"), ("b", "2")]
    assert [(r["stage"], r["epoch"]) for r in lines] == [("a", 1), ("b", 3)]
    assert lines[1]["loss"] == pytest.approx(float(rows[2]["loss"]), rel=1e-6)
