"""Experiment tracking: the callbacks every ``tracking`` section adds to each stage and the baseline.

``tracking`` lists tracker sections (a section family: TensorBoard from core,
MLflow or Weights & Biases from third-party plugins). For each fit, the host
asks the plugin that declared each section, through ``adaptkit_stage_callbacks``,
for Keras callbacks, and hands it a :class:`StageInfo` saying which run, stage
and seed they are in and where the run directory is. They run after the host's
own callbacks (divergence stopping first, the backup for ``--resume``, the
history), so they see every logged value and cannot come in between.
No TensorFlow here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

__all__ = ["StageInfo", "stage_info", "tracker_callbacks"]


@dataclass(frozen=True)
class StageInfo:
    """Where a tracker's callbacks are: which run, which stage, which seed (``adaptkit_stage_callbacks``)."""

    run_name: str
    """The spec's ``name``."""
    run: str
    """``"main"``; ``"baseline"``; ``"source_only"`` or ``"single_task_<task>"`` for the side runs."""
    stage: int
    """The stage's index (0-based; 0 for the baseline)."""
    stage_name: str
    epochs: int
    """Epochs this fit runs at most."""
    first_epoch: int
    """Epochs the same run trained before this stage: its epoch ``e`` is the run's epoch ``first_epoch + e``."""
    seed: int
    run_dir: Optional[Path]
    """The run directory being written (the ``.partial`` folder, renamed when the run completes):
    files written under it stay with the run. ``None`` when the run writes none."""
    spec: Any = None
    """The resolved spec (``spec.model_dump(mode="json")`` gives its parameters)."""

    @property
    def is_baseline(self) -> bool:
        return self.run == "baseline"

    @property
    def folder(self) -> str:
        """A file-name-safe name of the fit: ``1-head``, ``baseline``, ``source_only/1-head``."""
        if self.is_baseline:
            return "baseline"
        own = f"{self.stage + 1}-" + (re.sub(r"[^A-Za-z0-9_.-]+", "_", self.stage_name).strip("._") or "stage")
        return own if self.run == "main" else f"{self.run}/{own}"


def stage_info(run: Any, stage: int, name: str, epochs: int, first_epoch: int, role: Optional[str] = None) -> StageInfo:
    """The :class:`StageInfo` of one fit of ``run`` (``role``: the run's own unless given)."""
    spec = run.spec
    return StageInfo(spec.name, role or run.role, stage, name, epochs, first_epoch, spec.seed, run.ctx.run_dir, spec)


def tracker_callbacks(run: Any, info: StageInfo) -> list:
    """Every ``tracking`` section's callbacks for the fit ``info`` describes, in the spec's order."""
    out: list = []
    for i, section in enumerate(getattr(run.spec, "tracking", None) or []):
        where = f"tracking.{i}"
        answer = run.host.call_first("adaptkit_stage_callbacks", where, section, stage=info, context=run.ctx.at(where))
        out.extend(answer)
    return out
