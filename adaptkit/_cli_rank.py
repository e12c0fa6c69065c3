"""The ``rank`` verb: score candidate sources for transferability, print the ranked table and a recommendation.

A thin click command (registered on the ``adaptkit`` group): the work is in
:mod:`adaptkit._rank` (TensorFlow, imported inside the command once the spec
is read) and :mod:`adaptkit._recommend`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Optional

import click

from ._errors import AdaptkitError, SpecError

__all__ = ["register", "rank_document"]


def _source_overrides(sources: tuple[str, ...]) -> list[str]:
    """``--source YAML`` (repeatable) as one ``candidates=[...]`` override: they replace the spec's candidates."""
    import yaml

    candidates = []
    for i, text in enumerate(sources):
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SpecError(f"--source {i + 1}", f"not YAML: {' '.join(str(exc).split())}") from None
        if not isinstance(value, dict):
            raise SpecError(f"--source {i + 1}", "give a source section as a YAML mapping, e.g. '{kind: convnet}'")
        candidates.append(value if "source" in value else {"source": value})
    return [f"candidates={json.dumps(candidates)}"] if candidates else []


def rank_document(result: Any, recommendation: Any) -> dict[str, Any]:
    """What ``--json`` prints and ``rank.json`` holds."""
    return {
        "primary": result.primary,
        "scores": result.kinds,
        "examples": result.examples,
        "per_class": result.per_class,
        "candidates": [row.as_dict() for row in result.ranked()],
        "recommendation": recommendation.as_dict(),
        "errors": [str(e) for e in result.errors],
    }


def _cell(value: Any) -> str:
    if value.value is None:
        return "n/a"  # the reason is in --json (note)
    return f"{value.value:.4g}"


def _table(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"transferability on {result.examples} training examples, ranked by {result.primary}")
    table.add_column("#", justify="right")
    table.add_column("candidate")
    for kind in result.kinds:
        table.add_column(kind + (" *" if kind == result.primary else ""), justify="right")
    table.add_column("features", justify="right")
    table.add_column("forward s", justify="right")
    table.add_column("scores s", justify="right")
    for i, row in enumerate(result.ranked(), start=1):
        cells = [_cell(row.scores[k]) if k in row.scores else "failed" for k in result.kinds]
        spent = sum(v.seconds for v in row.scores.values())
        table.add_row(str(i), row.name, *cells, str(row.feature_dim), f"{row.forward_seconds:.1f}", f"{spent:.2f}")
    Console(width=max(120, Console().width)).print(table)


def _print_recommendation(recommendation: Any) -> None:
    click.echo("")
    if recommendation.candidate is not None:
        click.echo(f"recommendation: start from {recommendation.candidate}; {recommendation.strategy}: {recommendation.how}")
    else:
        click.echo(f"recommendation: {recommendation.strategy}: {recommendation.how}")
    for line in recommendation.evidence:
        click.echo(f"  - {line}")


def register(group: click.Group, fail: Callable[[AdaptkitError], Any], trust_option: Callable, set_option: Callable) -> None:
    """Add ``rank`` to ``group``; ``fail`` prints an error and exits."""

    @group.command()
    @click.argument("spec", type=click.Path(path_type=Path))
    @set_option
    @click.option("--source", "sources", multiple=True, metavar="YAML", help="A candidate source section, e.g. '{kind: convnet}' or '{name: x, source: {...}, surgery: [...]}' (repeatable; replaces the spec's candidates).")
    @click.option("--json", "as_json", is_flag=True, help="Print JSON instead of the table.")
    @click.option("--output", type=click.Path(file_okay=False, path_type=Path), default=None, help="Also write FOLDER/rank.json.")
    @trust_option
    def rank(spec: Path, overrides: tuple[str, ...], sources: tuple[str, ...], as_json: bool, output: Optional[Path], trust_code: bool) -> None:
        """Score the candidate sources of SPEC for transferability (LogME, LEEP, H-score, linear probe,
        kNN) on its training split, one frozen forward pass each, and recommend a source and a strategy."""
        from ._specfile import load_spec_file

        try:
            validated = load_spec_file(spec, [*overrides, *_source_overrides(sources)])
            if not validated.candidates:
                raise SpecError("candidates", "no candidates to rank: list source sections under candidates, or give --source")
        except AdaptkitError as exc:
            fail(exc, f"{spec}: ")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        from .cli import _console_log

        _console_log()  # each candidate's forward pass, as it ends
        click.echo(f"adaptkit: ranking {len(validated.candidates)} candidates of {validated.name} (loading TensorFlow...)", err=True)
        from ._rank import rank_candidates
        from ._recommend import recommend

        try:
            result = rank_candidates(validated, spec, trust_code=trust_code)
        except AdaptkitError as exc:
            fail(exc)
        advice = recommend(result.ranked(), result.kinds, result.primary, result.per_class, result.examples)
        document = rank_document(result, advice)
        if output is not None:
            output.mkdir(parents=True, exist_ok=True)
            partial = output / ".rank.json.partial"
            partial.write_text(json.dumps(document, indent=2))
            partial.replace(output / "rank.json")
        if as_json:
            click.echo(json.dumps(document, indent=2))
        else:
            _table(result)
            _print_recommendation(advice)
        for err in result.errors:
            click.echo(f"error: {err}", err=True)
        if result.errors:
            raise SystemExit(2)
