"""The spec's ``evaluation`` keys: the from-scratch baseline, the side runs, validators and metrics.

Pydantic only: no TensorFlow here. ``U`` maps each section family to the
union of its installed kinds (``adaptkit._spec`` builds it).
"""

from __future__ import annotations

from typing import Any, Optional

from pydantic import Field, create_model

from ._spec_checks import MAX_EPOCHS

__all__ = ["evaluation_model"]


def evaluation_model(U: dict[str, Any], base: type) -> type:
    """The ``EvaluationSpec`` model for the installed kinds ``U``."""
    return create_model(
        "EvaluationSpec",
        __base__=base,
        __doc__="How the run is judged.",
        baseline=(
            bool,
            Field(
                False,
                description=(
                    "Also train the same architecture from random initialisation (every layer trainable, "
                    "same data and seed) and report whether transfer gave a higher start, a steeper slope, "
                    "a higher asymptote, or negative transfer."
                ),
            ),
        ),
        baseline_epochs=(Optional[int], Field(None, ge=1, le=MAX_EPOCHS, description="Epochs for the baseline; default: the stages' total.")),
        baseline_optimizer=(
            Optional[U["optimizer"]],
            Field(None, description="Optimizer for the baseline; default: the first stage's."),
        ),
        plots=(bool, Field(True, description="Write learning-curve plots (PNG) into the run directory.")),
        source_only=(
            bool,
            Field(
                False,
                description=(
                    "Domain adaptation with a labeled data.target: also train the same pipeline without its "
                    "alignment losses (source-only) and report adapted vs source-only on the same target test "
                    "examples, with a paired 95% interval."
                ),
            ),
        ),
        validators=(
            list[U["validator"]],
            Field(
                default_factory=list,
                description=(
                    "Label-free validation scores (entropy, im, snd, dev, ...) computed every epoch of every stage "
                    "on a fixed sample of the unlabeled data.target stream and logged as score_<kind>; a stage's "
                    "select_by keeps the epoch one of them prefers."
                ),
            ),
        ),
        validator_sample=(
            int,
            Field(
                2000,
                ge=10,
                le=100_000,
                description="Examples in each fixed, seeded sample the validators read (target stream, source train, source validation).",
            ),
        ),
        metrics=(
            Optional[list[U["metric"]]],
            Field(
                None,
                description=(
                    "Metrics reported on every labeled split, each a section with a kind (core: accuracy, loss, "
                    "balanced_accuracy, f1, auc, top_k_accuracy, mae, mse, r2), computed from predictions made once "
                    "per split; default: accuracy, loss and balanced_accuracy for classifiers, mae and mse for regressions."
                ),
            ),
        ),
        single_task_baselines=(
            bool,
            Field(
                False,
                description=(
                    "Multi-task specs: also train each task alone on the same trunk (same source, stages and seed) "
                    "and report, per task, multi-task vs single-task and the mean relative improvement over "
                    "single-task learning (delta_m_percent, as LibMTL reports it) as the headline."
                ),
            ),
        ),
    )

