"""Start-up benchmark: whole-process wall time of the CLI verbs that must not load TensorFlow.

Runs ``python -m adaptkit.cli VERB`` (``--help``, ``validate``, ``render``, ``schema``, ``plugins``) as
separate processes, N times each, and prints the median per verb. With ``--against ROOT`` it times a
second checkout (e.g. a worktree at an older commit) the same way, paired and alternating, and prints
this checkout's time over that one's.

    .venv/bin/python benchmarks/startup.py --runs 15
    .venv/bin/python benchmarks/startup.py --runs 15 --against ../adaptkit-main
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paired import HEADER, paired, plugin_path, ratio_line, run_once  # noqa: E402

HERE = Path(__file__).resolve().parents[1]
SPEC = """name: startup
data:
  train: {kind: arrays, path: data.npz}
source: {kind: mlp, units: [8]}
head: {kind: classifier}
training: {stages: [{epochs: 1}]}
"""


def verbs(spec: Path) -> dict[str, list[str]]:
    return {"--help": ["--help"], "validate": ["validate", "--no-files", str(spec)], "render": ["render", str(spec)],
            "schema": ["schema"], "plugins": ["plugins"]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("--adaptkit", type=Path, default=HERE, help="the checkout to time (default: this one)")
    parser.add_argument("--against", type=Path, default=None, help="another checkout to compare with (paired)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(SPEC)
        cmd = [sys.executable, "-m", "adaptkit.cli"]
        root = args.adaptkit.resolve()
        env = {"PYTHONPATH": plugin_path(root)}
        print(f"\n{args.runs} whole-process runs per verb, {sys.executable}\n")
        if args.against is None:
            print("| verb | median s | min s | peak RSS (MB) |\n|---|---|---|---|")
            for verb, rest in verbs(spec).items():
                runs = [run_once(cmd + rest, env, Path(tmp)) for _ in range(args.runs)]
                secs = [r.seconds for r in runs]
                print(f"| `{verb}` | {statistics.median(secs):.3f} | {min(secs):.3f} | {max(r.peak_mb for r in runs):.0f} |")
            return 0
        other = {"PYTHONPATH": plugin_path(args.against.resolve())}
        print(f"A: {root}\nB: {args.against.resolve()}\n\n{HEADER}")
        for verb, rest in verbs(spec).items():
            rows = paired(cmd + rest, cmd + rest, args.runs, env, other, Path(tmp), verb)
            print(ratio_line(f"`{verb}`", rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
