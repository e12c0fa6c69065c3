"""The runner: data -> model -> stages -> evaluation -> baseline -> run directory and report (orchestration only).

Each step lives in its own module (``_splits``, ``_assembly``, ``_stages``,
``_resume``, ``_evaluation``, ``_baseline``, ``_report``) and reads or extends
one :class:`RunState`; this module only puts them in order and owns the run
directory's life: created only once the data is loaded and the model built
(bad input, or TensorFlow crashing while it builds, leaves nothing behind),
written under ``.partial``, renamed when complete, kept for ``--resume`` when
training had begun, removed when the input was bad.
"""

from __future__ import annotations

import logging
import logging.handlers
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import keras
import tensorflow as tf

from ._assembly import build_model
from ._baseline import BaselineDiverged, compare_transfer, train_baseline
from ._diagnostics import summarize_predictions
from ._distribution import describe, distribution_scope, worker_parent
from ._errors import AdaptkitError, SpecError
from ._evaluation import evaluate, evaluation_sets
from ._feature_cache import cached_predictions, close_cache
from ._metrics import build_metrics
from ._html import write_report
from ._multitask import build_weighting, compare_single_task, task_headlines
from ._plugins import PluginHost, get_host
from ._predictions import Predictions
from ._rawinput import raw_input_model
from ._report import plot_curves, save_model, summary
from ._serializable import check_serializable
from ._resume import replay_stage, restore_weights, save_weighting
from ._rundir import Checkpoints, RunDir, resolved_yaml, spec_digest
from ._splits import load_splits
from ._stages import fit_stage, plan_stage, prepare_stage
from ._state import RunState, Streams
from ._target import compare_source_only, has_target_test
from ._training import finalize_model
from ._verdict import judge_one_seed, source_warnings
from ._types import ModelParts, RunContext

__all__ = ["RunResult", "run_pipeline", "start_run", "train_stages", "configure_determinism"]

log = logging.getLogger("adaptkit")


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, Any]
    headline: tuple[str, Optional[float]]
    errors: list[AdaptkitError] = field(default_factory=list)
    """What failed without stopping the run (an evaluation plugin): its metrics are missing."""


def configure_determinism(seed: int) -> None:
    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # pragma: no cover - older TF
        pass


def start_run(
    spec: Any, host: PluginHost, ctx: RunContext, checkpoints: Optional[Checkpoints] = None, digest: str = "", role: str = "main"
) -> RunState:
    """Load the data and assemble the model, build the metrics: the state every later step works on."""
    for plugin in host.plugins.values():
        for warning in plugin.warnings:
            log.warning("plugin %r: %s", plugin.name, warning)
    splits = load_splits(spec, host, ctx)
    log.info("data: " + ", ".join(f"{k} {v}" for k, v in splits.sizes.items()))
    assembly = build_model(spec, host, ctx, splits.source, splits.tasks)
    check_serializable(raw_input_model(assembly.parts.model, assembly.preprocessing), "model.keras", host)  # before training, not after
    run = RunState(spec, host, ctx, splits, assembly, Streams.of(spec, splits), checkpoints=checkpoints, digest=digest, role=role)
    run.weighting = build_weighting(run)
    headlines = {name: head.monitor for name, head in assembly.heads.items()}
    run.metrics = build_metrics(spec, host, ctx, run.parts.tasks or {"": run.parts.task}, headlines)
    return run


def train_stages(run: RunState, keep_cache: bool = False) -> None:
    """Train every stage in order (replaying those an interrupted run completed), then finalize.

    ``keep_cache``: the last stage's cached features stay for the evaluation (the caller closes them)."""
    done = run.completed_stages
    stages = run.spec.training.stages
    kept = False
    try:
        for s in range(len(stages)):
            prepare_stage(run, s)
            if s < done:
                replay_stage(run, s)
                continue
            if s == done > 0:
                restore_weights(run, done)
            plan = plan_stage(run, s)
            run.compositions.extend(plan.compositions)
            fit_stage(run, plan)
            if run.checkpoints is not None:
                run.parts.model.save_weights(run.checkpoints.weights(s))
                save_weighting(run, s)
                run.checkpoints.save_state(run.digest, s + 1, run.history)
        kept = keep_cache and done < len(stages)
    finally:
        if not kept:
            close_cache(run)  # the features (and their files) are for training, and evaluating its model
    if 0 < done == len(stages):  # interrupted after the last stage
        restore_weights(run, done)
    adapted = finalize_model(run.parts, run.compositions)
    if adapted is not None:
        close_cache(run)
        names = [layer.name for layer in adapted.layers]
        encoder = adapted.get_layer("encoder") if "encoder" in names else run.parts.encoder
        classifier = adapted.get_layer("classifier") if "classifier" in names else run.parts.classifier
        run.assembly.parts = ModelParts(encoder, classifier, adapted, run.parts.task, run.parts.tasks)


