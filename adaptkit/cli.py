"""The ``adaptkit`` command line: run, validate, render, schema, plugins, compare, lr-find, new-plugin
(and, from _cli_after, predict, evaluate, export, runs; from _cli_rank, rank; from _cli_sweep, sweep).

Only ``run``, ``lr-find``, ``rank``, ``predict``, ``evaluate`` and ``export`` import TensorFlow;
the other verbs answer from the specs, the plugins' section models or the run directories' files.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Optional

import click

from ._cligroup import EXIT_INTERRUPTED, Group
from ._errors import AdaptkitError

EXIT_INVALID = 2


def _fail(exc: AdaptkitError, prefix: str = "") -> "NoReturn":  # type: ignore[name-defined]
    errors = getattr(exc, "errors", None) or [exc]
    for err in errors:
        click.echo(f"error: {prefix}{err}", err=True)
    sys.exit(getattr(exc, "exit_code", EXIT_INVALID))  # 2: bad input; 3: training diverged


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="adaptkit")
def main() -> None:
    """adaptkit: adapt pre-trained models to new tasks and data from pipeline specs.

    Write a YAML spec (see pipelines/ and docs/spec.md), check it with
    `adaptkit validate`, run it with `adaptkit run`.
    """


trust_option = click.option(
    "--trust-code",
    is_flag=True,
    help="Let model files run their code: SavedModels with file, network or Python ops, .keras files "
    "with Lambda layers (safe mode off). Only for files you trust; see docs/security.md.",
)

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
@click.option("--seeds", type=click.IntRange(1, 100), default=None, help="Repeat the run with N seeds (seed, seed+1, ...) on one split and aggregate: mean, sd, 95% interval, a verdict paired over seeds (sets repeats.seeds).")
@trust_option
def run(spec: Path, overrides: tuple[str, ...], output: Optional[Path], resume: bool, seeds: Optional[int], trust_code: bool) -> None:
    """Run the pipeline SPEC and write a run directory."""
    from ._specfile import load_spec_file

    if seeds is not None:
        overrides = (*overrides, f"repeats.seeds={seeds}")
    try:
        validated = load_spec_file(spec, list(overrides))
    except AdaptkitError as exc:
        _fail(exc, f"{spec}: ")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _console_log()
    click.echo(f"adaptkit: running {validated.name} (loading TensorFlow...)", err=True)
    try:
        if validated.repeats.seeds > 1:
            from ._repeats import run_repeats  # TensorFlow's start-up: Ctrl-C here too ends cleanly

            result = run_repeats(validated, spec, output, resume=resume, trust_code=trust_code)
        else:
            from ._runner import run_pipeline

            result = run_pipeline(validated, spec, output, resume=resume, trust_code=trust_code)
    except AdaptkitError as exc:
        partial = getattr(exc, "adaptkit_partial", None)
        if partial is not None:
            click.echo(f"adaptkit: the run so far is in {partial}; go on with: {_again(spec, overrides, output, trust_code)}", err=True)
        _fail(exc)
    except KeyboardInterrupt as exc:
        partial = getattr(exc, "adaptkit_partial", None)
        if partial is not None:
            click.echo(f"error: interrupted; the run so far is in {partial}; go on with: {_again(spec, overrides, output, trust_code)}", err=True)
        else:
            click.echo("error: interrupted; no run directory was written", err=True)
        sys.exit(EXIT_INTERRUPTED)
    if validated.repeats.seeds > 1:
        from ._summary import aggregate_summary

        aggregate_summary(result)
    else:
        from ._summary import run_summary

        run_summary(result)
    if result.errors:  # the run completed, without the metrics of what failed
        click.echo(f"adaptkit: the run is complete in {result.run_dir}, without the metrics of what failed", err=True)
        for err in result.errors:
            click.echo(f"error: {err}", err=True)
        sys.exit(EXIT_INVALID)


def _again(spec: Path, overrides: tuple[str, ...], output: Optional[Path], trust_code: bool = False) -> str:
    """The command that resumes this run (the same spec, overrides, output folder and trust)."""
    import shlex

    words = ["adaptkit", "run", str(spec), *[w for o in overrides for w in ("--set", o)]]
    if output is not None:
        words += ["--output", str(output)]
    if trust_code:
        words.append("--trust-code")
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


@main.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--metric", "metrics", multiple=True, metavar="KEY", help="A metrics.json key to show (repeatable; default: every test metric).")
@click.option("--per-seed", is_flag=True, help="Also list each seed of a repeated-seeds run as a row of its own.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def compare(runs: tuple[Path, ...], metrics: tuple[str, ...], per_seed: bool, as_json: bool) -> None:
    """One table across run directories RUN... (repeated seeds: mean ± sd); reads their files only."""
    from ._compare import compare_runs, compare_table

    try:
        rows = compare_runs(runs, list(metrics) or None, per_seed)
    except AdaptkitError as exc:
        _fail(exc)
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    compare_table(rows)


@main.command("lr-find")
@click.argument("spec", type=click.Path(path_type=Path))
@set_option
@click.option("--stage", default=0, show_default=True, help="Index of the training stage whose trainability and optimizer to use.")
@click.option("--min-lr", default=1e-7, show_default=True, help="First learning rate of the sweep.")
@click.option("--max-lr", default=1.0, show_default=True, help="Last learning rate of the sweep.")
@click.option("--steps", default=100, show_default=True, help="Training steps in the sweep.")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Where to save the loss-vs-rate plot (default: <name>-lr-find.png).")
@trust_option
def lr_find_command(spec: Path, overrides: tuple[str, ...], stage: int, min_lr: float, max_lr: float, steps: int, plot_path: Optional[Path], trust_code: bool) -> None:
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
        result, _ = lr_find(validated, spec, stage, min_lr, max_lr, steps, plot_path, trust_code=trust_code)
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
    from ._rundir import resolved_yaml
    from ._specfile import load_spec_file

    try:
        validated = load_spec_file(spec, list(overrides), check_files=False)
    except AdaptkitError as exc:
        _fail(exc, f"{spec}: ")
    click.echo(resolved_yaml(validated), nl=False)


@main.command()
@click.option("--indent", default=2, show_default=True, help="JSON indentation.")
def schema(indent: int) -> None:
    """Print the JSON Schema of pipeline specs, including installed plugins' sections."""
    from ._plugin_index import cached, host_is_new, read_index, write_index

    document = cached("schema")
    if document is None:
        from ._spec import build_spec_model

        new = host_is_new()
        document = build_spec_model().model_json_schema()
        document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        document["title"] = "adaptkit pipeline spec"
        parts = read_index() if new else None  # what discovery wrote just now
        if parts and "entry_points" in parts:
            write_index(**{**parts, "schema": document})
    click.echo(json.dumps(document, indent=indent))


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins(as_json: bool) -> None:
    """List the discovered plugins: distribution, version, hooks, sections, status."""
    from ._plugin_index import cached

    infos = cached("plugins")
    if infos is None:
        from ._plugins import get_host, plugin_rows

        infos = plugin_rows(get_host())
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
    for p in infos:
        for warning in p["warnings"]:
            click.echo(f"warning: plugin {p['name']!r}: {warning}", err=True)


@main.command("new-plugin")
@click.argument("name")
@click.option("--kinds", default="loss,head,data,source,metric", show_default=True, help="Which kinds to generate, comma-separated: loss, head, data, source, metric.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=Path("."), show_default=True, help="Folder to write adaptkit-NAME/ into.")
def new_plugin(name: str, kinds: str, output: Path) -> None:
    """Write a plugin package adaptkit-NAME to start from: pyproject with the entry point, hooks, docs page, passing tests."""
    from ._scaffold import new_plugin as write_plugin

    try:
        folder = write_plugin(name, kinds, output)
    except AdaptkitError as exc:
        _fail(exc)
    click.echo(f"wrote {folder}: pip install -e {folder}, then adaptkit plugins lists it; its tests: pytest {folder}")


from ._cli_after import register  # noqa: E402  (the verbs for after a run)

register(main, _fail, trust_option)

from ._cli_rank import register as register_rank  # noqa: E402  (choosing a source before training)

register_rank(main, _fail, trust_option, set_option)
from ._cli_sweep import register as register_sweep  # noqa: E402  (adaptkit sweep: trials through Ray Tune)

register_sweep(main, _fail, trust_option, set_option)

if __name__ == "__main__":  # pragma: no cover
    main()
