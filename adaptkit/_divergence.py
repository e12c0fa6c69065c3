"""Training that diverges or stops early: stop at the first non-finite loss, report early stopping.

``StopOnDivergence`` goes first in a stage's callbacks: at the first batch
whose logs hold a non-finite loss it raises, before any later callback
(``BackupAndRestore``, the history's persistence) can save the broken weights,
so the last good checkpoint stays the one ``--resume`` goes on from and no
NaN model is ever saved as the result.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Optional

import keras

from ._errors import TrainingError

__all__ = ["Diverged", "StopOnDivergence", "early_stopping_report"]

log = logging.getLogger("adaptkit")


class Diverged(Exception):
    """Raised inside ``fit`` by :class:`StopOnDivergence` (the caller turns it into a TrainingError)."""

    def __init__(self, epoch: int, step: int, terms: dict[str, float]) -> None:
        self.epoch, self.step, self.terms = epoch, step, terms
        shown = ", ".join(f"{k} = {v}" for k, v in terms.items())
        super().__init__(f"diverged in epoch {epoch} (step {step}): {shown}")

    def error(self, where: str, hint: str = "") -> TrainingError:
        message = str(self)
        return TrainingError(where, message + (f"; {hint}" if hint else ""))


def _non_finite(logs: Optional[dict], terms: frozenset) -> dict[str, float]:
    """Losses (``loss``, ``*_loss``, the stage's loss terms) that are NaN or infinite. Metrics are
    left out: some are legitimately undefined on a batch (R² on constant targets)."""
    out = {}
    for key, value in (logs or {}).items():
        name = key[4:] if key.startswith("val_") else key
        if not (name == "loss" or name.endswith("_loss") or name in terms):
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            continue
        if not math.isfinite(number):
            out[key] = number
    return out


class StopOnDivergence(keras.callbacks.Callback):
    """Raise :class:`Diverged` at the first batch (or epoch) whose logs hold a NaN or infinite loss."""

    def __init__(self, terms: Optional[list[str]] = None) -> None:
        super().__init__()
        self.epoch = 0
        self.terms = frozenset(terms or ())

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        self.epoch = epoch + 1

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        bad = _non_finite(logs, self.terms)
        if bad:
            raise Diverged(self.epoch, batch + 1, bad)

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        bad = _non_finite(logs, self.terms)  # a validation loss that overflowed, say
        if bad:
            raise Diverged(epoch + 1, 0, bad)


def early_stopping_report(callback: Any, epochs: int, monitor: str) -> Optional[dict[str, Any]]:
    """What Keras' EarlyStopping did, for metrics.json: stopped after which epoch, kept which one."""
    if callback is None:
        return None
    stopped = int(getattr(callback, "stopped_epoch", 0) or 0)
    best_epoch = getattr(callback, "best_epoch", None)
    best = getattr(callback, "best", None)
    report: dict[str, Any] = {
        "monitor": monitor,
        "stopped_early": stopped > 0,
        "epochs_run": stopped + 1 if stopped > 0 else epochs,
        "best_epoch": None if best_epoch is None else int(best_epoch) + 1,
        "best": None if best is None or not math.isfinite(float(best)) else float(best),
        # Keras restores the best epoch's weights at the end of fit, early stop or not
        "restored_best_weights": bool(callback.restore_best_weights and callback.best_weights is not None),
    }
    return report
