"""Augmentation sections: Keras preprocessing layers, random in training, identity at inference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

import adaptkit
from adaptkit import RunContext
from adaptkit_vision.sections import (
    RandomContrastAugment,
    RandomFlipAugment,
    RandomRotationAugment,
    RandomZoomAugment,
)

SECTIONS = [
    RandomFlipAugment(mode="horizontal_and_vertical"),
    RandomRotationAugment(factor=0.2),
    RandomZoomAugment(factor=0.3),
    RandomContrastAugment(factor=0.5),
]


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.kind)
def test_augmentation_is_random_in_training_and_identity_at_inference(section):
    import keras

    host = adaptkit.get_host()
    layer = host.hook.adaptkit_build_augmentation(
        section=section, input_shape=(16, 16, 3), context=RunContext(seed=0, spec_dir=Path("."), where="augment.0")
    )
    assert isinstance(layer, keras.layers.Layer)
    x = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x, training=False)), x)
    trained = keras.ops.convert_to_numpy(layer(x, training=True))
    assert trained.shape == x.shape and not np.allclose(trained, x)


@pytest.mark.parametrize("section", SECTIONS, ids=lambda s: s.kind)
@pytest.mark.parametrize("shape", [(64,), (8, 8), (4, 8, 8, 1)])
def test_augmentation_refuses_examples_that_are_not_images(section, shape):
    host = adaptkit.get_host()
    with pytest.raises(adaptkit.SpecError) as info:
        host.call_first("adaptkit_build_augmentation", "augment.0", section, input_shape=shape,
                        context=RunContext(seed=0, spec_dir=Path("."), where="augment.0"))
    assert str(info.value) == (
        f"augment.0: {section.kind} needs images (height, width, channels); the data's examples have shape {shape}"
    )


def test_augmentation_fields_are_checked():
    with pytest.raises(ValidationError):
        RandomRotationAugment(factor=0)
    with pytest.raises(ValidationError):
        RandomFlipAugment(mode="diagonal")
    with pytest.raises(ValidationError):
        RandomZoomAugment(factor=0.2, extra=1)
