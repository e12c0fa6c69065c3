"""Spec sections of the core plugin's metrics (``evaluation.metrics``; pydantic only: no TensorFlow here).

The kinds marked ``default`` are on when a spec lists no metrics: accuracy,
loss and balanced accuracy for classifiers, MAE and MSE for regressions (the
keys ``metrics.json`` has always had).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from adaptkit import MetricSection

__all__ = ["METRICS"]


class _Classes(MetricSection):
    task: ClassVar = "classification"


class _Values(MetricSection):
    task: ClassVar = "regression"


class Accuracy(_Classes):
    """Fraction of examples whose most probable class is the true one (``accuracy``)."""

    default: ClassVar[bool] = True
    kind: Literal["accuracy"]


class Loss(_Classes):
    """Mean cross-entropy of the true class's probability, clipped at 1e-7 (``loss``)."""

    default: ClassVar[bool] = True
    kind: Literal["loss"]


class BalancedAccuracy(_Classes):
    """Mean recall over the classes present in the split (``balanced_accuracy``)."""

    default: ClassVar[bool] = True
    kind: Literal["balanced_accuracy"]


class F1(_Classes):
    """F1 score of the most probable class (scikit-learn's ``f1_score``; ``f1_<average>``)."""

    kind: Literal["f1"]
    average: Literal["macro", "micro", "weighted"] = Field(
        "macro", description="macro: the classes' mean F1; micro: from the pooled counts; weighted: by class support."
    )


class AUC(_Classes):
    """Area under the ROC curve from the class probabilities (``auc``): the positive class's for two
    classes, else the mean one-vs-rest AUC over the classes present in the split."""

    kind: Literal["auc"]


class TopK(_Classes):
    """Fraction of examples whose true class is among the k most probable (``top_<k>_accuracy``)."""

    kind: Literal["top_k_accuracy"]
    k: int = Field(5, ge=1, description="How many of the most probable classes count.")


class MAE(_Values):
    """Mean absolute error (``mae``)."""

    default: ClassVar[bool] = True
    kind: Literal["mae"]


class MSE(_Values):
    """Mean squared error (``mse``)."""

    default: ClassVar[bool] = True
    kind: Literal["mse"]


class R2(_Values):
    """Coefficient of determination over every target value (scikit-learn's ``r2_score``; ``r2``)."""

    kind: Literal["r2"]


METRICS = [Accuracy, Loss, BalancedAccuracy, F1, AUC, TopK, MAE, MSE, R2]
