"""The typed state of one run, handed from step to step (data, model, history, checkpoints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ._assembly import Assembly
from ._plugins import PluginHost
from ._rundir import Checkpoints
from ._splits import Splits
from ._types import Head, LossComposition, ModelParts, RunContext, TaskWeighting

__all__ = ["Streams", "RunState"]


@dataclass
class Streams:
    """The batched datasets that training reads: train (shuffled), validation, target (repeating)."""

    train: Any
    validation: Optional[Any]
    target: Optional[Any]

    @classmethod
    def of(cls, spec: Any, splits: Splits) -> "Streams":
        data = spec.data
        target = splits.batched("target", data.batch_size, cache=data.cache, shuffle_seed=spec.seed + 1)
        return cls(
            train=splits.batched("train", data.batch_size, cache=data.cache, shuffle_seed=spec.seed),
            validation=splits.batched("validation", data.batch_size, cache=data.cache),
            target=None if target is None else target.repeat(),
        )


@dataclass
class RunState:
    """Everything a run has built so far; each step of the runner reads and extends it."""

    spec: Any
    host: PluginHost
    ctx: RunContext
    splits: Splits
    assembly: Assembly
    streams: Streams
    history: list[dict] = field(default_factory=list)
    """Rows of history.csv, one per epoch of every stage."""
    checkpoints: Optional[Checkpoints] = None
    digest: str = ""
    """The resolved spec's digest (a resumed run must match it)."""
    before: Optional[ModelParts] = None
    """The model just before the first stage with domain-adaptation losses."""
    weighting: Optional[TaskWeighting] = None
    """Multi-task runs: the task-weighting strategy (kept across stages)."""
    compositions: list[LossComposition] = field(default_factory=list)
    """Every stage's loss compositions, in order (the last ``finalize`` makes the saved model)."""

    @property
    def parts(self) -> ModelParts:
        return self.assembly.parts

    @property
    def head(self) -> Head:
        return self.assembly.head

    @property
    def source(self) -> Any:
        return self.assembly.source

    @property
    def completed_stages(self) -> int:
        """Stages finished in an interrupted run being resumed (0 for a new run)."""
        return int(self.checkpoints.state.get("completed", 0)) if self.checkpoints is not None else 0
