"""What `adaptkit run` prints at the end: the metrics table, the transfer verdict, adapted vs source-only.

One run gets its test metrics next to the from-scratch baseline's; repeated
seeds get every metric's mean, sd and 95% interval. Both then print the
verdicts with their tests and warnings, one line each.
"""

from __future__ import annotations

from typing import Any, Optional

__all__ = ["run_summary", "aggregate_summary", "print_verdicts", "print_adaptation"]


def run_summary(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"run: {result.run_dir}", show_header=True)
    table.add_column("metric")
    table.add_column("adapted", justify="right")
    m = result.metrics
    base = (m.get("baseline") or {}).get("metrics")
    if base is not None:
        table.add_column("from scratch", justify="right")
    def shown(value: Any) -> str:
        return f"{value:.4f}" if isinstance(value, float) else ("" if value is None else str(value))

    for key, value in sorted(m["metrics"].items()):
        if key.endswith("/examples"):
            continue
        row = [key, shown(value)]
        if base is not None:
            row.append(shown(base.get(key)))
        table.add_row(*row)
    console.print(table)
    print_verdicts(console, m.get("transfer"))
    print_adaptation(console, m.get("adaptation"))
    key, value = result.headline
    shown = "n/a" if value is None else f"{value:.4f}"
    console.print(f"headline {key} = {shown}  ({m['wall_time_s']:.1f} s)")
    console.print(f"results in {result.run_dir}")


def aggregate_summary(result: Any) -> None:
    """Repeated seeds: every metric's mean, sd and 95% interval, the baseline's, the paired verdict."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=max(120, Console().width))
    a = result.metrics
    table = Table(title=f"{len(a['seeds'])} seeds: {result.run_dir}", show_header=True)
    base = a.get("baseline")
    for column in ["metric", "mean", "sd", "95% interval"] + (["from scratch", "sd ", "95% interval "] if base else []):
        table.add_column(column, justify="left" if column == "metric" else "right")

    def cells(s: Optional[dict]) -> list[str]:
        if not s:
            return ["", "", ""]
        if "sd" not in s:
            return [f"{s['mean']:.4f}", "", ""]
        return [f"{s['mean']:.4f}", f"{s['sd']:.4f}", f"[{s['ci_low']:.4f}, {s['ci_high']:.4f}]"]

    for key, value in sorted(a["metrics"].items()):
        table.add_row(key, *cells(value), *(cells(base.get(key)) if base else []))
    console.print(table)
    print_verdicts(console, a.get("transfer"))
    print_adaptation(console, a.get("adaptation"))
    mean, sd, interval = cells(a["headline"])
    console.print(f"headline {a['headline']['metric']} = {mean} ± {sd} {interval}  ({a['wall_time_s']:.1f} s)", highlight=False)
    console.print(f"results in {result.run_dir} (a run directory per seed inside; aggregate.json, seeds.csv)", highlight=False)


def print_verdicts(console: Any, transfer: Optional[dict]) -> None:
    """The transfer verdict (per task for a multi-task run), its test, and its warnings."""
    from ._verdict import verdict_line

    if not transfer:
        return
    single = "verdict" in transfer or "no_verdict" in transfer
    for task, verdict in ({"": transfer} if single else transfer).items():
        label = f"transfer vs from scratch{f' ({task})' if task else ''}"
        console.print(f"{label}: {verdict_line(verdict)}", highlight=False)
        if "higher_start" in verdict:
            console.print(
                f"  higher start: {verdict.get('higher_start')}, steeper slope: {verdict.get('steeper_slope')}, "
                f"higher asymptote: {verdict.get('higher_asymptote')}",
                highlight=False,
            )
        _print_warnings(console, verdict)


def print_adaptation(console: Any, adaptation: Optional[dict]) -> None:
    """Adapted vs source-only (``evaluation.source_only``): both values, the verdict and its test."""
    from ._significance import describe

    if not adaptation:
        return

    def value(v: Any) -> str:
        if isinstance(v, dict):  # over seeds: the mean
            v = v.get("mean")
        return f"{v:.4f}" if isinstance(v, (int, float)) else "n/a"

    test = adaptation.get("test") or {}
    shown_test = f"difference {describe(test)} ({test['method']})" if "difference" in test else test.get("method", "")
    console.print(
        f"adapted vs source-only on {adaptation['metric']}: {value(adaptation.get('adapted'))} vs "
        f"{value(adaptation.get('source_only'))}: {adaptation['verdict']}; {shown_test}",
        highlight=False,
    )
    _print_warnings(console, adaptation)


def _print_warnings(console: Any, judged: dict) -> None:
    for warning in judged.get("warnings", []):
        console.print(f"  warning: {warning}", highlight=False)

