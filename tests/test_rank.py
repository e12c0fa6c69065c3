"""adaptkit rank: each transferability score equals a reference computed here independently on a tiny fixed
problem, and `adaptkit rank` through the CLI puts a trained source above random initialisation on real digits."""

from __future__ import annotations

import json

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from scipy.optimize import minimize

import adaptkit
from adaptkit import ScoreData, TaskInfo, load_spec
from adaptkit.cli import main
from adaptkit_core import score_sections as S
from adaptkit_core import scores

RNG = np.random.default_rng(0)


def _problem(n=60, d=6, classes=3, seed=0):
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centers = rng.normal(size=(classes, d)) * 1.5
    f = centers[y] + rng.normal(size=(n, d))
    return f, y


def _log_evidence(f, t, alpha, beta):
    """log p(t | F, alpha, beta) of Bayesian linear regression, written out (Bishop 2006, eq. 3.86)."""
    n, d = f.shape
    a = alpha * np.eye(d) + beta * f.T @ f
    m = beta * np.linalg.solve(a, f.T @ t)
    e = beta / 2 * np.sum((t - f @ m) ** 2) + alpha / 2 * m @ m
    return d / 2 * np.log(alpha) + n / 2 * np.log(beta) - e - np.linalg.slogdet(a)[1] / 2 - n / 2 * np.log(2 * np.pi)


def _max_evidence(f, t):
    best = minimize(lambda p: -_log_evidence(f, t, np.exp(p[0]), np.exp(p[1])), x0=[0.0, 0.0], method="Nelder-Mead",
                    options={"xatol": 1e-10, "fatol": 1e-12, "maxiter": 20000})
    return -best.fun / len(f)


@pytest.mark.parametrize("n,d", [(60, 6), (20, 40)], ids=["more-examples", "more-features"])
def test_logme_is_the_maximised_evidence_per_example_averaged_over_one_vs_rest_targets(n, d):
    f, y = _problem(n, d)
    expected = np.mean([_max_evidence(f, (y == c).astype(float)) for c in range(3)])
    got = scores.logme(S.LogME(kind="logme"), ScoreData(f, y, TaskInfo(["a", "b", "c"])))
    assert got == pytest.approx(expected, abs=1e-5)


def test_logme_on_regression_targets_and_it_prefers_features_that_explain_them():
    f, _ = _problem(50, 4)
    t = np.stack([f @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * RNG.normal(size=50), RNG.normal(size=50)], axis=1)
    expected = np.mean([_max_evidence(f, t[:, j]) for j in range(2)])
    got = scores.logme(S.LogME(kind="logme"), ScoreData(f, t, TaskInfo(None, (2,))))
    assert got == pytest.approx(expected, abs=1e-5)
    noise = scores.logme(S.LogME(kind="logme"), ScoreData(RNG.normal(size=(50, 4)), t[:, 0], TaskInfo(None, ())))
    explained = scores.logme(S.LogME(kind="logme"), ScoreData(f, t[:, 0], TaskInfo(None, ())))
    assert explained > noise + 1.0


def test_leep_by_its_definition_with_loops():
    rng = np.random.default_rng(1)
    n, z, k = 30, 4, 3
    theta = rng.dirichlet(np.ones(z), size=n)
    y = rng.integers(0, k, size=n)
    joint = np.zeros((k, z))
    for i in range(n):
        for a in range(z):
            joint[y[i], a] += theta[i, a] / n
    expected = 0.0
    for i in range(n):
        expected += np.log(sum(joint[y[i], a] / joint[:, a].sum() * theta[i, a] for a in range(z))) / n
    data = ScoreData(np.zeros((n, 1)), y, TaskInfo(["a", "b", "c"]), theta)
    assert scores.leep(S.LEEP(kind="leep"), data) == pytest.approx(expected, abs=1e-12)
    logits = np.log(theta) + 3.0  # logits of the same probabilities give the same LEEP
    assert scores.leep(S.LEEP(kind="leep"), ScoreData(np.zeros((n, 1)), y, TaskInfo(["a", "b", "c"]), logits)) == pytest.approx(expected, abs=1e-9)


