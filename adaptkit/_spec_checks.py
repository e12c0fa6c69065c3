"""Checks of a whole spec that no single section can make: tasks, test data, validators, stages vs data.

:func:`check_spec` runs after pydantic has validated every section (the
``PipelineSpec`` model's after-validator); each problem is a ``SpecError`` at
its dotted path.
"""

from __future__ import annotations

from typing import Any

from ._errors import SpecError
from ._tasks import check_task_data

__all__ = ["MAX_SEED", "MAX_EPOCHS", "check_spec", "check_validators"]

MAX_SEED = 2**32 - 1
"""numpy's (and so keras.utils.set_random_seed's) largest seed."""
MAX_EPOCHS = 1_000_000


def _check_test_data(spec: Any) -> None:
    """Every task is judged on test data (the headline is a test metric): a test_split of 0
    needs data.test, and a test set for every task with data of its own."""
    if spec.data.test_split > 0:
        return
    if spec.data.test is None:
        raise SpecError("data.test_split", "0 leaves no test data for the headline metric: give data.test, or a test_split above 0")
    for i, task in enumerate(spec.tasks or []):
        if task.data is not None and task.data.test is None:
            raise SpecError(
                "data.test_split",
                f"0 leaves tasks.{i} ({task.name}) no test data: give tasks.{i}.data.test, or a test_split above 0",
            )


def check_validators(spec: Any) -> None:
    """``evaluation.validators`` need an unlabeled target stream (and DEV a source validation
    split); each kind is listed once; a stage's ``select_by`` names one of them."""
    validators = spec.evaluation.validators
    kinds = [v.kind for v in validators]
    if validators and spec.data.target is None:
        raise SpecError("evaluation.validators", "needs target-domain data: add data.target (the scores are computed on its unlabeled stream)")
    if validators and spec.tasks is not None:
        raise SpecError("evaluation.validators", "needs a one-task spec (head): the scores read one classifier's probabilities")
    for i, v in enumerate(validators):
        if v.kind in kinds[:i]:
            raise SpecError(f"evaluation.validators.{i}", f"{v.kind!r} is listed twice")
        if type(v).needs_source_validation and spec.data.validation_split == 0:
            raise SpecError(f"evaluation.validators.{i}", f"{v.kind!r} needs source validation data: set data.validation_split above 0")
    for i, stage in enumerate(spec.training.stages):
        if stage.select_by is None:
            continue
        where = f"training.stages.{i}.select_by"
        if stage.select_by not in kinds:
            listed = ", ".join(kinds) if kinds else "none are listed"
            raise SpecError(where, f"{stage.select_by!r} is not in evaluation.validators ({listed})")
        if stage.early_stopping is not None and stage.early_stopping.restore_best_weights:
            raise SpecError(where, "early_stopping.restore_best_weights also chooses the weights to keep: set it to false, or drop select_by")


def check_metrics(spec: Any) -> None:
    """A metric of ``evaluation.metrics`` needs a head of its kind of task (when the heads' kinds
    say what they predict; otherwise the data decides, before training); a tracker is listed once."""
    heads = [spec.head] if spec.tasks is None else [t.head for t in spec.tasks]
    predicts = {type(h).predicts for h in heads}
    for i, metric in enumerate(spec.evaluation.metrics or []):
        need = type(metric).task
        if need is not None and None not in predicts and need not in predicts:
            shown = ", ".join(sorted(repr(h.kind) for h in heads))
            raise SpecError(f"evaluation.metrics.{i}", f"{metric.kind!r} needs a {need} head; the spec's head{'s are' if len(heads) > 1 else ' is'} {shown}")
    kinds = [t.kind for t in spec.tracking]
    for i, kind in enumerate(kinds):
        if kind in kinds[:i]:
            raise SpecError(f"tracking.{i}", f"{kind!r} is listed twice")


def check_spec(spec: Any) -> Any:
    """The checks that read several sections at once (run after each section validated)."""
    if spec.seed + spec.repeats.seeds - 1 > MAX_SEED:
        raise SpecError("repeats.seeds", f"seeds {spec.seed}..{spec.seed + spec.repeats.seeds - 1} go past the largest seed, {MAX_SEED}")
    if (spec.head is None) == (spec.tasks is None):
        raise SpecError("head", "give either head (one task) or tasks (several), not both" if spec.head else "required key is missing")
    names = [t.name for t in spec.tasks or []]
    for i, name in enumerate(names):
        if name == "val" or name.startswith("val_"):
            raise SpecError(f"tasks.{i}.name", f"{name!r}: task names may not be 'val' or start with 'val_' (Keras' prefix of validation logs)")
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SpecError(f"tasks.{i}.name", f"task {name!r} is given twice")
    check_task_data(spec)
    _check_test_data(spec)
    weighting = spec.training.task_weighting
    if weighting is not None and len(names) < type(weighting).min_tasks:
        raise SpecError(
            "training.task_weighting",
            f"{weighting.kind!r} needs {type(weighting).min_tasks} or more tasks; the spec has {max(1, len(names))}",
        )
    if spec.evaluation.single_task_baselines and len(names) < 2:
        raise SpecError("evaluation.single_task_baselines", "needs two or more tasks")
    if spec.evaluation.source_only and not any(st.losses for st in spec.training.stages):
        raise SpecError("evaluation.source_only", "no stage has domain-adaptation losses: there is nothing to compare")
    if spec.evaluation.source_only and spec.data.target is None:
        raise SpecError("evaluation.source_only", "needs a labeled data.target (its target_test split is compared)")
    check_validators(spec)
    check_metrics(spec)
    if spec.evaluation.baseline and spec.training.distribution.kind == "multi_worker":
        raise SpecError("evaluation.baseline", "not under training.distribution multi_worker (Keras' plain fit cannot run across workers): judge transfer on one machine, or with mirrored")
    for i, stage in enumerate(spec.training.stages):
        for j, op in enumerate(stage.surgery):
            if type(op).structural:
                raise SpecError(
                    f"training.stages.{i}.surgery.{j}",
                    f"{op.kind!r} changes the model's structure: put it in the top-level surgery list",
                )
        for j, loss in enumerate(stage.losses):
            if type(loss).needs_target and spec.data.target is None:
                raise SpecError(
                    f"training.stages.{i}.losses.{j}",
                    f"{loss.kind!r} needs target-domain data: add data.target",
                )
    return spec
