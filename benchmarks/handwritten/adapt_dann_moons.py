"""ADAPT 0.4.5's DANN on rotated two-moons, as a script of its own (the B side of benchmarks/moons_vs_adapt.py).

The same nets as the adaptkit spec: encoder Dense 32-32 relu, discriminator Dense 32 -> 1, Adam 1e-3,
batch 64, lambda 1, a Dense(1, sigmoid) task head. Writes the target accuracy to OUT as JSON.

    python benchmarks/handwritten/adapt_dann_moons.py FOLDER SEED EPOCHS OUT.json
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import numpy as np
from adapt.feature_based import DANN


def main(folder: str, seed: int, epochs: int, out: str) -> None:
    with np.load(os.path.join(folder, "source.npz")) as d:
        xs, ys = d["x"], d["y"]
    with np.load(os.path.join(folder, "target_labeled.npz")) as d:
        xt, yt = d["x"], d["y"]
    keras.utils.set_random_seed(seed)
    encoder = keras.Sequential([keras.Input((2,)), keras.layers.Dense(32, activation="relu"),
                                keras.layers.Dense(32, activation="relu")])
    task = keras.Sequential([keras.Input((32,)), keras.layers.Dense(1, activation="sigmoid")])
    disc = keras.Sequential([keras.Input((32,)), keras.layers.Dense(32, activation="relu"),
                             keras.layers.Dense(1, activation="sigmoid")])
    model = DANN(encoder, task, disc, Xt=xt, lambda_=1.0, optimizer=keras.optimizers.Adam(1e-3), loss="bce",
                 metrics=["acc"], random_state=seed)
    model.fit(xs, ys, epochs=epochs, batch_size=64, verbose=0)
    acc = float(np.mean((np.asarray(model.predict(xt, verbose=0)).reshape(-1) > 0.5) == yt))
    with open(out, "w") as fh:
        json.dump({"target_accuracy": acc}, fh)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
