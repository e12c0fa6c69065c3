"""adaptkit vs. the same job hand-written in Keras: paired, alternating, whole-process wall time and peak memory.

Vision (``--job digits``): ``adaptkit run pipelines/digits_source.yaml`` (MNIST convnet, 4 epochs)
against ``benchmarks/handwritten/digits_source.py`` (the same model, data, splits and epochs with
Keras' ``fit``, ``evaluate``, ``save``). Text (``--job text``): ``adaptkit run
pipelines/sentiment_minilm.yaml`` (frozen MiniLM-L6 + softmax head, 3 epochs; ``--train``/``--test``
set its ``data.*.limit``) against ``benchmarks/handwritten/sentiment_minilm.py`` (KerasHub's
BertBackbone with the same tokenizer, exact GELU and pooling, features computed once, the head fit,
the test split evaluated, the model saved). Each side is a fresh process timed from start to exit;
the pairs alternate which side runs first; the table gives medians and the median of the per-pair ratios.

    make data
    .venv/bin/python benchmarks/vs_keras.py --pairs 5 --data data/digits/mnist.npz
    .venv/bin/python benchmarks/vs_keras.py --pairs 3 --job text --data data/vader/movie.csv
    .venv/bin/python benchmarks/vs_keras.py --pairs 5 --adaptkit ../adaptkit-main   # another checkout vs Keras
    .venv/bin/python benchmarks/vs_keras.py --pairs 5 --against ../adaptkit-main    # this checkout vs another
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paired import HEADER, paired, plugin_path, ratio_line  # noqa: E402

HERE = Path(__file__).resolve().parents[1]


def adaptkit_cmd(root: Path, data: Path, out: Path, args: argparse.Namespace) -> list[str]:
    if args.job == "text":
        return [sys.executable, "-m", "adaptkit.cli", "run", str(root / "pipelines/sentiment_minilm.yaml"),
                "--set", f"data.train.path={data}", "--set", f"data.test.path={data}",
                "--set", f"data.train.limit={args.train}", "--set", f"data.test.limit={args.test}",
                "--set", "training.verbose=2", "--output", str(out)]
    return [sys.executable, "-m", "adaptkit.cli", "run", str(root / "pipelines/digits_source.yaml"),
            "--set", f"data.train.path={data}", "--set", "training.verbose=2", "--output", str(out)]


def keras_cmd(data: Path, out: Path, args: argparse.Namespace) -> list[str]:
    if args.job == "text":
        return [sys.executable, str(HERE / "benchmarks/handwritten/sentiment_minilm.py"), str(data), str(out),
                str(args.train), str(args.test)]
    return [sys.executable, str(HERE / "benchmarks/handwritten/digits_source.py"), str(data), str(out)]


JOBS = {"digits": ("digits_source.yaml (MNIST convnet, 4 epochs)", "data/digits/mnist.npz"),
        "text": ("sentiment_minilm.yaml (frozen MiniLM-L6 + head, 3 epochs)", "data/vader/movie.csv")}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    parser.add_argument("--job", choices=sorted(JOBS), default="digits")
    parser.add_argument("--data", type=Path, default=None, help="mnist.npz (digits) or movie.csv (text) of `make data`")
    parser.add_argument("--train", type=int, default=750, help="text: data.train.limit (train + validation rows)")
    parser.add_argument("--test", type=int, default=300, help="text: data.test.limit")
    parser.add_argument("--adaptkit", type=Path, default=HERE, help="the checkout whose adaptkit is A (default: this one)")
    parser.add_argument("--against", type=Path, default=None,
                        help="B is this other checkout's adaptkit instead of the hand-written script")
    args = parser.parse_args(argv)
    data = (args.data or HERE / JOBS[args.job][1]).resolve()
    if not data.is_file():
        print(f"{data}: missing; run `make data`", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="vs_keras-") as tmp:
        out = Path(tmp)
        root = args.adaptkit.resolve()
        a = adaptkit_cmd(root, data, out / "a", args)
        env_a = {"PYTHONPATH": plugin_path(root)}
        if args.against is None:
            b, env_b, name_b = keras_cmd(data, out / "b", args), {}, "hand-written Keras"
        else:
            other = args.against.resolve()
            b, env_b, name_b = adaptkit_cmd(other, data, out / "b", args), {"PYTHONPATH": plugin_path(other)}, f"adaptkit at {other}"
        rows = paired(a, b, args.pairs, env_a, env_b, out, args.job)
    print(f"\nA: adaptkit ({args.adaptkit.resolve()}); B: {name_b}; {args.pairs} pairs, whole process\n\n{HEADER}")
    print(ratio_line(JOBS[args.job][0], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
