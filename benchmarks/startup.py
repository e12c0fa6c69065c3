"""Start-up benchmark: whole-process wall time of the CLI verbs that must not load TensorFlow.

Runs ``python -m adaptkit.cli VERB`` (``--help``, ``validate``, ``render``, ``schema``, ``plugins``) as
separate processes, N times each, and prints the median per verb. With ``--against ROOT`` it times a
second checkout (e.g. a worktree at an older commit) the same way, paired and alternating, and prints
this checkout's time over that one's. Each command runs once unmeasured first: Python's bytecode is
then cached (in a temporary ``PYTHONPYCACHEPREFIX``, as an installed package has it, even where
``PYTHONDONTWRITEBYTECODE`` is set), and so is adaptkit's plugin index (in a temporary
``ADAPTKIT_CACHE_DIR``); ``--no-index`` times this checkout with the index off.

    .venv/bin/python benchmarks/startup.py --runs 15
    .venv/bin/python benchmarks/startup.py --runs 15 --against ../adaptkit-main
    .venv/bin/python benchmarks/startup.py --runs 15 --against ../adaptkit-main --no-index
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _paired import HEADER, cpu_line, paired, plugin_path, ratio_line, run_once  # noqa: E402

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
    parser.add_argument("--no-index", action="store_true", help="this checkout with ADAPTKIT_PLUGIN_INDEX=off")
    args = parser.parse_args(argv)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    with tempfile.TemporaryDirectory(prefix="startup-") as tmp:
        spec = Path(tmp) / "spec.yaml"
        spec.write_text(SPEC)
        cmd = [sys.executable, "-m", "adaptkit.cli"]
        root = args.adaptkit.resolve()
        cached = {"PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"), "ADAPTKIT_CACHE_DIR": str(Path(tmp) / "cache")}
        env = {"PYTHONPATH": plugin_path(root), **cached, **({"ADAPTKIT_PLUGIN_INDEX": "off"} if args.no_index else {})}
        print(f"\n{args.runs} whole-process runs per verb, {sys.executable}\n")
        if args.against is None:
            print("| verb | median s | min s | median CPU s | peak RSS (MB) |\n|---|---|---|---|---|")
            for verb, rest in verbs(spec).items():
                run_once(cmd + rest, env, Path(tmp))  # warm-up: bytecode, index
                runs = [run_once(cmd + rest, env, Path(tmp)) for _ in range(args.runs)]
                secs = [r.seconds for r in runs]
                cpu = statistics.median(r.cpu for r in runs)
                print(f"| `{verb}` | {statistics.median(secs):.3f} | {min(secs):.3f} | {cpu:.3f} | {max(r.peak_mb for r in runs):.0f} |")
            return 0
        other = {"PYTHONPATH": plugin_path(args.against.resolve()), **cached}
        print(f"A: {root}{' (plugin index off)' if args.no_index else ''}\nB: {args.against.resolve()}\n\n{HEADER}")
        for verb, rest in verbs(spec).items():
            run_once(cmd + rest, env, Path(tmp))  # warm-up: bytecode, index
            run_once(cmd + rest, other, Path(tmp))
            rows = paired(cmd + rest, cmd + rest, args.runs, env, other, Path(tmp), verb)
            print(ratio_line(f"`{verb}`", rows), flush=True)
            print(cpu_line(f"`{verb}`", rows), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
