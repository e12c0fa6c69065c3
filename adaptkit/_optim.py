"""Learning-rate schedules and optimizers from their spec sections, through the plugins' hooks.

The host knows no schedule or optimizer kind: :func:`build_schedule` and
:func:`build_optimizer` hand the section to ``adaptkit_build_schedule`` /
``adaptkit_build_optimizer`` of the plugin host (the process host unless one
is given). No TensorFlow import here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ._plugins import PluginHost, get_host
from ._sections import OptimizerSection, ScheduleSection
from ._types import RunContext

__all__ = ["build_schedule", "build_optimizer"]


def _context(context: Optional[RunContext], where: str) -> RunContext:
    return context if context is not None else RunContext(seed=0, spec_dir=Path("."), where=where)


def build_schedule(
    section: ScheduleSection,
    learning_rate: float,
    total_steps: int,
    *,
    context: Optional[RunContext] = None,
    host: Optional[PluginHost] = None,
) -> Any:
    """A Keras learning-rate schedule (or a float) for ``total_steps`` steps peaking at ``learning_rate``."""
    context = _context(context, "schedule")
    return (host or get_host()).call_first(
        "adaptkit_build_schedule", context.where, section,
        learning_rate=learning_rate, total_steps=int(total_steps), context=context,
    )


def build_optimizer(
    section: OptimizerSection,
    learning_rate: Any,
    *,
    name: Optional[str] = None,
    context: Optional[RunContext] = None,
    host: Optional[PluginHost] = None,
) -> Any:
    """A fresh Keras optimizer for ``section`` running at ``learning_rate`` (a float or a schedule)."""
    context = _context(context, "optimizer")
    return (host or get_host()).call_first(
        "adaptkit_build_optimizer", context.where, section, learning_rate=learning_rate, name=name, context=context
    )
