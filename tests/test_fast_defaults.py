"""Fast defaults: steps per compiled call chosen from the epoch and the model, backups by wall time,
divergence still named by its epoch, and light CLI verbs that import little."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from adaptkit import load_spec_file
from adaptkit import _pace
from adaptkit._divergence import Diverged, StopOnDivergence
from adaptkit._history import EpochLog
from adaptkit._pace import TimedBackup, resolve_steps_per_execution
from adaptkit._runner import run_pipeline


@pytest.mark.parametrize(
    "setting, steps, parameters, expected",
    [
        ("auto", 16, 1_218, 16),  # a whole epoch in one call
        ("auto", 64, 50_000, 32),  # capped, and a divisor of the epoch
        ("auto", 70, 50_000, 14),  # the largest divisor up to the cap: every call full
        ("auto", 71, 50_000, 1),  # a prime number of steps: one at a time
        ("auto", 64, 3_000_000, 1),  # a large model: its steps are long anyway
        (5, 64, 1_218, 5),  # an explicit value wins
        (1, 16, 1_218, 1),
    ],
)
def test_steps_per_execution_auto_and_explicit(setting, steps, parameters, expected):
    assert resolve_steps_per_execution(setting, steps, parameters) == expected


def _planned_steps_per_execution(path) -> int:
    from adaptkit import get_host
    from adaptkit._runner import start_run
    from adaptkit._stages import plan_stage
    from adaptkit._types import RunContext

    spec = load_spec_file(path)
    run = start_run(spec, get_host(), RunContext(seed=spec.seed, spec_dir=path.parent))
    return plan_stage(run, 0).model.steps_per_execution


def test_a_default_spec_compiles_a_tiny_model_with_many_steps_per_call(spec_file):
    # 1,797 digits less 20% test and 20% validation: 1,150 to train on, batch 64: 18 steps, one call per epoch
    assert _planned_steps_per_execution(spec_file()) == 18
    assert _planned_steps_per_execution(spec_file("training: {steps_per_execution: 3, verbose: 0, stages: [{epochs: 1}]}")) == 3


def test_the_defaults_are_auto(spec_file):
    spec = load_spec_file(spec_file())
    assert spec.training.steps_per_execution == "auto" and spec.training.backup == "auto"


def _tiny_fit(callbacks, epochs: int, lr_at_epoch: dict | None = None, steps_per_execution: int = 1):
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu"), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.01), "mse", steps_per_execution=steps_per_execution)
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")

    class SetRate(keras.callbacks.Callback):  # an optimizer rate that blows up from a given epoch on
        def on_epoch_begin(self, epoch, logs=None):
            if epoch in (lr_at_epoch or {}):
                self.model.optimizer.learning_rate.assign(lr_at_epoch[epoch])

    model.fit(x, x.sum(1), batch_size=8, epochs=epochs, verbose=0, callbacks=[SetRate(), *callbacks])
    return model


def test_timed_backup_saves_only_once_its_interval_has_passed(tmp_path, monkeypatch):
    saved = []
    original = TimedBackup._save_model
    monkeypatch.setattr(TimedBackup, "_save_model", lambda self: (saved.append(self._current_epoch), original(self)))
    _tiny_fit([TimedBackup(str(tmp_path / "every"), interval=0.0)], epochs=3)
    assert saved == [1, 2, 3]
    saved.clear()
    _tiny_fit([TimedBackup(str(tmp_path / "never"), interval=1e9)], epochs=3)
    assert saved == []


def test_divergence_is_named_by_its_epoch_with_many_steps_per_call():
    with pytest.raises(Diverged) as caught:
        _tiny_fit([StopOnDivergence()], epochs=3, lr_at_epoch={1: 1e30}, steps_per_execution=4)
    assert caught.value.epoch == 2
    assert caught.value.step in (4, 8)  # the last step of the call in which the loss went bad


def test_an_interrupted_run_backs_up_its_last_epoch_and_resumes_from_it(spec_file, tmp_path, monkeypatch):
    """backup: auto with an interval no epoch reaches: nothing is saved while training, the epoch
    that ended before Ctrl-C is saved on the way out, and --resume goes on after it."""
    monkeypatch.setattr(_pace, "BACKUP_INTERVAL_S", 1e9)
    saved = []
    original = TimedBackup._save_model
    monkeypatch.setattr(TimedBackup, "_save_model", lambda self: (saved.append(self._current_epoch), original(self)))
    path = spec_file("{evaluation: {baseline: false}, training: {verbose: 0, stages: [{epochs: 4, optimizer: {learning_rate: 0.01}}]}}")
    spec = load_spec_file(path)
    on_epoch_end = EpochLog.on_epoch_end

    def interrupt_after_3(self, epoch, logs=None):
        on_epoch_end(self, epoch, logs)
        if epoch + 1 == 3:
            raise KeyboardInterrupt

    with monkeypatch.context() as m:
        m.setattr(EpochLog, "on_epoch_end", interrupt_after_3)
        with pytest.raises(KeyboardInterrupt):
            run_pipeline(spec, path)
    assert saved == [3]
    (partial,) = (tmp_path / "runs").glob(".*.partial")
    state = json.loads((partial / "checkpoints" / "state.json").read_text())
    assert [r["stage_epoch"] for r in state["history"]] == [1, 2, 3]
    result = run_pipeline(spec, path, resume=True)
    assert "stage 1 (stage1): resuming after epoch 3" in (result.run_dir / "run.log").read_text()
    history = (result.run_dir / "history.csv").read_text().splitlines()
    assert len(history) == 1 + 4


@pytest.mark.parametrize(
    "args, absent",
    [
        (["--help"], ("pydantic", "numpy", "yaml", "pluggy", "rich")),
        (["schema"], ("numpy", "rich", "yaml")),
        (["plugins", "--json"], ("numpy", "rich", "yaml")),
        (["validate", "SPEC"], ("numpy", "rich", "wrapt", "asyncio", "adaptkit._models")),
        (["render", "SPEC"], ("numpy", "rich", "wrapt", "asyncio", "adaptkit._models")),
    ],
)
def test_light_verbs_import_only_what_they_use(args, absent, spec_file):
    args = [str(spec_file()) if a == "SPEC" else a for a in args]
    code = (
        "import sys; from adaptkit.cli import main\n"
        f"try:\n    main({args!r})\nexcept SystemExit:\n    pass\n"
        f"print('LOADED', sorted(m for m in {absent!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "LOADED []" in out.stdout, out.stdout + out.stderr
