"""The core metrics' numbers, from one split's labels and predictions (numpy and scikit-learn; no TensorFlow)."""

from __future__ import annotations

import numpy as np

from adaptkit import Metric

from . import metric_sections as M

__all__ = ["build_metric"]


def _accuracy(section, y, p, task):
    return {"accuracy": float(np.mean(p.argmax(-1) == y))}


def _loss(section, y, p, task):
    return {"loss": float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1.0))))}


def _balanced(section, y, p, task):
    recalls = [float(np.mean(p[y == k].argmax(-1) == k)) for k in range(task.num_classes) if np.any(y == k)]
    return {"balanced_accuracy": float(np.mean(recalls))}


def _f1(section, y, p, task):
    from sklearn.metrics import f1_score

    value = f1_score(y, p.argmax(-1), labels=list(range(task.num_classes)), average=section.average, zero_division=0)
    return {f"f1_{section.average}": float(value)}


def _auc(section, y, p, task):
    """One-vs-rest AUC of each class present with examples of other classes too; their mean."""
    from sklearn.metrics import roc_auc_score

    if task.num_classes == 2:
        return {"auc": float(roc_auc_score(y, p[:, 1]))} if len(set(y.tolist())) == 2 else {}
    scores = [roc_auc_score(y == k, p[:, k]) for k in range(task.num_classes) if 0 < np.sum(y == k) < len(y)]
    return {"auc": float(np.mean(scores))} if scores else {}


def _top_k(section, y, p, task):
    top = np.argsort(-p, axis=-1, kind="stable")[:, : section.k]
    return {f"top_{section.k}_accuracy": float(np.mean(np.any(top == y[:, None], axis=-1)))}


def _mae(section, y, p, task):
    return {"mae": float(np.mean(np.abs(p - y)))}


def _mse(section, y, p, task):
    return {"mse": float(np.mean((p - y) ** 2))}


def _r2(section, y, p, task):
    from sklearn.metrics import r2_score

    return {"r2": float(r2_score(y.reshape(-1), p.reshape(-1)))}


_BUILDERS = {
    M.Accuracy: (_accuracy, lambda s: ["accuracy"]),
    M.Loss: (_loss, lambda s: ["loss"]),
    M.BalancedAccuracy: (_balanced, lambda s: ["balanced_accuracy"]),
    M.F1: (_f1, lambda s: [f"f1_{s.average}"]),
    M.AUC: (_auc, lambda s: ["auc"]),
    M.TopK: (_top_k, lambda s: [f"top_{s.k}_accuracy"]),
    M.MAE: (_mae, lambda s: ["mae"]),
    M.MSE: (_mse, lambda s: ["mse"]),
    M.R2: (_r2, lambda s: ["r2"]),
}


def build_metric(section) -> Metric:
    compute, names = _BUILDERS[type(section)]
    return Metric(names(section), lambda y, p, task: compute(section, y, p, task))
