"""The ``adaptkit`` command line: run, validate, render, schema, plugins.

Only ``run`` imports TensorFlow (through the runner); the other verbs answer
from the specs and the plugins' section models.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Optional

import click

from ._errors import AdaptkitError
from ._plugins import get_host

EXIT_INVALID = 2


def _fail(exc: AdaptkitError, prefix: str = "") -> "NoReturn":  # type: ignore[name-defined]
    errors = getattr(exc, "errors", None) or [exc]
    for err in errors:
        click.echo(f"error: {prefix}{err}", err=True)
    sys.exit(EXIT_INVALID)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="adaptkit")
def main() -> None:
    """adaptkit: adapt pre-trained models to new tasks and data from pipeline specs.

    Write a YAML spec (see pipelines/ and docs/spec.md), check it with
    `adaptkit validate`, run it with `adaptkit run`.
    """


set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH.TO.KEY=VALUE",
    help="Override a spec value (YAML syntax); repeatable. Paths are the ones errors print.",
)


@main.command()
@click.argument("spec", type=click.Path(path_type=Path))
@set_option
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), help="Parent folder of the run directory (default: the spec's output_dir).")
@click.option("--resume", is_flag=True, help="Go on with the newest interrupted run of this exact spec (completed stages are not trained again; the stage in progress restarts from its last finished epoch).")
def run(spec: Path, overrides: tuple[str, ...], output: Optional[Path], resume: bool) -> None:
    """Run the pipeline SPEC and write a run directory."""
    from ._specfile import load_spec_file

    try:
        validated = load_spec_file(spec, list(overrides))
    except AdaptkitError as exc:
        _fail(exc, f"{spec}: ")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _console_log()
    click.echo(f"adaptkit: running {validated.name} (loading TensorFlow...)", err=True)
    from ._runner import run_pipeline

    try:
        result = run_pipeline(validated, spec, output, resume=resume)
    except AdaptkitError as exc:
        partial = getattr(exc, "adaptkit_partial", None)
        if partial is not None:
            click.echo(f"adaptkit: the run so far is in {partial}; go on with: {_again(spec, overrides, output)}", err=True)
        _fail(exc)
    except KeyboardInterrupt as exc:
        partial = getattr(exc, "adaptkit_partial", None)
        if partial is not None:
            click.echo(f"error: interrupted; the run so far is in {partial}; go on with: {_again(spec, overrides, output)}", err=True)
        else:
            click.echo("error: interrupted; no run directory was written", err=True)
        sys.exit(130)
    _summary(result)


def _again(spec: Path, overrides: tuple[str, ...], output: Optional[Path]) -> str:
    """The command that resumes this run (the same spec, overrides and output folder)."""
    import shlex

    words = ["adaptkit", "run", str(spec), *[w for o in overrides for w in ("--set", o)]]
    if output is not None:
        words += ["--output", str(output)]
    return shlex.join(words + ["--resume"])


def _console_log() -> None:
    """Stage headers, parameter counts and notes on stderr (epoch lines come from Keras)."""
    import logging

    logger = logging.getLogger("adaptkit")
    for existing in logger.handlers:
        if getattr(existing, "adaptkit_console", False):
            existing.setStream(sys.stderr)  # the current stderr (tests swap it per invocation)
            return
    handler = logging.StreamHandler(sys.stderr)
    handler.adaptkit_console = True  # type: ignore[attr-defined]
    handler.setLevel(logging.INFO)
    handler.setFormatter(logging.Formatter("adaptkit: %(message)s"))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)


def _summary(result: Any) -> None:
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
    transfer = m.get("transfer")
    if transfer and "negative_transfer" in transfer:
        if transfer["negative_transfer"]:
            verdict = "NEGATIVE transfer (worse than from scratch)"
        elif transfer["higher_asymptote"]:
            verdict = "positive transfer (better than from scratch)"
        else:
            verdict = "no difference from scratch"
        console.print(
            f"transfer vs from scratch: {verdict}; higher start: {transfer.get('higher_start')}, "
            f"steeper slope: {transfer.get('steeper_slope')}, higher asymptote: {transfer.get('higher_asymptote')}"
        )
    key, value = result.headline
    shown = "n/a" if value is None else f"{value:.4f}"
    console.print(f"headline {key} = {shown}  ({m['wall_time_s']:.1f} s)")
    console.print(f"results in {result.run_dir}")


@main.command("lr-find")
@click.argument("spec", type=click.Path(path_type=Path))
@set_option
@click.option("--stage", default=0, show_default=True, help="Index of the training stage whose trainability and optimizer to use.")
@click.option("--min-lr", default=1e-7, show_default=True, help="First learning rate of the sweep.")
@click.option("--max-lr", default=1.0, show_default=True, help="Last learning rate of the sweep.")
@click.option("--steps", default=100, show_default=True, help="Training steps in the sweep.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Where to save the loss-vs-rate plot (default: <name>-lr-find.png).")
def lr_find_command(spec: Path, overrides: tuple[str, ...], stage: int, min_lr: float, max_lr: float, steps: int, plot_path: Optional[Path]) -> None:
    """Sweep the learning rate exponentially and suggest one (weights are restored)."""
    from ._specfile import load_spec_file

    try:
        validated = load_spec_file(spec, list(overrides))
    except AdaptkitError as exc:
        _fail(exc, f"{spec}: ")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _console_log()
    from ._lrfind import lr_find

    plot_path = plot_path or Path(f"{validated.name}-lr-find.png")
    try:
        result, _ = lr_find(validated, spec, stage, min_lr, max_lr, steps, plot_path)
    except AdaptkitError as exc:
        _fail(exc)
    shown = "none (the loss did not fall)" if result.suggested is None else f"{result.suggested:.3g}"
    click.echo(f"swept {len(result.losses)} steps from {min_lr:g} to {result.learning_rates[-1]:.3g}")
    click.echo(f"suggested learning rate: {shown}")
    click.echo(f"plot: {plot_path}")


@main.command()
@click.argument("specs", nargs=-1, required=True, type=click.Path(path_type=Path))
@set_option
@click.option("--no-files", is_flag=True, help="Do not check that the data and model files the specs name exist.")
def validate(specs: tuple[Path, ...], overrides: tuple[str, ...], no_files: bool) -> None:
    """Check pipeline specs without running them (no TensorFlow): keys, values, and that the
    files they name exist."""
    from ._specfile import load_spec_file

    bad = False
    for spec in specs:
        try:
            load_spec_file(spec, list(overrides), check_files=not no_files)
        except AdaptkitError as exc:
            bad = True
            for err in getattr(exc, "errors", None) or [exc]:
                click.echo(f"error: {spec}: {err}" if str(spec) != err.where else f"error: {err}", err=True)
            continue
        click.echo(f"{spec}: ok")
    if bad:
        sys.exit(EXIT_INVALID)


@main.command()
@click.argument("spec", type=click.Path(path_type=Path))
@set_option
def render(spec: Path, overrides: tuple[str, ...]) -> None:
    """Print the resolved SPEC with every default filled in (YAML)."""
    import yaml

    from ._specfile import load_spec_file

    try:
        validated = load_spec_file(spec, list(overrides), check_files=False)
    except AdaptkitError as exc:
        _fail(exc, f"{spec}: ")
    click.echo(yaml.safe_dump(validated.model_dump(mode="json"), sort_keys=False), nl=False)


@main.command()
@click.option("--indent", default=2, show_default=True, help="JSON indentation.")
def schema(indent: int) -> None:
    """Print the JSON Schema of pipeline specs, including installed plugins' sections."""
    from ._spec import build_spec_model

    model = build_spec_model()
    document = model.model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    document["title"] = "adaptkit pipeline spec"
    click.echo(json.dumps(document, indent=indent))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List the discovered plugins: distribution, version, hooks, sections, status."""
    host = get_host()
    infos = [p.as_dict() for p in host.plugins.values()]
    if as_json:
        click.echo(json.dumps(infos, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title="adaptkit plugins")
    for col in ("name", "distribution", "version", "status", "hooks", "sections"):
        table.add_column(col, overflow="fold")
    for p in infos:
        hooks = ", ".join(h.removeprefix("adaptkit_") for h in p["hooks"])
        sections = "; ".join(f"{f}: {', '.join(k)}" for f, k in p["sections"].items())
        table.add_row(p["name"], p["distribution"] or "", p["version"] or "", p["status"], hooks, sections)
    Console(width=max(120, Console().width)).print(table)


if __name__ == "__main__":  # pragma: no cover
    main()
