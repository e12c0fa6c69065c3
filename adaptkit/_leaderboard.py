"""A sweep's leaderboard: each trial's numbers read back from its run directory, ranked, and a plain recommendation (no TensorFlow, no Ray).

Every number comes from the trial's own files through :func:`adaptkit._compare.compare_runs`
(the metric's mean ± sd and 95% interval over seeds, the transfer verdict, the
wall time) and the first run's ``metrics.json`` (trainable parameters, data
sizes). Written as ``leaderboard.csv`` and ``sweep.json`` in the sweep folder.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from statistics import mean
from typing import Any, Optional

from ._compare import compare_runs, value_text, verdict_text
from ._rundir import atomic_write_text

__all__ = ["leaderboard_rows", "recommend", "write_leaderboard", "print_leaderboard"]


def _first_run(folder: Path) -> dict[str, Any]:
    """metrics.json of the trial's run (repeated seeds: of its first seed)."""
    aggregate = folder / "aggregate.json"
    if aggregate.is_file():
        first = next(iter(json.loads(aggregate.read_text())["runs"].values()))
        folder = folder / first
    return json.loads((folder / "metrics.json").read_text())


def _classes(metrics: dict[str, Any]) -> Optional[int]:
    """The class count of a one-task classification run (None otherwise)."""
    tasks = metrics.get("tasks") or []
    names = tasks[0].get("class_names") if len(tasks) == 1 else None
    return len(names) if names else None


def _row(plan: Any, outcome: Any) -> dict[str, Any]:
    status = "failed" if outcome.error is not None else "not finished"  # no report, no error: the sweep was interrupted
    row: dict[str, Any] = {"trial": None, "overrides": outcome.overrides, "status": status, "error": outcome.error}
    if outcome.report is None:
        return row
    folder = Path(plan.folder) / outcome.report["trial"]
    (compared,) = compare_runs([folder], [plan.metric] if plan.metric else None)
    value = compared["metrics"][plan.metric] if plan.metric else {k: v for k, v in compared["headline"].items() if k != "metric"}
    first = _first_run(folder)
    row.update(
        trial=outcome.report["trial"], status="skipped" if outcome.report.get("skipped") else "ran", error=None,
        metric=plan.metric or compared["headline"]["metric"], value=value, seeds=compared["seeds"],
        verdict=compared["verdict"], wall_time_s=compared["wall_time_s"],
        trainable_parameters=(first.get("parameters") or {}).get("trainable_last_stage"),
        train_examples=(first.get("data") or {}).get("train"),
        classes=_classes(first), node=outcome.report.get("node"),
    )
    return row


def leaderboard_rows(plan: Any, outcomes: list) -> list[dict[str, Any]]:
    """One row per trial, best first (``plan.mode``), failed trials last."""
    rows = [_row(plan, o) for o in outcomes]
    done = [r for r in rows if r["status"] in ("ran", "skipped") and r["value"].get("mean") is not None]
    done.sort(key=lambda r: r["value"]["mean"], reverse=plan.mode == "max")
    for rank, row in enumerate(done, 1):
        row["rank"] = rank
    return done + [r for r in rows if r not in done]


def _shown(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, separators=(", ", ": "))


def _setting(overrides: dict[str, Any]) -> str:
    return ", ".join(f"{k} = {_shown(v)}" for k, v in overrides.items())


def _interval(value: dict[str, Any]) -> Optional[tuple[float, float]]:
    low, high = value.get("ci_low"), value.get("ci_high")
    return None if low is None or high is None else (low, high)


def _by_key(rows: list[dict], plan: Any) -> list[str]:
    """Per swept key: its values ranked by the mean metric over the trials that had them."""
    lines = []
    for key in plan.keys:
        groups: dict[str, list[float]] = {}
        for r in rows:
            groups.setdefault(_shown(r["overrides"][key]), []).append(r["value"]["mean"])
        if len(groups) < 2:
            continue
        ranked = sorted(groups.items(), key=lambda kv: mean(kv[1]), reverse=plan.mode == "max")
        shown = "; ".join(f"{v} {mean(xs):.4f}" for v, xs in ranked)
        lines.append(f"{key}: best {ranked[0][0]} (mean over the other keys' trials: {shown})")
    return lines


