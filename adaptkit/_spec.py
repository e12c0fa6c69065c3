"""The pipeline spec's shape: pydantic models joined from the host's keys and the plugins' sections.

The top-level shape is fixed here; what may stand in the plugin sections
(``data.train``, ``source``, ``surgery``, ``head``, ``augment``, losses, a
stage's ``schedule`` and ``optimizer``) is whatever the installed plugins
declare, joined into unions discriminated by ``kind`` (``name`` for
optimizers). Nothing in a spec executes code. Reading files, ``--set``
overrides and error messages live in :mod:`adaptkit._specfile`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from pydantic import BaseModel, BeforeValidator, Field, StrictInt, create_model, model_validator

from ._cache_spec import FeatureCacheSpec
from ._health_spec import HealthSpec
from ._distribution import distribution_field
from ._families import family_union
from ._plugins import PluginHost, get_host
from ._sections import SECTION_BASES, SpecModel
from ._spec_checks import MAX_EPOCHS, MAX_SEED, check_spec
from ._spec_evaluation import evaluation_model

__all__ = [
    "StrictModel",
    "EarlyStoppingSpec",
    "DiscriminativeSpec",
    "GradualUnfreezingSpec",
    "RepeatsSpec",
    "build_spec_model",
]

MAX_BATCH_SIZE = 2**20
MAX_STEPS_PER_EXECUTION = 10_000
MAX_FACTOR = 100.0


class StrictModel(SpecModel):
    """A part of the host's own spec keys (strict, like every section)."""


class DiscriminativeSpec(StrictModel):
    """Per-layer-group learning rates (ULMFiT): lower groups learn more slowly."""

    factor: float = Field(
        2.6, ge=1, le=MAX_FACTOR, description="Each group of the source model, from the top down, gets the rate of the group above divided by this; the head gets the full rate."
    )
    block_depth: int = Field(
        1, ge=1, description="Layers form a group by the first N '_'-separated parts of their names (block5_conv1 -> block5 at 1)."
    )


class GradualUnfreezingSpec(StrictModel):
    """Unfreeze the source model one layer group per epoch, from the top down (ULMFiT)."""

    start: int = Field(1, ge=0, description="Groups of the source unfrozen in the first epoch (0: the head alone).")
    every: int = Field(1, ge=1, description="Unfreeze one more group every this many epochs.")
    block_depth: int = Field(
        1, ge=1, description="Layers form a group by the first N '_'-separated parts of their names."
    )


class RepeatsSpec(StrictModel):
    """Run the whole pipeline for several initialisation seeds and aggregate the results."""

    seeds: int = Field(
        1,
        ge=1,
        le=100,
        description="Runs, with seeds seed, seed+1, ...: one run directory each under a parent that holds the aggregate (mean, sd, 95% interval, a verdict paired over seeds).",
    )
    vary_split: bool = Field(
        False,
        description="Vary the data order and split with the seed too (false: every repeat sees the split of split_seed, so the spread is the training's alone).",
    )


class EarlyStoppingSpec(StrictModel):
    """Keras EarlyStopping on the validation headline metric."""

    patience: int = Field(3, ge=1, description="Epochs without improvement before stopping.")
    restore_best_weights: bool = Field(True, description="Go back to the best epoch's weights.")


def _yaml_switch(value: Any) -> Any:
    """YAML reads a bare ``off`` as False (and ``on``/``yes`` as True): take them as meant."""
    if value is False:
        return "off"
    if value is True:
        return "epoch"
    return value


_MODELS: dict[tuple, type[BaseModel]] = {}


def build_spec_model(host: Optional[PluginHost] = None) -> type[BaseModel]:
    """The ``PipelineSpec`` model for the plugins that are installed now (built once per set of
    section classes: building it costs more than validating a spec)."""
    host = host or get_host()
    classes = tuple((family, tuple(host.section_classes(family))) for family in SECTION_BASES)
    key = (id(host), classes, tuple((p.name, p.status) for p in host.broken()))
    if key not in _MODELS:
        _MODELS[key] = _build_spec_model(host)
    return _MODELS[key]


