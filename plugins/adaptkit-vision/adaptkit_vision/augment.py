"""Augmentation sections as Keras preprocessing layers (random in training, identity at inference)."""

from __future__ import annotations

from typing import Optional

import keras

from adaptkit import RunContext, SpecError

from .sections import RandomContrastAugment, RandomFlipAugment, RandomRotationAugment, RandomZoomAugment

__all__ = ["build_augmentation", "check_images"]


def check_images(kind: str, input_shape: tuple, where: str) -> None:
    """Every augmentation here works on images (height, width, channels): refuse anything else
    while the model is built, not in the first training step (Keras' own error comes only then)."""
    shape = tuple(input_shape)
    if len(shape) != 3 or not all(isinstance(d, int) and d > 0 for d in shape):
        raise SpecError(where, f"{kind} needs images (height, width, channels); the data's examples have shape {shape}")


def build_augmentation(section, context: RunContext, input_shape: Optional[tuple] = None):
    """The Keras layer for one ``augment[i]`` section, seeded by the run's seed; ``None`` if not ours."""
    if input_shape is not None:
        check_images(section.kind, input_shape, context.where)
    seed = context.seed
    if isinstance(section, RandomFlipAugment):
        return keras.layers.RandomFlip(mode=section.mode, seed=seed)
    if isinstance(section, RandomRotationAugment):
        return keras.layers.RandomRotation(section.factor, fill_mode=section.fill_mode, seed=seed)
    if isinstance(section, RandomZoomAugment):
        return keras.layers.RandomZoom(section.factor, fill_mode=section.fill_mode, seed=seed)
    if isinstance(section, RandomContrastAugment):
        return keras.layers.RandomContrast(section.factor, value_range=(0, 255), seed=seed)
    return None
