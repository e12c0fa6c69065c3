"""``adaptkit compare``: one row per run directory or repeated-seeds parent, read from their files (no TensorFlow).

A row holds the run's name, its headline, the chosen metrics (default: every
test metric), the from-scratch baseline's headline, the transfer verdict with
its test and the wall time. Every number is ``{"mean": v, "n": 1}`` for one run
and the aggregate's ``{"mean", "sd", "ci_low", "ci_high", "n"}`` for repeated
seeds, so one table (and one JSON shape) holds both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Optional

from ._errors import AdaptkitError, DataError, SpecError
from ._rundata import RunFiles, read_run
from ._verdict_words import UNLEARNED_BASELINE

__all__ = ["compare_runs", "compare_table", "CompareErrors", "value_text", "verdict_text"]

TESTED_SPLITS = ("test", "target_test")


class CompareErrors(DataError):
    """Every path that is not a run directory, one error each (the CLI prints one line each)."""

    def __init__(self, errors: list[AdaptkitError]):
        self.errors = errors
        super().__init__(errors[0].where, errors[0].message)


def _one(value: Any) -> Optional[dict[str, Any]]:
    return None if value is None else {"mean": value, "n": 1}


def _verdicts(transfer: Any) -> Any:
    """The verdict word(s) with the difference and interval they rest on: a dict, or one per task."""
    if not isinstance(transfer, dict) or not transfer:
        return None
    if "no_verdict" in transfer:
        return {"verdict": "no verdict", "reason": transfer["no_verdict"]}
    if "verdict" in transfer:
        test = transfer.get("asymptote") or transfer.get("test") or {}
        out = {"verdict": transfer["verdict"]}
        if "difference" in test:
            out.update({k: test.get(k) for k in ("difference", "ci_low", "ci_high")})
        if transfer["verdict"] == "inconclusive" and any(str(w).startswith(UNLEARNED_BASELINE) for w in transfer.get("warnings") or []):
            out["reason"] = "the from-scratch baseline did not learn"  # why a clear difference stays inconclusive
        return out
    return {task: _verdicts(v) for task, v in transfer.items() if isinstance(v, dict)}


def _metric_keys(metrics: dict[str, Any]) -> list[str]:
    return [k for k in metrics if k.split("/", 1)[0].split("@")[0] in TESTED_SPLITS and not k.endswith("/examples")]


def _numbers_of(files: RunFiles) -> list[str]:
    return [k for k in (files.results.get("metrics") or {}) if not k.endswith("/examples")]


def _row(files: RunFiles, chosen: Optional[list[str]]) -> dict[str, Any]:
    r = files.results
    headline = r.get("headline") or {}
    key = headline.get("metric")
    if files.kind == "seeds":
        metrics = dict(r.get("metrics") or {})
        base = r.get("baseline") or {}
        head_value = {k: v for k, v in headline.items() if k != "metric"} if headline.get("mean") is not None else None
        base_value = base.get(key)
        seeds = len(r.get("seeds") or [])
    else:
        metrics = {k: _one(v) for k, v in (r.get("metrics") or {}).items()}
        base = ((r.get("baseline") or {}).get("metrics")) or {}
        head_value = _one(headline.get("value"))
        base_value = _one(base.get(key))
        seeds = 1
    keys = chosen if chosen is not None else _metric_keys(metrics)
    return {
        "run": str(files.path),
        "name": files.name,
        "kind": files.kind,
        "seeds": seeds,
        "headline": {"metric": key, **(head_value or {"mean": None})},
        "metrics": {k: metrics.get(k) for k in keys if metrics.get(k) is not None or chosen is not None},
        "baseline": base_value,
        "verdict": _verdicts(r.get("transfer")),
        "wall_time_s": r.get("wall_time_s"),
    }


def compare_runs(paths: Iterable[Path], metrics: Optional[list[str]] = None, per_seed: bool = False) -> list[dict[str, Any]]:
    """One row per path (``per_seed``: a repeated-seeds parent's seeds follow it as rows of their own).

    ``metrics``: the metric keys to show (default: every test metric any run has). Paths that
    are not run directories are all reported together (:class:`CompareErrors`)."""
    read, errors = [], []
    for path in paths:
        try:
            read.append(read_run(Path(path), histories=False))
        except AdaptkitError as exc:
            errors.append(exc)
    if errors:
        raise CompareErrors(errors)
    rows = []
    for files in read:
        rows.append(_row(files, metrics))
        if per_seed:
            rows += [_row(seed, metrics) for seed in files.seed_runs]
    for key in metrics or []:
        if all(row["metrics"].get(key) is None for row in rows):
            have = sorted({k for files in read for k in _numbers_of(files)})
            raise SpecError("--metric", f"no run has {key!r} (they have: {', '.join(have) or 'none'})")
    if not metrics:  # the same columns in every row: the union of what the runs have, in order
        union = list(dict.fromkeys(k for row in rows for k in row["metrics"]))
        for row in rows:
            row["metrics"] = {k: row["metrics"].get(k) for k in union}
    return rows


def value_text(value: Optional[dict[str, Any]]) -> str:
    """``0.9136`` for one run, ``0.9136 ± 0.0050`` over seeds, empty for none."""
    if not value or value.get("mean") is None:
        return ""
    text = f"{value['mean']:.4f}"
    if value.get("sd") is not None:
        text += f" ± {value['sd']:.4f}"
    return text


def verdict_text(verdict: Any) -> str:
    """``negative transfer -0.0752 [-0.1086, -0.0446]``; per task ``task: ...; task: ...``."""
    if not verdict:
        return ""
    if "verdict" not in verdict:
        return "; ".join(f"{task}: {verdict_text(v)}" for task, v in verdict.items())
    text = verdict["verdict"]
    if verdict.get("difference") is not None:
        text += f" {verdict['difference']:+.4f}"
        if verdict.get("ci_low") is not None and verdict.get("ci_high") is not None:
            text += f" [{verdict['ci_low']:+.4f}, {verdict['ci_high']:+.4f}]"
    if verdict.get("reason") and verdict["verdict"] != "no verdict":
        text += f" ({verdict['reason']})"
    return text


def compare_table(rows: list[dict]) -> None:
    """The rows of ``compare`` as a table: run, seeds, headline, the metrics, baseline, verdict, time."""
    from rich.console import Console
    from rich.table import Table

    headlines = list(dict.fromkeys(r["headline"]["metric"] for r in rows))
    same = len(headlines) == 1
    keys = [k for k in (rows[0]["metrics"] if rows else []) if not (same and k == headlines[0])]  # no column twice
    table = Table(show_header=True)
    table.add_column("run", no_wrap=True)
    table.add_column("seeds", justify="right")
    table.add_column(f"headline {headlines[0]}" if same else "headline", justify="right" if same else "left", no_wrap=True)
    for key in keys:
        table.add_column(key, justify="right", no_wrap=True)
    table.add_column("from scratch", justify="right", no_wrap=True)
    table.add_column("verdict (difference, 95% interval)", overflow="fold", min_width=28)
    table.add_column("seconds", justify="right")
    for r in rows:
        head = value_text(r["headline"]) if same else f"{r['headline']['metric']} {value_text(r['headline'])}"
        seconds = "" if r["wall_time_s"] is None else f"{r['wall_time_s']:.1f}"
        cells = [value_text(r["metrics"].get(k)) for k in keys]
        table.add_row(r["run"], str(r["seeds"]), head, *cells, value_text(r["baseline"]), verdict_text(r["verdict"]), seconds)
    console = Console()
    if not console.is_terminal:  # a file or a pipe: the whole table, however wide
        console = Console(width=Console(width=10_000).measure(table).maximum)
    console.print(table)
