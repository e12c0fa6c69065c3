"""Base classes of the spec sections that plugins declare.

A plugin describes each thing it can build as a pydantic model that subclasses
one of the bases below and narrows ``kind`` to a ``Literal``. The host gathers
them through the ``adaptkit_sections`` hook and builds discriminated unions by
``kind`` from them, so a whole pipeline spec is validated, rendered and
exported as a JSON Schema without importing TensorFlow.

    SpecModel               a part of a spec: unknown keys are errors, numbers strict, no inf/nan
    ├── LabelEntry          one named label of a multi-label data section
    └── Section             a section, told apart by ``kind``
        ├── DataSourceSection   a dataset (labeled or not)            -> adaptkit_load_data
        ├── AugmentSection      one augmentation layer                -> adaptkit_build_augmentation
        ├── SourceSection       the pre-trained source model          -> adaptkit_load_source
        ├── SurgerySection      one layer-surgery operation           -> adaptkit_apply_surgery
        ├── HeadSection         the task head                         -> adaptkit_attach_head
        ├── LossSection         extra loss terms (domain adaptation)  -> adaptkit_compose_loss
        ├── WeightingSection    how task losses combine (multi-task)  -> adaptkit_build_weighting
        ├── ScheduleSection     a stage's learning-rate schedule      -> adaptkit_build_schedule
        ├── OptimizerSection    an optimizer (stage, baseline, player) -> adaptkit_build_optimizer
        ├── ValidatorSection    a label-free score of the target fit  -> adaptkit_build_validator
        ├── MetricSection       a test metric from the predictions    -> adaptkit_build_metric
        ├── ScoreSection        a transferability score (rank)        -> adaptkit_build_score
        └── TrackerSection      a tracker's callbacks in every stage  -> adaptkit_stage_callbacks

A family whose base sets ``default_kind`` lets a spec leave the kind out
(``schedule: {}`` is ``constant``, ``optimizer: {learning_rate: 0.01}`` is
``adam``). Optimizers are told apart by ``name`` (the spelling specs have
always used); ``kind`` is accepted too.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "SpecModel",
    "Section",
    "DataSourceSection",
    "AugmentSection",
    "SourceSection",
    "SurgerySection",
    "HeadSection",
    "LossSection",
    "WeightingSection",
    "LabelEntry",
    "ScheduleSection",
    "OptimizerSection",
    "ValidatorSection",
    "MetricSection",
    "ScoreSection",
    "TrackerSection",
    "SECTION_BASES",
    "FAMILY_HOOKS",
]


class SpecModel(BaseModel):
    """A part of a spec: unknown keys are errors, numbers are strict, immutable.

    Strict: a number must be written as a number (``true`` or ``"2"`` is not 2; an
    integer is a float where a float is asked for), and ``inf``/``nan`` are refused.
    Plugins subclass it for the nested parts of their sections (a discriminator's layers).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, protected_namespaces=(), strict=True, allow_inf_nan=False, defer_build=True)


class Section(SpecModel):
    """A spec section: a :class:`SpecModel` told apart from its family's other kinds by ``kind``."""

    kind: str

    default_kind: ClassVar[Optional[str]] = None
    """On a family base: the kind a spec gets when it leaves the kind out (None: required)."""


class DataSourceSection(Section):
    """A dataset. ``adaptkit_load_data`` turns it into a :class:`adaptkit.DataSource`.

    After a run, ``adaptkit predict`` and ``adaptkit evaluate`` read new data with the kind of
    the run's ``data.train``: :meth:`reading` points the section at the user's file or folder,
    :meth:`unlabeled` drops its labels. A kind whose fields differ overrides them.
    """

    keeps_all: ClassVar[dict] = {}
    """The fields that make the kind read only part of its data (``limit``, ``skip``), each with
    the value that reads it all: :meth:`reading` sets them, so new data is read whole."""

    def with_fields(self, **changes: object) -> "DataSourceSection":
        """A copy with ``changes`` applied to the fields this kind has (others are ignored),
        validated again."""
        fields = type(self).model_fields
        return type(self).model_validate({**self.model_dump(by_alias=True), **{k: v for k, v in changes.items() if k in fields}})

    def reading(self, path: str) -> "DataSourceSection":
        """This section reading every example of ``path`` (a file or folder, as an absolute path)
        instead of its own. Default: the ``path`` field replaced and :attr:`keeps_all` applied,
        the section validated again. Raise ``ValueError`` (with a message) when the kind cannot
        read another path."""
        if "path" not in type(self).model_fields:
            raise ValueError(f"a {self.kind} section has no path field to point at {path}")
        return self.with_fields(**self.keeps_all, path=path)

    def unlabeled(self) -> "DataSourceSection":
        """This section reading examples alone, without labels (``adaptkit predict``). Default:
        ``labeled: false`` (and no ``labels``) where the kind has those fields; else the section
        itself (the host drops the labels it reads)."""
        if "labeled" not in type(self).model_fields:
            return self
        return self.with_fields(labeled=False, labels=None)


class AugmentSection(Section):
    """One augmentation layer, active in training only (Keras preprocessing layers)."""


class SourceSection(Section):
    """The pre-trained model to adapt. ``adaptkit_load_source`` returns a ``keras.Model``."""

    def has_pretrained_weights(self) -> Optional[bool]:
        """Whether the source starts from learnt weights (False: random initialisation; None: unknown).
        The transfer verdict warns when it is False: from scratch vs random is no transfer."""
        return None


class SurgerySection(Section):
    """One layer-surgery operation on the source model.

    ``structural`` operations change the graph (e.g. truncation) and may only
    appear in the top-level ``surgery`` list; the others (freezing,
    unfreezing, ...) may also appear in a training stage's ``surgery`` list.
    """

    structural: ClassVar[bool] = False


class HeadSection(Section):
    """The task head attached on top of the source model's features."""

    predicts: ClassVar[Optional[Literal["classification", "regression"]]] = None
    """What the head predicts, when its kind decides it (None: the data decides). A spec whose
    ``evaluation.metrics`` lists a metric for the other kind of task is refused when it validates."""


class LossSection(Section):
    """Extra loss terms added to the head's task loss (e.g. domain adaptation)."""

    needs_target: ClassVar[bool] = False
    """True when the terms need a target stream (``data.target`` in the spec)."""


class WeightingSection(Section):
    """How the losses of several tasks become one update of the shared trunk (multi-task)."""

    min_tasks: ClassVar[int] = 2
    """The fewest tasks the strategy works with."""


class ScheduleSection(Section):
    """How the learning rate moves within a stage. ``adaptkit_build_schedule`` returns a Keras
    ``LearningRateSchedule`` (or a float, for a constant rate)."""

    default_kind: ClassVar[Optional[str]] = "constant"


def _kind_is_name(field: str) -> str:
    return "name" if field == "kind" else field


class OptimizerSection(Section):
    """A Keras optimizer, told apart by ``name``. ``adaptkit_build_optimizer`` builds it.

    ``learning_rate`` is on every kind: the host reads it (discriminative rates divide it,
    the baseline reuses the first stage's).
    """

    model_config = ConfigDict(alias_generator=_kind_is_name, validate_by_name=True, validate_by_alias=True, serialize_by_alias=True)
    default_kind: ClassVar[Optional[str]] = "adam"

    learning_rate: float = Field(1e-3, gt=0, description="Learning rate (a stage's peak rate, which its schedule follows).")

    @property
    def name(self) -> str:
        """The optimizer's kind, as specs spell it (``name: adam``)."""
        return self.kind


class LabelEntry(SpecModel):
    """One named label of a multi-label data section (a base for data plugins' label entries).

    A data plugin subclasses it with the field that says where the label is
    (``key`` of an array, ``column`` of a table) and names that field in
    ``source_field``; the label's name defaults to that field's value.
    """

    source_field: ClassVar[str] = "column"

    name: Optional[str] = Field(
        None, min_length=1, description="The label's name (what a task's label refers to); default: where it is read from."
    )
    task: Literal["classification", "regression"] = Field(
        "classification", description="classification: class labels; regression: numbers (float32)."
    )
    class_names: Optional[list[str]] = Field(
        None,
        description="The classes, in the order of the model's outputs (class index = position); default: from the data.",
    )

    @property
    def label_name(self) -> str:
        return self.name or getattr(self, self.source_field)

    @model_validator(mode="after")
    def _classes(self) -> "LabelEntry":
        if self.class_names is not None:
            if self.task == "regression":
                raise ValueError("class_names is for classification; remove it or set task: classification")
            if len(set(self.class_names)) != len(self.class_names) or len(self.class_names) < 2:
                raise ValueError("class_names needs at least two distinct names")
        return self


class ValidatorSection(Section):
    """A label-free validation score (``evaluation.validators[i]``): how well the model fits the
    unlabeled target, computed every epoch without target labels (unsupervised model selection).
    ``adaptkit_build_validator`` builds it."""

    needs_source_validation: ClassVar[bool] = False
    """True when the score also reads the labeled source validation split (DEV's weighted risk)."""


class MetricSection(Section):
    """A metric computed from a split's labels and the model's predictions (``evaluation.metrics[i]``).
    ``adaptkit_build_metric`` builds it; the host feeds it each split's predictions, computed once."""

    task: ClassVar[Optional[Literal["classification", "regression"]]] = None
    """The tasks the metric reads: classification (class probabilities), regression (values), or
    None for both. A metric listed for a task of the other kind is refused before training."""

    default: ClassVar[bool] = False
    """On when a spec leaves ``evaluation.metrics`` out (with its default fields), for the tasks it reads."""


class ScoreSection(Section):
    """A transferability score (``rank.scores[i]``): how well a candidate source will transfer, from its
    frozen features of the labeled training data (and its own class probabilities, where it has a
    classifier), before any fine-tuning. ``adaptkit_build_score`` builds it; ``adaptkit rank`` calls it."""

    task: ClassVar[Optional[Literal["classification", "regression"]]] = None
    """The tasks the score reads (None: both). Others get "n/a" in the table."""

    needs_source_classes: ClassVar[bool] = False
    """True when the score reads the source model's own class probabilities (LEEP): a candidate
    without a ``classifier`` gets "n/a (no source classifier)"."""

    default: ClassVar[bool] = False
    """On when a spec leaves ``rank.scores`` out."""


class TrackerSection(Section):
    """An experiment tracker (``tracking[i]``): ``adaptkit_stage_callbacks`` gives the Keras callbacks
    it adds to every training stage and the baseline (TensorBoard, MLflow, Weights & Biases, ...)."""


SECTION_BASES: dict[str, type[Section]] = {
    "data": DataSourceSection,
    "augment": AugmentSection,
    "source": SourceSection,
    "surgery": SurgerySection,
    "head": HeadSection,
    "loss": LossSection,
    "weighting": WeightingSection,
    "schedule": ScheduleSection,
    "optimizer": OptimizerSection,
    "validator": ValidatorSection,
    "metric": MetricSection,
    "score": ScoreSection,
    "tracker": TrackerSection,
}
"""The section families, by the name the host uses for them in messages."""

FAMILY_HOOKS: dict[str, str] = {
    "data": "adaptkit_load_data",
    "augment": "adaptkit_build_augmentation",
    "source": "adaptkit_load_source",
    "surgery": "adaptkit_apply_surgery",
    "head": "adaptkit_attach_head",
    "loss": "adaptkit_compose_loss",
    "weighting": "adaptkit_build_weighting",
    "schedule": "adaptkit_build_schedule",
    "optimizer": "adaptkit_build_optimizer",
    "validator": "adaptkit_build_validator",
    "metric": "adaptkit_build_metric",
    "score": "adaptkit_build_score",
    "tracker": "adaptkit_stage_callbacks",
}
"""The hook that builds each family's sections (the table above, as data)."""
