"""Helpers for plugin authors' tests: run a spec through the real CLI, read its run directory.

    from adaptkit.testing import run_spec

    def test_my_loss_helps(tmp_path):
        run = run_spec(tmp_path, {...spec...}, name="mine")
        assert run.metrics["target_test/accuracy"] > 0.8
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

__all__ = ["SpecRun", "run_spec"]


@dataclass
class SpecRun:
    run_dir: Path
    result: dict[str, Any]
    """The whole metrics.json."""

    @property
    def metrics(self) -> dict[str, Any]:
        """The evaluation metrics (``metrics.json``'s ``metrics``)."""
        return self.result["metrics"]


def run_spec(directory: Path, spec: dict[str, Any], name: Optional[str] = None, args: tuple[str, ...] = ()) -> SpecRun:
    """Write ``spec`` to ``directory/<name>.yaml``, run it with ``adaptkit run`` (click's runner,
    in this process) into ``directory/runs``, and return the finished run. Fails the test with the
    CLI's output when the run does not exit 0."""
    from click.testing import CliRunner

    from .cli import main

    name = name or spec.get("name") or "run"
    path = Path(directory) / f"{name}.yaml"
    path.write_text(yaml.safe_dump(dict(spec, name=name)))
    outcome = CliRunner().invoke(main, ["run", str(path), "--output", str(Path(directory) / "runs"), *args])
    if outcome.exit_code != 0:
        import traceback

        detail = "".join(traceback.format_exception(*outcome.exc_info)) if outcome.exc_info and outcome.exception else ""
        raise AssertionError(f"adaptkit run {path} exited {outcome.exit_code}:\n{outcome.output}{detail}")
    link = Path(directory) / "runs" / f"{name}-latest"
    run_dir = link.resolve()
    return SpecRun(run_dir, json.loads((run_dir / "metrics.json").read_text()))