def _surgery_rule(rows: list[dict], plan: Any) -> list[str]:
    """A swept layer-surgery key: the data-size rule's strategy for the training set, checked against
    the measured best trial of each strategy (a strategy = a count of parameters trained last)."""
    keys = [k for k in plan.keys if "surgery" in k.split(".")]
    if not keys or any(r.get("trainable_parameters") is None for r in rows):
        return []
    best_of: dict[int, dict] = {}
    for r in rows:  # best first: the first row of a count is that strategy's best trial
        best_of.setdefault(r["trainable_parameters"], r)
    sizes = sorted(best_of)
    best = rows[0]
    place = "the fewest" if best["trainable_parameters"] == sizes[0] else "the most" if best["trainable_parameters"] == sizes[-1] else "a middle number"
    lines = [f"strategy ({', '.join(keys)}): the best trial trained {best['trainable_parameters']:,} parameters in its last stage, "
             f"{place} of the sweep's {len(sizes)} ({sizes[0]:,} to {sizes[-1]:,})"]
    counts: dict[str, set] = {}
    for r in rows:
        counts.setdefault(_shown([r["overrides"][k] for k in keys]), set()).add(r["trainable_parameters"])
    if any(len(c) > 1 for c in counts.values()):  # e.g. a swept source: counts compare models, not strategies
        return lines + ["data-size rule: not checked: the other swept keys change the trained parameters of one strategy"]
    if len({r.get("train_examples") for r in rows}) > 1:
        return lines + ["data-size rule: not checked: the trials trained on different numbers of examples"]
    train, classes = best.get("train_examples"), best.get("classes")
    if not train or not classes or len(sizes) < 2:
        return lines
    return lines + [_rule_check(rows, plan, best_of, sizes, train, classes)]


def _rule_check(rows: list[dict], plan: Any, best_of: dict[int, dict], sizes: list[int], train: int, classes: int) -> str:
    from ._recommend import STRATEGIES, size_level

    per_class = train / classes
    level = size_level(per_class)
    expected = {0: sizes[:1], 2: sizes[-1:]}.get(level, sizes[1:-1])
    which = {0: "the fewest trained parameters", 2: "the most"}.get(level, "between the fewest and the most")
    rule = (f"data-size rule: {train} training examples, {per_class:.0f} per class on average over {classes} classes "
            f"-> {STRATEGIES[level][0]} (of the swept strategies: {which})")
    if not expected:
        return rule + ": the sweep has no strategy between its fewest and its most trained parameters, so it cannot check the rule"
    best = rows[0]
    if best["trainable_parameters"] in expected:
        return rule + ": the measured best is the rule's strategy (the rule holds here; read it with the intervals above)"
    pick = max((best_of[n] for n in expected), key=lambda r: r["value"]["mean"] * (1 if plan.mode == "max" else -1))
    a, b = _interval(best["value"]), _interval(pick["value"])
    shown = f"the rule's best trial ({_setting(pick['overrides'])}: {value_text(pick['value'])})"
    if a is None or b is None:
        return rule + f": the measured best is not the rule's strategy, but with one seed {shown} is not told apart from it"
    if a[0] <= b[1] and b[0] <= a[1]:
        return rule + f": the measured best is not the rule's strategy, but its 95% interval and that of {shown} overlap: not told apart, the rule is not contradicted"
    return (rule + f": the measured best's 95% interval clears that of {shown}: on this data the rule does not hold "
            f"(the best of {len(rows)} trials: confirm with more seeds)")


