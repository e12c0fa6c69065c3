"""Health signals of adaptation stages: a flipped or collapsed domain classifier, target predictions far
from the estimated prior, a term whose gradient reaches nothing; and silence on a healthy run."""

from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from adaptkit import LossComposition, LossTerm
from adaptkit._health import em_prior
from adaptkit.testing import dummy_parts, make_moons, moons_spec, run_spec


def _signals(run):
    return [(h["signal"], h["term"]) for h in run.result["health"]]


def test_a_term_whose_gradient_reaches_nothing_is_found_as_the_step_is_traced():
    from adaptkit._training import Trainer

    parts = dummy_parts(input_shape=(4,), num_classes=3)
    reaches = LossTerm("entropy", lambda b: -keras.ops.mean(keras.ops.sum(b.outputs_target * keras.ops.log(b.outputs_target + 1e-6), 1)))
    nothing = LossTerm("input_mean", lambda b: keras.ops.mean(b.x_target))  # depends on no variable
    trainer = Trainer(parts, [LossComposition(terms=[reaches, nothing])], two_stream=True, total_steps=4)
    trainer.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    src = tf.data.Dataset.from_tensor_slices((rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 3, 64)))
    tgt = tf.data.Dataset.from_tensor_slices(rng.normal(size=(64, 4)).astype("float32"))
    trainer.fit(tf.data.Dataset.zip((src.batch(16), tgt.batch(16))), epochs=1, verbose=0)
    assert trainer.unreached_terms == {"input_mean"}


def test_em_recovers_the_prior_of_calibrated_predictions():
    rng = np.random.default_rng(0)
    y = rng.choice(2, 5000, p=[0.8, 0.2])
    x = rng.normal(np.where(y == 1, 1.5, -1.5), 1.0)
    p1 = 1 / (1 + np.exp(-3 * x))  # the Bayes posterior under a uniform prior
    q = em_prior(np.stack([1 - p1, p1], 1), np.array([0.5, 0.5]))
    assert q == pytest.approx([0.8, 0.2], abs=0.02)


def _dann(weight, schedule="ganin", epochs=10):
    return [{"name": "source", "epochs": 6, "optimizer": {"learning_rate": 0.01}},
            {"name": "dann", "epochs": epochs, "optimizer": {"learning_rate": 0.003},
             "losses": [{"kind": "dann", "weight": weight, "schedule": schedule}]}]


def test_a_healthy_dann_run_raises_no_signal(tmp_path, adaptkit_moons):
    run = run_spec(tmp_path, moons_spec(adaptkit_moons, _dann(0.3, epochs=4)), name="healthy")
    assert run.result["health"] == []


PROBE_PLUGIN = """
    from typing import Literal
    import adaptkit

    class ProbeLoss(adaptkit.LossSection):
        needs_target = True
        kind: Literal["domain_probe"]
        mode: Literal["flipped", "collapsed"]

    @adaptkit.hookimpl
    def adaptkit_sections():
        return [ProbeLoss]

    @adaptkit.hookimpl
    def adaptkit_compose_loss(section, parts, context):
        import keras
        from keras import ops

        disc = adaptkit.dense_network(adaptkit.feature_dim(parts.encoder, None), [16], seed=0, name="probe_disc")

        def inputs(batch):
            f = ops.stop_gradient(ops.concatenate([batch.features_source, batch.features_target], 0))
            return ops.zeros_like(f) if section.mode == "collapsed" else f  # collapsed: it sees nothing

        def labels(batch):
            ns, nt = ops.shape(batch.features_source)[0], ops.shape(batch.features_target)[0]
            return ops.concatenate([ops.ones((ns, 1)), ops.zeros((nt, 1))], 0)

        def loss(batch):  # flipped: trained on swapped domain labels
            y = labels(batch)
            y = 1.0 - y if section.mode == "flipped" else y
            return ops.mean(ops.binary_crossentropy(y, disc(inputs(batch)), from_logits=True))

        def accuracy(batch):  # scored the right way round
            right = ops.cast(disc(inputs(batch)) > 0, "float32") == labels(batch)
            return ops.mean(ops.cast(right, "float32"))

        return adaptkit.LossComposition(terms=[adaptkit.LossTerm("probe_loss", loss)], modules=[disc],
                                        metrics={"probe_domain_accuracy": accuracy})
"""


@pytest.fixture
def probe_plugin(tmp_path, monkeypatch, adaptkit_host):
    from adaptkit._plugins import reset_host
    from adaptkit.testing import write_distribution

    monkeypatch.syspath_prepend(str(write_distribution(tmp_path / "site", "adaptkit_probe", PROBE_PLUGIN)))
    reset_host()
    yield
    reset_host()


@pytest.mark.parametrize("mode,signal", [("flipped", "domain_flipped"), ("collapsed", "domain_collapsed")])
def test_a_flipped_or_collapsed_domain_classifier_is_warned(tmp_path, adaptkit_moons, probe_plugin, mode, signal):
    stages = [{"name": "source", "epochs": 2, "optimizer": {"learning_rate": 0.01}},
              {"name": "probe", "epochs": 3, "optimizer": {"learning_rate": 0.01}, "losses": [{"kind": "domain_probe", "mode": mode}]}]
    spec = moons_spec(adaptkit_moons, stages)
    spec["training"]["health"] = {"flip_below": 0.42}  # on these 2-d moons the flipped classifier gets to ~0.37 in 3 epochs
    run = run_spec(tmp_path, spec, name=mode)
    assert (signal, "probe_domain_accuracy") in _signals(run), run.result["health"]
    found = next(h for h in run.result["health"] if h["signal"] == signal)
    assert found["stage"] == 2
    assert found["value"] < 0.42 if mode == "flipped" else abs(found["value"] - 0.5) <= 0.05
    assert ("domain_flipped" in {s for s, _ in _signals(run)}) == (mode == "flipped")


