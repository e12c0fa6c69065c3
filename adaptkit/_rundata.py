"""A finished run directory read back from its files: one run, or a repeated-seeds parent (no TensorFlow).

``read_run(path)`` is what the report and ``adaptkit compare`` draw from: the
resolved spec, ``metrics.json`` (one run) or ``aggregate.json`` and
``seeds.csv`` (repeated seeds, each ``seed<k>/`` read as a run of its own), and
the history CSVs. A folder that is not a finished run is a one-line
:class:`DataError` naming the folder.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._errors import DataError

__all__ = ["RunFiles", "read_run", "read_rows"]


@dataclass
class RunFiles:
    """What a run directory holds. ``kind``: ``run`` (metrics.json) or ``seeds`` (aggregate.json)."""

    path: Path
    kind: str
    spec: dict[str, Any]
    spec_text: str
    results: dict[str, Any]
    """metrics.json of a run, aggregate.json of a repeated-seeds parent."""
    history: list[dict[str, Any]] = field(default_factory=list)
    baseline_history: list[dict[str, Any]] = field(default_factory=list)
    seed_rows: list[dict[str, Any]] = field(default_factory=list)
    """seeds.csv (repeated seeds)."""
    seed_runs: list["RunFiles"] = field(default_factory=list)
    """Each ``seed<k>/`` run directory (repeated seeds)."""

    @property
    def name(self) -> str:
        return str(self.spec.get("name") or self.path.name)


def _number(text: str) -> Any:
    """A CSV cell as int or float where it is one (``nan`` stays a float), else the text."""
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The rows of a CSV file that adaptkit wrote, numbers as numbers; ``[]`` when there is none."""
    if not path.is_file():
        return []
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            return [{k: _number(v) for k, v in row.items() if k is not None and v not in (None, "")} for row in csv.DictReader(fh)]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(str(path), f"not a readable CSV file ({type(exc).__name__}: {exc})") from exc


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=lambda c: math.nan)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(str(path), f"not a readable JSON file ({type(exc).__name__}: {exc})") from exc
    if not isinstance(data, dict) or not isinstance(data.get("headline"), dict):
        raise DataError(str(path), "has no 'headline': not written by adaptkit run")
    return data


def _spec(folder: Path) -> tuple[dict[str, Any], str]:
    import yaml

    path = folder / "spec.yaml"
    if not path.is_file():
        return {}, ""
    try:
        text = path.read_text(encoding="utf-8")
        data = yaml.safe_load(text)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise DataError(str(path), f"not a readable YAML file ({type(exc).__name__})") from exc
    return (data if isinstance(data, dict) else {}), text


def _not_a_run(folder: Path) -> str:
    """Why ``folder`` (an existing directory without results) is not a finished run."""
    if folder.name.endswith(".partial") or (folder / "checkpoints").is_dir():
        return "an unfinished run (no metrics.json yet): finish it with adaptkit run SPEC --resume"
    inside = [
        p for p in sorted(folder.iterdir())
        if not p.is_symlink() and ((p / "metrics.json").is_file() or (p / "aggregate.json").is_file())
    ]
    if inside:
        return f"a folder of {len(inside)} run(s), not a run: name the runs themselves (e.g. {inside[0]})"
    return "not a run directory: it has no metrics.json (a run) or aggregate.json (repeated seeds)"


def read_run(path: Path, histories: bool = True) -> RunFiles:
    """Read the run directory (or repeated-seeds parent) at ``path``; ``histories``: the CSVs too."""
    folder = Path(path)
    if not folder.exists():
        raise DataError(str(path), "no such run directory")
    if not folder.is_dir():
        raise DataError(str(path), "not a run directory: it is a file (name the folder that holds metrics.json)")
    spec, text = _spec(folder)
    if (folder / "aggregate.json").is_file():
        aggregate = _json(folder / "aggregate.json")
        seeds = read_rows(folder / "seeds.csv")
        runs = []
        for name in (aggregate.get("runs") or {}).values():
            if (folder / str(name) / "metrics.json").is_file():
                runs.append(read_run(folder / str(name), histories))
        return RunFiles(folder, "seeds", spec, text, aggregate, seed_rows=seeds, seed_runs=runs)
    if not (folder / "metrics.json").is_file():
        raise DataError(str(path), _not_a_run(folder))
    metrics = _json(folder / "metrics.json")
    out = RunFiles(folder, "run", spec, text, metrics)
    if histories:
        out.history = read_rows(folder / "history.csv")
        out.baseline_history = read_rows(folder / "baseline_history.csv")
    return out
