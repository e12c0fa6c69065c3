"""The ``training.cache`` spec key: whether frozen features are computed once, and how much memory they may take."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from ._sections import SpecModel

__all__ = ["FeatureCacheSpec"]


def _switch(value: Any) -> Any:
    """YAML reads a bare ``off`` as False (and ``on`` as True): take them as meant."""
    return {False: "off", True: "auto"}.get(value, value) if isinstance(value, bool) else value


class FeatureCacheSpec(SpecModel):
    """Frozen features computed once per split (docs/spec.md#frozen-features-computed-once)."""

    mode: Annotated[Literal["auto", "off"], BeforeValidator(_switch)] = Field(
        "auto",
        description=(
            "auto: when the model below some layer is frozen and computes the same in training as in inference "
            "(no dropout, random augmentation or learning BatchNorm there), that layer's output is computed once "
            "per split and the stage trains the rest on it; off: every epoch runs the whole model."
        ),
    )
    memory_limit_mb: int = Field(
        1024,
        ge=0,
        le=2**30,
        description="Features held in memory up to this size; beyond it they are written to the run directory (and deleted when training ends).",
    )
