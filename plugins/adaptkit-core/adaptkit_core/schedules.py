"""The core plugin's learning-rate schedules, built in Keras.

:class:`TriangularSchedule` and :class:`InversePowerSchedule` are registered
Keras serializables (package ``adaptkit``, as before they moved here), so a
model compiled with them loads with plain ``keras.saving.load_model``.
"""

from __future__ import annotations

from typing import Any

import keras

from . import optim_sections as O

__all__ = ["TriangularSchedule", "InversePowerSchedule", "build_schedule"]


@keras.saving.register_keras_serializable(package="adaptkit")
class TriangularSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Piecewise linear: ``start`` -> ``peak`` over ``rise_steps``, then -> ``end`` at ``total_steps``.

    Covers linear warmup + linear decay (start 0) and ULMFiT's slanted
    triangular rate (start = end = peak / ratio, rise = cut_fraction).
    """

    def __init__(self, peak: float, total_steps: int, rise_steps: int, start: float, end: float) -> None:
        self.peak, self.total_steps, self.rise_steps = float(peak), int(total_steps), int(rise_steps)
        self.start, self.end = float(start), float(end)

    def __call__(self, step: Any) -> Any:
        step = keras.ops.cast(step, "float32")
        rise = max(self.rise_steps, 1)
        fall = max(self.total_steps - self.rise_steps, 1)
        up = self.start + (self.peak - self.start) * keras.ops.minimum(step / rise, 1.0)
        down = self.peak + (self.end - self.peak) * keras.ops.clip((step - self.rise_steps) / fall, 0.0, 1.0)
        return keras.ops.where(step < self.rise_steps, up, down)

    def get_config(self) -> dict:
        return {"peak": self.peak, "total_steps": self.total_steps, "rise_steps": self.rise_steps,
                "start": self.start, "end": self.end}


@keras.saving.register_keras_serializable(package="adaptkit")
class InversePowerSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """``rate / (1 + alpha p)^beta``, p = step / total_steps (Ganin et al.'s DANN annealing)."""

    def __init__(self, rate: float, total_steps: int, alpha: float, beta: float) -> None:
        self.rate, self.total_steps, self.alpha, self.beta = float(rate), int(total_steps), float(alpha), float(beta)

    def __call__(self, step: Any) -> Any:
        p = keras.ops.minimum(keras.ops.cast(step, "float32") / max(self.total_steps, 1), 1.0)
        return self.rate / keras.ops.power(1.0 + self.alpha * p, self.beta)

    def get_config(self) -> dict:
        return {"rate": self.rate, "total_steps": self.total_steps, "alpha": self.alpha, "beta": self.beta}


def build_schedule(section: Any, learning_rate: float, total_steps: int) -> Any:
    """A Keras learning-rate schedule (or a float) for one stage of ``total_steps`` steps."""
    if isinstance(section, O.ConstantSchedule):
        return learning_rate
    if isinstance(section, O.InversePowerSchedule):
        return InversePowerSchedule(learning_rate, total_steps, section.alpha, section.beta)
    if isinstance(section, O.SlantedTriangularSchedule):
        low = learning_rate / section.ratio
        rise = int(round(section.cut_fraction * total_steps))
        return TriangularSchedule(learning_rate, total_steps, rise, low, low)
    warmup = int(round(section.warmup_fraction * total_steps))
    if isinstance(section, O.LinearSchedule):
        return TriangularSchedule(learning_rate, total_steps, warmup, 0.0, learning_rate * section.final_fraction)
    decay = max(1, total_steps - warmup)
    if warmup:
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            decay_steps=decay,
            alpha=section.final_fraction,
            warmup_target=learning_rate,
            warmup_steps=warmup,
        )
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate, decay_steps=decay, alpha=section.final_fraction
    )