def _build_spec_model(host: PluginHost) -> type[BaseModel]:
    U = {family: family_union(host, family) for family in SECTION_BASES}

    EvaluationSpec = evaluation_model(U, StrictModel)

    DataSpec = create_model(
        "DataSpec",
        __base__=StrictModel,
        __doc__="Where the examples come from, and how they are split and batched.",
        train=(U["data"], Field(description="The labeled training data (the 'source' domain).")),
        test=(
            Optional[U["data"]],
            Field(None, description="Held-out test data; default: test_split of train."),
        ),
        target=(
            Optional[U["data"]],
            Field(
                None,
                description=(
                    "Target-domain data for domain adaptation (labels optional, used only for "
                    "evaluation): drawn alongside train at every step."
                ),
            ),
        ),
        validation_split=(
            float,
            Field(0.2, ge=0, lt=0.9, description="Fraction of train held out for validation."),
        ),
        test_split=(
            float,
            Field(0.2, ge=0, lt=0.9, description="Fraction of train held out for testing when test is not given (above 0 unless test is given)."),
        ),
        target_test_split=(
            float,
            Field(0.3, ge=0, lt=0.9, description="Fraction of a labeled target held out to test on."),
        ),
        batch_size=(int, Field(32, ge=1, le=MAX_BATCH_SIZE, description="Examples per training step (per stream).")),
        cache=(bool, Field(True, description="Cache decoded examples in memory after the first epoch.")),
    )

    StageSpec = create_model(
        "StageSpec",
        __base__=StrictModel,
        __doc__="One training stage: what is trainable, for how long, at what rate.",
        name=(Optional[str], Field(None, description="A label for logs and history.csv.")),
        epochs=(int, Field(..., ge=1, le=MAX_EPOCHS, description="Epochs in this stage (an epoch is one pass over data.train).")),
        optimizer=(U["optimizer"], Field({}, validate_default=True, description="The stage's optimizer (default: adam at 1e-3).")),
        schedule=(U["schedule"], Field({}, validate_default=True, description="The stage's learning-rate schedule (default: constant).")),
        surgery=(
            list[U["surgery"]],
            Field(
                default_factory=list,
                description="Trainability changes applied at the start of the stage (freeze, unfreeze, ...).",
            ),
        ),
        losses=(
            list[U["loss"]],
            Field(default_factory=list, description="Extra loss terms during this stage (domain adaptation)."),
        ),
        early_stopping=(
            Optional[EarlyStoppingSpec],
            Field(None, description="Stop the stage early when the validation metric stalls."),
        ),
        discriminative=(
            Optional[DiscriminativeSpec],
            Field(None, description="Discriminative (per-layer-group) learning rates for this stage."),
        ),
        gradual_unfreezing=(
            Optional[GradualUnfreezingSpec],
            Field(None, description="Unfreeze one more layer group of the source per epoch, from the top down."),
        ),
        select_by=(
            Optional[str],
            Field(
                None,
                description=(
                    "Keep the weights of the stage's epoch that this validator (a kind in evaluation.validators) "
                    "scores best, instead of the last epoch's: model selection without target labels."
                ),
            ),
        ),
    )

    TrainingSpec = create_model(
        "TrainingSpec",
        __base__=StrictModel,
        __doc__="The training stages and what holds across them.",
        stages=(list[StageSpec], Field(..., min_length=1, description="Training stages, in order.")),
        batch_norm=(
            Literal["frozen", "adapt"],
            Field(
                "frozen",
                description=(
                    "frozen: BatchNormalization layers of the source model stay in inference mode "
                    "with their statistics fixed, even when unfrozen; adapt: they follow the stage's "
                    "trainability and update their statistics."
                ),
            ),
        ),
        verbose=(int, Field(1, ge=0, le=2, description="Keras fit verbosity (0 silent, 1 progress bar, 2 one line per epoch).")),
        backup=(
            Annotated[
                Union[Literal["auto", "epoch", "off"], Annotated[StrictInt, Field(ge=1, le=2**31 - 1)]],
                BeforeValidator(_yaml_switch),
            ],
            Field(
                "auto",
                description=(
                    "How often the stage in progress is backed up for `run --resume` (Keras BackupAndRestore): "
                    "'auto' (at an epoch's end, at most once a minute, and when the run is interrupted between "
                    "epochs), 'epoch', every N steps (a number), or 'off' (completed stages are still checkpointed)."
                ),
            ),
        ),
        steps_per_execution=(
            Union[Literal["auto"], Annotated[int, Field(ge=1, le=MAX_STEPS_PER_EXECUTION)]],
            Field(
                "auto",
                description="Training steps run inside one compiled call (Keras steps_per_execution); callbacks then see every N-th step. 'auto': up to 32 (a divisor of the steps per epoch) for models of at most 2M parameters, else 1.",
            ),
        ),
        cache=(FeatureCacheSpec, Field({}, validate_default=True, description="Frozen features computed once per split (mode auto or off, memory limit).")),
        health=(
            HealthSpec,
            Field({}, validate_default=True, description="Health signals of adaptation stages: when a warning fires (domain classifier collapsed or flipped, target predictions far from the estimated prior; a term's gradient reaching nothing)."),
        ),
        jit_compile=(
            bool,
            Field(False, description="Compile the training step with XLA (Keras jit_compile). Not every op supports it (e.g. text tokenizers)."),
        ),
        task_weighting=(
            Optional[U["weighting"]],
            Field(
                None,
                description=(
                    "Multi-task specs: how the task losses combine into one update of the shared trunk "
                    "(a weighting kind: equal, static, uncertainty, dwa, gradnorm, pcgrad, mgda, ...); "
                    "default: the sum of the task losses weighted by each task's weight."
                ),
            ),
        ),
        distribution=distribution_field(),
        mixed_precision=(
            bool,
            Field(
                False,
                description=(
                    "Compute in bfloat16 with float32 variables (Keras 'mixed_bfloat16' policy; no loss "
                    "scaling needed). Fast on GPUs since Ampere and CPUs with AVX512-BF16/AMX."
                ),
            ),
        ),
    )

    TaskDataSpec = create_model(
        "TaskDataSpec",
        __base__=StrictModel,
        __doc__="A task's own labeled data (tasks on different datasets): split like data.train, drawn alongside it.",
        train=(
            U["data"],
            Field(..., description="The task's labeled data; split into train/validation/test with data.validation_split and data.test_split."),
        ),
        test=(
            Optional[U["data"]],
            Field(None, description="The task's held-out test data; default: data.test_split of its train."),
        ),
    )

    TaskSpec = create_model(
        "TaskSpec",
        __base__=StrictModel,
        __doc__="One task of a multi-task spec: a head on the shared trunk, the label it learns, its loss weight.",
        name=(
            str,
            Field(..., pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=64, description="The task's name (letters, digits, _): keys its metrics (test/<name>/accuracy) and outputs."),
        ),
        head=(U["head"], Field(..., description="The task's head, attached to the shared trunk's features.")),
        label=(
            Optional[str],
            Field(
                None,
                description=(
                    "Which of the data's labels the task learns (a label name of a multi-label data section); "
                    "default: the task's name, or the data's only label."
                ),
            ),
        ),
        weight=(
            float,
            Field(1.0, gt=0, allow_inf_nan=False, description="Weight of the task's loss in the weighted sum (the default weighting)."),
        ),
        data=(
            Optional[TaskDataSpec],
            Field(
                None,
                description=(
                    "The task's own labeled data ({train, test}); a batch of it is drawn at every training step "
                    "alongside data.train's. Default: the task reads its label from data.train."
                ),
            ),
        ),
    )


    PipelineSpec = create_model(
        "PipelineSpec",
        __base__=StrictModel,
        __doc__="An adaptkit pipeline: data, source model, surgery, head (or tasks), training stages, evaluation.",
        __validators__={"_check": model_validator(mode="after")(check_spec)},
        name=(str, Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.-]+$", description="Run name (letters, digits, _ . -); names the run directory.")),
        description=(str, Field("", description="Free text, for people.")),
        seed=(int, Field(0, ge=0, le=MAX_SEED, description="Seed for data order, initialisation and dropout (0 to 2**32 - 1).")),
        split_seed=(
            Optional[int],
            Field(
                None,
                ge=0,
                le=MAX_SEED,
                description="Seed of the data order, and so of the train/validation/test split (default: seed). Repeats keep it fixed.",
            ),
        ),
        repeats=(RepeatsSpec, Field({}, validate_default=True, description="Repeat the run over seeds (`adaptkit run --seeds N`).")),
        output_dir=(str, Field("runs", description="Where run directories are created (relative to the working directory).")),
        data=(DataSpec, Field(..., description="The data.")),
        augment=(
            list[U["augment"]],
            Field(default_factory=list, description="Augmentation layers, applied in training only."),
        ),
        source=(U["source"], Field(..., description="The pre-trained source model.")),
        surgery=(
            list[U["surgery"]],
            Field(default_factory=list, description="Layer surgery on the source model, in order, before training."),
        ),
        head=(
            Optional[U["head"]],
            Field(None, description="The task head attached to the source model's features (one task; or give tasks)."),
        ),
        tasks=(
            Optional[Annotated[list[TaskSpec], Field(min_length=1)]],
            Field(
                None,
                description=(
                    "Multi-task learning: several tasks, each a head on the shared trunk with its label and "
                    "loss weight (instead of head)."
                ),
            ),
        ),
        training=(TrainingSpec, Field(..., description="Training stages.")),
        tracking=(
            list[U["tracker"]],
            Field(
                default_factory=list,
                description="Experiment trackers (tensorboard, or a plugin's: mlflow, wandb, ...): each adds its Keras callbacks to every stage and the baseline.",
            ),
        ),
        evaluation=(EvaluationSpec, Field({}, validate_default=True, description="Evaluation and the from-scratch baseline.")),
    )
    return PipelineSpec
