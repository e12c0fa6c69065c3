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

__all__ = ["SpecRun", "run_spec", "write_rotated_moons", "moons_spec"]


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


def write_rotated_moons(folder: Path, n: int = 600, test_n: int = 300, degrees: float = 30.0) -> None:
    """A small domain shift for tests: ``source.npz`` and ``source_test.npz`` hold two-moons
    draws, ``target.npz`` an independent draw rotated by ``degrees`` (labels kept for scoring)."""
    import numpy as np
    from sklearn.datasets import make_moons

    xs, ys = make_moons(n, noise=0.1, random_state=0)
    xs2, ys2 = make_moons(test_n, noise=0.1, random_state=5)
    xt, yt = make_moons(n, noise=0.1, random_state=1000)
    t = np.deg2rad(degrees)
    xt = xt @ np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]]).T
    for name, x, y in (("source", xs, ys), ("source_test", xs2, ys2), ("target", xt, yt)):
        np.savez(Path(folder) / f"{name}.npz", x=x.astype("float32"), y=y)


def moons_spec(folder: Any, stages: list[dict[str, Any]]) -> dict[str, Any]:
    """A two-stream spec over the files of :func:`write_rotated_moons` (MLP 32-32, softmax head)."""
    return {
        "name": "moons",
        "seed": 0,
        "data": {
            "train": {"kind": "arrays", "path": f"{folder}/source.npz"},
            "test": {"kind": "arrays", "path": f"{folder}/source_test.npz"},
            "target": {"kind": "arrays", "path": f"{folder}/target.npz"},
            "validation_split": 0.0,
            "target_test_split": 0.5,
            "batch_size": 64,
        },
        "source": {"kind": "mlp", "units": [32, 32]},
        "head": {"kind": "classifier", "pooling": "none"},
        "training": {"stages": stages, "verbose": 0},
        "evaluation": {"plots": False},
    }
