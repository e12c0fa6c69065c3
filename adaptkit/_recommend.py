"""The plain recommendation that ends ``adaptkit rank``: which source, which strategy, and the evidence.

The source is the best by the primary score; where the other scores put another
candidate first, it says so. The strategy starts from the data-size rule the
field uses (labeled examples per class: few -> freeze the source and train a new
head; more -> also unfreeze the top blocks at a lower rate; many -> fine-tune
everything at a low rate), with adaptkit's thresholds :data:`FEW` and
:data:`MANY`, then is checked against the measured numbers: when the best
source's linear probe barely beats a randomly initialised candidate's, its
frozen features carry little for this task and the advice moves one step
towards fine-tuning -- only when the probe's gain is below :data:`WEAK_GAIN`
beyond its noise on the examples scored (:func:`gain_margin`); a gain within
noise leaves the rule as it is. No TensorFlow here.

Sources of the rule: the CS231n notes on transfer learning (a linear classifier
on the features for a small dataset, fine-tuning through the network for a large
one); Yosinski et al. 2014 (lower layers are general, the top ones specific to the
source task: unfreeze from the top); Kornblith et al. 2019 (fine-tuning beats
fixed features, the more so the more data); the Keras transfer-learning guide
(freeze, train the head, then unfreeze at a very low rate).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["FEW", "MANY", "STRATEGIES", "WEAK_GAIN", "Recommendation", "gain_margin", "recommend", "size_level"]

FEW = 100
"""Below this many labeled examples per class (the rarest class): freeze the source, train a head."""
MANY = 1000
"""From this many per class on: fine-tune the whole model at a low rate."""

STRATEGIES = (
    ("feature extraction", "freeze the source and train a new head (surgery: [{kind: freeze}], one stage)"),
    ("fine-tune the top", "train the head on the frozen source, then unfreeze the top blocks at a ~10x lower rate (a second stage with {kind: unfreeze, last_blocks: 2})"),
    ("fine-tune everything", "train the head first, then unfreeze every layer at a low rate (1e-5..1e-4) with a warm-up schedule"),
)
WEAK_GAIN = 0.02
"""A linear-probe gain over random initialisation below this: the frozen features carry little."""


def gain_margin(a: float, b: float, n: int) -> float:
    """Half-width of a 95% interval on the difference of two accuracies ``a - b``, each measured on
    the same ``n`` examples, treated as independent binomials (conservative: the folds are shared,
    so the paired difference varies less)."""
    n = max(int(n), 1)
    return 1.96 * math.sqrt((a * (1 - a) + b * (1 - b)) / n)


@dataclass
class Recommendation:
    candidate: Optional[str]
    strategy: str
    how: str
    evidence: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"candidate": self.candidate, "strategy": self.strategy, "how": self.how, "evidence": self.evidence}


def _best(rows: list, kind: str) -> Optional[Any]:
    scored = [r for r in rows if r.value(kind) is not None]
    if not scored:
        return None
    up = scored[0].scores[kind].higher_is_better
    return max(scored, key=lambda r: r.value(kind) if up else -r.value(kind))


def _agreement(rows: list, kinds: list[str], primary: str, best: Any) -> list[str]:
    tops = {kind: _best(rows, kind) for kind in kinds}
    tops = {k: r.name for k, r in tops.items() if r is not None}
    scored = {k: sum(r.value(k) is not None for r in rows) for k in tops}

    def named(k: str) -> str:  # a score only some candidates have (LEEP) says over how many
        return k if scored[k] == len(rows) else f"{k} (over the {scored[k]} candidates it applies to)"

    agree = [named(k) for k, name in tops.items() if name == best.name]
    other = {named(k): name for k, name in tops.items() if name != best.name}
    lines = [f"{best.name} is first by {', '.join(agree)}" + (" (every score agrees)" if not other else "")]
    if other:
        lines.append("the scores disagree: " + "; ".join(f"{k} puts {name} first" for k, name in other.items()))
    return lines


def size_level(per_class: float) -> int:
    """The data-size rule's strategy (an index into :data:`STRATEGIES`) for this many labeled examples per class."""
    return 0 if per_class < FEW else (1 if per_class < MANY else 2)


def _size_rule(per_class: dict[str, int], examples: int) -> tuple[int, str]:
    if per_class:
        n = min(per_class.values())
        what = f"{n} labeled examples in the rarest class ({', '.join(f'{k}: {v}' for k, v in per_class.items())})"
    else:
        n = examples
        what = f"{n} labeled examples (a regression: counted in all)"
    level = size_level(n)
    bounds = [f"under {FEW} per class", f"{FEW} to {MANY - 1} per class", f"{MANY} or more per class"][level]
    return level, f"data-size rule: {what}, {bounds} -> {STRATEGIES[level][0]}"


def _probe_check(rows: list, best: Any, level: int, examples: int) -> tuple[int, list[str]]:
    """The rule checked against the measured probe: pretrained vs random-init features, with the
    noise of accuracies on ``examples`` examples."""
    kind = "linear_probe" if best.value("linear_probe") is not None else ("knn" if best.value("knn") is not None else None)
    if kind is None:
        return level, []
    lines = []
    random = [r for r in rows if r.pretrained is False and r.value(kind) is not None]
    if random and best.pretrained is not False:
        reference = max(random, key=lambda r: r.value(kind))
        ours, theirs = best.value(kind), reference.value(kind)
        gain, margin = ours - theirs, gain_margin(ours, theirs, examples)
        lines.append(f"measured: {best.name}'s {kind} {ours:.3f} vs {theirs:.3f} from random initialisation ({reference.name}): "
                     f"{gain:+.3f}, 95% interval [{gain - margin:+.3f}, {gain + margin:+.3f}] on {examples} examples")
        if gain + margin < WEAK_GAIN:
            how = "do no better than" if gain <= 0 else f"barely beat (< {WEAK_GAIN:+.2f})"
            if level < 2:
                lines.append(f"the frozen features {how} random ones, beyond noise: the features need to adapt, so one step more fine-tuning")
                level += 1
            else:
                lines.append(f"the frozen features {how} random ones, beyond noise: the rule already fine-tunes everything")
        elif gain - margin > 0:
            lines.append("the frozen features carry the task better than random ones: the rule stands")
        else:
            lines.append(f"the gain over random features is within noise on {examples} examples: it does not move the rule")
    knn = best.value("knn")
    probe = best.value("linear_probe")
    if knn is not None and probe is not None:
        lines.append(f"measured: {best.name}'s linear probe {probe:.3f} vs kNN {knn:.3f}"
                     + (": the classes are separable but not clustered, a trained head is needed" if probe - knn > gain_margin(probe, knn, examples)
                        else ": a linear head adds little over the features' nearest neighbours (within noise)"))
    return level, lines


def recommend(rows: list, kinds: list[str], primary: str, per_class: dict[str, int], examples: int) -> Recommendation:
    """The source the primary score prefers and the strategy the data size (checked) suggests."""
    best = _best(rows, primary)
    level, rule = _size_rule(per_class, examples)
    if best is None:
        return Recommendation(None, STRATEGIES[level][0], STRATEGIES[level][1], [f"no candidate has a {primary} value", rule])
    evidence = _agreement(rows, kinds, primary, best) + [rule]
    if best.pretrained is False:
        evidence.append(f"{best.name} is randomly initialised: no source transfers better than random features by {primary}; consider training from scratch")
    level, checks = _probe_check(rows, best, level, examples)
    evidence += checks
    return Recommendation(best.name, STRATEGIES[level][0], STRATEGIES[level][1], evidence)
