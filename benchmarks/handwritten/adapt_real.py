"""ADAPT 0.4.5's DANN, MDD, CDAN, DeepCORAL and MCD on the frozen-encoder features of benchmarks/da_real.py.

The ADAPT side of ``benchmarks/da_real.py``, run in the interpreter that holds ADAPT (its folder on
PYTHONPATH, ``.venv-bench-lib``): FOLDER holds the fixed splits (source_train, target_stream,
target_test .npz); the nets mirror adaptkit's rows (encoder Dense UNITS relu, softmax task head,
discriminator Dense UNITS relu -> 1), Adam at LR, batch 64, EPOCHS passes over the source. One
JSON line per fit on stdout: method, seed, target accuracy, balanced accuracy, fit seconds.

    python benchmarks/handwritten/adapt_real.py FOLDER --seeds 0 1 2 3 4 --methods DANN MDD --epochs 20
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

METHODS = ["DANN", "MDD", "CDAN", "DeepCORAL", "MCD"]


def _nets(keras, dim: int, classes: int, units: int):
    """Encoder, task head, discriminator (its input size left open: CDAN feeds it the multilinear map)."""
    encoder = keras.Sequential([keras.Input((dim,)), keras.layers.Dense(units, activation="relu")])
    task = keras.Sequential([keras.Input((units,)), keras.layers.Dense(classes, activation="softmax")])
    disc = keras.Sequential([keras.layers.Dense(units, activation="relu"), keras.layers.Dense(1, activation="sigmoid")])
    return encoder, task, disc


def build(method: str, seed: int, xt, dim: int, classes: int, args):
    """The ADAPT model of ``method``, λ as adaptkit's matching row (DANN, CDAN 0.3; DeepCORAL 1), else ADAPT's defaults."""
    import keras
    from adapt import feature_based as fb

    keras.utils.set_random_seed(seed)
    encoder, task, disc = _nets(keras, dim, classes, args.units)
    common = dict(Xt=xt, optimizer=keras.optimizers.Adam(args.lr), loss="categorical_crossentropy", metrics=["acc"],
                  random_state=seed, verbose=0)
    if method == "DANN":
        return fb.DANN(encoder, task, disc, lambda_=args.weight, **common)
    if method == "CDAN":
        return fb.CDAN(encoder, task, disc, lambda_=args.weight, entropy=True, **common)
    if method == "MDD":
        return fb.MDD(encoder, task, **common)
    if method == "DeepCORAL":
        return fb.DeepCORAL(encoder, task, lambda_=1.0, **common)
    if method == "MCD":
        return fb.MCD(encoder, task, **common)
    raise ValueError(f"unknown ADAPT method {method!r}: one of {METHODS}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--methods", nargs="+", default=METHODS)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--weight", type=float, default=0.3, help="DANN's and CDAN's lambda")
    args = parser.parse_args(argv)
    from sklearn.metrics import balanced_accuracy_score

    load = lambda name: np.load(os.path.join(args.folder, name + ".npz"))  # noqa: E731
    src, stream, test = load("source_train"), load("target_stream"), load("target_test")
    xs, ys, xt, x_test, y_test = src["x"], src["y"], stream["x"], test["x"], test["y"]
    classes = int(max(ys.max(), y_test.max())) + 1
    for seed in args.seeds:
        for method in args.methods:
            model = build(method, seed, xt, xs.shape[1], classes, args)
            started = time.perf_counter()
            model.fit(xs, np.eye(classes, dtype="float32")[ys], epochs=args.epochs, batch_size=64, verbose=0)
            seconds = time.perf_counter() - started
            pred = np.asarray(model.predict(x_test, verbose=0)).argmax(-1)
            row = {"method": f"ADAPT {method}", "seed": seed, "accuracy": float(np.mean(pred == y_test)),
                   "balanced_accuracy": float(balanced_accuracy_score(y_test, pred)), "seconds": seconds}
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
