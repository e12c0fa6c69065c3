"""Saved models with plugin layers load in a fresh process: through adaptkit.load_model (the
adaptkit_keras_objects hook), and with plain keras.saving.load_model once the plugin packages are
imported (they register their layers as soon as Keras is imported, before or after them)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.fixture(scope="module")
def plugin_layers_model(tmp_path_factory):
    """A .keras file holding a layer of the vision plugin and one of the text plugin."""
    import keras

    from adaptkit_text.layers import StripWhitespace
    from adaptkit_vision.layers import FamilyPreprocess

    image, text = keras.Input((8, 8, 1)), keras.Input((), dtype="string")
    scores = keras.layers.Dense(2)(keras.layers.Flatten()(FamilyPreprocess(mode="caffe")(image)))
    path = tmp_path_factory.mktemp("m") / "m.keras"
    keras.Model([image, text], [scores, StripWhitespace()(text)]).save(path)
    return path


def _run(code: str) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    return out.stdout + out.stderr[-1500:]


def test_model_with_plugin_layers_loads_through_the_hook_and_plainly_after_importing_the_plugins(plugin_layers_model):
    code = (
        "import sys, keras\n"
        f"path = {str(plugin_layers_model)!r}\n"
        "try:\n"
        "    keras.saving.load_model(path, safe_mode=True)\n"
        "    print('PLAIN ok')\n"
        "except Exception as exc:\n"
        "    print('PLAIN failed')\n"
        "import adaptkit\n"
        "m = adaptkit.load_model(path)\n"
        "print('HOOK', sorted(type(layer).__name__ for layer in m.layers))\n"
        "import adaptkit_vision, adaptkit_text\n"  # Keras is imported: they register at once
        "m = keras.saving.load_model(path, safe_mode=True)\n"
        "print('AFTER', sorted(type(layer).__name__ for layer in m.layers))\n"
    )
    out = _run(code)
    assert "PLAIN failed" in out, out
    assert "HOOK" in out and "FamilyPreprocess" in out.split("HOOK")[1] and "StripWhitespace" in out.split("HOOK")[1], out
    assert "AFTER" in out and "FamilyPreprocess" in out.split("AFTER")[1] and "StripWhitespace" in out.split("AFTER")[1], out


def test_plugins_imported_before_keras_register_their_layers_when_keras_comes(plugin_layers_model):
    code = (
        "import sys\n"
        "import adaptkit_core, adaptkit_vision, adaptkit_text\n"
        "print('HEAVY', sorted(m for m in ('tensorflow', 'keras', 'keras_hub') if m in sys.modules))\n"
        "import keras\n"
        f"m = keras.saving.load_model({str(plugin_layers_model)!r})\n"
        "print('PLAIN', sorted(type(layer).__name__ for layer in m.layers))\n"
        "print('KERAS_HUB', 'keras_hub' in sys.modules)\n"
    )
    out = _run(code)
    assert "HEAVY []" in out, out  # importing the plugins imports no TensorFlow
    assert "PLAIN" in out and "FamilyPreprocess" in out.split("PLAIN")[1] and "StripWhitespace" in out.split("PLAIN")[1], out
    assert "KERAS_HUB False" in out, out  # registering the text layers costs no KerasHub import
