"""The spec's ``candidates`` and ``rank`` keys: the sources ``adaptkit rank`` compares, and how it scores them.

Pydantic only: no TensorFlow here. ``U`` maps each section family to the union
of its installed kinds (``adaptkit._spec`` builds it). ``adaptkit run`` ignores
both keys: it trains the spec's own ``source``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional

from pydantic import AfterValidator, Field, create_model, model_validator

__all__ = ["rank_fields", "candidate_name"]

MAX_RANK_EXAMPLES = 1_000_000


def candidate_name(candidate: Any, index: int) -> str:
    """The candidate's name, or ``<source kind>-<index>`` when it has none."""
    return candidate.name or f"{candidate.source.kind}-{index}"


def _distinct_names(candidates: Optional[list]) -> Optional[list]:
    if candidates:
        names = [candidate_name(c, i) for i, c in enumerate(candidates)]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"candidate names must differ: {', '.join(twice)} is given twice")
    return candidates


def rank_fields(U: dict[str, Any], base: type) -> dict[str, Any]:
    """The ``candidates`` and ``rank`` fields of ``PipelineSpec``, for the installed kinds ``U``."""
    CandidateSpec = create_model(
        "CandidateSpec",
        __base__=base,
        __doc__="One source model `adaptkit rank` scores (a source section, its surgery, optionally its own classifier).",
        name=(
            Optional[str],
            Field(None, pattern=r"^[A-Za-z0-9_.-]+$", max_length=64, description="A label for the table (default: <source kind>-<index>)."),
        ),
        source=(U["source"], Field(..., description="The candidate source model, as the spec's `source` is written.")),
        surgery=(
            Optional[list[U["surgery"]]],
            Field(None, description="Its layer surgery before the forward pass (e.g. truncate); default: the spec's `surgery`."),
        ),
        classifier=(
            Optional[U["source"]],
            Field(
                None,
                description=(
                    "A source section whose model outputs the source task's class probabilities (or logits) for the same "
                    "inputs, e.g. the whole saved model with its old head: LEEP reads it. Without it LEEP is n/a."
                ),
            ),
        ),
    )

    def _primary_listed(self: Any) -> Any:
        if self.primary is not None and self.scores is not None and self.primary not in [s.kind for s in self.scores]:
            raise ValueError(f"primary {self.primary!r} is not one of the listed scores ({', '.join(s.kind for s in self.scores)})")
        return self

    RankSpec = create_model(
        "RankSpec",
        __base__=base,
        __doc__="How `adaptkit rank` scores the candidates.",
        __validators__={"_primary": model_validator(mode="after")(_primary_listed)},
        scores=(
            Optional[list[U["score"]]],
            Field(None, min_length=1, description="The transferability scores (logme, leep, h_score, linear_probe, knn, ...); default: every default kind for the task."),
        ),
        primary=(
            Optional[str],
            Field(None, min_length=1, description="The score kind the table is ranked by (default: logme, else the first score)."),
        ),
        limit=(
            Optional[int],
            Field(2000, ge=2, le=MAX_RANK_EXAMPLES, description="Score at most this many examples of the training split (null: all of them)."),
        ),
        pooling=(
            Literal["avg", "flatten"],
            Field("avg", description="How a candidate's spatial feature maps become vectors: global average, or flattened."),
        ),
    )
    return {
        "candidates": (
            Optional[Annotated[list[CandidateSpec], AfterValidator(_distinct_names)]],
            Field(None, description="Source models `adaptkit rank` compares before any fine-tuning (`adaptkit run` ignores them)."),
        ),
        "rank": (RankSpec, Field({}, validate_default=True, description="Which transferability scores `adaptkit rank` computes, on how many examples.")),
    }
