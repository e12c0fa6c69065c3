"""The objects that hooks return to the host and that the host hands to hooks.

Plain dataclasses: importing this module does not import TensorFlow. The
TensorFlow/Keras types only appear in annotations.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, Union

from ._paths import resolve_path

if TYPE_CHECKING:  # pragma: no cover
    import keras
    import tensorflow as tf

__all__ = [
    "RunContext",
    "DataSource",
    "TaskInfo",
    "Head",
    "ModelParts",
    "StepBatch",
    "LossTerm",
    "Player",
    "LossComposition",
    "TaskWeighting",
    "ValidationData",
    "Validator",
    "Metric",
]


@dataclass
class RunContext:
    """What every building hook may need besides its own section.

    ``where`` is the dotted spec path of the section being built (for error
    messages: raise ``adaptkit.SpecError(context.where + ".key", "...")``).
    ``trust_code`` is the user's ``--trust-code``: a loader that can run code
    from a model file (a SavedModel's graph, a ``.keras`` file's Lambda layers)
    refuses such code unless it is set. Only the command line sets it, never a spec.
    """

    seed: int
    spec_dir: Path
    """Directory of the spec file; relative paths in a spec resolve against it."""
    run_dir: Optional[Path] = None
    where: str = ""
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("adaptkit"))
    trust_code: bool = False
    """The user passed ``--trust-code``: model files may run their code (see docs/security.md)."""

    def resolve(self, path: Union[str, Path]) -> Path:
        """A path from the spec, relative to the spec's directory (as ``validate`` checks it)."""
        return resolve_path(self.spec_dir, path)

    def at(self, where: str) -> "RunContext":
        """The same context for another spec path."""
        return dataclasses.replace(self, where=where)


@dataclass
class DataSource:
    """A dataset as a data plugin delivers it.

    ``dataset`` yields *unbatched* elements: ``(x, y)`` when labeled, ``x``
    alone when not. Its order must be a deterministic function of the run's
    seed (shuffle file lists with it before decoding): the host splits it into
    train/validation/test with ``take``/``skip``, then batches, caches and
    prefetches.
    """

    dataset: "tf.data.Dataset"
    size: int
    input_shape: tuple
    """Shape of one ``x`` (without the batch axis)."""
    class_names: Optional[list[str]] = None
    """Class names for classification; ``None`` for regression targets."""
    labeled: bool = True
    target_shape: tuple = ()
    """Shape of one ``y`` for regression (``()`` for a scalar)."""
    labels: Optional[dict[str, "TaskInfo"]] = None
    """Several named labels per example (multi-task data): the dataset then
    yields ``(x, {name: y})`` and each name's :class:`TaskInfo` says what it
    holds (class names, or ``None`` and the target shape for regression);
    ``class_names``/``target_shape`` above are unused. ``None``: one label."""
    diagnose: Optional[Callable[[], None]] = None
    """Finds the example that ``dataset`` fails to read (a file that does not
    decode): the host calls it only after reading the data failed inside
    ``tf.data`` (whose error does not say which element), and it raises a
    ``DataError`` naming the file (and line), or returns when it finds none.
    ``None``: the source has nothing to look for."""
    ids: Optional[Sequence[str]] = None
    """Each example's id, in the order ``dataset`` yields them: the file for an image or a text
    file, ``file:line`` for a table's row, the row index in the file for arrays. ``adaptkit
    predict`` writes them in its ``id`` column, sorted in their natural order (numbers within
    them compared as numbers: the files' order). ``None``: the position in ``dataset``."""

    def label_infos(self) -> dict[str, "TaskInfo"]:
        """The named labels; a single-label source has one, named ``label``."""
        if self.labels is not None:
            return dict(self.labels)
        return {"label": TaskInfo(self.class_names, tuple(self.target_shape))}


@dataclass(frozen=True)
class TaskInfo:
    """What a head must predict, derived from the training data."""

    class_names: Optional[list[str]]
    target_shape: tuple = ()

    @property
    def num_classes(self) -> Optional[int]:
        return None if self.class_names is None else len(self.class_names)


