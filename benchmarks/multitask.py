"""Benchmark: multi-task vs single-task learning, every task-weighting strategy, on the two demos.

For each demo spec (``pipelines/elpv_multitask.yaml``, ``pipelines/vader_multitask.yaml``) and
each seed, every trial is one whole ``adaptkit run`` process (start to finish, as a user waits):
each task alone on the same trunk (single-task), then both tasks together with the default
weighted sum and with every weighting kind. Per trial: each task's test metric and the wall time;
per multi-task trial: delta_m_percent against the same seed's single-task runs (LibMTL's Δm%:
the mean over tasks of ±(multi − single) / single × 100, + when higher is better).

    make data
    .venv/bin/python benchmarks/multitask.py --seeds 3 --out benchmarks/results/multitask

Prints a Markdown table (mean ± sd over seeds) and writes ``results.json`` under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DEMOS = {"elpv": ROOT / "pipelines/elpv_multitask.yaml", "vader": ROOT / "pipelines/vader_multitask.yaml"}
STRATEGIES = [None, "equal", "uncertainty", "dwa", "gradnorm", "pcgrad", "mgda"]
LOWER_IS_BETTER = {"mae", "mse", "loss"}


def absolute_paths(node, base: Path):
    """The spec with every relative ``path`` resolved against the spec's folder."""
    if isinstance(node, dict):
        return {k: (str((base / v).resolve()) if k == "path" and isinstance(v, str) and not Path(v).is_absolute() else absolute_paths(v, base)) for k, v in node.items()}
    if isinstance(node, list):
        return [absolute_paths(v, base) for v in node]
    return node


def trial_spec(spec: dict, seed: int, tasks: list[str], weighting) -> dict:
    s = json.loads(json.dumps(spec))
    s["seed"] = seed
    s["tasks"] = [t for t in s["tasks"] if t["name"] in tasks]
    s["training"]["verbose"] = 0
    s["training"].pop("task_weighting", None)
    if weighting is not None:
        s["training"]["task_weighting"] = {"kind": weighting}
    s["evaluation"] = {"plots": False}
    return s


def run(spec: dict, workdir: Path, name: str) -> dict:
    path = workdir / f"{name}.yaml"
    spec = dict(spec, name=name)
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    started = time.perf_counter()
    cli = [sys.executable, "-c", "from adaptkit.cli import main; main()"]  # the adaptkit of this interpreter
    done = subprocess.run([*cli, "run", str(path), "--output", str(workdir / "runs")],
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    metrics = json.loads((workdir / "runs" / f"{name}-latest" / "metrics.json").read_text())
    return {"metrics": metrics["metrics"], "wall_s": wall}


def task_metric(spec: dict, task: dict) -> str:
    return "mae" if task["head"]["kind"] == "regression" else "accuracy"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--demos", default="elpv,vader")
    parser.add_argument("--strategies", default=",".join("sum" if s is None else s for s in STRATEGIES))
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks/results/multitask")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    results_file = args.out / "results.json"
    results = json.loads(results_file.read_text()) if results_file.exists() else {}
    strategies = [None if s == "sum" else s for s in args.strategies.split(",")]
    for demo in args.demos.split(","):
        path = DEMOS[demo]
        spec = absolute_paths(yaml.safe_load(path.read_text()), path.parent)
        names = [t["name"] for t in spec["tasks"]]
        for seed in range(args.seeds):
            trials = [(f"single-{t}", [t], None) for t in names] + [(f"multi-{s or 'sum'}", names, s) for s in strategies]
            for label, tasks, weighting in trials:
                key = f"{demo}/{seed}/{label}"
                if key in results:
                    continue  # resumable: finished trials are kept
                results[key] = run(trial_spec(spec, seed, tasks, weighting), args.out, f"{demo}-{label}-s{seed}")
                results_file.write_text(json.dumps(results, indent=1))
                print(key, f"{results[key]['wall_s']:.1f} s", flush=True)
    print(table(results, args))


def table(results: dict, args) -> str:
    lines = []
    for demo in args.demos.split(","):
        spec = yaml.safe_load(DEMOS[demo].read_text())
        tasks = [(t["name"], task_metric(spec, t)) for t in spec["tasks"]]
        header = "| trial | " + " | ".join(f"{t} {m}" for t, m in tasks) + " | Δm% | wall s |"
        lines += [f"\n{demo} ({args.seeds} seeds, mean ± sd)\n", header, "|" + "---|" * (len(tasks) + 3)]
        labels = ["single-task"] + [f"multi-{s or 'sum'}" for s in STRATEGIES]
        for label in labels:
            cells, deltas, walls = [], [], []
            for t, m in tasks:
                values = []
                for seed in range(args.seeds):
                    if label == "single-task":
                        r = results.get(f"{demo}/{seed}/single-{t}")
                        value = r and r["metrics"].get(f"test/{m}")
                    else:
                        r = results.get(f"{demo}/{seed}/{label}")
                        value = r and r["metrics"].get(f"test/{t}/{m}")
                    if value is not None:
                        values.append(value)
                cells.append(fmt(values))
            for seed in range(args.seeds):
                if label == "single-task":
                    rs = [results.get(f"{demo}/{seed}/single-{t}") for t, _ in tasks]
                    if all(rs):
                        walls.append(sum(r["wall_s"] for r in rs))
                    continue
                r = results.get(f"{demo}/{seed}/{label}")
                singles = [results.get(f"{demo}/{seed}/single-{t}") for t, _ in tasks]
                if not r or not all(singles):
                    continue
                walls.append(r["wall_s"])
                terms = []
                for (t, m), single in zip(tasks, singles):
                    mt, st = r["metrics"][f"test/{t}/{m}"], single["metrics"][f"test/{m}"]
                    terms.append((-1 if m in LOWER_IS_BETTER else 1) * (mt - st) / abs(st) * 100)
                deltas.append(sum(terms) / len(terms))
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {fmt(deltas, 2) if deltas else '—'} | {fmt(walls, 0)} |")
    return "\n".join(lines)


def fmt(values: list, digits: int = 3) -> str:
    if not values:
        return "—"
    mean = statistics.fmean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {sd:.{digits}f}"


if __name__ == "__main__":
    sys.exit(main())
