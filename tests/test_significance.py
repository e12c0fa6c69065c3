"""The verdict's noise margin: paired bootstrap, McNemar, paired t over seeds, and the decision."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from adaptkit._significance import decide, mcnemar, paired_bootstrap, paired_over_seeds, per_example


def _pair(n: int, wrong_a: int, wrong_b: int, seed: int = 0):
    """Two models' correctness on n examples: a is right on all but wrong_a, b on all but wrong_b."""
    rng = np.random.default_rng(seed)
    a, b = np.ones(n), np.ones(n)
    a[rng.choice(n, wrong_a, replace=False)] = 0
    b[rng.choice(n, wrong_b, replace=False)] = 0
    return a, b


def test_a_difference_of_two_test_examples_in_359_is_inconclusive():
    # the case: 0.9471 vs 0.9526 test accuracy, one seed
    a, b = _pair(359, 19, 17)
    assert round(a.mean(), 4) == 0.9471 and round(b.mean(), 4) == 0.9526
    test = paired_bootstrap(a, b, seed=1)
    assert test["ci_low"] < 0 < test["ci_high"]
    assert decide(test, higher_is_better=True) == "inconclusive"
    assert mcnemar(a, b)["p_value"] > 0.05


def test_a_large_difference_is_decided_and_its_sign_respects_the_metric():
    a, b = _pair(400, 20, 120)
    test = paired_bootstrap(a, b, seed=1)
    assert test["ci_low"] > 0
    assert decide(test, higher_is_better=True) == "better"
    assert decide(test, higher_is_better=False) == "worse"  # e.g. an error metric that went up
    assert mcnemar(a, b)["p_value"] < 1e-6


def test_mcnemar_is_the_exact_binomial_test_on_discordant_examples():
    a = np.array([1] * 10 + [0] * 2 + [1] * 50, bool)
    b = np.array([0] * 10 + [1] * 2 + [1] * 50, bool)
    out = mcnemar(a, b)
    assert (out["only_transfer_right"], out["only_baseline_right"]) == (10, 2)
    assert out["p_value"] == pytest.approx(stats.binomtest(10, 12, 0.5).pvalue)
    assert mcnemar(a, a)["p_value"] == 1.0


def test_paired_over_seeds_is_the_paired_t_interval():
    a, b = [0.81, 0.84, 0.80, 0.86, 0.83], [0.78, 0.80, 0.79, 0.82, 0.80]
    out = paired_over_seeds(a, b)
    d = np.subtract(a, b)
    half = stats.t.ppf(0.975, 4) * d.std(ddof=1) / np.sqrt(5)
    assert out["difference"] == pytest.approx(d.mean())
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((d.mean() - half, d.mean() + half))
    assert out["p_value"] == pytest.approx(stats.ttest_rel(a, b).pvalue)
    assert decide(out, True) == "better"
    noisy = paired_over_seeds([0.81, 0.79, 0.84], [0.80, 0.82, 0.80])
    assert decide(noisy, True) == "inconclusive"
    assert decide(paired_over_seeds([0.8], [0.7]), True) == "inconclusive"  # one seed: no interval


def test_per_example_values_average_to_the_metric():
    y = np.array([0, 1, 2, 1])
    p = np.eye(3)[[0, 1, 1, 1]]
    assert per_example("test/accuracy", y, p, 3).mean() == pytest.approx(0.75)
    yr, pr = np.array([1.0, 2.0, 4.0]), np.array([[1.5], [2.0], [3.0]])
    assert per_example("test/mae", yr, pr, None).mean() == pytest.approx(0.5)
    assert per_example("test/mse", yr, pr, None).mean() == pytest.approx((0.25 + 1) / 3)
    assert per_example("test/balanced_accuracy", y, p, 3) is None  # not a mean over examples


def test_over_seeds_a_baseline_that_learned_nothing_gives_no_positive_verdict():
    from adaptkit._verdict import judge_over_seeds

    per_seed = [
        {"asymptote_transfer": 0.9 + 0.01 * k, "asymptote_baseline": 0.5, "warnings": []} for k in range(4)
    ]
    assert judge_over_seeds(per_seed, True, [])["verdict"] == "positive transfer"
    per_seed[2]["warnings"] = ["the from-scratch baseline predicts one class (0) on every test example: ..."]
    out = judge_over_seeds(per_seed, True, [])
    assert out["verdict"] == "inconclusive" and not out["higher_asymptote"]
    assert any("did not learn in some seeds" in w for w in out["warnings"])


def test_adaptation_over_seeds_is_paired_and_needs_every_seed():
    from adaptkit._verdict import judge_adaptation_over_seeds

    adapted, alone = [0.61, 0.64, 0.60, 0.66, 0.63], [0.52, 0.55, 0.50, 0.58, 0.54]
    per_seed = [
        {"metric": "target_test/accuracy", "adapted": a, "source_only": b, "higher_is_better": True}
        for a, b in zip(adapted, alone)
    ]
    out = judge_adaptation_over_seeds(per_seed)
    assert out["verdict"] == "adaptation helps"
    assert out["test"]["difference"] == pytest.approx(np.mean(np.subtract(adapted, alone)))
    assert out["test"]["p_value"] == pytest.approx(stats.ttest_rel(adapted, alone).pvalue)
    assert out["adapted"]["mean"] == pytest.approx(np.mean(adapted)) and out["source_only"]["n"] == 5
    # within noise: differences of both signs
    noisy = [dict(s, source_only=s["adapted"] + d) for s, d in zip(per_seed, [0.02, -0.03, 0.01, -0.02, 0.015])]
    assert judge_adaptation_over_seeds(noisy)["verdict"] == "inconclusive"
    # a seed without the comparison: no aggregate verdict rather than one over fewer seeds
    assert judge_adaptation_over_seeds(per_seed[:4] + [{}]) is None


def test_one_sigmoid_unit_is_judged_by_its_half_point():
    from adaptkit._diagnostics import confusion_matrix

    y = np.array([0, 1, 1, 0])
    sigmoid = np.array([[0.2], [0.9], [0.4], [0.7]])  # right, right, wrong, wrong
    assert per_example("test/accuracy", y, sigmoid, 2).tolist() == [1.0, 1.0, 0.0, 0.0]
    assert per_example("test/accuracy", y, np.array([[-2.0], [3.0], [-0.1], [0.5]]), 2).tolist() == [1, 1, 0, 0]
    assert confusion_matrix(y, sigmoid, 2) == [[1, 1], [1, 1]]
    softmax = np.array([[0.8, 0.2], [0.1, 0.9], [0.6, 0.4], [0.3, 0.7]])
    assert per_example("test/accuracy", y, softmax, 2).tolist() == [1.0, 1.0, 0.0, 0.0]
