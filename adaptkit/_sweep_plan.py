"""A sweep's trials as spec files see them: the overrides of each, the trial's spec, its folder name, whether it finished (no TensorFlow, no Ray).

A trial is the sweep's spec with the ``sweep`` section removed and the trial's
dotted keys set, exactly as ``adaptkit run SPEC --set key=value`` sets them. Its
run directory is ``<sweep folder>/<trial id>/``; the id holds the digest of the
trial's resolved spec, so a finished trial of the same spec is found again (and
skipped) and a changed spec gets a new one.
"""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from ._errors import AdaptkitError, SpecError, shown
from ._rundir import spec_digest
from ._sweep_spec import SweepSpec, probe_points

__all__ = ["SweepPlan", "trial_data", "check_trials", "trial_id", "finished_results", "headline_of"]

RESULT_FILES = ("aggregate.json", "metrics.json")  # repeated seeds, one run


@dataclass
class SweepPlan:
    """What every trial needs to know, sent to Ray's workers (plain data: it pickles)."""

    spec_path: str
    """The spec file, absolute: its folder resolves the data paths, as for ``adaptkit run``."""
    overrides: list[str]
    """The command's ``--set`` items, applied before the trial's keys."""
    keys: list[str]
    values: dict[str, list[Any]]
    """key -> the values a grid or choice index picks from (keys sampled from a range have none)."""
    folder: str
    metric: Optional[str]
    mode: str
    cpus: float
    trust_code: bool = False
    names: dict[str, str] = field(default_factory=dict)
    """key -> the name of its parameter in Ray Tune's config (``p0``, ``p1``, ...)."""

    def trial_overrides(self, config: dict[str, Any]) -> dict[str, Any]:
        """The trial's dotted keys and values from Ray Tune's config (an index into a value list, or a sample)."""
        out = {}
        for key in self.keys:
            raw = config[self.names[key]]
            out[key] = self.values[key][raw] if key in self.values else raw
        return out


def trial_data(data: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The spec mapping of one trial: ``data`` without its sweep section, the overrides set."""
    from ._specfile import apply_overrides

    trial = copy.deepcopy(data)
    trial.pop("sweep", None)
    return apply_overrides(trial, [(key.split("."), copy.deepcopy(value)) for key, value in overrides.items()])


def _renamed(err: AdaptkitError, where: str, key: str, value: Any) -> SpecError:
    inner = "" if err.where == key else f"{err.where}: "
    return SpecError(where, f"value {shown(value)}: {inner}{err.message}")


def check_trials(data: dict[str, Any], sweep: SweepSpec, host: Any, spec_dir: Optional[Path]) -> None:
    """Every value of every key makes a spec that validates; else ``SpecErrors`` naming ``sweep.grid.<key>``."""
    from ._specerrors import SpecErrors
    from ._specfile import load_spec

    errors: dict[tuple[str, str, str], SpecError] = {}  # one line per problem, with the first value that shows it
    for where, key, overrides in probe_points(sweep):
        try:
            load_spec(trial_data(data, overrides), host, spec_dir)
            continue
        except SpecErrors as exc:
            found: list[AdaptkitError] = list(exc.errors)
        except AdaptkitError as exc:
            found = [exc]
        for err in found:
            owner = next((k for k in overrides if err.where == k or err.where.startswith(k + ".")), key)
            if owner != key:
                continue  # a bad value of another swept key: its own probes report it
            errors.setdefault((where, err.where, err.message), _renamed(err, where, key, overrides[key]))
    if errors:
        raise SpecErrors(list(errors.values()))


def _slug(overrides: dict[str, Any]) -> str:
    parts = []
    for key, value in overrides.items():
        if value in ([], {}, None):
            text = "none"  # an empty surgery list: the strategy that unfreezes nothing
        else:
            text = value if isinstance(value, str) else json.dumps(value, separators=(",", ":"), sort_keys=True)
        parts.append(f"{key.rsplit('.', 1)[-1]}={text}")
    slug = re.sub(r"[^A-Za-z0-9_.=,+-]+", "", "_".join(parts).replace(":", "="))
    return slug[:60] or "trial"


def trial_id(overrides: dict[str, Any], digest: str) -> str:
    """``<last key part>=<value>_..-<8 hex of the resolved spec's digest>``: readable, and unique per spec."""
    return f"{_slug(overrides)}-{digest[:8]}"


def finished_results(folder: Path, digest: str) -> Optional[dict[str, Any]]:
    """The results (aggregate.json or metrics.json) of a complete run directory of this exact spec, else None."""
    try:
        if spec_digest((folder / "spec.yaml").read_text(encoding="utf-8")) != digest:
            return None
        for name in RESULT_FILES:
            if (folder / name).is_file():
                return json.loads((folder / name).read_text())
    except (OSError, ValueError):
        return None
    return None


def headline_of(results: dict[str, Any], metric: Optional[str]) -> Optional[float]:
    """The number a trial is ranked by: the mean over seeds (or the one run's value) of ``metric``
    (default: the headline). ``SpecError`` at ``sweep.metric`` when the run has no such metric."""
    seeds = "seeds" in results
    if metric is None:
        head = results.get("headline") or {}
        return head.get("mean") if seeds else head.get("value")
    metrics = results.get("metrics") or {}
    if metric not in metrics:
        have = ", ".join(k for k in metrics if not k.endswith("/examples"))
        raise SpecError("sweep.metric", f"the trial's run has no {metric!r} (it has: {have})")
    value = metrics[metric]
    return value.get("mean") if seeds else value
