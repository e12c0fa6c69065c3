"""The GAN plugin's math: MMD, CORAL, gradient penalty, encoder cloning."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from adaptkit_gan.compose import clone_encoder
from adaptkit_gan.layers import coral, critic_network, gradient_penalty, mmd


def test_mmd_is_near_zero_for_one_distribution_and_grows_with_shift():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(300, 5)).astype("float32")
    same = float(mmd(a, rng.normal(size=(300, 5)).astype("float32")))
    shifts = [float(mmd(a, rng.normal(s, 1.0, size=(300, 5)).astype("float32"))) for s in (0.5, 1.0, 2.0)]
    assert abs(same) < 0.03  # the biased estimate is O(1/n) above 0
    assert shifts[0] > 10 * abs(same) and shifts[0] < shifts[1] < shifts[2]


def test_mmd_matches_a_numpy_reference_with_a_fixed_bandwidth():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(7, 3)), rng.normal(0.5, 1.0, size=(5, 3))
    z = np.concatenate([x, y])
    d = ((z[:, None, :] - z[None, :, :]) ** 2).sum(-1)
    k = sum(np.exp(-d / (1.5 * 2.0 ** (i - 1))) for i in range(3))
    want = k[:7, :7].mean() + k[7:, 7:].mean() - 2 * k[:7, 7:].mean()
    got = float(mmd(x.astype("float32"), y.astype("float32"), kernels=3, kernel_mul=2.0, bandwidth=1.5))
    assert got == pytest.approx(want, rel=1e-4)


def test_coral_matches_a_numpy_reference():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(20, 4)), rng.normal(size=(15, 4)) @ rng.normal(size=(4, 4))
    want = ((np.cov(x, rowvar=False) - np.cov(y, rowvar=False)) ** 2).sum() / (4 * 4**2)
    assert float(coral(x.astype("float32"), y.astype("float32"))) == pytest.approx(want, rel=1e-4)
    assert float(coral(x.astype("float32"), x.astype("float32"))) == pytest.approx(0.0, abs=1e-7)


def test_coral_of_features_wider_than_the_batch_uses_gram_matrices_and_matches_numpy():
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(12, 300)), rng.normal(0.5, 2.0, size=(10, 300))
    want = ((np.cov(x, rowvar=False) - np.cov(y, rowvar=False)) ** 2).sum() / (4 * 300**2)
    assert float(coral(x.astype("float32"), y.astype("float32"))) == pytest.approx(want, rel=1e-3)


def test_gradient_penalty_of_a_linear_critic_and_its_gradient():
    critic = critic_network(3, hidden=[], seed=0)
    w = critic.layers[-1].kernel.numpy()[:, 0]
    rng = np.random.default_rng(3)
    fs, ft = rng.normal(size=(8, 3)).astype("float32"), rng.normal(size=(6, 3)).astype("float32")
    with tf.GradientTape() as tape:
        gp = gradient_penalty(critic, fs, ft, seed=keras.random.SeedGenerator(1))
    assert float(gp) == pytest.approx((np.linalg.norm(w) - 1.0) ** 2, rel=1e-4)
    grad = tape.gradient(gp, critic.layers[-1].kernel).numpy()[:, 0]
    # d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||: the penalty trains the critic (second-order gradient)
    np.testing.assert_allclose(grad, 2 * (np.linalg.norm(w) - 1) * w / np.linalg.norm(w), rtol=1e-3)


def test_clone_encoder_copies_values_into_new_variables_and_unfreezes_all_but_batch_norm():
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, keras.layers.Dense(3, name="d1")(inner_in), name="source")
    inp = keras.Input((4,))
    enc = keras.Model(inp, keras.layers.BatchNormalization(name="bn")(inner(inp)), name="encoder")
    inner.trainable = False
    enc.get_layer("bn").trainable = False
    clone = clone_encoder(enc, "target_encoder")
    assert clone.name == "target_encoder"
    assert not {id(v) for v in clone.weights} & {id(v) for v in enc.weights}
    x = np.random.default_rng(4).normal(size=(5, 4)).astype("float32")
    np.testing.assert_allclose(np.asarray(clone(x)), np.asarray(enc(x)), rtol=1e-6)
    names = sorted(v.path for v in clone.trainable_weights)
    assert names == ["d1/bias", "d1/kernel"]  # the frozen dense is trainable again; batch norm stays frozen