def recommend(rows: list[dict], plan: Any) -> dict[str, Any]:
    """The best trial, whether its 95% interval overlaps the runner-up's, and the evidence, as lines."""
    done = [r for r in rows if "rank" in r]
    if not done:
        return {"best": None, "lines": ["no trial finished: nothing to recommend"]}
    best = done[0]
    lines = [f"use: {_setting(best['overrides'])} ({best['trial']}): {best['metric']} {value_text(best['value'])} over {best['seeds']} seed(s)"]
    if best.get("verdict"):
        lines.append(f"its transfer verdict against the same model from scratch: {verdict_text(best['verdict'])}")
        if isinstance(best["verdict"], dict) and best["verdict"].get("verdict") == "negative transfer":
            lines.append("the source hurts on this data: train from scratch, or try another source")
    overlaps = None
    if len(done) > 1:
        second, a, b = done[1], _interval(best["value"]), _interval(done[1]["value"])
        if a is None or b is None:
            lines.append(f"runner-up {second['trial']}: {value_text(second['value'])}; no intervals with one seed: repeat with repeats.seeds >= 3 before trusting the order")
        else:
            overlaps = a[0] <= b[1] and b[0] <= a[1]
            lines.append(
                f"runner-up {_setting(second['overrides'])}: {value_text(second['value'])}; the 95% intervals "
                + ("overlap: the two are not told apart, prefer the cheaper one or add seeds" if overlaps else "do not overlap: the best is better")
            )
    lines += _by_key(done, plan) + _surgery_rule(done, plan)
    return {"best": best["trial"], "overrides": best["overrides"], "overlaps_runner_up": overlaps, "lines": lines}


def _csv_rows(rows: list[dict]) -> list[dict[str, Any]]:
    out = []
    for r in rows:
        value = r.get("value") or {}
        verdict = r.get("verdict") if isinstance(r.get("verdict"), dict) else {}
        out.append({
            "rank": r.get("rank"), "trial": r["trial"], **{k: _shown(v) for k, v in r["overrides"].items()},
            "metric": r.get("metric"), "mean": value.get("mean"), "sd": value.get("sd"),
            "ci_low": value.get("ci_low"), "ci_high": value.get("ci_high"), "seeds": r.get("seeds"),
            "verdict": verdict.get("verdict"), "difference": verdict.get("difference"),
            "trainable_parameters": r.get("trainable_parameters"), "wall_time_s": r.get("wall_time_s"),
            "status": r["status"], "error": r.get("error"),
        })
    return out


def write_leaderboard(folder: Path, rows: list[dict], recommendation: dict, about: dict[str, Any]) -> None:
    """``leaderboard.csv`` (one row per trial) and ``sweep.json`` (the rows, the recommendation, how it ran)."""
    table = _csv_rows(rows)
    columns = list(dict.fromkeys(k for row in table for k in row))
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns)
    writer.writeheader()
    writer.writerows(table)
    atomic_write_text(folder / "leaderboard.csv", buf.getvalue())
    document = {**about, "trials": rows, "recommendation": recommendation}
    atomic_write_text(folder / "sweep.json", json.dumps(document, indent=2, default=str) + "\n")


def print_leaderboard(rows: list[dict], recommendation: dict) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(show_header=True)
    for column in ("#", "trial", "metric (mean ± sd)", "95% interval", "seeds", "verdict", "seconds", "status"):
        table.add_column(column, justify="right" if column in ("#", "seeds", "seconds") else "left", overflow="fold")
    for r in rows:
        value = r.get("value") or {}
        interval = _interval(value)
        table.add_row(
            str(r.get("rank", "")), _setting(r["overrides"]), value_text(value) if value else r.get("error") or "",
            "" if interval is None else f"[{interval[0]:.4f}, {interval[1]:.4f}]", str(r.get("seeds") or ""),
            verdict_text(r.get("verdict")), "" if r.get("wall_time_s") is None else f"{r['wall_time_s']:.1f}", r["status"],
        )
    console = Console()
    if not console.is_terminal:
        console = Console(width=min(200, Console(width=10_000).measure(table).maximum))
    console.print(table)
    for line in recommendation["lines"]:
        console.print(f"recommendation: {line}", highlight=False, markup=False, soft_wrap=True)
