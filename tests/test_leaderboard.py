"""The sweep leaderboard's recommendation: the data-size rule's strategy checked against each strategy's best trial."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from adaptkit._leaderboard import recommend

KEY = "training.stages.1.surgery"
STRATEGIES = {"frozen": 1_000, "top-2": 50_000, "full": 900_000}  # trainable parameters in the last stage


def _rows(means: dict[str, float], half_width: float, train: int, classes: int = 2) -> list[dict]:
    rows = [
        {"trial": name, "overrides": {KEY: name}, "status": "ran", "metric": "test/accuracy", "seeds": 3,
         "value": {"mean": m, "sd": 0.01, "ci_low": m - half_width, "ci_high": m + half_width},
         "verdict": None, "trainable_parameters": STRATEGIES[name], "train_examples": train, "classes": classes}
        for name, m in means.items()
    ]
    rows.sort(key=lambda r: r["value"]["mean"], reverse=True)
    for rank, row in enumerate(rows, 1):
        row["rank"] = rank
    return rows


PLAN = SimpleNamespace(keys=[KEY], mode="max")


def _rule_line(rows: list[dict], plan=PLAN) -> str:
    (line,) = [l for l in recommend(rows, plan)["lines"] if l.startswith("data-size rule")]
    return line


def test_the_rule_holds_when_the_best_is_its_strategy():
    # 60 training examples per class: under 100 -> feature extraction; frozen is best
    line = _rule_line(_rows({"frozen": 0.8, "top-2": 0.7, "full": 0.6}, 0.02, train=120))
    assert "60 per class on average over 2 classes -> feature extraction" in line
    assert "the measured best is the rule's strategy" in line


def test_a_best_within_the_rules_interval_does_not_contradict_it():
    # 250 per class: fine-tune the top (the middle strategy); full is best by 0.01, intervals +-0.05
    line = _rule_line(_rows({"frozen": 0.6, "top-2": 0.79, "full": 0.8}, 0.05, train=500))
    assert "-> fine-tune the top" in line
    assert f"the rule's best trial ({KEY} = top-2: " in line and "overlap: not told apart, the rule is not contradicted" in line


def test_a_best_beyond_the_intervals_says_the_rule_is_wrong_here():
    line = _rule_line(_rows({"frozen": 0.9, "top-2": 0.7, "full": 0.6}, 0.02, train=2 * 2000))  # 2000 per class -> full
    assert "-> fine-tune everything" in line
    assert "clears that of the rule's best trial" in line and "on this data the rule does not hold (the best of 3 trials" in line


def test_a_lower_is_better_metric_picks_the_rules_best_trial_by_its_lowest_mean():
    rows = _rows({"frozen": 0.2, "top-2": 0.5, "full": 0.3}, 0.01, train=500)  # e.g. a loss: frozen is best
    rows.sort(key=lambda r: r["value"]["mean"])
    line = _rule_line(rows, SimpleNamespace(keys=[KEY], mode="min"))
    assert f"({KEY} = top-2: " in line and "clears" in line  # the only middle strategy, beaten beyond its interval


def test_no_rule_check_when_other_keys_change_the_model_or_the_data():
    rows = _rows({"frozen": 0.8, "top-2": 0.7, "full": 0.6}, 0.02, train=120)
    other = [dict(r, trial=r["trial"] + "-b", trainable_parameters=r["trainable_parameters"] * 3) for r in rows]  # another source
    assert "change the trained parameters of one strategy" in _rule_line(rows + other)
    assert "different numbers of examples" in _rule_line(rows[:2] + [dict(rows[2], train_examples=999)])


def test_no_middle_strategy_cannot_check_fine_tune_the_top():
    rows = [r for r in _rows({"frozen": 0.8, "top-2": 0.0, "full": 0.7}, 0.02, train=400) if r["trial"] != "top-2"]
    assert "cannot check the rule" in _rule_line(rows)


@pytest.mark.parametrize("classes", [None, 0])
def test_without_class_counts_no_rule_is_claimed(classes):
    lines = recommend(_rows({"frozen": 0.8, "full": 0.7}, 0.02, train=400, classes=classes), PLAN)["lines"]
    assert any(l.startswith("strategy (") for l in lines) and not any(l.startswith("data-size rule") for l in lines)


def test_an_inconclusive_verdict_says_when_the_baseline_did_not_learn():
    """A clear difference (+0.31 [+0.23, +0.39]) against a baseline stuck on one class is inconclusive; the
    leaderboard and `compare` say why rather than leave an interval above zero next to 'inconclusive'."""
    from adaptkit import _compare

    warning = "no verdict against a baseline that did not learn in some seeds: tune evaluation.baseline_optimizer / baseline_epochs"
    transfer = {"verdict": "inconclusive", "asymptote": {"difference": 0.3133, "ci_low": 0.2335, "ci_high": 0.3932}, "warnings": [warning]}
    text = _compare.verdict_text(_compare._verdicts(transfer))
    assert text == "inconclusive +0.3133 [+0.2335, +0.3932] (the from-scratch baseline did not learn)"
    negative = {**transfer, "verdict": "negative transfer"}  # other seeds' warnings do not explain a clear verdict
    assert _compare.verdict_text(_compare._verdicts(negative)) == "negative transfer +0.3133 [+0.2335, +0.3932]"
    assert _compare.verdict_text(_compare._verdicts({**transfer, "warnings": []})) == "inconclusive +0.3133 [+0.2335, +0.3932]"