def test_target_predictions_pushed_from_the_estimated_prior_are_warned(tmp_path):
    xs, ys = make_moons(600, noise=0.3, random_state=0)  # classes that overlap: the boundary can move
    xt, yt = make_moons(2000, noise=0.3, random_state=11)
    keep = np.concatenate([np.flatnonzero(yt == 0)[:450], np.flatnonzero(yt == 1)[:50]])  # target 90% class 0
    np.savez(tmp_path / "source.npz", x=xs.astype("float32"), y=ys)
    np.savez(tmp_path / "source_test.npz", x=xs[:200].astype("float32"), y=ys[:200])
    np.savez(tmp_path / "target.npz", x=xt[keep].astype("float32"), y=yt[keep])
    # plain IM's diversity term pulls the target's mean prediction to 50/50
    stages = [{"name": "source", "epochs": 6, "optimizer": {"learning_rate": 0.01}},
              {"name": "im", "epochs": 6, "optimizer": {"learning_rate": 0.01},
               "losses": [{"kind": "information_maximization", "diversity": 5.0}]}]
    run = run_spec(tmp_path, moons_spec(tmp_path, stages), name="prior")
    assert ("prior_shift", None) in _signals(run), run.result["health"]
    assert next(h for h in run.result["health"] if h["signal"] == "prior_shift")["value"] > 0.2


@pytest.mark.parametrize("epochs,checks,expected", [(200, 10, list(range(20, 201, 20))), (7, 10, list(range(1, 8))), (25, 10, [3, 6, 9, 12, 15, 18, 21, 24, 25])])
def test_the_prior_is_checked_at_most_prior_checks_times_a_stage_and_at_its_last_epoch(epochs, checks, expected):
    from types import SimpleNamespace

    from adaptkit._health import HealthWatch
    from adaptkit._health_spec import HealthSpec

    run = SimpleNamespace(spec=SimpleNamespace(training=SimpleNamespace(health=HealthSpec(prior_checks=checks))), health=[])
    watch = HealthWatch(run, 0, "stage", [], None, epochs)
    assert [e for e in range(1, epochs + 1) if watch._checks_prior(e)] == expected


def test_an_em_estimate_run_to_a_corner_turns_the_prior_signal_off(monkeypatch):
    """After one epoch of DANN on the rotated moons (the benchmark's spec) EM's estimate was [1.0, 0.0] for a
    50/50 target, and the signal then warned on a healthy run; such an estimate is no finding."""
    from types import SimpleNamespace

    from adaptkit import _health
    from adaptkit._health_spec import HealthSpec

    run = SimpleNamespace(spec=SimpleNamespace(training=SimpleNamespace(health=HealthSpec())), health=[])
    watch = _health.HealthWatch(run, 0, "stage", [], {"target": [], "train": []}, 200)
    shares = {"target": (np.tile([[0.45, 0.55]], (100, 1)), None), "train": (None, np.repeat([0, 1], 50))}
    monkeypatch.setattr(watch, "_predict", lambda split: shares[split])
    monkeypatch.setattr(_health, "em_prior", lambda probs, source: np.array([0.999, 0.001]))
    watch.on_epoch_end(0, {})  # a first stage: the estimate after its first epoch
    assert watch.samples is None and watch.prior is not None
    watch.on_epoch_end(19, {})  # a check epoch: nothing is predicted, nothing warned
    assert run.health == []
    monkeypatch.setattr(_health, "em_prior", lambda probs, source: np.array([0.9, 0.1]))
    watch = _health.HealthWatch(run, 0, "stage", [], {"target": [], "train": []}, 200)
    monkeypatch.setattr(watch, "_predict", lambda split: shares[split])
    watch.on_epoch_end(0, {})
    watch.on_epoch_end(19, {})  # shares 0/1 by arg-max vs prior 0.9/0.1: total variation 0.9
    assert [h["signal"] for h in run.health] == ["prior_shift"]


def test_a_stage_stopped_early_is_checked_at_its_last_epoch(monkeypatch):
    from types import SimpleNamespace

    from adaptkit import _health
    from adaptkit._health_spec import HealthSpec

    run = SimpleNamespace(spec=SimpleNamespace(training=SimpleNamespace(health=HealthSpec())), health=[])
    watch = _health.HealthWatch(run, 0, "stage", [], {"target": [], "train": []}, 200)
    seen = []
    monkeypatch.setattr(watch, "_estimate", lambda: setattr(watch, "prior", np.array([0.5, 0.5])))
    monkeypatch.setattr(watch, "_check_prior", seen.append)
    for epoch in range(33):  # checks at 20; early stopping ends it after epoch 33
        watch.on_epoch_end(epoch, {})
    watch.on_train_end({})
    assert seen == [20, 33]
    seen.clear()
    for epoch in range(33, 40):  # (a stage that goes on and stops on a check epoch, 40)
        watch.on_epoch_end(epoch, {})
    watch.on_train_end({})
    assert seen == [40]  # checked once, by the schedule, not again at the end
