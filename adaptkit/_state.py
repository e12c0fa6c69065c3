"""The typed state of one run, handed from step to step (data, model, history, checkpoints)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ._assembly import Assembly
from ._errors import AdaptkitError
from ._plugins import PluginHost
from ._rundir import Checkpoints
from ._splits import Splits
from ._tasks import stream_tasks
from ._types import Head, LossComposition, ModelParts, RunContext, TaskWeighting

__all__ = ["Streams", "RunState"]


@dataclass
class Streams:
    """The batched datasets that training reads: train (shuffled), validation, target (repeating),
    and each own-data task's train stream (shuffled, repeating) and validation split."""

    train: Any
    validation: Optional[Any]
    target: Optional[Any]
    tasks: dict[str, Any] = field(default_factory=dict)
    task_validation: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: Any, splits: Splits) -> "Streams":
        data = spec.data
        bs, cache = data.batch_size, data.cache
        target = splits.batched("target", bs, cache=cache, shuffle_seed=spec.seed + 1)
        tasks, validation = {}, {}
        for i, task in enumerate(stream_tasks(spec)):
            tasks[task.name] = splits.batched(f"train@{task.name}", bs, cache=cache, shuffle_seed=spec.seed + 2 + i).repeat()
            val = splits.batched(f"validation@{task.name}", bs, cache=cache)
            if val is not None:
                validation[task.name] = val
        return cls(
            train=splits.batched("train", bs, cache=cache, shuffle_seed=spec.seed),
            validation=splits.batched("validation", bs, cache=cache),
            target=None if target is None else target.repeat(),
            tasks=tasks,
            task_validation=validation,
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
    early_stopping: dict[str, dict] = field(default_factory=dict)
    """Per stage name, what early stopping did (stopped after which epoch, kept which one)."""
    errors: list[AdaptkitError] = field(default_factory=list)
    """Errors that did not stop the run (an evaluation plugin that failed): written to
    ``metrics.json`` and reported when the run ends, with a non-zero exit status."""
    selection: dict[str, dict] = field(default_factory=dict)
    """Per stage name with ``select_by``: the epoch whose weights were kept and its score."""
    feature_cache: Any = None
    """The frozen features of the current stage's cut (:mod:`adaptkit._feature_cache`), while training."""
    shuffled_epochs: dict = field(default_factory=dict)
    """Iterations (epochs, and one as each fit starts) each training stream has been reshuffled
    for: the feature cache's (``True``) and the run's own (``False``)."""
    metrics: list = field(default_factory=list)
    """The built ``evaluation.metrics`` (:class:`adaptkit._metrics.BuiltMetric`), fed after training."""
    health: list[dict] = field(default_factory=list)
    """The health signals that fired while the stages trained (:mod:`adaptkit._health`), for metrics.json."""
    role: str = "main"
    """Which run this is, for trackers: ``main``, or a side run (``source_only``, ``single_task_<task>``)."""

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
