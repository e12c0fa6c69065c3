"""The verbs for after a run: ``predict``, ``evaluate``, ``export``, ``runs`` (registered on the ``adaptkit`` group).

Thin click commands: the work is in ``_predict``, ``_evaluate_data``,
``_export`` and ``_runs``. Only the first three import TensorFlow, inside the
command, once the arguments are read; ``runs`` reads files only.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Callable, Optional

import click

from ._errors import AdaptkitError, SpecError

__all__ = ["register"]

EXIT_INVALID = 2

run_argument = click.argument("run", type=click.Path(path_type=Path))


def _quiet_tensorflow() -> None:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def register(group: click.Group, fail: Callable[[AdaptkitError], Any], trust_option: Callable) -> None:
    """Add the four verbs to ``group``; ``fail`` prints an error and exits, ``trust_option`` is ``--trust-code``."""

    @group.command()
    @run_argument
    @click.argument("input_", metavar="INPUT")
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the rows here: .csv or .jsonl (default: CSV on stdout).")
    @click.option("--batch-size", type=click.IntRange(1), default=None, help="Examples per batch (default: the run's data.batch_size).")
    @trust_option
    def predict(run: Path, input_: str, output: Optional[Path], batch_size: Optional[int], trust_code: bool) -> None:
        """Apply the model of RUN to INPUT: one row per example (id, predicted class or value,
        each class's probability). INPUT is what the run's data kind reads (a folder of images,
        a CSV/TSV/JSONL of texts, an .npz), or a YAML file holding a data section."""
        from ._predict import FORMATS, predict_run, write_rows

        if output is not None and output.suffix.lower() not in FORMATS:
            fail(SpecError("--output", f"{output}: write .csv or .jsonl (one JSON object a line)"))
        _quiet_tensorflow()
        try:
            rows = predict_run(run, input_, batch_size, trust_code)
            write_rows(rows, output)
        except AdaptkitError as exc:
            fail(exc)
        if output is not None:
            click.echo(f"adaptkit: {len(rows)} predictions in {output}", err=True)

    @group.command()
    @run_argument
    @click.argument("data")
    @click.option("--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the JSON here (default: RUN/evaluate-<data>-<time>.json; '-': stdout only).")
    @trust_option
    def evaluate(run: Path, data: str, output: Optional[Path], trust_code: bool) -> None:
        """The metrics of RUN (every evaluation plugin's) on new labeled DATA: a path read as the
        run's data kind reads it, or a YAML file holding a data section."""
        from ._evaluate_data import default_output, evaluate_run
        from ._rundir import atomic_write_text

        _quiet_tensorflow()
        try:
            report, errors = evaluate_run(run, data, trust_code)
        except AdaptkitError as exc:
            fail(exc)
        _evaluation_table(report, to_stderr=str(output) == "-")
        text = json.dumps(report, indent=2, sort_keys=True) + "\n"
        if str(output) == "-":
            click.echo(text, nl=False)
        else:
            target = output or default_output(run, data)
            try:
                atomic_write_text(target, text)
            except OSError as exc:
                fail(SpecError("--output", f"cannot write {target}: {exc.strerror or exc}"))
            click.echo(f"adaptkit: written {target}", err=True)
        for err in errors:
            click.echo(f"error: {err}", err=True)
        if errors:
            sys.exit(EXIT_INVALID)

    @group.command()
    @run_argument
    @click.option("--format", "fmt", type=click.Choice(["saved_model", "tflite", "onnx"]), default="saved_model", show_default=True, help="The export format (Keras' own exporters).")
    @click.option("--output", type=click.Path(path_type=Path), default=None, help="Where to write it (default: RUN/export/saved_model, model.tflite or model.onnx).")
    @trust_option
    def export(run: Path, fmt: str, output: Optional[Path], trust_code: bool) -> None:
        """Export the model of RUN for serving, raw inputs in (its preprocessing inside)."""
        from ._export import export_run

        _quiet_tensorflow()
        try:
            written = export_run(run, fmt, output, trust_code)
        except AdaptkitError as exc:
            fail(exc)
        click.echo(f"adaptkit: {fmt} export in {written}")

    @group.command()
    @click.argument("folder", required=False, default="runs", type=click.Path(path_type=Path))
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
    def runs(folder: Path, as_json: bool) -> None:
        """The runs in FOLDER (default: runs), newest first: name, status (finished, running,
        interrupted), headline, wall time. Reads files only."""
        from ._runs import list_runs

        try:
            rows = list_runs(folder)
        except AdaptkitError as exc:
            fail(exc)
        if as_json:
            click.echo(json.dumps(rows, indent=2))
            return
        _runs_table(rows, folder)


def _number(value: Any) -> str:
    return "" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def _evaluation_table(report: dict, to_stderr: bool = False) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{report['run']} on {report['data']} ({report['examples']} examples)")
    table.add_column("metric")
    table.add_column("new data", justify="right")
    table.add_column("run's test", justify="right")
    for key, value in sorted(report["metrics"].items()):
        if not key.endswith("examples"):
            table.add_row(key, _number(value), _number(report["run_test"].get(key)))
    Console(width=max(100, Console().width), stderr=to_stderr).print(table)


def _runs_table(rows: list[dict], folder: Path) -> None:
    from rich.console import Console
    from rich.table import Table

    if not rows:
        click.echo(f"no runs in {folder}")
        return
    table = Table(show_header=True)
    for column in ("run", "name", "status", "headline", "seconds", "time"):
        table.add_column(column, justify="right" if column == "seconds" else "left", overflow="fold")
    for r in rows:
        head = r["headline"]
        shown = "" if head["metric"] is None else f"{head['metric']} {_number(head['value'])}"
        seconds = "" if r["wall_time_s"] is None else f"{r['wall_time_s']:.1f}"
        table.add_row(Path(r["run"]).name, r["name"], r["status"], shown, seconds, r["time"])
    console = Console()
    if not console.is_terminal:  # a file or a pipe: the whole table, however wide
        console = Console(width=Console(width=10_000).measure(table).maximum)
    console.print(table)
