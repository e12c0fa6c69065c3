"""The adversarial plugin's math: gradient reversal, lambda schedule, CDAN maps, domain loss."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

from adaptkit_adversarial.layers import (
    GradientReversal,
    RandomizedMultilinearMap,
    domain_accuracy,
    domain_classifier,
    domain_loss,
    entropy_weights,
    multilinear_map,
    reverse_gradient,
)
from adaptkit import ganin_lambda  # the host's, shared with the gan plugin


def test_reverse_gradient_is_identity_forward_and_negates_the_gradient():
    x = tf.Variable(np.linspace(-2, 2, 12, dtype="float32").reshape(3, 4))
    w = tf.constant(np.arange(12, dtype="float32").reshape(3, 4))
    with tf.GradientTape(persistent=True) as tape:
        plain = tf.reduce_sum(x * w)
        y = reverse_gradient(x, 0.5)
        reversed_ = tf.reduce_sum(y * w)
    np.testing.assert_array_equal(y.numpy(), x.numpy())  # exactly the identity
    np.testing.assert_allclose(tape.gradient(plain, x).numpy(), w.numpy())
    np.testing.assert_allclose(tape.gradient(reversed_, x).numpy(), -0.5 * w.numpy())


def test_gradient_reversal_layer_reverses_through_a_network_and_round_trips():
    dense = keras.layers.Dense(3)
    grl = GradientReversal(scale=2.0)
    x = tf.constant(np.random.default_rng(0).normal(size=(5, 4)).astype("float32"))
    dense.build((None, 4))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        a = tf.reduce_sum(dense(x) ** 2)
        b = tf.reduce_sum(grl(dense(x)) ** 2)
        c = tf.reduce_sum(grl(dense(x), scale=tf.constant(0.25)) ** 2)
    ga = tape.gradient(a, dense.kernel)
    np.testing.assert_allclose(tape.gradient(b, dense.kernel).numpy(), -2.0 * ga.numpy(), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(c, dense.kernel).numpy(), -0.25 * ga.numpy(), rtol=1e-5)
    np.testing.assert_allclose(tape.gradient(b, x).numpy(), -2.0 * tape.gradient(a, x).numpy(), rtol=1e-5)
    again = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(grl))
    assert isinstance(again, GradientReversal) and again.scale == 2.0


@pytest.mark.parametrize(
    "p, expected", [(0.0, 0.0), (0.5, 2 / (1 + math.exp(-5)) - 1), (1.0, 2 / (1 + math.exp(-10)) - 1)]
)
def test_ganin_lambda_schedule(p, expected):
    assert float(ganin_lambda(p)) == pytest.approx(expected, abs=1e-6)


def test_ganin_lambda_values_at_quarter_points_with_another_gamma():
    assert float(ganin_lambda(0.5, gamma=10.0)) == pytest.approx(0.986614, abs=1e-6)
    assert float(ganin_lambda(1.0, gamma=1.0)) == pytest.approx(0.462117, abs=1e-6)


def test_multilinear_map_is_the_flattened_outer_product():
    rng = np.random.default_rng(1)
    f = rng.normal(size=(4, 3)).astype("float32")
    g = rng.dirichlet(np.ones(5), size=4).astype("float32")
    got = np.asarray(multilinear_map(f, g))
    want = np.stack([np.outer(g[i], f[i]).reshape(-1) for i in range(4)])
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_randomized_multilinear_map_matches_its_formula_and_keeps_inner_products_on_average():
    rng = np.random.default_rng(2)
    f = rng.normal(size=(6, 8)).astype("float32")
    g = rng.dirichlet(np.ones(3), size=6).astype("float32")
    layer = RandomizedMultilinearMap(output_dim=4096, seed=3)
    out = np.asarray(layer((f, g)))
    rf, rg = layer.r_f.numpy(), layer.r_g.numpy()
    np.testing.assert_allclose(out, (f @ rf) * (g @ rg) / math.sqrt(4096), rtol=1e-4, atol=1e-5)
    assert not layer.trainable_weights and len(layer.non_trainable_weights) == 2
    # E[<T(a), T(b)>] = <f_a, f_b> <g_a, g_b>: the full map's inner product, within sampling error
    full = np.asarray(multilinear_map(f, g))
    np.testing.assert_allclose((out @ out.T).diagonal(), (full @ full.T).diagonal(), rtol=0.2)


def test_entropy_weights_favour_confident_predictions():
    w = np.asarray(entropy_weights(np.array([[0.5, 0.5], [1.0, 0.0]], "float32")))
    assert w[0] == pytest.approx(1.5, abs=1e-5)  # 1 + exp(-log 2)
    assert w[1] == pytest.approx(2.0, abs=1e-5)


def test_domain_loss_and_accuracy():
    ls = np.array([[3.0], [2.0], [-1.0]], "float32")
    lt = np.array([[-2.0], [1.0], [-4.0]], "float32")
    bce = np.concatenate([np.log1p(np.exp(-ls[:, 0])), np.log1p(np.exp(lt[:, 0]))])
    assert float(domain_loss(ls, lt)) == pytest.approx(bce.mean(), rel=1e-5)
    ones = np.ones(3, "float32")
    assert float(domain_loss(ls, lt, ones, ones)) == pytest.approx(bce.mean(), rel=1e-5)
    assert float(domain_accuracy(ls, lt)) == pytest.approx(4 / 6)


def test_domain_classifier_shape_dropout_and_determinism():
    a = domain_classifier(7, hidden=[16, 8], dropout=0.5, seed=4)
    b = domain_classifier(7, hidden=[16, 8], dropout=0.5, seed=4)
    x = np.ones((2, 7), "float32")
    assert a(x).shape == (2, 1)
    np.testing.assert_allclose(np.asarray(a(x)), np.asarray(b(x)))
    assert sum(isinstance(layer, keras.layers.Dropout) for layer in a.layers) == 2


def test_a_saved_model_with_the_plugin_layers_loads_in_safe_mode(tmp_path):
    import adaptkit

    inp = keras.Input((3,))
    h = GradientReversal(scale=0.5)(keras.layers.Dense(4)(inp))
    out = RandomizedMultilinearMap(8, seed=1)((h, keras.layers.Softmax()(h)))
    model = keras.Model(inp, out)
    model.save(tmp_path / "m.keras")
    again = adaptkit.load_model(tmp_path / "m.keras")
    x = np.ones((2, 3), "float32")
    np.testing.assert_allclose(np.asarray(again(x)), np.asarray(model(x)), rtol=1e-6)
    assert again.layers[2].scale == 0.5