@dataclass
class Head:
    """What ``adaptkit_attach_head`` returns."""

    outputs: Any
    """The head's output tensor (a Keras tensor built on the features)."""
    loss: Any
    """A ``keras.losses.Loss`` (or its name) comparing ``y`` with ``outputs``."""
    metrics: list = field(default_factory=list)
    monitor: str = "loss"
    """Name of the headline metric (as Keras logs it, without ``val_``)."""
    higher_is_better: bool = False


@dataclass
class ModelParts:
    """The assembled model, in the two pieces domain adaptation needs.

    ``model = classifier(encoder(x))``. ``encoder`` maps raw inputs to the
    features the head sees (augmentation, source model, surgery); ``classifier``
    is the head. Both are functional ``keras.Model`` objects.
    """

    encoder: "keras.Model"
    classifier: "keras.Model"
    model: "keras.Model"
    task: TaskInfo
    tasks: Optional[dict[str, TaskInfo]] = None
    """Multi-task models: what each task predicts, by task name. The model's
    outputs (and the labels) are then dicts keyed by task name, and ``task``
    describes the first task. ``None`` for a one-task model."""


@dataclass
class StepBatch:
    """What a loss term sees at each training step (tensors, batch first).

    ``progress`` is a scalar tensor going from 0 to 1 over the current training
    stage, for weight schedules such as DANN's lambda.
    ``*_target`` are ``None`` when the spec has no target stream.
    """

    x_source: Any
    y_source: Any
    features_source: Any
    outputs_source: Any
    progress: Any
    x_target: Any = None
    y_target: Any = None
    features_target: Any = None
    outputs_target: Any = None


@dataclass
class LossTerm:
    """One weighted term of the training objective.

    ``fn(batch)`` returns a scalar. ``weight`` is a number or a function of
    ``progress`` (a scalar tensor in [0, 1]). The term is minimised by the
    player named ``player`` ("main" is the model being adapted plus any
    module in ``LossComposition.modules`` that no other player claims).
    """

    name: str
    fn: Callable[[StepBatch], Any]
    weight: Union[float, Callable[[Any], Any]] = 1.0
    player: str = "main"


@dataclass
class Player:
    """A set of variables trained on its own loss with its own optimizer.

    ``variables`` is called once the modules are built. ``steps`` is how many
    updates the player makes per training step (e.g. a WGAN critic: 5).
    """

    name: str
    variables: Callable[[], Sequence[Any]]
    optimizer: Any
    steps: int = 1


@dataclass
class LossComposition:
    """What ``adaptkit_compose_loss`` returns for one ``stages[i].losses[j]`` section.

    - ``terms``: weighted loss terms, each for one player;
    - ``players``: players besides "main" (a discriminator with its own optimizer);
    - ``modules``: Keras layers/models the terms use (tracked, so they are
      checkpointed; their variables join "main" unless a player claims them);
    - ``metrics``: extra per-step values to log (e.g. domain accuracy);
    - ``finalize``: turns the trained main model into the adapted model to
      save (e.g. ADDA: target encoder + source classifier); ``None`` keeps it;
    - ``freeze_main``: the main model's own variables are not trained while
      this composition is active (ADDA trains only its target encoder);
    - ``aligned_at``: the name of the layer whose output the terms align
      between the domains (a ``feature_layer``); ``None``: the encoder's
      output, or no alignment. The evaluation measures the proxy A-distance there.
    """

    terms: list[LossTerm] = field(default_factory=list)
    players: list[Player] = field(default_factory=list)
    modules: list[Any] = field(default_factory=list)
    metrics: dict[str, Callable[[StepBatch], Any]] = field(default_factory=dict)
    finalize: Optional[Callable[[ModelParts], "keras.Model"]] = None
    freeze_main: bool = False
    aligned_at: Optional[str] = None