@pytest.mark.parametrize("shrinkage", [0.0, 0.3])
def test_h_score_is_the_trace_of_the_inverse_feature_covariance_times_the_class_mean_covariance(shrinkage):
    f, y = _problem(80, 5)
    mean = f.mean(axis=0)
    cov = sum(np.outer(r - mean, r - mean) for r in f) / len(f)
    cov = (1 - shrinkage) * cov + shrinkage * np.trace(cov) / 5 * np.eye(5)
    class_mean = {c: f[y == c].mean(axis=0) for c in set(y.tolist())}
    between = sum(np.outer(class_mean[c] - mean, class_mean[c] - mean) for c in y) / len(f)
    expected = np.trace(np.linalg.inv(cov) @ between)
    got = scores.h_score(S.HScore(kind="h_score", shrinkage=shrinkage), ScoreData(f, y, TaskInfo(["a", "b", "c"])))
    assert got == pytest.approx(expected, rel=1e-9)
    assert 0 < got < 2  # at most C - 1 = 2 for the plain score


def test_knn_accuracy_is_a_brute_force_vote_over_stratified_folds():
    from sklearn.model_selection import StratifiedKFold

    f, y = _problem(45, 3, seed=4)
    correct = []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=7).split(f, y):
        mu, sd = f[train].mean(0), f[train].std(0)
        a, b = (f[train] - mu) / sd, (f[test] - mu) / sd
        for row, label in zip(b, y[test]):
            nearest = np.argsort(((a - row) ** 2).sum(1), kind="stable")[:5]
            correct.append(np.bincount(y[train][nearest], minlength=3).argmax() == label)
    folds = [np.mean(c) for c in np.array_split(np.array(correct), 5)]  # equal folds of 9
    got = scores.knn(S.KNN(kind="knn"), ScoreData(f, y, TaskInfo(["a", "b", "c"]), seed=7))
    assert got == pytest.approx(np.mean(folds), abs=1e-12)


def test_the_linear_probe_is_a_logistic_regression_over_stratified_folds_on_standardised_features():
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold

    f, y = _problem(90, 4)
    task = TaskInfo(["a", "b", "c"])
    accuracies = []
    for train, test in StratifiedKFold(5, shuffle=True, random_state=0).split(f, y):
        mu, sd = f[train].mean(0), f[train].std(0)
        model = LogisticRegression(C=1.0, max_iter=1000).fit((f[train] - mu) / sd, y[train])
        accuracies.append(np.mean(model.predict((f[test] - mu) / sd) == y[test]))
    got = scores.linear_probe(S.LinearProbe(kind="linear_probe"), ScoreData(f, y, task))
    assert got == pytest.approx(np.mean(accuracies), abs=1e-12)
    assert 0.7 < got < 1.0
    shuffled = np.random.default_rng(3).permutation(y)
    assert scores.linear_probe(S.LinearProbe(kind="linear_probe"), ScoreData(f, shuffled, task)) < 0.6


