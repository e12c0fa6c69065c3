"""The ``adaptkit sweep`` verb: read the spec and its sweep section (``--grid`` adds keys), run the trials through Ray Tune, print the leaderboard.

The spec and every trial's spec are validated before Ray or TensorFlow is imported;
the work is in :mod:`adaptkit._sweep` (Ray Tune) and :mod:`adaptkit._leaderboard`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Optional

import click

from ._errors import AdaptkitError, SpecError, shown

__all__ = ["register"]

EXIT_INVALID = 2
EXIT_INTERRUPTED = 130


def _grid_items(items: tuple[str, ...]) -> dict[str, list[Any]]:
    """``key=v1,v2`` -> {key: [v1, v2]}: the values read as one YAML flow list (``[v1,v2]``)."""
    import yaml

    from ._specload import parse_yaml

    out = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip() or not raw.strip():
            raise SpecError("--grid", f"{shown(item)} is not path.to.key=value1,value2")
        try:
            values = parse_yaml(f"[{raw}]", "--grid")
        except (yaml.YAMLError, ValueError) as exc:
            raise SpecError("--grid", f"{shown(item)}: the values are not a YAML list: {shown(str(exc), quote=False)}") from None
        out[key.strip()] = values
    return out


def _sweep_data(spec: Path, sets: list[str], grid: tuple[str, ...], engine: dict[str, Any]) -> dict[str, Any]:
    from ._specfile import apply_overrides, parse_overrides, read_spec_file

    data = apply_overrides(read_spec_file(spec), parse_overrides(sets))
    sweep = data.get("sweep")
    if grid or any(v is not None for v in engine.values()):
        sweep = dict(sweep) if isinstance(sweep, dict) else {}
        sweep["grid"] = {**(sweep.get("grid") or {}), **_grid_items(grid)}
        sweep.update({k: v for k, v in engine.items() if v is not None})
        data["sweep"] = sweep
    if not data.get("sweep"):
        raise SpecError("sweep", "the spec has no sweep section: add one, or give --grid key=v1,v2")
    return data


def register(group: click.Group, fail: Callable[[AdaptkitError], Any], trust_option: Callable, set_option: Callable) -> None:
    """Add ``sweep`` to ``group``; ``fail`` prints an error and exits."""

    @group.command()
    @click.argument("spec", type=click.Path(path_type=Path))
    @click.option("--grid", multiple=True, metavar="PATH.TO.KEY=V1,V2", help="Try each value of this spec key (a YAML list without brackets); repeatable, adds to sweep.grid.")
    @set_option
    @click.option("--seeds", type=click.IntRange(1, 100), default=None, help="Each trial repeated with N seeds (sets repeats.seeds): the leaderboard's mean ± sd.")
    @click.option("--output", type=click.Path(file_okay=False, path_type=Path), help="Parent of the sweep folder <name>-sweep (default: the spec's output_dir).")
    @click.option("--max-concurrent", type=click.IntRange(1, 1024), default=None, help="Trials at once (sets sweep.max_concurrent).")
    @click.option("--cpus-per-trial", type=click.FloatRange(min=0, min_open=True), default=None, help="CPUs per trial (sets sweep.cpus_per_trial).")
    @click.option("--address", default=None, help="A running Ray cluster, e.g. auto (sets sweep.address).")
    @trust_option
    def sweep(spec: Path, grid: tuple[str, ...], overrides: tuple[str, ...], seeds: Optional[int], output: Optional[Path],
              max_concurrent: Optional[int], cpus_per_trial: Optional[float], address: Optional[str], trust_code: bool) -> None:
        """Run every trial of SPEC's sweep section (or --grid) through Ray Tune: one run directory per
        trial under <output_dir>/<name>-sweep/, finished trials skipped on a rerun, then a leaderboard
        (leaderboard.csv, sweep.json) and a recommendation."""
        from ._specfile import load_spec

        sets = [*overrides, *([f"repeats.seeds={seeds}"] if seeds is not None else [])]
        engine = {"max_concurrent": max_concurrent, "cpus_per_trial": cpus_per_trial, "address": address}
        try:
            validated = load_spec(_sweep_data(spec, sets, grid, engine), spec_dir=spec.resolve().parent)
        except AdaptkitError as exc:
            fail(exc, f"{spec}: ")
        from ._sweep import run_sweep

        echo = lambda line: click.echo(line, err=True)  # noqa: E731
        echo(f"adaptkit: sweep of {validated.name} through Ray Tune (starting Ray...)")
        try:
            plan, outcomes, wall = run_sweep(validated, spec, sets, output, echo, trust_code)
        except AdaptkitError as exc:
            fail(exc)
        except KeyboardInterrupt:
            click.echo("error: interrupted; run the same command again to go on (finished trials are skipped)", err=True)
            sys.exit(EXIT_INTERRUPTED)
        _finish(validated, plan, outcomes, wall)


def _finish(spec: Any, plan: Any, outcomes: list, wall: float) -> None:
    import ray

    from ._leaderboard import leaderboard_rows, print_leaderboard, recommend, write_leaderboard

    rows = leaderboard_rows(plan, outcomes)
    advice = recommend(rows, plan)
    sweep = spec.sweep
    about = {
        "name": spec.name, "spec": plan.spec_path, "overrides": plan.overrides, "metric": plan.metric, "mode": plan.mode,
        "engine": {"ray": ray.__version__, "search": sweep.search.kind if sweep.search else "grid",
                   "max_concurrent": sweep.max_concurrent, "cpus_per_trial": sweep.cpus_per_trial, "address": sweep.address,
                   "nodes": len({r["node"] for r in rows if r.get("node")})},  # the Ray nodes that ran a trial
        "wall_time_s": wall,
    }
    write_leaderboard(Path(plan.folder), rows, advice, about)
    print_leaderboard(rows, advice)
    click.echo(f"adaptkit: {len(rows)} trials in {wall:.1f} s on {about['engine']['nodes']} Ray node(s); leaderboard in {plan.folder}/leaderboard.csv and sweep.json", err=True)
    failed = [r for r in rows if r["status"] == "failed"]
    for row in failed:
        click.echo(f"error: trial {row['overrides']}: {row['error']}", err=True)
    if any(r["status"] == "not finished" for r in rows):
        click.echo("error: interrupted; run the same command again to go on (finished trials are skipped)", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if failed:
        sys.exit(EXIT_INVALID)
