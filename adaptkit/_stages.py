"""One training stage: its plan (trainable set, optimizers, schedules, loss terms, players) and its fit.

:func:`prepare_stage` applies a stage's surgery (every stage, replayed ones
too); :func:`plan_stage` builds what the stage trains with, for ``run`` and
``lr-find`` alike; :func:`fit_stage` runs it inside ``keras.Model.fit`` with the
run's callbacks (backup for ``--resume``, history, early stopping) and the trackers'.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Optional

import keras
import tensorflow as tf

from ._alignment import check_alignment_trains
from ._assembly import freeze_batch_norm, snapshot
from ._feature_cache import cache_features, keep_in_step, stepped
from ._health import health_callbacks
from ._distribution import build_for_fit, distributed, multi_worker
from ._divergence import Diverged, StopOnDivergence, early_stopping_report
from ._readfaults import read_fault
from ._history import EpochLog, learning_rate_reader
from ._pace import backup_callback, history_persistence, resolve_steps_per_execution, save_on_interrupt
from ._layers import all_trainable, layer_groups, set_trainable
from ._selection import selection_report, validator_callbacks
from ._state import RunState
from ._target import TARGET_SPLIT, TargetMetrics, has_target_test
from ._streams import TaskValidation, task_streams
from ._streams import fit_data as streams_fit_data
from ._tracking import stage_info, tracker_callbacks
from ._training import GradualUnfreezing, Trainer, build_optimizer, build_schedule, count_params, steps_per_epoch

__all__ = ["StagePlan", "stage_name", "prepare_stage", "compose_losses", "plan_stage", "fit_stage", "gradual_unfreezing"]

log = logging.getLogger("adaptkit")


@dataclass
class StagePlan:
    """What one stage trains: the model ``fit`` sees, its data, optimizer and own callbacks."""

    index: int
    name: str
    model: Any
    """``parts.model`` itself, or a :class:`Trainer` wrapping it (loss terms, players, groups)."""
    fit_data: Any
    optimizer: Any
    steps: int
    epochs: int
    compositions: list = field(default_factory=list)
    callbacks: list = field(default_factory=list)
    """The technique's own callbacks (gradual unfreezing), before the run's."""
    validation: Any = None
    """What ``fit`` validates on each epoch (cached features, or the validation split)."""
    shuffled: Any = None
    """The shuffled training stream ``fit`` draws from: the cache's, or the run's train stream."""
    cached: bool = False


def stage_name(spec: Any, s: int) -> str:
    return spec.training.stages[s].name or f"stage{s + 1}"


def prepare_stage(run: RunState, s: int) -> None:
    """Apply the stage's surgery, then keep BatchNorm frozen unless the spec adapts it."""
    for j, section in enumerate(run.spec.training.stages[s].surgery):
        where = f"training.stages.{s}.surgery.{j}"
        run.host.call_first("adaptkit_apply_surgery", where, section, model=run.source, context=run.ctx.at(where))
    if run.spec.training.batch_norm == "frozen":
        freeze_batch_norm(run.parts.encoder)


def compose_losses(run: RunState, s: int) -> list:
    """The stage's loss compositions, one per ``losses`` entry, from their plugins."""
    out = []
    stage = run.spec.training.stages[s]
    for j, section in enumerate(stage.losses):
        where = f"training.stages.{s}.losses.{j}"
        check_alignment_trains(section, run.parts, where, unfreezes_later=stage.gradual_unfreezing is not None)
        out.append(run.host.call_first("adaptkit_compose_loss", where, section, parts=run.parts, context=run.ctx.at(where)))
    return out


