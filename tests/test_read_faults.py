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
