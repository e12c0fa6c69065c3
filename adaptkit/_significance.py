"""Is a difference more than noise? Paired tests over test examples (one seed) or over seeds.

One seed: the per-example difference of a metric that is a mean over examples
(accuracy: correct or not; MAE, MSE: the error) is resampled with a paired
bootstrap, and its 95% interval decides; classifiers also get McNemar's exact
test on the examples the two models disagree on (Dietterich 1998).
Several seeds: the per-seed differences of the test metric (both models on the
same split) give a paired t interval and test. A difference whose interval
covers zero is ``inconclusive``.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import numpy as np

__all__ = ["per_example", "paired_bootstrap", "mcnemar", "paired_over_seeds", "decide", "describe", "summarize_values", "ALPHA"]

ALPHA = 0.05
RESAMPLES = 10_000


def per_example(metric: str, y: np.ndarray, p: np.ndarray, num_classes: Optional[int]) -> Optional[np.ndarray]:
    """The per-example values whose mean is ``metric`` (None when it is not such a mean)."""
    name = metric.rsplit("/", 1)[-1]
    if num_classes is not None and name == "accuracy":
        from ._predictions import predicted_classes

        return (predicted_classes(p) == np.asarray(y).astype(int).reshape(-1)).astype("float64")
    if num_classes is None and name in ("mae", "mse"):
        error = np.asarray(p, dtype="float64").reshape(np.shape(y)) - np.asarray(y, dtype="float64")
        error = error.reshape(len(error), -1)
        return np.abs(error).mean(-1) if name == "mae" else (error**2).mean(-1)
    return None


def paired_bootstrap(a: np.ndarray, b: np.ndarray, seed: int = 0, resamples: int = RESAMPLES) -> dict[str, float]:
    """Mean of ``a - b`` and its percentile 95% interval over paired resamples of the examples."""
    d = np.asarray(a, dtype="float64") - np.asarray(b, dtype="float64")
    n = len(d)
    rng = np.random.default_rng(seed)
    means = np.empty(resamples)
    for start in range(0, resamples, 1000):  # bounded memory: 1000 resamples at a time
        k = min(1000, resamples - start)
        means[start : start + k] = d[rng.integers(0, n, size=(k, n))].mean(axis=1)
    lo, hi = np.quantile(means, [ALPHA / 2, 1 - ALPHA / 2])
    return {"difference": float(d.mean()), "ci_low": float(lo), "ci_high": float(hi), "n": int(n)}


def mcnemar(correct_a: np.ndarray, correct_b: np.ndarray) -> dict[str, float]:
    """McNemar's exact (binomial) test on the examples exactly one of the two models gets right."""
    from scipy.stats import binomtest

    a, b = np.asarray(correct_a, bool), np.asarray(correct_b, bool)
    only_a, only_b = int(np.sum(a & ~b)), int(np.sum(~a & b))
    p = 1.0 if only_a + only_b == 0 else float(binomtest(only_a, only_a + only_b, 0.5).pvalue)
    return {"only_transfer_right": only_a, "only_baseline_right": only_b, "p_value": p}


def summarize_values(values: list[float]) -> dict[str, Any]:
    """Mean, sd and the 95% t interval of the mean (sd and interval need two values)."""
    v = np.asarray(values, dtype="float64")
    out: dict[str, Any] = {"mean": float(v.mean()), "n": int(len(v))}
    if len(v) > 1:
        from scipy import stats

        sd = float(v.std(ddof=1))
        half = float(stats.t.ppf(1 - ALPHA / 2, len(v) - 1)) * sd / math.sqrt(len(v))
        out.update(sd=sd, ci_low=out["mean"] - half, ci_high=out["mean"] + half)
    return out


def paired_over_seeds(a: list[float], b: list[float]) -> dict[str, Any]:
    """Paired t interval (95%) and test of the per-seed differences ``a - b``."""
    from scipy import stats

    d = np.asarray(a, dtype="float64") - np.asarray(b, dtype="float64")
    n = len(d)
    mean = float(d.mean())
    if n < 2:
        return {"difference": mean, "ci_low": None, "ci_high": None, "p_value": None, "n": n}
    sd = float(d.std(ddof=1))
    half = float(stats.t.ppf(1 - ALPHA / 2, n - 1)) * sd / math.sqrt(n)
    p = 1.0 if sd == 0 and mean == 0 else (0.0 if sd == 0 else float(stats.ttest_rel(a, b).pvalue))
    return {"difference": mean, "sd": sd, "ci_low": mean - half, "ci_high": mean + half, "p_value": p, "n": n}


def decide(test: dict[str, Any], higher_is_better: bool) -> str:
    """``better``, ``worse`` or ``inconclusive`` (the 95% interval of the difference covers zero)."""
    lo, hi = test.get("ci_low"), test.get("ci_high")
    if lo is None or hi is None:
        return "inconclusive"
    if lo > 0 or hi < 0:
        gain = test["difference"] > 0
        return "better" if gain == higher_is_better else "worse"
    return "inconclusive"


def describe(test: dict[str, Any]) -> str:
    """``+0.012 [−0.004, +0.027]`` for messages."""
    if test.get("ci_low") is None:
        return f"{test['difference']:+.4g}"
    return f"{test['difference']:+.4g} [{test['ci_low']:+.4g}, {test['ci_high']:+.4g}]"
