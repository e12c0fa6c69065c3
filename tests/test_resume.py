"""An interrupted run keeps a hidden .partial folder; `--resume` goes on with it: completed
stages are not trained again, the stage in progress restarts after its last finished epoch."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from adaptkit import SpecError, load_spec_file
from adaptkit._history import EpochLog
from adaptkit._runner import run_pipeline


def interrupt_after(monkeypatch, stage: int, epoch: int):
    original = EpochLog.on_epoch_end

    def on_epoch_end(self, e, logs=None):
        original(self, e, logs)
        if self.stage_index == stage and e + 1 == epoch:
            raise KeyboardInterrupt

    monkeypatch.setattr(EpochLog, "on_epoch_end", on_epoch_end)


TWO_STAGES = """
training:
  verbose: 0
  stages:
    - {name: a, epochs: 2, optimizer: {learning_rate: 0.01}}
    - {name: b, epochs: 3, optimizer: {learning_rate: 0.001}}
"""


def test_interrupted_run_resumes(spec_file, tmp_path, monkeypatch):
    path = spec_file(TWO_STAGES)
    spec = load_spec_file(path)
    with monkeypatch.context() as m:
        interrupt_after(m, stage=2, epoch=2)
        with pytest.raises(KeyboardInterrupt):
            run_pipeline(spec, path)
    runs = tmp_path / "runs"
    (partial,) = [p for p in runs.iterdir() if p.name.endswith(".partial")]
    assert partial.name.startswith(".")  # hidden: never looks complete
    assert not [p for p in runs.iterdir() if not p.name.startswith(".")]

    result = run_pipeline(spec, path, resume=True)
    assert not partial.exists()
    assert result.run_dir.name == partial.name[1 : -len(".partial")]
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert [(r["stage_name"], r["stage_epoch"]) for r in rows] == [
        ("a", "1"), ("a", "2"), ("b", "1"), ("b", "2"), ("b", "3")
    ]
    log = (result.run_dir / "run.log").read_text()
    assert "stage 1 (a): done in the interrupted run" in log
    assert "stage 2 (b): resuming after epoch 2" in log
    assert not (result.run_dir / "checkpoints").exists()
    assert result.metrics["headline"]["value"] > 0.5


def test_resume_needs_an_interrupted_run_of_the_same_spec(spec_file, tmp_path):
    path = spec_file(TWO_STAGES)
    with pytest.raises(SpecError, match=r"^--resume: no interrupted run of 'digits'"):
        run_pipeline(load_spec_file(path), path, resume=True)


def test_checkpointed_two_stream_run_resumes(spec_file, tmp_path, digits_npz, monkeypatch):
    """Domain adaptation (MMD between UCI digits and a brightness-shifted copy) resumes mid-stage."""
    with np.load(digits_npz) as d:
        x, y = d["x"], d["y"]
    target = tmp_path / "target.npz"
    np.savez(target, x=np.clip(x * 0.6 + 6, 0, 16).astype("float32"), y=y)
    path = spec_file(
        f"""
        data:
          train: {{kind: arrays, path: {digits_npz}, scale: 0.0625}}
          target: {{kind: arrays, path: {target}, scale: 0.0625}}
          batch_size: 64
        training:
          verbose: 0
          stages:
            - name: adapt
              epochs: 3
              optimizer: {{learning_rate: 0.01}}
              losses: [{{kind: mmd, weight: 0.5}}]
        """
    )
    spec = load_spec_file(path)
    with monkeypatch.context() as m:
        interrupt_after(m, stage=1, epoch=2)
        with pytest.raises(KeyboardInterrupt):
            run_pipeline(spec, path)
    result = run_pipeline(spec, path, resume=True)
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert [r["stage_epoch"] for r in rows] == ["1", "2", "3"]
    assert "mmd_loss" in rows[-1]  # the loss term is logged
    assert "stage 1 (adapt): resuming after epoch 2" in (result.run_dir / "run.log").read_text()
    assert result.metrics["metrics"]["target_test/accuracy"] > 0.5


def test_interrupted_in_the_first_stage_resumes_every_later_stage_whole(spec_file, tmp_path, monkeypatch):
    path = spec_file(TWO_STAGES)
    spec = load_spec_file(path)
    with monkeypatch.context() as m:
        interrupt_after(m, stage=1, epoch=1)
        with pytest.raises(KeyboardInterrupt):
            run_pipeline(spec, path)
    result = run_pipeline(spec, path, resume=True)
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert [(r["stage_name"], r["stage_epoch"]) for r in rows] == [
        ("a", "1"), ("a", "2"), ("b", "1"), ("b", "2"), ("b", "3")
    ]


def test_interrupted_after_the_last_stage_keeps_the_trained_weights(spec_file, tmp_path, monkeypatch):
    import adaptkit._runner as runner

    path = spec_file(TWO_STAGES)
    spec = load_spec_file(path)
    with monkeypatch.context() as m:
        def boom(*args, **kwargs):
            raise RuntimeError("evaluation crashed")

        m.setattr(runner, "evaluate", boom)
        with pytest.raises(RuntimeError):
            run_pipeline(spec, path)
    result = run_pipeline(spec, path, resume=True)
    assert "stage 2 (b): done in the interrupted run" in (result.run_dir / "run.log").read_text()
    assert result.metrics["headline"]["value"] > 0.5  # the trained model, not a fresh one


def test_resume_refuses_a_finished_stage_whose_adapted_model_is_not_checkpointed(spec_file, tmp_path, digits_npz, monkeypatch):
    import adaptkit._runner as runner

    with np.load(digits_npz) as d:
        x = d["x"]
    target = tmp_path / "target.npz"
    np.savez(target, x=(16 - x).astype("float32"))
    path = spec_file(
        f"""
        data:
          train: {{kind: arrays, path: {digits_npz}, scale: 0.0625}}
          target: {{kind: arrays, path: {target}, scale: 0.0625, labeled: false}}
        training:
          verbose: 0
          stages:
            - {{name: source, epochs: 1}}
            - {{name: adda, epochs: 1, losses: [{{kind: adda}}]}}
        """
    )
    spec = load_spec_file(path)
    with monkeypatch.context() as m:
        m.setattr(runner, "evaluate", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("evaluation crashed")))
        with pytest.raises(RuntimeError):
            run_pipeline(spec, path)
    with pytest.raises(SpecError, match=r"^--resume: stage 2 \(adda\) finished with 'adda'"):
        run_pipeline(spec, path, resume=True)
