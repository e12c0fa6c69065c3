"""Spec sections of the core plugin's learning-rate schedules and optimizers (pydantic only).

A stage writes ``schedule: {kind: cosine, warmup_fraction: 0.1}`` and
``optimizer: {name: sgd, learning_rate: 0.01, momentum: 0.9}``; each kind has
only its own fields.
"""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from adaptkit import OptimizerSection, ScheduleSection

__all__ = [
    "ConstantSchedule",
    "CosineSchedule",
    "LinearSchedule",
    "SlantedTriangularSchedule",
    "InversePowerSchedule",
    "AdamOptimizer",
    "AdamWOptimizer",
    "SGDOptimizer",
    "RMSpropOptimizer",
    "SCHEDULES",
    "OPTIMIZERS",
]


class ConstantSchedule(ScheduleSection):
    """The optimizer's rate throughout the stage."""

    kind: Literal["constant"]


class _Warmup(ScheduleSection):
    warmup_fraction: float = Field(0.0, ge=0, lt=1, description="Fraction of the stage's steps spent warming up linearly from 0.")
    final_fraction: float = Field(0.0, ge=0, le=1, description="Final rate as a fraction of the peak rate.")


class CosineSchedule(_Warmup):
    """Linear warmup from 0, then Keras ``CosineDecay`` to ``final_fraction`` of the peak."""

    kind: Literal["cosine"]


class LinearSchedule(_Warmup):
    """Linear warmup from 0, then a linear decay to ``final_fraction`` of the peak."""

    kind: Literal["linear"]


class SlantedTriangularSchedule(ScheduleSection):
    """ULMFiT's slanted triangular rate: a short linear rise from rate/ratio to the peak, then a
    long linear fall back to rate/ratio."""

    kind: Literal["slanted_triangular"]
    cut_fraction: float = Field(0.1, gt=0, lt=1, description="Fraction of the steps during which the rate rises.")
    ratio: float = Field(32.0, ge=1, description="How much smaller the lowest rate is than the peak.")


class InversePowerSchedule(ScheduleSection):
    """``rate / (1 + alpha p)^beta``, p the stage's progress from 0 to 1 (the annealing of Ganin et al.'s DANN)."""

    kind: Literal["inverse_power"]
    alpha: float = Field(10.0, ge=0, description="alpha of rate / (1 + alpha p)^beta.")
    beta: float = Field(0.75, ge=0, description="beta of rate / (1 + alpha p)^beta.")


class _Common(OptimizerSection):
    weight_decay: Optional[float] = Field(None, ge=0, description="Weight decay (Keras' weight_decay).")
    clipnorm: Optional[float] = Field(None, gt=0, description="Clip each gradient to this norm.")


class _Moments(_Common):
    beta_1: float = Field(0.9, ge=0, lt=1, description="Decay of the first-moment estimate (GANs like 0.5).")
    beta_2: float = Field(0.999, ge=0, lt=1, description="Decay of the second-moment estimate (WGAN-GP uses 0.9).")


class AdamOptimizer(_Moments):
    """Keras ``Adam``."""

    kind: Literal["adam"]


class AdamWOptimizer(_Moments):
    """Keras ``AdamW``: Adam with decoupled weight decay."""

    kind: Literal["adamw"]
    weight_decay: Optional[float] = Field(None, ge=0, description="Decoupled weight decay; default: Keras' 0.004.")


class SGDOptimizer(_Common):
    """Keras ``SGD``, with momentum."""

    kind: Literal["sgd"]
    momentum: float = Field(0.0, ge=0, lt=1, description="Momentum.")


class RMSpropOptimizer(_Common):
    """Keras ``RMSprop``, with momentum."""

    kind: Literal["rmsprop"]
    momentum: float = Field(0.0, ge=0, lt=1, description="Momentum.")


SCHEDULES = [ConstantSchedule, CosineSchedule, LinearSchedule, SlantedTriangularSchedule, InversePowerSchedule]
OPTIMIZERS = [AdamOptimizer, AdamWOptimizer, SGDOptimizer, RMSpropOptimizer]