def plan_stage(run: RunState, s: int, learning_rate: Optional[float] = None) -> StagePlan:
    """Build and compile what stage ``s`` trains.

    ``learning_rate`` replaces the stage's rate and schedule with a constant
    rate and leaves out the stage's own callbacks and per-group optimizers
    (the learning-rate finder sweeps that rate).
    """
    spec, parts = run.spec, run.parts
    stage = spec.training.stages[s]
    name = stage_name(spec, s)
    sweep = learning_rate is not None
    steps = steps_per_epoch(run.splits.sizes["train"], spec.data.batch_size)
    total_steps = stage.epochs * steps
    callbacks: list = []
    if stage.gradual_unfreezing is not None and not sweep:
        callbacks.append(gradual_unfreezing(run, s))
    trainable, total = count_params(parts.model)
    log.info("stage %d (%s): %s of %s parameters trainable", s + 1, name, f"{trainable:,}", f"{total:,}")
    if stage.losses and run.before is None and not sweep:
        run.before = snapshot(parts)
    at = lambda key: run.ctx.at(f"training.stages.{s}.{key}")  # noqa: E731
    lr = learning_rate if sweep else build_schedule(stage.schedule, stage.optimizer.learning_rate, total_steps, context=at("schedule"), host=run.host)
    optimizer = build_optimizer(stage.optimizer, lr, context=at("optimizer"), host=run.host)
    compositions = compose_losses(run, s)
    groups = discriminative_groups(stage, run.source, total_steps, host=run.host) if stage.discriminative and not sweep else None
    multitask = run.assembly.multitask
    compiled = run.assembly.compile_arguments()
    validation = run.streams.validation
    # the cached suffix trains with plain fit: not under a distribution strategy (not tried there yet)
    cached = None if sweep or distributed() else cache_features(run, s)
    if cached is not None:  # frozen features computed once: the suffix trains on them
        model, fit_data, validation = cached
    elif compositions or groups or callbacks or multitask or multi_worker():  # (multi_worker: see for_workers)
        two_stream = run.streams.target is not None and bool(compositions)
        task_losses = compiled.pop("loss") if multitask else None
        compiled.pop("loss_weights", None)
        streams = task_streams(run)
        model = Trainer(parts, compositions, two_stream, total_steps, groups=groups, task_losses=task_losses,
                        weighting=run.weighting, task_streams=streams)
        fit_data = tf.data.Dataset.zip((run.streams.train, run.streams.target)) if two_stream else run.streams.train
        if streams is not None:  # every task's metrics are the trainer's own
            fit_data, compiled["metrics"] = streams_fit_data(run.streams.train, run.streams), None
        if callbacks:  # gradual unfreezing: slots for every variable that will train
            prebuild_optimizer(optimizer, parts.model, groups, model.weighting_variables)
        if run.weighting is not None and not sweep:
            callbacks += list(run.weighting.callbacks())
        if streams is not None and not sweep and run.streams.task_validation:
            callbacks.append(TaskValidation(run.streams.task_validation, {t.name: t.weight for t in run.assembly.tasks}))
    else:
        model, fit_data = parts.model, run.streams.train
    if sweep and compiled["metrics"] is not None:
        compiled["metrics"] = [] if not multitask else {name: [] for name in run.assembly.heads}
    model.compile(
        optimizer=optimizer,
        loss=compiled.get("loss"),
        metrics=compiled["metrics"],
        steps_per_execution=1 if sweep else resolve_steps_per_execution(spec.training.steps_per_execution, steps, total),
        jit_compile=spec.training.jit_compile,
    )
    if cached is None and model is not parts.model and distributed() and not optimizer.built:
        # under a strategy optimizers are built before the replicas step (not inside it)
        prebuild_optimizer(optimizer, parts.model, groups, model.weighting_variables + model.main_variables())
    shuffled = fit_data if cached is not None else run.streams.train
    return StagePlan(s, name, model, fit_data, optimizer, steps, stage.epochs, compositions, callbacks, validation, shuffled, cached is not None)


