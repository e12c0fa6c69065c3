"""One trial of a sweep, as Ray Tune's function trainable runs it in its worker: the same run path as ``adaptkit run``.

The trial's spec is read and validated as ``adaptkit run SPEC --set ...`` would
(its ``repeats.seeds`` included), then run by :func:`run_pipeline` or
:func:`run_repeats` into ``<sweep folder>/<trial id>/``. A complete run directory
of the same resolved spec is not trained again (its results are reported as
they are); an interrupted one (``.<trial id>.partial``) goes on as
``run --resume`` would, or starts over when it was killed before its first
checkpoint. TensorFlow is imported here, in the worker, after its thread
counts are set from the trial's CPUs, so parallel trials do not oversubscribe.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

from ._sweep_plan import SweepPlan, finished_results, headline_of, trial_data, trial_id

__all__ = ["run_trial", "prepare_trial"]


def _threads(cpus: float) -> None:
    """TensorFlow's thread pools sized to the trial's share of the machine (before TF starts)."""
    n = str(max(1, int(cpus)))
    for name in ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = n
    os.environ["TF_NUM_INTEROP_THREADS"] = "1" if int(cpus) <= 2 else "2"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def prepare_trial(plan: SweepPlan, overrides: dict[str, Any]) -> tuple[Any, str, str]:
    """The trial's validated spec, its digest and its id (the folder name under the sweep folder)."""
    from ._rundir import resolved_yaml, spec_digest
    from ._specfile import load_spec, parse_overrides, apply_overrides, read_spec_file

    path = Path(plan.spec_path)
    data = apply_overrides(read_spec_file(path), parse_overrides(plan.overrides))
    spec = load_spec(trial_data(data, overrides), spec_dir=path.parent)
    digest = spec_digest(resolved_yaml(spec))  # as the run digests the spec.yaml it writes
    return spec, digest, trial_id(overrides, digest)


def _run(plan: SweepPlan, spec: Any, digest: str, name: str) -> dict[str, Any]:
    from ._rundir import Checkpoints

    parent = Path(plan.folder)
    partial = parent / f".{name}.partial"
    resume = partial.is_dir() and Checkpoints(partial).state.get("digest") == digest
    if partial.is_dir() and not resume:  # killed before its first checkpoint: nothing to go on with
        shutil.rmtree(partial)
    if spec.repeats.seeds > 1:
        from ._repeats import run_repeats

        result = run_repeats(spec, Path(plan.spec_path), parent, resume=resume, trust_code=plan.trust_code, run_name=name)
    else:
        from ._runner import run_pipeline

        result = run_pipeline(spec, Path(plan.spec_path), parent, resume=resume, run_name=name, trust_code=plan.trust_code)
    return result.metrics


def run_trial(config: dict[str, Any], plan: SweepPlan) -> None:
    """Ray Tune's trainable: run (or find finished) the trial of ``config`` and report its score."""
    _threads(plan.cpus)
    started = time.perf_counter()
    overrides = plan.trial_overrides(config)
    spec, digest, name = prepare_trial(plan, overrides)
    results = finished_results(Path(plan.folder) / name, digest)
    skipped = results is not None
    if results is None:
        results = _run(plan, spec, digest, name)
    score = headline_of(results, plan.metric)
    report = {
        "score": float("nan") if score is None else float(score),
        "trial": name,
        "skipped": skipped,
        "seconds": round(time.perf_counter() - started, 2),
    }
    import ray
    from ray import tune

    report["node"] = ray.get_runtime_context().get_node_id()  # which machine of a cluster ran it
    tune.report(report)  # the trial's one result (returning it too would report it twice)
