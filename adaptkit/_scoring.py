"""Transferability scores (``rank.scores``): what a score plugin gets and answers, and how the host builds and calls them.

The score kinds come from plugins (``adaptkit_build_score``); a spec that
leaves ``rank.scores`` out gets every kind whose class says ``default = True``.
Each score reads one candidate's frozen features of the labeled training split
(and the source's own class probabilities, where the candidate has a
classifier); the host times each call and records "n/a" with the reason where
a score does not apply (the other kind of task, no source classifier). No
TensorFlow here: scores are numpy functions.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from ._errors import AdaptkitError, PluginError, SpecError
from ._types import TaskInfo

__all__ = ["ScoreData", "Score", "BuiltScore", "ScoreValue", "score_sections", "build_scores", "compute_score"]


@dataclass(frozen=True)
class ScoreData:
    """One candidate's view of the labeled training split, as a score reads it (numpy arrays).

    ``features``: float64 ``(N, D)``, the candidate's frozen output (spatial maps pooled);
    ``labels``: ``(N,)`` class indices for a classifier, ``(N,)`` or ``(N, K)`` float targets for
    a regression; ``source_probabilities``: ``(N, Z)`` class probabilities of the source model's
    own classifier (rows sum to 1), ``None`` when the candidate has none; ``seed``: the spec's
    (for cross-validation folds).
    """

    features: Any
    labels: Any
    task: TaskInfo
    source_probabilities: Any = None
    seed: int = 0

    @property
    def classification(self) -> bool:
        return self.task.num_classes is not None


@dataclass
class Score:
    """What ``adaptkit_build_score`` returns: ``compute(data)`` -> one finite number for a
    :class:`ScoreData`; ``higher_is_better`` says which way a better source moves it."""

    compute: Callable[[ScoreData], float]
    higher_is_better: bool = True


@dataclass(frozen=True)
class BuiltScore:
    where: str
    section: Any
    score: Score

    @property
    def kind(self) -> str:
        return self.section.kind


@dataclass
class ScoreValue:
    """One score of one candidate: the value (None: n/a, with ``note`` saying why) and its seconds."""

    value: Optional[float]
    seconds: float = 0.0
    note: str = ""
    higher_is_better: bool = True

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "seconds": round(self.seconds, 4), "higher_is_better": self.higher_is_better}
        if self.note:
            out["note"] = self.note
        return out


def score_sections(rank: Any, host: Any) -> list[tuple[str, Any]]:
    """``(where, section)`` of ``rank.scores``, or of the default kinds when it lists none."""
    if rank.scores is not None:
        return [(f"rank.scores.{i}", section) for i, section in enumerate(rank.scores)]
    return [("rank.scores", cls.model_validate({"kind": kind})) for kind, (cls, _) in host.sections["score"].items() if cls.default]


def build_scores(rank: Any, host: Any, ctx: Any, task: TaskInfo) -> list[BuiltScore]:
    """Every score of the spec, built by its plugin; a listed score for the other kind of task is a
    ``SpecError`` (a default one is left out); none at all is one too."""
    built = []
    regression = task.num_classes is None
    for where, section in score_sections(rank, host):
        need = type(section).task
        if need is not None and (need == "regression") != regression:
            if where == "rank.scores":
                continue
            raise SpecError(where, f"{section.kind!r} scores {need} tasks; the spec's task is a {'regression' if regression else 'classification'}")
        score = host.call_first("adaptkit_build_score", where, section, context=ctx.at(where))
        built.append(BuiltScore(where, section, score))
    if not built:
        raise SpecError("rank.scores", "no score applies to the spec's task: list one (e.g. {kind: logme})")
    return built


def compute_score(built: BuiltScore, data: ScoreData) -> ScoreValue:
    """One score on one candidate, timed; n/a without a source classifier where it needs one;
    a failure or a wrong answer is a ``PluginError`` naming the score."""
    direction = built.score.higher_is_better
    if type(built.section).needs_source_classes and data.source_probabilities is None:
        return ScoreValue(None, 0.0, "n/a (no source classifier)", direction)
    start = time.perf_counter()
    try:
        value = built.score.compute(data)
    except AdaptkitError:
        raise
    except Exception as exc:
        text = " ".join(str(exc).split()) or type(exc).__name__
        raise PluginError(built.where, f"score {built.kind!r} failed: {type(exc).__name__}: {text}") from exc
    seconds = time.perf_counter() - start
    if not isinstance(value, numbers.Real) or isinstance(value, bool) or not math.isfinite(float(value)):
        raise PluginError(built.where, f"score {built.kind!r} answered {value!r}, not a finite number")
    return ScoreValue(float(value), seconds, "", direction)


@dataclass
class CandidateRow:
    """One candidate's line of the ranking: its name, where it is in the spec, its scores."""

    name: str
    where: str
    feature_dim: int
    forward_seconds: float
    pretrained: Optional[bool]
    scores: dict[str, ScoreValue] = field(default_factory=dict)

    def value(self, kind: str) -> Optional[float]:
        found = self.scores.get(kind)
        return None if found is None else found.value

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "where": self.where,
            "feature_dim": self.feature_dim,
            "forward_seconds": round(self.forward_seconds, 3),
            "pretrained": self.pretrained,
            "scores": {k: v.as_dict() for k, v in self.scores.items()},
        }
