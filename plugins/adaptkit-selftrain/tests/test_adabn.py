"""AdaBN: the saved model's BatchNormalization layers hold the target's statistics (checked in numpy)."""

import keras
import numpy as np

from adaptkit import load_model
from adaptkit.testing import digits_arrays, digits_spec, run_spec


def _bn_layers(model):
    out = []
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            out.append(layer)
        elif isinstance(layer, keras.Model):
            out.extend(_bn_layers(layer))
    return out


def test_adabn_saves_the_targets_batchnorm_statistics(tmp_path):
    x, y = digits_arrays()
    source, target = tmp_path / "source.npz", tmp_path / "target.npz"
    np.savez(source, x=x[:300].astype("float32"), y=y[:300])
    xt = (16.0 - x[300:348]).astype("float32")  # 48 inverted digits, unlabeled: every target batch is all of them
    np.savez(target, x=xt)
    spec = digits_spec(
        source,
        source={"kind": "convnet", "filters": [8, 8], "kernel_size": 3, "batch_norm": True, "scale": 0.0625},
        head={"kind": "classifier", "pooling": "avg"},
        training={"verbose": 0, "stages": [
            {"name": "source", "epochs": 2, "optimizer": {"learning_rate": 0.01}},
            {"name": "adabn", "epochs": 1, "optimizer": {"learning_rate": 0.001}, "surgery": [{"kind": "freeze"}],
             "losses": [{"kind": "adabn"}]},
        ]},
    )
    spec["data"]["target"] = {"kind": "arrays", "path": str(target), "labeled": False}
    run = run_spec(tmp_path, spec, name="adabn")
    model = load_model(run.run_dir / "model.keras")
    first = _bn_layers(model)[0]
    # its input: the first convolution (no bias) of the scaled target images
    conv = next(layer for layer in model.get_layer("encoder").layers if isinstance(layer, keras.Model)).get_layer("block1_conv")
    z = keras.ops.convert_to_numpy(conv(xt * 0.0625))
    mean, var = z.mean(axis=(0, 1, 2)), z.var(axis=(0, 1, 2))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(first.moving_mean), mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(first.moving_variance), var, rtol=1e-3, atol=1e-5)
    history = (run.run_dir / "history.csv").read_text()
    assert "adabn_batches" in history.splitlines()[0]
