"""pipelines/digits_source.yaml written by hand in Keras: the same model, data, splits and epochs.

5,000 MNIST digits shuffled with seed 0, 10% test and 10% of the rest validation; conv 32 - conv 64
(3x3, BatchNorm, relu, max pooling) on inputs scaled by 1/255, flatten, dropout 0.2, Dense 64 relu,
dropout 0.2, softmax; Adam 0.002, batch 64, 4 epochs; evaluate on the test split; save model.keras.

    python benchmarks/handwritten/digits_source.py data/digits/mnist.npz /tmp/out
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np


def main(data: str, out: str) -> None:
    keras.utils.set_random_seed(0)
    with np.load(data) as d:
        x, y = d["x"].astype("float32"), d["y"]
    order = np.random.default_rng(0).permutation(len(x))
    x, y = x[order], y[order]
    n_test = round(len(x) * 0.1)
    x_test, y_test, x, y = x[:n_test], y[:n_test], x[n_test:], y[n_test:]
    n_val = round(len(x) * 0.1)
    x_val, y_val, x, y = x[:n_val], y[:n_val], x[n_val:], y[n_val:]

    inputs = keras.Input(x.shape[1:])
    h = keras.layers.Rescaling(1 / 255)(inputs)
    for filters in (32, 64):
        h = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(h)
        h = keras.layers.BatchNormalization(momentum=0.9)(h)
        h = keras.layers.Activation("relu")(h)
        h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dropout(0.2)(h)
    h = keras.layers.Dense(64, activation="relu")(h)
    h = keras.layers.Dropout(0.2)(h)
    outputs = keras.layers.Dense(int(y.max()) + 1, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.Adam(0.002), "sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, batch_size=64, epochs=4, validation_data=(x_val, y_val), verbose=2)
    loss, acc = model.evaluate(x_test, y_test, batch_size=64, verbose=0)
    Path(out).mkdir(parents=True, exist_ok=True)
    model.save(Path(out) / "model.keras")
    print(f"test accuracy {acc:.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