def _judge(
    run: RunState, rundir: RunDir, metrics: dict[str, Any], result: dict[str, Any], sets: dict, predictions: Predictions
) -> tuple[list, Any]:
    """Train the from-scratch baseline and add its metrics and the transfer verdict to ``result``;
    its history rows and its model (``None`` when it diverged)."""
    rows: list = []
    try:
        base_parts = train_baseline(run, rows)
    except BaselineDiverged as exc:  # the transfer run stands; only the comparison is lost
        log.warning("%s; no transfer verdict", exc)
        result["baseline"] = {"diverged": str(exc), "epochs": len(rows)}
        result["transfer"] = {"no_verdict": f"{exc}"}
        rundir.write_csv("baseline_history.csv", rows)
        return rows, None
    base_metrics = evaluate(run, base_parts, sets, predictions=predictions)
    result["baseline"] = {"metrics": base_metrics, "epochs": len(rows)}
    warnings = source_warnings(run.spec)
    verdicts = {}
    for name, (key, column, higher) in task_headlines(run).items():
        curves = compare_transfer(run.history, rows, column, higher, metrics.get(key), base_metrics.get(key))
        curves["warnings"] = warnings
        task = name if run.assembly.multitask else None
        info = run.parts.tasks[name] if task is not None else run.parts.task
        verdicts[name] = judge_one_seed(
            curves, key, higher, task, info, run.parts.model, base_parts.model, sets, run.spec.seed, predictions
        )
    for warning in sorted({w for v in verdicts.values() for w in v.get("warnings", [])}):
        log.warning("verdict: %s", warning)
    result["transfer"] = verdicts if run.assembly.multitask else next(iter(verdicts.values()))
    rundir.write_csv("baseline_history.csv", rows)
    return rows, base_parts.model


def _train_alone(host: PluginHost, ctx: RunContext, errors: list, role: str, with_parts: bool = False) -> Any:
    """``spec -> test metrics`` (and the trained parts) of a run without a run directory of its own
    (the single-task baselines, the source-only model: ``role`` for trackers); its evaluation errors join ``errors``."""

    def train(spec: Any) -> Any:
        configure_determinism(spec.seed)
        task = spec.tasks[0].name if role == "single_task" and spec.tasks else ""
        run = start_run(spec, host, ctx, role=f"{role}_{task}" if task else role)
        train_stages(run)
        metrics = evaluate(run, run.parts, evaluation_sets(run))
        errors.extend(e for e in run.errors if str(e) not in {str(k) for k in errors})
        return (metrics, run.parts) if with_parts else metrics

    return train


def _interrupted(spec: Any, parent: Path, digest: str, run_name: Optional[str] = None) -> RunDir:
    """The newest interrupted run of this exact spec; ``run_name``: exactly that folder name
    (one run of a group), not ``<name>-<timestamp>``."""
    found = RunDir.resume(parent, run_name or spec.name, digest, stamped=run_name is None)
    if found is None:
        raise SpecError("--resume", f"no interrupted run of {spec.name!r} with this exact spec in {parent}")
    return found


def _new_rundir(spec: Any, parent: Path, run_name: Optional[str] = None) -> RunDir:
    try:
        return RunDir(parent, run_name or spec.name, stamped=run_name is None)
    except OSError as exc:
        raise SpecError("output_dir", f"cannot create a run directory in {parent}: {exc.strerror or exc}") from exc


def _early_log() -> logging.handlers.MemoryHandler:
    """Holds the log records made before ``run.log`` exists (loading the data, building the model)."""
    early = logging.handlers.MemoryHandler(capacity=1 << 30, flushLevel=logging.CRITICAL + 1)
    early.setLevel(logging.DEBUG)
    return early


def run_pipeline(
    spec: Any,
    spec_path: Path,
    output_dir: Optional[Path] = None,
    host: Optional[PluginHost] = None,
    resume: bool = False,
    run_name: Optional[str] = None,
    trust_code: bool = False,
) -> RunResult:
    """Run a validated spec; ``resume`` goes on with the newest interrupted run of the same spec;
    ``trust_code`` (``--trust-code``) lets model files run their code (docs/security.md)."""
    host = host or get_host()
    section = spec.training.distribution
    with distribution_scope(section):  # model, optimizers and metrics are built under the strategy
        return _run_pipeline(spec, spec_path, output_dir, host, resume, run_name, trust_code, worker_parent(section))


