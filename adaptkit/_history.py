"""Per-epoch history: the callback that writes one row per epoch (all stages) and logs it."""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Optional

import keras

__all__ = ["EpochLog", "learning_rate_reader"]

log = logging.getLogger("adaptkit")


class EpochLog(keras.callbacks.Callback):
    """One log line per epoch, and the rows of history.csv."""

    def __init__(
        self,
        rows: list,
        stage_index: int,
        stage_name: str,
        lr_of: Callable[[], float],
        persist: Optional[Callable[[], None]] = None,
    ) -> None:
        super().__init__()
        self.rows, self.stage_index, self.stage_name, self.lr_of = rows, stage_index, stage_name, lr_of
        self.persist = persist
        self.started = time.perf_counter()

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        # BackupAndRestore (earlier in the list) may have restored a later epoch: keep rows up to it
        done = getattr(self.model, "_initial_epoch", None) or 0
        kept = [r for r in self.rows if r["stage"] != self.stage_index or r["stage_epoch"] <= done]
        if done:
            log.info("stage %d (%s): resuming after epoch %d", self.stage_index, self.stage_name, done)
        self.rows[:] = kept

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        row: dict[str, Any] = {
            "epoch": len(self.rows) + 1,
            "stage": self.stage_index,
            "stage_name": self.stage_name,
            "stage_epoch": epoch + 1,
            "learning_rate": self.lr_of(),
            "seconds": round(time.perf_counter() - self.started, 3),
        }
        row.update({k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"})
        self.rows.append(row)
        shown = ", ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float) and k != "seconds")
        log.debug("stage %d (%s) epoch %d: %s", self.stage_index, self.stage_name, epoch + 1, shown)
        if self.persist is not None:
            self.persist()


def learning_rate_reader(optimizer: Any) -> Callable[[], float]:
    """A function reading the optimizer's current rate (schedules included)."""

    def read() -> float:
        try:
            return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        except Exception:
            return float("nan")

    return read
