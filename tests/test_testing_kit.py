"""adaptkit.testing, the plugin author's kit: its data needs no scikit-learn, its helpers build
through the host and catch what they are for."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from adaptkit import ModelError
from adaptkit.testing import (
    check_plugin,
    check_save_reload,
    compose_loss,
    digits_arrays,
    digits_spec,
    expect_error,
    fake_step_batch,
    make_moons,
)


def test_the_kit_imports_and_writes_its_data_without_scikit_learn_or_tensorflow(tmp_path):
    code = textwrap.dedent(f"""
        import sys
        sys.modules["sklearn"] = None  # a plugin author's environment: no scikit-learn
        from adaptkit.testing import write_digits, write_rotated_moons
        write_digits({str(tmp_path / 'd.npz')!r})
        write_rotated_moons({str(tmp_path)!r})
        print(sorted(m for m in ("tensorflow", "keras", "sklearn") if sys.modules.get(m)))
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.npz", "source.npz", "source_test.npz", "target.npz"]


def test_the_digits_are_real_uci_digits_forty_per_class():
    from sklearn.datasets import load_digits

    x, y = digits_arrays()
    assert x.shape == (400, 8, 8, 1) and np.bincount(y).tolist() == [40] * 10
    digits = load_digits()
    reference = {(int(t), im.astype("uint8").tobytes()) for im, t in zip(digits.images, digits.target)}
    assert all((int(t), im[..., 0].astype("uint8").tobytes()) in reference for im, t in zip(x, y))


@pytest.mark.parametrize("n, seed", [(600, 0), (301, 1000)])
def test_the_moons_are_scikit_learns(n, seed):
    from sklearn.datasets import make_moons as reference

    x, y = make_moons(n, noise=0.1, random_state=seed)
    rx, ry = reference(n, noise=0.1, random_state=seed)
    assert np.array_equal(x, rx) and np.array_equal(y, ry)


def test_expect_error_returns_the_message_and_fails_on_the_wrong_place(tmp_path, adaptkit_digits):
    spec = digits_spec(adaptkit_digits, head={"kind": "classifier", "hidden": [0]})
    text = expect_error(spec, where="head.hidden.0", message="greater than 0", directory=tmp_path)
    assert text == "Input should be greater than 0"
    with pytest.raises(AssertionError, match="no line 'error: head.dropout: ...'"):
        expect_error(spec, where="head.dropout", directory=tmp_path)


def test_a_fake_step_batch_holds_real_outputs_of_the_parts():
    batch = fake_step_batch(batch_size=5)
    assert tuple(batch.x_source.shape) == (5, 4) and tuple(batch.features_source.shape) == (5, 8)
    assert np.allclose(np.asarray(batch.outputs_source).sum(axis=1), 1.0, atol=1e-5)  # the classifier's softmax
    assert batch.x_target is not None and batch.y_target is None and float(batch.progress) == 0.5
    assert fake_step_batch(target=False).features_target is None


def test_compose_loss_evaluates_every_term_of_a_real_plugin():
    check = compose_loss({"kind": "mmd", "weight": 0.3})
    assert list(check.values) == ["mmd_loss"] and check.values["mmd_loss"] >= 0.0


def test_check_plugin_passes_a_real_plugin():
    report = check_plugin("adaptkit_gan")
    assert report.built == ["loss: adda", "loss: wdgrl", "loss: mmd", "loss: coral"] and report.skipped == []


FLAWED = '''
from typing import Literal
import adaptkit

class Loose(adaptkit.HeadSection):
    kind: Literal["loose"]

class Lonely(adaptkit.SourceSection):
    kind: Literal["lonely"]

@adaptkit.hookimpl
def adaptkit_sections():
    return [Loose, Lonely]

@adaptkit.hookimpl
def adaptkit_attach_head(section, features, task, context):
    return "not a Head"

def adaptkit_load_source(section, input_shape, context):
    return None
'''


def test_check_plugin_reports_every_problem_at_once(tmp_path, monkeypatch):
    (tmp_path / "adaptkit_flawed.py").write_text(FLAWED)
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(AssertionError) as info:
        check_plugin("adaptkit_flawed", import_check=False)
    text = str(info.value)
    assert "warning: adaptkit_load_source is defined without @adaptkit.hookimpl" in text
    assert "it declares source kinds ['lonely'] but does not implement adaptkit_load_source" in text
    assert "head kind 'loose': PluginError: head: plugin 'adaptkit_flawed' answered adaptkit_attach_head with" in text


def test_check_save_reload_passes_a_registered_layer_and_names_an_unregistered_one():
    import keras

    class Shift(keras.layers.Layer):
        def call(self, x):
            return x + 1.0

    x = np.ones((2, 3), "float32")
    with pytest.raises(ModelError, match="layer 'shift' is a .*Shift, a custom Keras class that is not registered"):
        check_save_reload(Shift(name="shift"), x)
    registered = keras.saving.register_keras_serializable(package="adaptkit_kit_test")(type("Shifted", (Shift,), {}))
    reloaded = check_save_reload(registered(name="shifted"), x)
    assert type(reloaded.layers[-1]) is registered