def _run_pipeline(
    spec: Any, spec_path: Path, output_dir: Optional[Path], host: PluginHost, resume: bool, run_name: Optional[str],
    trust_code: bool, worker: Optional[str],
) -> RunResult:
    """:func:`run_pipeline` inside the strategy's scope; ``worker``: a multi-worker non-chief's
    folder name under the output directory (its own copy of the run, for ``--resume``)."""
    started = time.perf_counter()
    ctx = RunContext(seed=spec.seed, spec_dir=Path(spec_path).resolve().parent, trust_code=trust_code)
    resolved = resolved_yaml(spec)
    digest = spec_digest(resolved)
    parent = Path(output_dir or spec.output_dir)
    parent = parent / worker if worker else parent
    rundir: Optional[RunDir] = _interrupted(spec, parent, digest, run_name) if resume else None
    early = _early_log()
    handler: Optional[logging.Handler] = None
    checkpoints: Optional[Checkpoints] = None
    previous_level, previous_policy = log.level, keras.mixed_precision.global_policy()
    log.addHandler(early)
    log.setLevel(logging.DEBUG)
    run: Optional[RunState] = None
    try:
        configure_determinism(spec.seed)
        keras.mixed_precision.set_global_policy("mixed_bfloat16" if spec.training.mixed_precision else "float32")
        run = start_run(spec, host, ctx, digest=digest)
        if spec.evaluation.source_only and not has_target_test(run):
            raise SpecError("evaluation.source_only", "data.target has no labels: there is no target test split to compare on")
        if rundir is None:  # the data loaded and the model built: now there is a run to write
            rundir = _new_rundir(spec, parent, run_name)
        checkpoints = run.checkpoints = Checkpoints(rundir.partial)
        ctx.run_dir = rundir.partial
        handler = logging.FileHandler(rundir.path("run.log"), encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        handler.setLevel(logging.DEBUG)
        early.setTarget(handler)
        early.close()  # hands what was logged so far to run.log
        log.removeHandler(early)
        log.addHandler(handler)
        rundir.write_text("spec.yaml", resolved)
        if resume:
            run.history = list(checkpoints.state.get("history", []))
            log.info("resuming %s after %d completed stage(s)", rundir.partial.name, run.completed_stages)
        train_stages(run, keep_cache=True)
        sets = evaluation_sets(run)
        predictions = Predictions(sets)  # each split predicted once per model: verdict and report share them
        cached_predictions(run, predictions)  # the head on the splits' cached features
        metrics = evaluate(run, run.parts, sets, run.before, predictions)
        result = summary(run, metrics)
        if describe(spec.training.distribution) is not None:
            result["distribution"] = describe(spec.training.distribution)
        baseline_rows, baseline_model = _judge(run, rundir, metrics, result, sets, predictions) if spec.evaluation.baseline else ([], None)
        try:
            result["test_predictions"] = summarize_predictions(run, predictions, baseline_model)
        except (tf.errors.InvalidArgumentError, tf.errors.DataLossError, tf.errors.NotFoundError) as exc:
            # a split that cannot be read was already reported by the evaluation: the run goes on
            log.warning("test predictions not summarised: reading the data failed (%s)", exc.message.splitlines()[0])
        close_cache(run)
        if spec.evaluation.source_only:
            result["adaptation"] = compare_source_only(run, metrics, sets, _train_alone(host, ctx, run.errors, "source_only", with_parts=True))
        if spec.evaluation.single_task_baselines:
            result["single_task"] = compare_single_task(run, metrics, _train_alone(host, ctx, run.errors, "single_task", with_parts=True), sets)
            result["headline"] = {"metric": "delta_m_percent", "value": result["single_task"]["delta_m_percent"]}
        save_model(rundir, run, result)
        rundir.write_csv("history.csv", run.history)
        if spec.evaluation.plots and run.history:
            plot_curves(rundir.path("curves.png"), run.history, baseline_rows)
        result["wall_time_s"] = round(time.perf_counter() - started, 2)
        if run.errors:
            result["errors"] = [str(e) for e in run.errors]
        rundir.write_json("metrics.json", result)
        try:
            write_report(rundir.partial)
        except Exception as exc:  # the run is complete: a report that fails must not lose it
            log.warning("report.html not written: %s: %s", type(exc).__name__, exc)
        headline = result["headline"]
        log.info("headline %s = %s", headline["metric"], headline["value"])
        handler.close()
        final = rundir.commit()
        return RunResult(final, result, (headline["metric"], headline["value"]), list(run.errors))
    except BaseException as exc:
        if handler is not None:
            handler.close()
        if rundir is not None and checkpoints is not None:
            # Bad input is found before training starts: leave nothing behind. A run that
            # has trained keeps its hidden .partial folder, so `run --resume` can go on.
            if not checkpoints.state or (isinstance(exc, SpecError) and not resume):
                if not resume:
                    rundir.discard()
            else:
                exc.add_note(f"adaptkit: interrupted run kept in {rundir.partial}; go on with: adaptkit run SPEC --resume")
                exc.adaptkit_partial = rundir.partial  # type: ignore[attr-defined]
                rundir.release()
        elif rundir is not None:
            rundir.release()
        raise
    finally:
        if run is not None:
            close_cache(run)
        early.close()
        for h in (early, handler):
            if h is not None:
                log.removeHandler(h)
        log.setLevel(previous_level)
        keras.mixed_precision.set_global_policy(previous_policy)