class TaskWeighting:
    """What ``adaptkit_build_weighting`` returns: how the task losses of a
    multi-task model become one update of the shared trunk.

    Subclass it and override what the strategy needs. Loss-based strategies
    (static weights, uncertainty weighting, DWA) override :meth:`loss`;
    gradient-based ones (PCGrad, MGDA, GradNorm) set ``gradient_based`` and
    override :meth:`gradients`, which receives each task's gradient of the
    shared (trunk) variables and returns the gradient to apply to them; the
    task heads then get the gradient of :meth:`loss`. Everything runs inside
    the compiled training step: use ``keras.ops`` (or TensorFlow) on tensors,
    and ``keras.Variable`` for state (assign to it; do not keep Python state
    that changes per step).
    """

    gradient_based: bool = False

    def __init__(self, weights: dict[str, float]) -> None:
        self.tasks = list(weights)
        """Task names, in the spec's order."""
        self.static = dict(weights)
        """Each task's ``weight`` from the spec."""

    def loss(self, losses: dict[str, Any], progress: Any) -> Any:
        """The scalar minimised by the heads (and by the trunk unless ``gradient_based``).
        Default: the weighted sum with the tasks' static weights."""
        return sum(self.static[name] * value for name, value in losses.items())

    def gradients(self, grads: dict[str, list], losses: dict[str, Any]) -> list:
        """``grads[task][i]``: the gradient of that task's loss for shared variable ``i``
        (zeros where it does not reach). Return one gradient per shared variable."""
        raise NotImplementedError

    def variables(self) -> list:
        """Trainable variables of the strategy itself, trained with the model (e.g. log-variances)."""
        return []

    def state(self) -> list:
        """Non-trainable variables that hold the strategy's state (checkpointed with the trainer)."""
        return []

    def weights(self) -> dict[str, Any]:
        """Each task's current weight, logged per epoch as ``weight_<task>``; ``{}`` to log none."""
        return {}

    def callbacks(self) -> list:
        """Keras callbacks the strategy needs (e.g. updating weights at the end of an epoch from
        the logged ``<task>_loss`` values)."""
        return []


class ValidationData:
    """What a validator scores: the model the stage would save, run on fixed samples.

    Every epoch the host draws the same seeded samples (at most
    ``evaluation.validator_sample`` examples each) of the unlabeled target
    stream, of the source training split and of the source validation split,
    and computes the arrays below when a validator first reads them (each split
    is predicted once per epoch, however many validators read it). There are no
    target labels here: the ``target`` stream never carries them.
    """

    def __init__(self, compute: Callable[[str], tuple]) -> None:
        self._compute = compute
        """``split -> (features, probabilities, labels or None)`` as numpy arrays."""
        self._cache: dict[str, tuple] = {}

    def _get(self, split: str, i: int) -> Any:
        if split not in self._cache:
            self._cache[split] = self._compute(split)
        return self._cache[split][i]

    @property
    def target_probabilities(self) -> Any:
        """``(N_t, C)`` class probabilities on the target sample (rows sum to 1)."""
        return self._get("target", 1)

    @property
    def target_features(self) -> Any:
        """``(N_t, d)`` flattened features (the encoder's output) of the target sample."""
        return self._get("target", 0)

    @property
    def source_features(self) -> Any:
        """``(N_s, d)`` features of the source training sample."""
        return self._get("train", 0)

    @property
    def validation_features(self) -> Any:
        """``(N_v, d)`` features of the source validation sample."""
        return self._get("validation", 0)

    @property
    def validation_probabilities(self) -> Any:
        """``(N_v, C)`` class probabilities on the source validation sample."""
        return self._get("validation", 1)

    @property
    def validation_labels(self) -> Any:
        """``(N_v,)`` integer class labels of the source validation sample."""
        return self._get("validation", 2)


@dataclass
class Validator:
    """What ``adaptkit_build_validator`` returns: a label-free score of the model on the target.

    ``score(data)`` takes a :class:`ValidationData` and returns one finite number;
    ``higher_is_better`` says which way a better model moves it (a stage's
    ``select_by`` keeps the epoch with the best score).
    """

    score: Callable[[ValidationData], float]
    higher_is_better: bool


@dataclass
class Metric:
    """What ``adaptkit_build_metric`` returns: numbers from one split's labels and predictions.

    ``compute(y_true, y_pred, task)`` gets numpy arrays of one task on one split — class indices
    and class probabilities ``(N, C)`` for a classifier, targets and values for a regression —
    and the task's :class:`TaskInfo`; it returns ``{name: number}`` for names in ``names`` (the
    host writes ``<split>/<name>``, ``<split>/<task>/<name>`` per task).
    """

    names: Sequence[str]
    compute: Callable[[Any, Any, TaskInfo], dict]

