"""The core plugin's optimizers (adam, adamw, sgd, rmsprop), built in Keras."""

from __future__ import annotations

from typing import Any, Optional

import keras

from . import optim_sections as O

__all__ = ["build_optimizer"]


def build_optimizer(section: Any, learning_rate: Any, name: Optional[str] = None) -> keras.optimizers.Optimizer:
    """A Keras optimizer from one of the core optimizer sections and a rate or schedule."""
    common: dict[str, Any] = {"learning_rate": learning_rate}
    if name:
        common["name"] = name
    if section.clipnorm:
        common["clipnorm"] = section.clipnorm
    if isinstance(section, O.AdamWOptimizer):
        decay = 0.004 if section.weight_decay is None else section.weight_decay  # Keras' default
        return keras.optimizers.AdamW(weight_decay=decay, beta_1=section.beta_1, beta_2=section.beta_2, **common)
    if section.weight_decay:
        common["weight_decay"] = section.weight_decay
    if isinstance(section, O.AdamOptimizer):
        return keras.optimizers.Adam(beta_1=section.beta_1, beta_2=section.beta_2, **common)
    if isinstance(section, O.SGDOptimizer):
        return keras.optimizers.SGD(momentum=section.momentum, **common)
    return keras.optimizers.RMSprop(momentum=section.momentum, **common)
