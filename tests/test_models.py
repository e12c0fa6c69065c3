"""adaptkit.load_model: saved models with plugin layers load in a fresh process, via the
adaptkit_keras_objects hook, without importing the plugin by hand."""

from __future__ import annotations

import subprocess
import sys


def test_model_with_a_plugin_layer_loads_through_the_hook(tmp_path):
    import keras

    from adaptkit_vision.sources import FamilyPreprocess

    inputs = keras.Input((8, 8, 1))
    x = FamilyPreprocess(mode="caffe")(inputs)
    outputs = keras.layers.Dense(2)(keras.layers.Flatten()(x))
    path = tmp_path / "m.keras"
    keras.Model(inputs, outputs).save(path)

    code = (
        "import sys, keras\n"
        f"path = {str(path)!r}\n"
        "try:\n"
        "    keras.saving.load_model(path, safe_mode=True)\n"
        "    print('PLAIN ok')\n"
        "except Exception as exc:\n"
        "    print('PLAIN failed')\n"
        "import adaptkit\n"
        "m = adaptkit.load_model(path)\n"
        "print('HOOK', type(m.layers[1]).__name__)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "PLAIN failed" in out.stdout, out.stdout + out.stderr[-1500:]
    assert "HOOK FamilyPreprocess" in out.stdout, out.stdout + out.stderr[-1500:]
