"""Spec sections of the core plugin's transferability scores (``rank.scores``; pydantic only: no TensorFlow here).

Every kind here is on when a spec lists no scores: LogME, LEEP (for candidates
with a source classifier), H-score, a cross-validated linear probe and kNN.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field

from adaptkit import ScoreSection

__all__ = ["SCORES"]


class LogME(ScoreSection):
    """The logarithm of the maximum evidence of a Bayesian linear model on the features (You et al. 2021),
    averaged over the classes (one-vs-rest 0/1 targets) or the regression targets, per example (``logme``)."""

    default: ClassVar[bool] = True
    kind: Literal["logme"]
    tolerance: float = Field(1e-6, gt=0, lt=1, description="Stop the fixed-point iteration when alpha/beta changes by less than this (relative).")
    max_iterations: int = Field(100, ge=1, le=10_000, description="At most this many fixed-point steps per target.")


class LEEP(ScoreSection):
    """Log expected empirical prediction (Nguyen et al. 2020): the mean log-likelihood of the labels under the
    source classifier's outputs mapped to the target classes through their empirical joint (``leep``)."""

    task: ClassVar = "classification"
    needs_source_classes: ClassVar[bool] = True
    default: ClassVar[bool] = True
    kind: Literal["leep"]


class HScore(ScoreSection):
    """H-score (Bao et al. 2019): tr(cov(f)^-1 cov(E[f|y])), with a shrinkage-regularised cov(f) (``h_score``)."""

    task: ClassVar = "classification"
    default: ClassVar[bool] = True
    kind: Literal["h_score"]
    shrinkage: Union[Literal["auto"], Annotated[float, Field(ge=0, le=1)]] = Field(
        "auto",
        description="auto: the Ledoit-Wolf shrinkage of cov(f) towards a scaled identity; a number in 0..1: that shrinkage (0: the plain H-score).",
    )


class LinearProbe(ScoreSection):
    """Cross-validated accuracy of a logistic regression on the standardised features (``linear_probe``)."""

    task: ClassVar = "classification"
    default: ClassVar[bool] = True
    kind: Literal["linear_probe"]
    folds: int = Field(5, ge=2, le=20, description="Stratified folds.")
    C: float = Field(1.0, gt=0, description="Inverse L2 regularisation strength (scikit-learn's C).")
    max_iter: int = Field(1000, ge=10, description="Solver iterations.")


class KNN(ScoreSection):
    """Cross-validated accuracy of a k-nearest-neighbour vote on the standardised features (``knn``)."""

    task: ClassVar = "classification"
    default: ClassVar[bool] = True
    kind: Literal["knn"]
    k: int = Field(5, ge=1, description="Neighbours that vote.")
    folds: int = Field(5, ge=2, le=20, description="Stratified folds.")
    metric: Literal["euclidean", "cosine"] = Field("euclidean", description="Distance between standardised feature vectors.")


SCORES = [LogME, LEEP, HScore, LinearProbe, KNN]
