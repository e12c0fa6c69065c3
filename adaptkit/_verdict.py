"""The transfer verdict with a noise margin: one seed (paired over test examples) or several (over seeds).

``judge_one_seed`` adds to the curve comparison of :func:`compare_transfer`
a paired test of the test headline (transfer vs from scratch, the same test
examples) and the warnings that make a verdict meaningless: a source without
pretrained weights, a model or baseline that predicts a single class.
``judge_over_seeds`` decides start, slope and asymptote from the per-seed
values of repeated runs (the same split). A verdict is ``positive transfer``,
``negative transfer`` or ``inconclusive``.
"""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from ._predictions import Predictions, predicted_classes
from ._verdict_words import UNLEARNED_BASELINE
from ._significance import decide, describe, mcnemar, paired_bootstrap, paired_over_seeds, per_example, summarize_values

__all__ = [
    "paired_test",
    "judge_one_seed",
    "judge_adaptation",
    "judge_over_seeds",
    "judge_adaptation_over_seeds",
    "verdict_line",
    "source_warnings",
]

_DEAD_BASELINE = "baseline predicts one class"
_TUNE_BASELINE = "tune evaluation.baseline_optimizer / baseline_epochs"
_WORDS = {"better": "positive transfer", "worse": "negative transfer", "inconclusive": "inconclusive"}


def _split_of(key: str, task: Optional[str], sets: dict) -> tuple[Optional[str], Optional[str]]:
    """The split behind a metrics key ``<split>/[<task>/]<metric>`` (``None``: not there) and the output to read."""
    split = key.split("/", 1)[0]
    if task is not None and f"{split}@{task}" in sets:
        return f"{split}@{task}", task
    return (split if sets.get(split) is not None else None), task


def _one_class(p: np.ndarray) -> Optional[int]:
    classes = np.unique(predicted_classes(p))
    return int(classes[0]) if len(classes) == 1 else None


def source_warnings(spec: Any) -> list[str]:
    pretrained = spec.source.has_pretrained_weights()
    if pretrained is False:
        return [
            f"the source ({spec.source.kind}) has no pretrained weights: transfer vs from scratch compares "
            "two random initialisations, so the verdict says nothing about transfer"
        ]
    return []


def paired_test(
    key: str,
    task: Optional[str],
    info: Any,
    model: Any,
    other: Any,
    sets: dict,
    seed: int,
    names: tuple[str, str] = ("the transferred model", "the from-scratch baseline"),
    predictions: Optional[Predictions] = None,
) -> tuple[Optional[dict[str, Any]], list[str]]:
    """The paired test of ``model`` vs ``other`` on the examples behind ``key``, and one-class warnings.

    ``predictions``: the run's shared predictions (each split predicted once per model)."""
    warnings: list[str] = []
    predictions = predictions or Predictions(sets)
    split_name, output = _split_of(key, task, sets)
    if split_name is None:
        return None, warnings
    y, p_a = predictions.of(model, split_name)
    _, p_b = predictions.of(other, split_name)
    if output is not None:  # one task's output of a multi-task model (a one-task model gives it alone)
        y, p_a, p_b = (v[output] if isinstance(v, dict) else v for v in (y, p_a, p_b))
    num_classes = getattr(info, "num_classes", None)
    split = key.split("/", 1)[0].replace("_", " ")
    if num_classes is not None and len(y):
        for who, p in zip(names, (p_a, p_b)):
            k = _one_class(p)
            if k is not None:
                warnings.append(f"{who} predicts one class ({k}) on every {split} example: balanced accuracy is at chance")
    a, b = per_example(key, y, p_a, num_classes), per_example(key, y, p_b, num_classes)
    if a is None or not len(a):
        return None, warnings
    test = paired_bootstrap(a, b, seed=seed)
    test["method"] = f"paired bootstrap over the {len(a)} {split} examples ({10_000} resamples), 95% interval"
    if num_classes is not None:
        test["mcnemar"] = mcnemar(a, b)
    return test, warnings


def _no_test(key: str) -> dict[str, str]:
    return {"method": f"none: {key.rsplit('/', 1)[-1]} is not a mean over examples; run several seeds (--seeds N)"}


def judge_one_seed(
    curves: dict[str, Any],
    key: str,
    higher: bool,
    task: Optional[str],
    info: Any,
    model: Any,
    baseline: Any,
    sets: dict,
    seed: int,
    predictions: Optional[Predictions] = None,
) -> dict[str, Any]:
    """``curves`` (from compare_transfer) plus the paired test of the test headline and warnings.

    ``predictions``: the run's shared predictions (each split predicted once per model)."""
    out = dict(curves)
    warnings: list[str] = list(out.pop("warnings", []))
    test, more = paired_test(key, task, info, model, baseline, sets, seed, predictions=predictions)
    warnings += more
    out["test"] = test if test is not None else _no_test(key)
    decision = "inconclusive" if test is None else decide(test, higher)
    if any(_DEAD_BASELINE in w for w in warnings) and decision == "better":
        decision = "inconclusive"  # better than a model that learned nothing says nothing
        warnings.append(f"{UNLEARNED_BASELINE}: {_TUNE_BASELINE}")
    out["higher_asymptote"] = decision == "better"
    out["negative_transfer"] = decision == "worse"
    out["verdict"] = _WORDS[decision]
    out["higher_is_better"] = higher
    if warnings:
        out["warnings"] = warnings
    return out