def fit_stage(run: RunState, plan: StagePlan) -> None:
    """Train the plan inside ``keras.Model.fit`` with the run's callbacks."""
    spec, s = run.spec, plan.index
    stage = spec.training.stages[s]
    checkpoints = run.checkpoints
    persist = backup = None
    terms = [t.name for c in plan.compositions for t in c.terms]
    callbacks: list = [StopOnDivergence(terms)] + list(plan.callbacks)  # first: before any backup saves
    save = lambda: checkpoints.save_state(run.digest, s, run.history)  # noqa: E731
    if checkpoints is not None:
        # across workers every worker must back up the same epochs: by epoch, not by each one's clock
        setting = "epoch" if spec.training.backup == "auto" and multi_worker() else spec.training.backup
        backup = backup_callback(setting, str(checkpoints.backup(s)))
    if backup is not None:
        persist = history_persistence(backup, save)
        callbacks.append(backup)
    callbacks += [
        EpochLog(run.history, s + 1, plan.name, learning_rate_reader(plan.optimizer), persist),
    ]
    if has_target_test(run):  # before the history callback, which writes what it adds
        callbacks.insert(-1, TargetMetrics(run, plan.compositions, run.splits.batched(TARGET_SPLIT, spec.data.batch_size)))
    scores, selector = validator_callbacks(run, plan.compositions, plan.epochs, stage.select_by)
    callbacks[-1:-1] = scores  # score_<kind> before the history callback too
    stopper = None
    if stage.early_stopping is not None:
        prefix = "val_" if run.streams.validation is not None else ""
        stopper = keras.callbacks.EarlyStopping(
            monitor=prefix + run.assembly.monitor,
            mode="max" if run.head.higher_is_better else "min",
            patience=stage.early_stopping.patience,
            restore_best_weights=stage.early_stopping.restore_best_weights,
        )
        callbacks.append(stopper)
    if selector is not None:  # keeps the best-scored epoch's weights; never stops the stage
        callbacks.append(selector)
    callbacks += health_callbacks(run, s, plan.name, plan.compositions, plan.epochs)
    first = sum(1 for row in run.history if row["stage"] <= s)  # rows of the stages before (history counts from 1)
    callbacks += tracker_callbacks(run, stage_info(run, s, plan.name, plan.epochs, first))  # last: they see every log
    plan.model._initial_epoch = None  # a restored epoch belongs to its own stage only (Keras keeps it)
    build_for_fit(plan.model, plan.fit_data)
    # a stream reshuffles once per epoch and once more as each fit starts (Keras peeks at a batch to build)
    keep_in_step(run, plan, first + s)  # cached and uncached stages: the batches of a run without the cache
    try:
        plan.model.fit(
            plan.fit_data,
            validation_data=plan.validation,
            epochs=plan.epochs,
            steps_per_epoch=plan.steps,
            callbacks=callbacks,
            verbose=spec.training.verbose,
            shuffle=False,
        )
    except Diverged as exc:
        rate = stage.optimizer.learning_rate
        raise exc.error(
            f"training.stages.{s}",
            f"lower the learning rate (optimizer.learning_rate is {rate:g}) or clip gradients (optimizer.clipnorm)",
        ) from None
    except (tf.errors.InvalidArgumentError, tf.errors.DataLossError, tf.errors.NotFoundError) as exc:
        raise read_fault(run.splits.loaded, exc) from exc
    except BaseException:  # interrupted (Ctrl-C, a callback failing): keep the last finished epoch
        save_on_interrupt(backup, s + 1, run.history, save)
        raise
    stepped(run, plan, sum(1 for row in run.history if row["stage"] <= s + 1) + s + 1)
    selected = selection_report(selector, stage.select_by, run.history, s + 1)
    if selected is not None:
        run.selection[plan.name] = selected
        log.info("%s: kept the weights of epoch %d of %d (best score_%s %.4g)", plan.name, selected["epoch"],
                 selected["epochs_run"], selected["validator"], selected["score"])
    report = early_stopping_report(stopper, plan.epochs, stopper.monitor if stopper else "")
    if report is not None:
        run.early_stopping[plan.name] = report
        if report["restored_best_weights"] and report["best_epoch"] != report["epochs_run"]:
            log.info(
                "%s: %s after epoch %d; kept the weights of epoch %d (best %s %.4g)",
                plan.name,
                "early stopping" if report["stopped_early"] else "finished",
                report["epochs_run"],
                report["best_epoch"],
                report["monitor"],
                report["best"] if report["best"] is not None else float("nan"),
            )


def discriminative_groups(stage: Any, source: Any, total_steps: int, host: Any = None) -> list[tuple[Any, list]]:
    """One optimizer per layer group of the source, the rate divided by ``factor`` per group down."""
    section = stage.discriminative
    groups = layer_groups(source, section.block_depth)
    out = []
    with all_trainable(source):
        for k, (group, layers) in enumerate(reversed(groups), start=1):
            rate = stage.optimizer.learning_rate * section.factor**-k  # underflows to 0, never overflows
            optimizer = build_optimizer(stage.optimizer, build_schedule(stage.schedule, rate, total_steps, host=host), host=host)
            variables = [v for layer in layers for v in layer.trainable_variables]
            optimizer.build(variables)
            out.append((optimizer, variables))
            log.info("discriminative rate: group %s learns at %.3g", group, rate)
    return out


def prebuild_optimizer(optimizer: Any, model: Any, groups: Optional[list], extra: Optional[list] = None) -> None:
    """Build the stage optimizer on every variable that may become trainable during the stage
    (and ``extra`` ones trained with the model, e.g. a task weighting's log-variances)."""
    grouped = {id(v) for _, vs in groups or [] for v in vs}
    with all_trainable(model):
        variables = list(model.trainable_variables) + list(extra or [])
    seen: set[int] = set()
    optimizer.build([v for v in variables if not (id(v) in grouped or id(v) in seen or seen.add(id(v)))])


def gradual_unfreezing(run: RunState, s: int) -> GradualUnfreezing:
    """Freeze the source, then let the callback unfreeze its groups top down, one per epoch."""
    section = run.spec.training.stages[s].gradual_unfreezing
    name = stage_name(run.spec, s)
    groups = [layers for _, layers in reversed(layer_groups(run.source, section.block_depth))]
    set_trainable(run.source, lambda i, _: False)

    def after_change() -> None:
        if run.spec.training.batch_norm == "frozen":
            freeze_batch_norm(run.parts.encoder)
        trainable, total = count_params(run.parts.model)
        log.info("%s: gradual unfreezing: %s of %s parameters trainable", name, f"{trainable:,}", f"{total:,}")

    return GradualUnfreezing(groups, section.start, section.every, after_change)
