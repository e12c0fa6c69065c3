"""``adaptkit rank``: every candidate source's frozen features of the training split, scored for transferability.

The data is loaded and split exactly as ``run`` does (:func:`adaptkit._splits.load_splits`),
so no validation or test example is scored. Each candidate is loaded through the same
hooks as the spec's ``source`` (``adaptkit_load_source``, then its surgery, or the
spec's), and the training split goes once through it in inference mode (BatchNorm
with its statistics, no dropout, no augmentation); a candidate's ``classifier``
runs on the same batches, for the scores that read the source's own classes
(LEEP). Spatial maps are pooled (``rank.pooling``). Every score is then called
on the numpy features and timed (:mod:`adaptkit._scoring`). Imports TensorFlow.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import keras
import numpy as np

from ._errors import AdaptkitError, SpecError
from ._plugins import PluginHost, get_host
from ._rank_spec import candidate_name
from ._runner import configure_determinism
from ._scoring import BuiltScore, CandidateRow, ScoreData, build_scores, compute_score
from ._splits import load_splits
from ._types import RunContext, TaskInfo

__all__ = ["RankResult", "rank_candidates"]

log = logging.getLogger("adaptkit")


@dataclass
class RankResult:
    """The ranking: one row per candidate (in the spec's order), the scores' kinds, the data it read."""

    rows: list[CandidateRow]
    kinds: list[str]
    primary: str
    task: TaskInfo
    examples: int
    per_class: dict[str, int] = field(default_factory=dict)
    errors: list[AdaptkitError] = field(default_factory=list)

    def ranked(self) -> list[CandidateRow]:
        """Rows by the primary score, best first (n/a last)."""
        up = next((r.scores[self.primary].higher_is_better for r in self.rows if self.primary in r.scores), True)
        return sorted(self.rows, key=lambda r: (r.value(self.primary) is None, -(r.value(self.primary) or 0.0) if up else (r.value(self.primary) or 0.0)))


def _primary(spec: Any, kinds: list[str]) -> str:
    if spec.rank.primary is not None:
        if spec.rank.primary not in kinds:
            raise SpecError("rank.primary", f"{spec.rank.primary!r} is not among the scores computed for this task ({', '.join(kinds)})")
        return spec.rank.primary
    return "logme" if "logme" in kinds else kinds[0]


def _pool(array: np.ndarray, pooling: str) -> np.ndarray:
    if array.ndim <= 2:
        return array.reshape(len(array), -1)
    if pooling == "flatten":
        return array.reshape(len(array), -1)
    return array.mean(axis=tuple(range(1, array.ndim - 1)))


def _build(host: PluginHost, ctx: RunContext, where: str, section: Any, input_shape: tuple) -> Any:
    return host.call_first("adaptkit_load_source", where, section, input_shape=input_shape, context=ctx.at(where))


def _forward(dataset: Any, models: list[Any], pooling: str) -> tuple[list[np.ndarray], np.ndarray]:
    """Every model's output on every batch (inference mode), and the labels."""
    outs: list[list[np.ndarray]] = [[] for _ in models]
    labels = []
    for x, y in dataset:
        for out, model in zip(outs, models):
            out.append(_pool(keras.ops.convert_to_numpy(model(x, training=False)).astype(np.float64), pooling))
        labels.append(np.asarray(y))
    return [np.concatenate(o) for o in outs], np.concatenate(labels)


def _candidate(spec: Any, host: PluginHost, ctx: RunContext, index: int, candidate: Any, dataset: Any,
               input_shape: tuple, task: TaskInfo, scores: list[BuiltScore], errors: list) -> CandidateRow:
    where = f"candidates.{index}"
    start = time.perf_counter()
    surgery = spec.surgery if candidate.surgery is None else candidate.surgery
    keras.utils.set_random_seed(spec.seed)  # a randomly initialised candidate is the same whatever its place
    models = [_build(host, ctx, f"{where}.source", candidate.source, input_shape)]
    for i, op in enumerate(surgery):
        at = f"{where}.surgery.{i}" if candidate.surgery is not None else f"surgery.{i}"
        models[0] = host.call_first("adaptkit_apply_surgery", at, op, model=models[0], context=ctx.at(at))
    if candidate.classifier is not None:
        models.append(_build(host, ctx, f"{where}.classifier", candidate.classifier, input_shape))
    outputs, labels = _forward(dataset, models, spec.rank.pooling)
    features = outputs[0]
    probabilities = outputs[1] if len(outputs) > 1 else None
    forward = time.perf_counter() - start
    name = candidate_name(candidate, index)
    log.info("%s: %d features of %d examples in %.1f s", name, features.shape[1], len(features), forward)
    data = ScoreData(features, labels, task, probabilities, spec.seed)
    row = CandidateRow(name, where, int(features.shape[1]), forward, candidate.source.has_pretrained_weights())
    for built in scores:
        try:
            row.scores[built.kind] = compute_score(built, data)
        except AdaptkitError as exc:
            errors.append(exc)
    del models
    keras.backend.clear_session()
    gc.collect()
    return row


def rank_candidates(spec: Any, spec_path: Path, host: Optional[PluginHost] = None, trust_code: bool = False) -> RankResult:
    """Score every candidate of ``spec`` on its training split; a score that fails costs its own value only."""
    host = host or get_host()
    if not spec.candidates:
        raise SpecError("candidates", "no candidates to rank: list source sections under candidates, or give --source")
    if spec.tasks is not None and len(spec.tasks) > 1:
        raise SpecError("tasks", "rank scores one task: give head (or a single task)")
    ctx = RunContext(seed=spec.seed, spec_dir=Path(spec_path).resolve().parent, trust_code=trust_code)
    configure_determinism(spec.seed)
    splits = load_splits(spec, host, ctx)
    task = next(iter(splits.tasks.values()))
    scores = build_scores(spec.rank, host, ctx, task)
    kinds = [s.kind for s in scores]
    primary = _primary(spec, kinds)
    train = splits.sets["train"]
    if spec.rank.limit is not None:
        train = train.take(spec.rank.limit)
    dataset = train.batch(spec.data.batch_size).cache()
    input_shape = tuple(splits.source.input_shape)
    errors: list[AdaptkitError] = []
    rows = [_candidate(spec, host, ctx, i, c, dataset, input_shape, task, scores, errors) for i, c in enumerate(spec.candidates)]
    labels = np.concatenate([np.asarray(y) for _, y in dataset])
    per_class: dict[str, int] = {}
    if task.num_classes is not None:
        counts = np.bincount(labels.astype(int).reshape(-1), minlength=task.num_classes)
        per_class = {str(name): int(c) for name, c in zip(task.class_names, counts)}
    return RankResult(rows, kinds, primary, task, int(len(labels)), per_class, errors)
