"""Spec sections of the multi-task plugin: one per task-weighting strategy (pydantic only, no TensorFlow)."""

from __future__ import annotations

from typing import Literal, Optional

from pydantic import Field

from adaptkit import WeightingSection


class Equal(WeightingSection):
    """Every task's loss with weight 1, whatever the tasks' ``weight`` say (LibMTL's EW)."""

    kind: Literal["equal"]


class Static(WeightingSection):
    """Fixed weights: the sum of the task losses, each times its weight."""

    kind: Literal["static"]
    weights: Optional[dict[str, float]] = Field(
        None, description="Weight per task name; default: each task's own weight. Every task must be named."
    )


class Uncertainty(WeightingSection):
    """Homoscedastic uncertainty weighting (Kendall, Gal & Cipolla, CVPR 2018): a learnt
    log-variance s per task, loss = sum(L / (2 exp(s)) + s / 2)."""

    kind: Literal["uncertainty"]
    initial_log_variance: float = Field(0.0, ge=-10, le=10, description="Starting value of every task's log-variance s.")


class DWA(WeightingSection):
    """Dynamic Weight Average (Liu, Johns & Davison, CVPR 2019): weights from how fast each
    task's epoch loss fell, w = K softmax(r / T), r = L(e-1) / L(e-2); 1 for the first two epochs."""

    kind: Literal["dwa"]
    temperature: float = Field(2.0, gt=0, le=1e3, description="Temperature T of the softmax (the paper's 2).")


class GradNorm(WeightingSection):
    """GradNorm (Chen et al., ICML 2018): learnt task weights that balance the norms of the
    weighted task gradients of the shared variables, pulled towards tasks that train slower."""

    kind: Literal["gradnorm"]
    alpha: float = Field(1.5, ge=0, le=10, description="Asymmetry alpha: how strongly slow tasks are favoured (the paper's 1.5 for NYUv2).")
    learning_rate: float = Field(0.025, gt=0, le=10, description="Step size of the weights' own gradient descent.")


class PCGrad(WeightingSection):
    """Projecting conflicting gradients (Yu et al., NeurIPS 2020): each task's gradient loses its
    component along any other task's gradient it conflicts with (negative dot product), in
    random order; the shared update is the sum."""

    kind: Literal["pcgrad"]


class MGDA(WeightingSection):
    """MGDA (Sener & Koltun, NeurIPS 2018): the minimum-norm convex combination of the task
    gradients of the shared parameters (Frank-Wolfe), a common descent direction for every task
    (not the -UB variant, which uses gradients of the shared representation)."""

    kind: Literal["mgda"]
    normalization: Literal["none", "l2", "loss", "loss+"] = Field(
        "none",
        description="Scale each task gradient first: none, l2 (unit norm), loss (divide by the loss), loss+ (by loss times norm).",
    )
    iterations: int = Field(25, ge=1, le=1000, description="Frank-Wolfe iterations.")


SECTIONS = [Equal, Static, Uncertainty, DWA, GradNorm, PCGrad, MGDA]
