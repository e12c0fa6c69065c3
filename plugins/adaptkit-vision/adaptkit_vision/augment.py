"""Augmentation sections as Keras preprocessing layers (random in training, identity at inference)."""

from __future__ import annotations

import keras

from adaptkit import RunContext

from .sections import RandomContrastAugment, RandomFlipAugment, RandomRotationAugment, RandomZoomAugment

__all__ = ["build_augmentation"]


def build_augmentation(section, context: RunContext):
    """The Keras layer for one ``augment[i]`` section, seeded by the run's seed; ``None`` if not ours."""
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
