"""Running a spec through the real CLI in a test: a finished run (:func:`run_spec`) or its one-line error (:func:`expect_error`).

    from adaptkit.testing import run_spec, expect_error

    def test_my_loss_helps(tmp_path):
        run = run_spec(tmp_path, {...spec...}, name="mine")
        assert run.metrics["target_test/accuracy"] > 0.8

    def test_a_bad_weight_is_refused(tmp_path):
        expect_error({...spec with weight: -1...}, where="training.stages.0.losses.0.weight",
                     message="greater than or equal to 0", directory=tmp_path)
"""

from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Union

import yaml

__all__ = ["SpecRun", "run_spec", "expect_error"]


@dataclass
class SpecRun:
    run_dir: Path
    result: dict[str, Any]
    """The whole metrics.json."""

    @property
    def metrics(self) -> dict[str, Any]:
        """The evaluation metrics (``metrics.json``'s ``metrics``)."""
        return self.result["metrics"]


def _invoke(directory: Path, spec: dict[str, Any], name: str, args: tuple[str, ...]) -> tuple[Path, Any]:
    from click.testing import CliRunner

    from ..cli import main

    path = Path(directory) / f"{name}.yaml"
    path.write_text(yaml.safe_dump(dict(spec, name=name)))
    outcome = CliRunner().invoke(main, ["run", str(path), "--output", str(Path(directory) / "runs"), *args])
    return path, outcome


def run_spec(directory: Path, spec: dict[str, Any], name: Optional[str] = None, args: tuple[str, ...] = ()) -> SpecRun:
    """Write ``spec`` to ``directory/<name>.yaml``, run it with ``adaptkit run`` (click's runner,
    in this process) into ``directory/runs``, and return the finished run. Fails the test with the
    CLI's output when the run does not exit 0."""
    name = name or spec.get("name") or "run"
    path, outcome = _invoke(directory, spec, name, args)
    if outcome.exit_code != 0:
        import traceback

        detail = "".join(traceback.format_exception(*outcome.exc_info)) if outcome.exc_info and outcome.exception else ""
        raise AssertionError(f"adaptkit run {path} exited {outcome.exit_code}:\n{outcome.output}{detail}")
    link = Path(directory) / "runs" / f"{name}-latest"
    run_dir = link.resolve()
    return SpecRun(run_dir, json.loads((run_dir / "metrics.json").read_text()))


def expect_error(
    spec: dict[str, Any],
    where: str,
    message: Union[str, "re.Pattern[str]", None] = None,
    *,
    directory: Optional[Path] = None,
    exit_code: int = 2,
    args: tuple[str, ...] = (),
) -> str:
    """Run ``spec`` with ``adaptkit run`` and check that it fails as bad input must.

    Checked: the exit status is ``exit_code`` (2: bad input), the output has one line
    ``error: [SPEC: ]<where>: <text>`` whose text contains ``message`` (a string, or a
    compiled pattern searched in it), there is no traceback, and no run directory was left.
    Returns the error's text (after ``where: ``). ``directory``: where the spec and the
    would-be run go (default: a fresh temporary folder).
    """
    directory = Path(directory) if directory is not None else Path(tempfile.mkdtemp(prefix="adaptkit-expect-"))
    path, outcome = _invoke(directory, spec, spec.get("name") or "expect", args)
    output = outcome.output
    shown = f"adaptkit run {path} (exit {outcome.exit_code}):\n{output}"
    if outcome.exception is not None and not isinstance(outcome.exception, SystemExit):
        raise AssertionError(f"{shown}\nraised {type(outcome.exception).__name__}: {outcome.exception}")
    assert outcome.exit_code == exit_code, f"expected exit status {exit_code}; {shown}"
    assert "Traceback" not in output, f"a traceback was printed; {shown}"
    prefix = re.compile(rf"^error: (?:{re.escape(str(path))}: )?{re.escape(where)}: (.*)$", re.M)
    found = prefix.search(output)
    assert found, f"no line 'error: {where}: ...'; {shown}"
    text = found.group(1)
    if isinstance(message, re.Pattern):
        assert message.search(text), f"the error does not match {message.pattern!r}; {shown}"
    elif message is not None:
        assert message in text, f"the error does not say {message!r}; {shown}"
    runs = directory / "runs"
    left = [p.name for p in runs.iterdir()] if runs.is_dir() else []
    assert not left, f"the failed run left {left} in {runs}"
    return text