# -- through the CLI ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained_source(adaptkit_digits, tmp_path_factory):
    """A small dense model trained on the digits (its hidden layer: the features; its softmax: the classes)."""
    import keras

    d = np.load(adaptkit_digits)
    x, y = d["x"].reshape(len(d["x"]), -1) * 0.0625, d["y"]
    keras.utils.set_random_seed(0)
    inputs = keras.Input((8, 8, 1))
    hidden = keras.layers.Dense(32, activation="relu", name="hidden")(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax", name="out")(hidden))
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(x.reshape(-1, 8, 8, 1), y, epochs=40, verbose=0)
    path = tmp_path_factory.mktemp("source") / "trained.keras"
    model.save(path)
    return path


def _rank_spec(digits, trained, **rank):
    return {
        "name": "rank", "seed": 0,
        "data": {"train": {"kind": "arrays", "path": str(digits), "scale": 0.0625}, "batch_size": 64, "test_split": 0.25},
        "source": {"kind": "mlp", "units": [32]},
        "head": {"kind": "classifier"},
        "training": {"stages": [{"epochs": 1}], "verbose": 0},
        "candidates": [
            {"name": "random", "source": {"kind": "mlp", "units": [32]}},
            {"name": "trained", "source": {"kind": "keras_file", "path": str(trained), "output_layer": "hidden"},
             "classifier": {"kind": "keras_file", "path": str(trained), "output_layer": "out"}},
        ],
        "rank": rank,
    }


def _write(tmp_path, spec):
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def test_rank_puts_the_trained_source_first_and_writes_every_score(adaptkit_digits, trained_source, tmp_path):
    path = _write(tmp_path, _rank_spec(adaptkit_digits, trained_source))
    out = CliRunner().invoke(main, ["rank", str(path), "--json", "--output", str(tmp_path / "out")])
    assert out.exit_code == 0, out.output
    document = json.loads(out.stdout[out.stdout.index("{"):])
    assert document == json.loads((tmp_path / "out" / "rank.json").read_text())
    first, second = document["candidates"]
    assert (first["name"], second["name"]) == ("trained", "random")
    assert document["primary"] == "logme" and document["examples"] == 240  # 400 - 25% test - 20% validation
    assert set(first["scores"]) == {"logme", "leep", "h_score", "linear_probe", "knn"}
    for kind in ("logme", "h_score", "linear_probe", "knn"):
        assert first["scores"][kind]["value"] > second["scores"][kind]["value"], kind
    assert first["scores"]["linear_probe"]["value"] > 0.85 and first["feature_dim"] == 32
    assert second["scores"]["leep"] == {"value": None, "seconds": 0.0, "higher_is_better": True, "note": "n/a (no source classifier)"}
    assert -np.log(10) < first["scores"]["leep"]["value"] < 0
    advice = document["recommendation"]
    assert advice["candidate"] == "trained" and advice["strategy"] == "feature extraction"  # 24 per class: few
    assert any("rarest class" in line for line in advice["evidence"])


def test_rank_prints_a_table_and_takes_source_overrides(adaptkit_digits, trained_source, tmp_path):
    path = _write(tmp_path, _rank_spec(adaptkit_digits, trained_source, scores=[{"kind": "linear_probe"}, {"kind": "knn", "k": 3}]))
    out = CliRunner().invoke(main, ["rank", str(path), "--source", "{kind: mlp, units: [8]}", "--source", "{name: wide, source: {kind: mlp, units: [64]}}"])
    assert out.exit_code == 0, out.output
    table = out.stdout
    assert "ranked by linear_probe" in table and "wide" in table and "mlp-0" in table and "│ trained" not in table
    assert "recommendation: start from" in table


@pytest.mark.parametrize(
    "change,where,message",
    [
        ({"rank": {"scores": [{"kind": "logmee"}]}}, "rank.scores.0", "unknown kind 'logmee'"),
        ({"candidates": None}, "candidates", "no candidates to rank"),
        ({"rank": {"scores": [{"kind": "knn"}], "primary": "logme"}}, "rank", "primary 'logme' is not one of the listed scores"),
        ({"candidates": [{"name": "a", "source": {"kind": "mlp"}}, {"name": "a", "source": {"kind": "mlp"}}]}, "candidates", "a is given twice"),
    ],
)
def test_bad_rank_input_is_one_line_naming_the_spec_path(adaptkit_digits, trained_source, tmp_path, change, where, message):
    spec = _rank_spec(adaptkit_digits, trained_source)
    spec.update(change)
    path = _write(tmp_path, spec)
    out = CliRunner().invoke(main, ["rank", str(path)])
    assert out.exit_code == 2
    errors = [line for line in out.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"{path}: {where}: " in errors[0] and message in errors[0], out.output
    assert "Traceback" not in out.output


def test_run_ignores_candidates_and_rank(adaptkit_digits, trained_source):
    spec = load_spec(_rank_spec(adaptkit_digits, trained_source))
    assert spec.source.kind == "mlp" and [c.name for c in spec.candidates] == ["random", "trained"]
    assert spec.rank.limit == 2000 and spec.rank.scores is None


def test_keras_file_resize_input_feeds_a_small_grayscale_model_larger_rgb_images(trained_source):
    """resize_input: 16x16 RGB in -> bilinear resize to 8x8 -> channel mean -> the saved 8x8x1 model."""
    import keras
    import tensorflow as tf

    from adaptkit import RunContext
    from adaptkit_core import models
    from adaptkit_core.sections import KerasFileSource

    section = KerasFileSource(kind="keras_file", path=str(trained_source), output_layer="hidden", resize_input=True)
    context = RunContext(seed=0, spec_dir=trained_source.parent, where="source")
    source = models.keras_file(section, (16, 16, 3), context)
    x = np.random.default_rng(0).uniform(0, 1, size=(4, 16, 16, 3)).astype("float32")
    saved = keras.saving.load_model(trained_source)
    hidden = keras.Model(saved.inputs, saved.get_layer("hidden").output)
    expected = hidden(tf.image.resize(x, (8, 8), method="bilinear").numpy().mean(axis=-1, keepdims=True))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(source(x)), keras.ops.convert_to_numpy(expected), atol=1e-5)
    with pytest.raises(adaptkit.ModelError, match="takes inputs of shape"):
        models.keras_file(section.model_copy(update={"resize_input": False}), (16, 16, 3), context)


def _row(name, pretrained, **values):
    from adaptkit._scoring import CandidateRow, ScoreValue

    return CandidateRow(name, "candidates.0", 8, 0.0, pretrained, {k: ScoreValue(v) for k, v in values.items()})


@pytest.mark.parametrize("per_class,strategy", [(99, "feature extraction"), (100, "fine-tune the top"), (999, "fine-tune the top"), (1000, "fine-tune everything")])
def test_the_data_size_rule_goes_by_the_rarest_class(per_class, strategy):
    from adaptkit._recommend import recommend

    rows = [_row("a", True, logme=1.0, linear_probe=0.9), _row("r", False, logme=0.0, linear_probe=0.6)]
    advice = recommend(rows, ["logme", "linear_probe"], "logme", {"x": per_class, "y": 5000}, per_class + 5000)
    assert (advice.candidate, advice.strategy) == ("a", strategy)
    assert any("+0.300" in line and "the rule stands" not in line for line in advice.evidence)


def test_features_no_better_than_random_move_the_advice_towards_fine_tuning_and_disagreement_is_said():
    from adaptkit._recommend import recommend

    rows = [_row("a", True, logme=1.0, knn=0.5, linear_probe=0.61), _row("b", True, logme=0.5, knn=0.7, linear_probe=0.6),
            _row("r", False, logme=0.0, knn=0.4, linear_probe=0.6)]
    # 50 in the rarest class of 40,050 examples: a +0.01 probe gain is measured to within +-0.007
    advice = recommend(rows, ["logme", "knn", "linear_probe"], "logme", {"x": 50, "y": 40000}, 40050)
    assert (advice.candidate, advice.strategy) == ("a", "fine-tune the top")  # 50 per class: freeze, then one step up
    assert "the scores disagree: knn puts b first" in advice.evidence
    assert any("barely beat (< +0.02) random ones, beyond noise" in line for line in advice.evidence)
    assert any("separable but not clustered" in line for line in advice.evidence)  # 0.61 vs 0.5 on 40,050


def test_a_clear_loss_to_random_features_at_the_top_level_is_said_as_such():
    from adaptkit._recommend import recommend

    rows = [_row("a", True, logme=1.0, linear_probe=0.6), _row("r", False, logme=0.0, linear_probe=0.9)]
    advice = recommend(rows, ["logme", "linear_probe"], "logme", {"x": 5000, "y": 5000}, 10000)
    assert advice.strategy == "fine-tune everything"
    assert any("do no better than random ones, beyond noise: the rule already fine-tunes everything" in l for l in advice.evidence)
    assert not any("within noise" in l for l in advice.evidence)


def test_a_probe_gain_within_noise_leaves_the_data_size_rule_alone():
    """As on ELPV (255 cells): the best source's probe 0.639 vs random features' 0.667 is -0.028 but
    within the noise of 255 examples (+-0.083), so the advice is the rule's, not one step more."""
    from adaptkit._recommend import gain_margin, recommend

    rows = [_row("vgg", True, logme=1.0, knn=0.627, linear_probe=0.639), _row("r", False, logme=0.0, knn=0.635, linear_probe=0.667)]
    advice = recommend(rows, ["logme", "knn", "linear_probe"], "logme", {"defective": 125, "functional": 130}, 255)
    assert advice.strategy == "fine-tune the top"
    margin = 1.96 * np.sqrt((0.639 * 0.361 + 0.667 * 0.333) / 255)
    assert gain_margin(0.639, 0.667, 255) == pytest.approx(margin)
    assert any(f"-0.028, 95% interval [{-0.028 - margin:+.3f}, {-0.028 + margin:+.3f}] on 255 examples" in line for line in advice.evidence)
    assert any("within noise on 255 examples: it does not move the rule" in line for line in advice.evidence)
    assert any("adds little over the features' nearest neighbours (within noise)" in line for line in advice.evidence)


def test_rank_refuses_bad_input_before_loading_tensorflow(adaptkit_digits, tmp_path, fresh_cli):
    spec = _rank_spec(adaptkit_digits, tmp_path / "absent.keras")
    spec["candidates"] = None
    path = _write(tmp_path, spec)
    out = fresh_cli(["rank", str(path), "--json"])
    assert "EXIT 2" in out.stdout and "HEAVY []" in out.stdout, out.stdout + out.stderr
    assert "candidates: no candidates to rank" in out.stderr
