"""adaptkit DANN vs. ADAPT 0.4.5 DANN on rotated two-moons: whole process, paired and alternating, spec defaults.

For each seed, A is ``adaptkit run spec.yaml`` on a spec written as the docs write it, with every
training default left alone (no ``steps_per_execution``, no ``backup``); B is
``benchmarks/handwritten/adapt_dann_moons.py`` (the same nets and data with ADAPT). Both are fresh
processes timed from start to exit, alternating which goes first. Target accuracy is scored afterwards
(adaptkit: its saved model.keras on the labeled target; ADAPT: the script's own output). Data as in
``benchmarks/da_moons.py``: make_moons(1000, noise 0.1), target an independent draw rotated 30 degrees.

ADAPT must not go into adaptkit's venv; install it (and its pure-Python dependencies) beside it:

    .venv/bin/pip install --no-deps --target .venv-bench-lib adapt==0.4.5 scikeras cvxopt
    .venv/bin/python benchmarks/moons_vs_adapt.py --seeds 5 --adapt-path .venv-bench-lib
    .venv/bin/python benchmarks/moons_vs_adapt.py --seeds 5 --against ../adaptkit-main   # vs another checkout
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paired import HEADER, paired, plugin_path, ratio_line  # noqa: E402
from da_moons import moons  # noqa: E402

HERE = Path(__file__).resolve().parents[1]

SPEC = """name: moons-dann
seed: {seed}
data:
  train: {{kind: arrays, path: source.npz}}
  test: {{kind: arrays, path: source.npz}}
  target: {{kind: arrays, path: target.npz, labeled: false}}
  validation_split: 0.0
  batch_size: 64
source: {{kind: mlp, units: [32, 32]}}
head: {{kind: classifier, pooling: none}}
training:
  verbose: 0
  stages:
    - epochs: {epochs}
      optimizer: {{learning_rate: 0.001}}
      losses: [{{kind: dann, discriminator: {{hidden: [32]}}}}]
evaluation: {{plots: false}}
"""


def adaptkit_side(root: Path, folder: Path, out: Path) -> tuple[list[str], dict]:
    return ([sys.executable, "-m", "adaptkit.cli", "run", str(folder / "spec.yaml"), "--output", str(out)],
            {"PYTHONPATH": plugin_path(root)})


def target_accuracy(run_parent: Path, xt, yt) -> float:
    import adaptkit

    (run_dir,) = [p for p in run_parent.iterdir() if not p.is_symlink() and (p / "model.keras").is_file()]
    model = adaptkit.load_model(run_dir / "model.keras")
    return float(np.mean(np.asarray(model.predict(xt, verbose=0)).argmax(-1) == yt))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--adapt-path", type=Path, default=None, help="folder holding adapt (added to B's PYTHONPATH)")
    parser.add_argument("--adaptkit", type=Path, default=HERE, help="the checkout whose adaptkit is A (default: this one)")
    parser.add_argument("--against", type=Path, default=None, help="B is this other checkout's adaptkit instead of ADAPT")
    args = parser.parse_args(argv)
    rows, acc_a, acc_b = [], [], []
    with tempfile.TemporaryDirectory(prefix="moons_vs_adapt-") as tmp:
        for seed in range(args.seeds):
            folder = Path(tmp) / f"seed{seed}"
            folder.mkdir()
            xs, ys, xt, yt = moons(seed)
            np.savez(folder / "source.npz", x=xs, y=ys)
            np.savez(folder / "target.npz", x=xt)
            np.savez(folder / "target_labeled.npz", x=xt, y=yt)
            (folder / "spec.yaml").write_text(SPEC.format(seed=seed, epochs=args.epochs))
            a, env_a = adaptkit_side(args.adaptkit.resolve(), folder, folder / "a")
            if args.against is not None:
                b, env_b = adaptkit_side(args.against.resolve(), folder, folder / "b")
            else:
                b = [sys.executable, str(HERE / "benchmarks/handwritten/adapt_dann_moons.py"), str(folder), str(seed),
                     str(args.epochs), str(folder / "adapt.json")]
                env_b = {"PYTHONPATH": os.pathsep.join(filter(None, [str(args.adapt_path.resolve()) if args.adapt_path else "",
                                                                      os.environ.get("PYTHONPATH", "")]))}
            (pair,) = paired(a, b, 1, env_a, env_b, folder, f"seed {seed}", first=seed)
            rows.append(pair)
            acc_a.append(target_accuracy(folder / "a", xt, yt))
            acc_b.append(target_accuracy(folder / "b", xt, yt) if args.against is not None
                         else json.loads((folder / "adapt.json").read_text())["target_accuracy"])
            print(f"seed {seed}: target accuracy {acc_a[-1]:.3f} vs {acc_b[-1]:.3f}", file=sys.stderr, flush=True)
    name_b = f"adaptkit at {args.against.resolve()}" if args.against else "ADAPT 0.4.5 DANN"
    print(f"\nRotated two-moons, {args.seeds} seeds, {args.epochs} epochs. A: adaptkit DANN (spec defaults) at "
          f"{args.adaptkit.resolve()}; B: {name_b}\n")
    print(HEADER)
    print(ratio_line("DANN, whole process", rows))
    sd = lambda v: statistics.stdev(v) if len(v) > 1 else 0.0  # noqa: E731
    print(f"\ntarget accuracy (mean ± sd over seeds): A {statistics.mean(acc_a):.3f} ± {sd(acc_a):.3f}, "
          f"B {statistics.mean(acc_b):.3f} ± {sd(acc_b):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
