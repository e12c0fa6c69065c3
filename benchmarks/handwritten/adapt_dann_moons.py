"""ADAPT 0.4.5's DANN on rotated two-moons, as a script of its own (the B side of benchmarks/moons_vs_adapt.py).

The nets and settings of ``benchmarks/da_moons.py``'s ADAPT row (encoder Dense 32-32 relu,
discriminator Dense 32 -> 1, Adam 1e-3, batch 64, lambda 1, a Dense(1, sigmoid) task head), on the
arrays FOLDER holds. Writes the target accuracy to OUT as JSON.

    python benchmarks/handwritten/adapt_dann_moons.py FOLDER SEED EPOCHS OUT.json
"""

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402

from da_moons import run_adapt_dann  # noqa: E402


def main(folder: str, seed: int, epochs: int, out: str) -> None:
    with np.load(os.path.join(folder, "source.npz")) as d:
        xs, ys = d["x"], d["y"]
    with np.load(os.path.join(folder, "target_labeled.npz")) as d:
        xt, yt = d["x"], d["y"]
    acc, _, _ = run_adapt_dann(seed, xs, ys, xt, yt, epochs)
    with open(out, "w") as fh:
        json.dump({"target_accuracy": acc}, fh)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