_ADAPTATION = {"better": "adaptation helps", "worse": "adaptation hurts", "inconclusive": "inconclusive"}


def judge_adaptation(key: str, higher: bool, adapted: Any, source_only: Any, sets: dict, seed: int) -> dict[str, Any]:
    """Adapted vs source-only on the same labeled target examples (``key``: ``target_test/<metric>``)."""
    test, warnings = paired_test(
        key, None, adapted.task, adapted.model, source_only.model, sets, seed, ("the adapted model", "the source-only model")
    )
    decision = "inconclusive" if test is None else decide(test, higher)
    out: dict[str, Any] = {"test": test if test is not None else _no_test(key), "verdict": _ADAPTATION[decision]}
    out["higher_is_better"] = higher
    if warnings:
        out["warnings"] = warnings
    return out


def judge_over_seeds(per_seed: list[dict[str, Any]], higher: bool, warnings: list[str]) -> dict[str, Any]:
    """Start, slope and asymptote, each paired over seeds (t interval, 95%)."""
    out: dict[str, Any] = {
        "seeds": len(per_seed),
        "method": f"paired t test over {len(per_seed)} seeds, 95% interval",
        "verdict": "inconclusive",
    }
    for what, t_key, b_key, flag in (
        ("start", "start_transfer", "start_baseline", "higher_start"),
        ("slope", "slope_transfer", "slope_baseline", "steeper_slope"),
        ("asymptote", "asymptote_transfer", "asymptote_baseline", "higher_asymptote"),
    ):
        pairs = [(v[t_key], v[b_key]) for v in per_seed if v.get(t_key) is not None and v.get(b_key) is not None]
        if len(pairs) < len(per_seed) or not pairs:
            continue
        test = paired_over_seeds([a for a, _ in pairs], [b for _, b in pairs])
        out[what] = test
        out[flag] = decide(test, higher) == "better"
        if what == "asymptote":
            decision = decide(test, higher)
            out["negative_transfer"] = decision == "worse"
            out["verdict"] = _WORDS[decision]
    seen = sorted({w for v in per_seed for w in v.get("warnings", [])} | set(warnings))
    if out["verdict"] == _WORDS["better"] and any(_DEAD_BASELINE in w for w in seen):
        out["verdict"] = "inconclusive"  # as for one seed: better than a model that learned nothing says nothing
        out["higher_asymptote"] = False
        seen.append(f"{UNLEARNED_BASELINE} in some seeds: {_TUNE_BASELINE}")
    if seen:
        out["warnings"] = seen
    return out


def judge_adaptation_over_seeds(per_seed: list[dict[str, Any]]) -> Optional[dict[str, Any]]:
    """Adapted vs source-only on the target test metric, paired over seeds (``None``: a seed lacks either value)."""
    pairs = [(v.get("adapted"), v.get("source_only")) for v in per_seed]
    if not pairs or any(not isinstance(a, (int, float)) or not isinstance(b, (int, float)) for a, b in pairs):
        return None
    higher = bool(per_seed[0].get("higher_is_better", True))
    test = paired_over_seeds([a for a, _ in pairs], [b for _, b in pairs])
    test["method"] = f"paired t test over {len(pairs)} seeds, 95% interval"
    out: dict[str, Any] = {
        "metric": per_seed[0].get("metric"),
        "adapted": summarize_values([a for a, _ in pairs]),
        "source_only": summarize_values([b for _, b in pairs]),
        "test": test,
        "verdict": _ADAPTATION[decide(test, higher)],
        "higher_is_better": higher,
    }
    seen = sorted({w for v in per_seed for w in v.get("warnings", [])})
    if seen:
        out["warnings"] = seen
    return out


def verdict_line(transfer: dict[str, Any]) -> str:
    """One line for people: the verdict, the difference with its interval, and how it was decided."""
    if "no_verdict" in transfer:
        return f"no verdict: {transfer['no_verdict']}"
    verdict = transfer.get("verdict", "inconclusive")
    test = transfer.get("asymptote") or transfer.get("test") or {}
    if "difference" in test:
        return f"{verdict}: test {transfer.get('metric', '')} difference {describe(test)} ({test.get('method') or transfer.get('method')})"
    return f"{verdict} ({test.get('method', 'no test')})"
