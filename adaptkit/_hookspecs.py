"""The host's contract: every hook a plugin can implement.

Each hook's docstring is its documentation; ``docs/hooks.md`` carries one
section per hook (a test fails when one is missing).

Building hooks are ``firstresult`` and take one validated ``section``: pluggy
calls them, but only the implementations of the plugin that declared
``type(section)`` in ``adaptkit_sections`` run (so a plugin need not check
``isinstance``), and the first non-``None`` answer wins. ``tryfirst``,
``trylast`` and ``specname`` work as pluggy documents them; hook wrappers
(``wrapper=True``/``hookwrapper=True``) of every plugin wrap every call. A
section class that no plugin declared (one built by hand) is offered to every
plugin. ``adaptkit_sections``, ``adaptkit_keras_objects`` and
``adaptkit_evaluate`` collect from every plugin.

The host checks each answer when it comes back (``adaptkit/_answers.py``) and
reports a wrong one, like any exception a plugin raises, as a ``PluginError``
naming the plugin and the hook. The answers' types are in
``adaptkit/_types.py``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional, Sequence

import pluggy

from ._sections import (
    AugmentSection,
    DataSourceSection,
    HeadSection,
    LossSection,
    MetricSection,
    OptimizerSection,
    ScheduleSection,
    ScoreSection,
    Section,
    SourceSection,
    SurgerySection,
    TrackerSection,
    ValidatorSection,
    WeightingSection,
)
from ._scoring import Score
from ._tracking import StageInfo
from ._types import DataSource, Head, LossComposition, Metric, ModelParts, RunContext, TaskInfo, TaskWeighting, Validator

if TYPE_CHECKING:  # pragma: no cover
    import keras

PROJECT = "adaptkit"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def adaptkit_sections() -> Sequence[type[Section]]:
    """Declare the spec sections this plugin understands.

    Return pydantic models that subclass one of the bases in
    ``adaptkit.sections`` and narrow ``kind`` to a ``Literal``. Called without
    TensorFlow: the module that defines the sections must not import it.
    """


@hookspec(firstresult=True)
def adaptkit_load_data(section: DataSourceSection, context: RunContext) -> Optional[DataSource]:
    """Load a dataset (``data.train``, ``data.test``, ``data.target``).

    Return a :class:`adaptkit.DataSource` with an unbatched ``tf.data``
    dataset whose order depends only on ``context.seed`` (here the spec's
    ``split_seed`` when set, so repeats over seeds keep one split). Raise
    ``adaptkit.DataError(where, message)`` for missing or corrupt data.
    """


@hookspec(firstresult=True)
def adaptkit_input_preprocessing(
    section: DataSourceSection, input_shape: tuple, context: RunContext
) -> Optional["keras.Model"]:
    """The transformations a data section's loader applies, as a model (``data.train``).

    ``input_shape`` is one example's shape as the loader yields it. Return a
    ``keras.Model`` from a raw example, as a user has it (an array as its file
    stores it, an image of any size, a string), to exactly what the loader
    yields for it; ``None`` when the loader hands examples on unchanged. The
    host puts it in front of the saved model, so ``model.keras`` takes raw
    examples; training keeps reading the loaded ones.
    """


@hookspec(firstresult=True)
def adaptkit_build_augmentation(section: AugmentSection, input_shape: tuple, context: RunContext) -> Optional[Any]:
    """Build one augmentation layer (``augment[i]``).

    ``input_shape`` is the shape of one example as the layer will see it
    (the data's, after the layers before it); raise a ``SpecError`` at
    ``context.where`` when the layer cannot work on it (an image layer on
    flat vectors). Return a Keras layer that transforms inputs in training
    and passes them through at inference (Keras preprocessing layers do).
    The host puts the layers in front of the source model, so a saved model
    keeps them.
    """


@hookspec(firstresult=True)
def adaptkit_load_source(
    section: SourceSection, input_shape: tuple, context: RunContext
) -> Optional["keras.Model"]:
    """Load the pre-trained source model (``source``).

    ``input_shape`` is the shape of one raw example from the training data.
    Return a ``keras.Model`` that takes raw examples (apply the family's own
    preprocessing inside it) and returns features.
    """


@hookspec(firstresult=True)
def adaptkit_apply_surgery(
    section: SurgerySection, model: "keras.Model", context: RunContext
) -> Optional["keras.Model"]:
    """Apply one layer-surgery operation (``surgery[i]``, ``training.stages[i].surgery[j]``).

    ``model`` is the source model. Return the model to use from now on: the
    same object after changing layers' ``trainable`` flags, or a new model
    after a structural change (truncation). Raise ``adaptkit.SpecError`` for a
    layer name the model does not have.
    """


@hookspec(firstresult=True)
def adaptkit_attach_head(
    section: HeadSection, features: Any, task: TaskInfo, context: RunContext
) -> Optional[Head]:
    """Attach the task head (``head``) on the features tensor.

    ``features`` is a Keras tensor (the source model's output). Return a
    :class:`adaptkit.Head`: the output tensor, the task loss, the metrics and
    the headline metric's name.
    """


@hookspec(firstresult=True)
def adaptkit_compose_loss(
    section: LossSection, parts: ModelParts, context: RunContext
) -> Optional[LossComposition]:
    """Compose extra loss terms (``training.stages[i].losses[j]``).

    Return a :class:`adaptkit.LossComposition`: terms added to the head's task
    loss (each with its weight or weight schedule and the player that
    minimises it), extra players with their own optimizers, and the modules
    the terms use. The host trains every player inside ``keras.Model.fit``.
    """


@hookspec(firstresult=True)
def adaptkit_build_weighting(
    section: WeightingSection, weights: dict[str, float], context: RunContext
) -> Optional[TaskWeighting]:
    """Build the task-weighting strategy of a multi-task spec (``training.task_weighting``).

    ``weights`` maps each task's name to its ``weight`` from the spec, in the
    spec's order. Return an :class:`adaptkit.TaskWeighting`: the host calls its
    ``loss`` (loss-based strategies) or ``gradients`` (gradient-based ones:
    each task's gradient of the shared variables in, one gradient out) inside
    the training step, trains its ``variables`` with the model, and adds its
    ``callbacks`` to every stage.
    """


@hookspec(firstresult=True)
def adaptkit_build_schedule(
    section: ScheduleSection, learning_rate: float, total_steps: int, context: RunContext
) -> Optional[Any]:
    """Build a learning-rate schedule (``training.stages[i].schedule``).

    ``learning_rate`` is the peak rate (the stage optimizer's, divided per
    layer group under discriminative rates); ``total_steps`` the stage's
    training steps. Return a ``keras.optimizers.schedules.LearningRateSchedule``
    (register custom classes with ``keras.saving.register_keras_serializable``)
    or a float for a constant rate.
    """


@hookspec(firstresult=True)
def adaptkit_build_optimizer(
    section: OptimizerSection, learning_rate: Any, name: Optional[str], context: RunContext
) -> Optional["keras.optimizers.Optimizer"]:
    """Build an optimizer (a stage's ``optimizer``, ``evaluation.baseline_optimizer``, a player's).

    ``learning_rate`` is a float or a schedule from ``adaptkit_build_schedule``
    (use it, not ``section.learning_rate``); ``name`` is the Keras name to give
    the optimizer (``None``: Keras' default). Return a fresh, unbuilt
    ``keras.optimizers.Optimizer``.
    """


@hookspec(firstresult=True)
def adaptkit_build_validator(section: ValidatorSection, context: RunContext) -> Optional[Validator]:
    """Build a label-free validation score (``evaluation.validators[i]``).

    Return an :class:`adaptkit.Validator`: ``score(data)`` gets an
    :class:`adaptkit.ValidationData` (class probabilities and features of fixed
    samples of the unlabeled target stream and of the source splits, from the
    model the stage would save) and returns one number; ``higher_is_better``
    its direction. The host logs it every epoch as ``score_<kind>`` and a
    stage's ``select_by`` keeps the epoch it prefers. Never reads target labels.
    """


@hookspec(firstresult=True)
def adaptkit_build_metric(section: MetricSection, context: RunContext) -> Optional[Metric]:
    """Build one metric (``evaluation.metrics[i]``, or a default kind when the spec lists none).

    Return an :class:`adaptkit.Metric`: the ``names`` it reports and
    ``compute(y_true, y_pred, task)``, which the host calls on numpy arrays of
    one task on each labeled split (class indices and class probabilities for
    a classifier, targets and values for a regression), predicted once per
    split and model, the baseline's too. The host writes ``<split>/<name>``
    (``<split>/<task>/<name>`` per task) into ``metrics.json``. A metric that
    fails costs only its own numbers: the run completes and reports it.
    """


@hookspec(firstresult=True)
def adaptkit_build_score(section: ScoreSection, context: RunContext) -> Optional[Score]:
    """Build one transferability score (``rank.scores[i]``, or a default kind when the spec lists none).

    Return an :class:`adaptkit.Score`: ``compute(data)`` gets an
    :class:`adaptkit.ScoreData` (one candidate's frozen features of the labeled
    training split as a float64 ``(N, D)`` array, the labels, the task, the
    source model's own class probabilities when the candidate has a
    classifier) and returns one finite number; ``higher_is_better`` says which
    way a better source moves it. ``adaptkit rank`` calls it once per
    candidate, times it, and ranks the candidates by it. A score that fails
    costs only its own column.
    """


@hookspec(firstresult=True)
def adaptkit_stage_callbacks(section: TrackerSection, stage: StageInfo, context: RunContext) -> Optional[list]:
    """The Keras callbacks one tracker (``tracking[i]``) adds to one fit: a stage, or the baseline.

    ``stage`` is a :class:`adaptkit.StageInfo`: the run, the stage's index and
    name, the seed, the run directory (write logs under it, e.g.
    ``stage.run_dir / "tensorboard" / stage.folder``; ``None`` without one),
    the resolved spec. Return a list of ``keras.callbacks.Callback`` (empty to
    add nothing to this fit). They run after the host's own callbacks
    (divergence stopping, the backup for ``--resume``, the history), so their
    ``on_epoch_end`` sees every logged value of the epoch.
    """


@hookspec
def adaptkit_after_trainable(layer: Any) -> None:
    """Called after the host set ``layer.trainable = True`` (``adaptkit.make_trainable``).

    Keras' setter makes every variable of the layer and its sub-layers
    trainable. A plugin whose technique keeps some variables frozen inside a
    trainable layer (LoRA's base kernels) sets them back here. Every plugin is
    called; the answer is ignored.
    """


@hookspec
def adaptkit_baseline_config(layer: Any, config: dict) -> Optional[dict]:
    """Change the config the from-scratch baseline re-creates ``layer`` from.

    The baseline clones the model layer by layer with
    ``layer.__class__.from_config(config)``, ``config`` starting as
    ``layer.get_config()``. Return a changed copy (e.g. without a technique's
    keys, so the baseline trains the plain layer), or ``None`` to leave it.
    Every plugin is called in turn, each on the previous one's config.
    """


@hookspec
def adaptkit_save_artifacts(model: "keras.Model", run_dir: Any, context: RunContext) -> Optional[dict[str, Any]]:
    """Write files of the finished run beside ``model.keras``.

    ``model`` is the saved model, ``run_dir`` the run directory (a
    ``pathlib.Path``; write files atomically, e.g. with
    ``adaptkit.write_arrays``). Return entries for ``metrics.json`` (say
    ``{"adapters": {"file": "adapters.npz", ...}}``) or ``None``. Every plugin
    is called; a key that is already in ``metrics.json`` is an error.
    """


@hookspec
def adaptkit_keras_objects() -> Optional[dict[str, Any]]:
    """Name the custom Keras classes this plugin's models contain.

    Return ``{registered_name: class}`` (importing TensorFlow here is fine:
    the host asks only before it loads a saved model). ``adaptkit.load_model``
    passes every plugin's answer to ``keras.saving.load_model`` as
    ``custom_objects``, so a ``.keras`` file saved with any plugin's layers
    loads in safe mode, whichever plugin loads it.
    """


@hookspec
def adaptkit_evaluate(
    spec: Any,
    parts: ModelParts,
    data: dict[str, Any],
    context: RunContext,
    before: Optional[ModelParts],
    predictions: Any = None,
    aligned_at: Sequence[Optional[str]] = (),
) -> Optional[dict[str, float]]:
    """Add metrics to ``metrics.json`` after training.

    ``data`` maps split names (``train``, ``validation``, ``test``, and
    ``target``/``target_test`` when the spec has a target stream) to batched
    ``tf.data`` datasets. A task with its own data (``tasks[i].data``) adds
    ``train@<task>``, ``validation@<task>`` and ``test@<task>``: they yield
    ``(x, y)`` with that task's label alone, to be compared with the model's
    ``<task>`` output (report them as ``<split>/<task>/<metric>``); the plain
    splits then carry the labels of the tasks on ``data.train`` only. ``before`` is the model as it was just before the
    first stage with domain-adaptation losses (``None`` without such a
    stage), to compare features before and after adaptation. ``predictions``
    (when given) computes each split's labels and predictions once per model
    for every plugin: ``predictions.of(parts.model, split)`` returns
    ``(labels, predictions)`` as NumPy arrays (dicts by task for a
    multi-task model); use it rather than running the model over a split
    yourself. ``aligned_at`` (with ``before``) names the layers where the
    run's losses align the domains, each once (``LossComposition.aligned_at``;
    ``None``: the encoder's output); empty without an adaptation stage.
    Every plugin may contribute (an implementation may leave out arguments it does not
    need); return ``None`` to
    contribute nothing. Keys should be prefixed by the split they use
    (``test/accuracy``). Each plugin is called on its own: one that raises
    (or answers wrongly) loses only its own metrics; the run completes and
    reports the error (exit status 2).
    """
