"""Repeated seeds: the pipeline once per seed, one run directory each under a parent, and the aggregate.

``repeats.seeds: N`` (or ``adaptkit run --seeds N``) runs the spec with seeds
``seed, seed+1, ..., seed+N-1`` into ``<name>-<timestamp>/seed<k>/`` (each an
ordinary run directory), all on the split of ``split_seed`` (default: the
first seed) unless ``repeats.vary_split``. The parent gets ``aggregate.json``
(every metric's mean, sd and 95% t interval, the baseline's too, and the
transfer verdict paired over seeds), ``seeds.csv`` (one row per seed) and
``report.html``.
``--resume`` skips finished seeds and goes on with an interrupted one.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any, Optional

from ._errors import AdaptkitError, SpecError
from ._html import write_report
from ._rundir import Checkpoints, RunDir, resolved_yaml, spec_digest
from ._runner import RunResult, run_pipeline
from ._significance import summarize_values
from ._verdict import judge_adaptation_over_seeds, judge_over_seeds, source_warnings

__all__ = ["seed_specs", "run_repeats", "summarize"]

summarize = summarize_values  # mean, sd and 95% t interval of a list of values

log = logging.getLogger("adaptkit")


def seed_specs(spec: Any) -> list[Any]:
    """One spec per repeat: its own seed, one run each (``repeats.seeds: 1``), the split fixed or not."""
    split = None if spec.repeats.vary_split else (spec.split_seed if spec.split_seed is not None else spec.seed)
    one = spec.repeats.model_copy(update={"seeds": 1})
    return [
        spec.model_copy(update={"seed": spec.seed + k, "split_seed": split, "repeats": one})
        for k in range(spec.repeats.seeds)
    ]


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool) and not k.endswith("/examples") and math.isfinite(v)
    }


def _aggregate(spec: Any, results: list[tuple[int, str, dict]]) -> tuple[dict[str, Any], list[dict]]:
    first = results[0][2]
    key = first["headline"]["metric"]
    metric_sets = [_numbers(r["metrics"]) for _, _, r in results]
    common = sorted(set.intersection(*(set(m) for m in metric_sets)))
    out: dict[str, Any] = {
        "seeds": [s for s, _, _ in results],
        "split_seed": None if spec.repeats.vary_split else (spec.split_seed if spec.split_seed is not None else spec.seed),
        "vary_split": spec.repeats.vary_split,
        "headline": {"metric": key, **summarize([r["headline"]["value"] for _, _, r in results if r["headline"]["value"] is not None])},
        "metrics": {k: summarize([m[k] for m in metric_sets]) for k in common},
        "runs": {f"seed{s}": name for s, name, _ in results},
    }
    bases = [((r.get("baseline") or {}).get("metrics")) for _, _, r in results]
    if all(b for b in bases):
        base_sets = [_numbers(b) for b in bases]
        shared = sorted(set.intersection(*(set(b) for b in base_sets)))
        out["baseline"] = {k: summarize([b[k] for b in base_sets]) for k in shared}
    transfers = [r.get("transfer") for _, _, r in results]
    if all(t and "no_verdict" not in t for t in transfers):
        if "verdict" in transfers[0]:
            out["transfer"] = _over_seeds(transfers, spec)
        else:  # multi-task: a verdict per task
            out["transfer"] = {task: _over_seeds([t[task] for t in transfers], spec) for task in transfers[0]}
    elif any(t for t in transfers):
        out["transfer"] = {"no_verdict": "a seed's baseline diverged: see its run directory"}
    adaptation = judge_adaptation_over_seeds([r.get("adaptation") or {} for _, _, r in results])
    if adaptation is not None:
        out["adaptation"] = adaptation
    rows = []
    for seed, name, r in results:
        row: dict[str, Any] = {"seed": seed, "run": name, "headline": r["headline"]["value"]}
        base = (r.get("baseline") or {}).get("metrics") or {}
        if key in base:
            row["baseline"] = base[key]
        t = r.get("transfer") or {}
        if "verdict" in t:
            row["verdict"] = t["verdict"]
        if isinstance((r.get("adaptation") or {}).get("source_only"), (int, float)):
            row["source_only"] = r["adaptation"]["source_only"]
        row["wall_time_s"] = r.get("wall_time_s")
        rows.append(row)
    return out, rows


def _over_seeds(per_seed: list[dict], spec: Any) -> dict[str, Any]:
    out = judge_over_seeds(per_seed, bool(per_seed[0].get("higher_is_better", True)), source_warnings(spec))
    out["metric"] = per_seed[0].get("metric")
    return out


def run_repeats(
    spec: Any,
    spec_path: Path,
    output_dir: Optional[Path] = None,
    host: Any = None,
    resume: bool = False,
    trust_code: bool = False,
    run_name: Optional[str] = None,
) -> RunResult:
    """Run every seed of ``spec.repeats`` under one parent folder and write the aggregate;
    ``run_name``: exactly that parent folder (a sweep's trial), not ``<name>-<timestamp>``."""
    started = time.perf_counter()
    parent = Path(output_dir or spec.output_dir)
    digest = spec_digest(resolved_yaml(spec))
    if resume:
        group = RunDir.resume(parent, run_name or spec.name, digest, stamped=run_name is None)
        if group is None:
            raise SpecError("--resume", f"no interrupted repeated run of {spec.name!r} with this exact spec in {parent}")
    else:
        try:
            group = RunDir(parent, run_name or spec.name, stamped=run_name is None)
        except OSError as exc:
            raise SpecError("output_dir", f"cannot create a run directory in {parent}: {exc.strerror or exc}") from exc
    Checkpoints(group.partial).save_state(digest, 0, [])
    results: list[tuple[int, str, dict]] = []
    errors: list[AdaptkitError] = []
    try:
        group.write_text("spec.yaml", resolved_yaml(spec))
        for one in seed_specs(spec):
            name = f"seed{one.seed}"
            done = group.partial / name / "metrics.json"
            if done.is_file():
                log.info("repeats: %s finished before, skipped", name)
            else:
                interrupted = (group.partial / f".{name}.partial").is_dir()
                log.info("repeats: %s (%d of %d)", name, len(results) + 1, spec.repeats.seeds)
                run_pipeline(one, spec_path, group.partial, host, resume=interrupted, run_name=name, trust_code=trust_code)
            results.append((one.seed, name, json.loads(done.read_text())))
            # what failed without stopping a seed's run (an evaluation plugin): reported for the group
            errors.extend(AdaptkitError(name, message) for message in results[-1][2].get("errors", []))
        aggregate, rows = _aggregate(spec, results)
        if errors:
            aggregate["errors"] = [str(e) for e in errors]
        aggregate["wall_time_s"] = round(time.perf_counter() - started, 2)
        group.write_json("aggregate.json", aggregate)
        group.write_csv("seeds.csv", rows)
        write_report(group.partial)
        final = group.commit()
    except BaseException as exc:
        started_any = results or any(group.partial.glob(".seed*.partial"))
        if not started_any and not resume:
            group.discard()  # bad input in the first seed: nothing to keep
        else:
            exc.adaptkit_partial = group.partial  # type: ignore[attr-defined]
            group.release()
        raise
    headline = aggregate["headline"]
    return RunResult(final, aggregate, (headline["metric"], headline.get("mean")), errors)
