"""Reading faults: a tf.data error while training or evaluating, reported in one line that names
the bad example when a data source finds it, else TensorFlow's own reason without its noise."""

from __future__ import annotations

import pytest


def test_tensorflow_reasons_drop_the_graph_and_op_noise():
    """What `data: reading the data failed: ...` says when no data source finds the bad example."""
    import keras
    import tensorflow as tf

    from adaptkit._readfaults import tf_reason

    images = tf.data.Dataset.from_tensor_slices([b"not an image"]).map(
        lambda b: tf.image.resize(tf.io.decode_image(b, channels=1, expand_animations=False), (4, 4))
    )
    with pytest.raises(tf.errors.InvalidArgumentError) as eager:
        list(images)
    model = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten(), keras.layers.Dense(1)])
    model.compile(loss="mse")
    with pytest.raises(tf.errors.InvalidArgumentError) as fitting:  # "Graph execution error:", a stack, ...
        model.fit(tf.data.Dataset.zip((images, tf.data.Dataset.from_tensor_slices([0.0]))).batch(1), verbose=0, shuffle=False)
    assert "Graph execution error" in fitting.value.message
    for error in (eager.value, fitting.value):
        assert tf_reason(error).startswith("Unknown image file format. One of JPEG,"), error.message
        assert tf_reason(error).endswith("required.")


def test_a_corrupt_test_image_read_only_by_evaluation_is_named_and_the_trained_run_kept(tmp_path):
    """The test split is first read after training: the evaluation plugin's failure is traced to the
    file, the run completes without the metrics that needed it, and the exit status is 2."""
    import json

    import numpy as np
    import yaml
    from click.testing import CliRunner
    from PIL import Image

    from adaptkit.cli import main

    rng = np.random.default_rng(0)
    for root in ("train", "test"):
        for cls in ("a", "b"):
            (tmp_path / root / cls).mkdir(parents=True)
            for i in range(4):
                Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(tmp_path / root / cls / f"{i}.png")
    bad = tmp_path / "test" / "b" / "2.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    folder = {"kind": "image_directory", "image_size": [8, 8]}
    spec = {
        "name": "evalread", "data": {"train": {**folder, "path": "train"}, "test": {**folder, "path": "test", "verify": False},
                                     "validation_split": 0.0, "batch_size": 4},
        "source": {"kind": "convnet", "filters": [2]}, "head": {"kind": "classifier"},
        "training": {"verbose": 0, "stages": [{"epochs": 1}]}, "evaluation": {"plots": False},
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    result = CliRunner().invoke(main, ["run", str(tmp_path / "spec.yaml"), "--output", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    (error,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert error.startswith(f"error: {bad}: corrupt or unreadable image ("), error
    run_dir = (tmp_path / "runs" / "evalread-latest").resolve()
    written = json.loads((run_dir / "metrics.json").read_text())
    assert written["errors"] == [error.removeprefix("error: ")] and written["headline"]["value"] is None
    assert (run_dir / "model.keras").is_file()
