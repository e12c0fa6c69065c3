"""How often training hands control back to Python: steps per compiled call, and backups by wall time.

``training.steps_per_execution: auto`` (the default) runs many steps inside one
compiled call for models whose steps are short, where Keras' per-step Python
work would otherwise cost as much as the step; ``training.backup: auto`` (the
default) backs up the stage in progress for ``--resume`` at the end of an epoch
at most once every :data:`BACKUP_INTERVAL_S` seconds, instead of after every
epoch (saving a tiny model's weights costs more than an epoch of training it).
Explicit values in a spec win. Imports TensorFlow (Keras callbacks).
"""

from __future__ import annotations

import time
from typing import Any, Optional

import keras

__all__ = ["AUTO_MAX_STEPS", "AUTO_MAX_PARAMS", "BACKUP_INTERVAL_S", "TimedBackup", "resolve_steps_per_execution"]

AUTO_MAX_STEPS = 32
"""``auto`` puts at most this many steps in one compiled call."""
AUTO_MAX_PARAMS = 2_000_000
"""``auto`` keeps one step per call for models with more parameters: their steps are long enough
that Keras' per-step work does not count, and progress bars and callbacks keep their granularity."""
BACKUP_INTERVAL_S = 60.0
"""``backup: auto`` saves at the end of an epoch when this many seconds have passed since the last save."""


def resolve_steps_per_execution(setting: Any, steps_per_epoch: int, parameters: int) -> int:
    """The number of steps one compiled call runs: ``setting`` itself when it is a number; for ``auto``,
    the largest divisor of ``steps_per_epoch`` up to :data:`AUTO_MAX_STEPS` (a divisor keeps every call
    full, so an epoch is exactly its steps whatever the dataset's cardinality), or 1 for large models."""
    if setting != "auto":
        return int(setting)
    if parameters > AUTO_MAX_PARAMS:
        return 1
    steps = max(1, int(steps_per_epoch))
    return next(n for n in range(min(steps, AUTO_MAX_STEPS), 0, -1) if steps % n == 0)


class TimedBackup(keras.callbacks.BackupAndRestore):
    """``BackupAndRestore`` that saves at an epoch's end only when ``interval`` seconds have passed.

    An epoch that ended without a save stays *pending* until the next batch
    starts: :meth:`save_pending` saves it then (the caller does so when ``fit``
    is interrupted between epochs, e.g. by Ctrl-C), so an interrupted run loses
    no finished epoch it could have kept; a killed process goes on from its
    last save. ``saved_last_epoch`` tells the history's persistence whether
    the epoch that just ended was saved (the history on disk must match the
    backed-up epoch).
    """

    def __init__(self, backup_dir: str, interval: Optional[float] = None) -> None:
        super().__init__(backup_dir, save_freq="epoch")
        self.interval = BACKUP_INTERVAL_S if interval is None else float(interval)
        self.last_save = time.monotonic()
        self.pending_epoch: Optional[int] = None
        self.saved_last_epoch = False
        self.saves = 0

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        super().on_train_begin(logs)
        self.last_save = time.monotonic()

    def on_train_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        self.pending_epoch, self.saved_last_epoch = None, False  # the weights move on from the epoch's end

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        self._current_epoch = epoch + 1
        self._last_batch_seen = 0
        self.pending_epoch, self.saved_last_epoch = epoch + 1, False
        if time.monotonic() - self.last_save >= self.interval:
            self.save_pending()

    def save_pending(self) -> bool:
        """Save the epoch that ended last, if no batch has run since; True when it saved."""
        if self.pending_epoch is None:
            return False
        self._current_epoch = self.pending_epoch
        self._save_model()
        self.saves += 1
        self.last_save = time.monotonic()
        self.pending_epoch, self.saved_last_epoch = None, True
        return True


def backup_callback(setting: Any, backup_dir: str) -> Optional[Any]:
    """The stage's backup for ``--resume``: ``auto`` by wall time, ``epoch`` or N steps as Keras does them, ``off`` none."""
    if setting == "off":
        return None
    if setting == "auto":
        return TimedBackup(backup_dir)
    return keras.callbacks.BackupAndRestore(backup_dir, save_freq=setting)


def history_persistence(backup: Any, save: Any) -> Any:
    """What the history callback calls after each epoch: ``save`` after every epoch, or (for a
    :class:`TimedBackup`) only after the epochs it backed up, so the history on disk matches the backup."""
    if not isinstance(backup, TimedBackup):
        return save

    def persist() -> None:
        if backup.saved_last_epoch:
            save()

    return persist


def save_on_interrupt(backup: Any, stage_index: int, history: list, save: Any) -> None:
    """``fit`` was interrupted: back up the epoch that ended last if its history row is written and no
    batch has run since (a :class:`TimedBackup` may not have saved it), then ``save`` the history."""
    if not isinstance(backup, TimedBackup) or backup.pending_epoch is None:
        return
    if any(r["stage"] == stage_index and r["stage_epoch"] == backup.pending_epoch for r in history):
        backup.save_pending()
        save()
