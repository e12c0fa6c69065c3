"""The pieces the domain-alignment plugins share: the loss base with a progress weight, the ganin
ramp, a stream's flattened features and their size."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pytest

import adaptkit
from adaptkit import FeatureAlignmentLoss, StepBatch, feature_dim, flatten, progress_weight, stream_features


class Align(FeatureAlignmentLoss):
    """A test kind."""

    kind: Literal["align_test"]


def test_progress_weight_follows_the_schedule():
    assert Align.needs_target and Align(kind="align_test").schedule == "constant"
    constant = progress_weight(Align(kind="align_test", weight=0.3))
    assert float(constant(0.0)) == pytest.approx(0.3) and float(constant(1.0)) == pytest.approx(0.3)
    ramp = progress_weight(Align(kind="align_test", weight=2.0, schedule="ganin", gamma=10.0))
    assert float(ramp(0.0)) == pytest.approx(0.0)
    assert float(ramp(0.5)) == pytest.approx(2.0 * float(adaptkit.ganin_lambda(0.5, 10.0)))
    assert float(adaptkit.ganin_lambda(0.5)) == pytest.approx(0.986614, abs=1e-6)


def test_stream_features_are_flat_float32_from_the_step_or_the_extractor():
    import keras

    x = np.ones((4, 3, 2), "float32")
    assert tuple(flatten(x).shape) == (4, 6) and flatten(x).dtype == "float32"
    inputs = keras.Input((3, 2))
    encoder = keras.Model(inputs, keras.layers.Dense(5)(inputs))
    batch = StepBatch(x, None, encoder(x), None, 0.0, 2 * x, None, encoder(2 * x), None)
    assert tuple(stream_features(None, batch, "target").shape) == (4, 15)
    np.testing.assert_allclose(stream_features(None, batch, "target"), flatten(batch.features_target))
    extract = lambda z, training=True: z[:, 0, :]  # noqa: E731
    np.testing.assert_allclose(stream_features(extract, batch, "target"), 2 * x[:, 0, :])
    assert feature_dim(encoder, None) == 15 and feature_dim(encoder, extract) == 2
