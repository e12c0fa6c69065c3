"""Health signals of adaptation stages: warnings when a domain classifier collapses or flips, when the
target's predictions drift far from its estimated class prior, and when a loss term's gradient
reaches no trainable variable (found by :func:`adaptkit._reach.unreached_terms` in the step).

Technique-neutral: the host reads what compositions log (any per-step metric named
``*_domain_accuracy`` is a domain classifier's accuracy on the pooled batch), the model's own
predictions, and the training step's gradients. Each warning goes to the log (console and
run.log) and to ``RunState.health``, which metrics.json writes as ``health``: a list of
``{stage, epoch, signal, term, value, message}``. Imports TensorFlow (a Keras callback).
"""

from __future__ import annotations

import logging
from typing import Any, Optional

import keras
import numpy as np

from ._selection import _adapted, _probabilities, fixed_sample
from ._state import RunState

__all__ = ["HealthWatch", "health_callbacks", "em_prior", "DOMAIN_ACCURACY"]

log = logging.getLogger("adaptkit")

DEGENERATE = 0.1
"""An EM prior estimate with a class below this share of a uniform prior (0.05 of two classes, 0.01 of ten) is
taken as EM running to a corner on a model not yet calibrated on the target, not as a finding. The price:
a target that truly lacks a class (partial domain adaptation) gets no prior signal either."""

DOMAIN_ACCURACY = "_domain_accuracy"
"""The suffix of a logged metric that is a domain classifier's accuracy (``dann_domain_accuracy``, ...)."""


def em_prior(probs: np.ndarray, source_prior: np.ndarray, iterations: int = 200) -> np.ndarray:
    """Saerens et al. (2002): the class prior of the examples behind ``probs`` (predicted under ``source_prior``)."""
    p = np.asarray(probs, "float64")
    base = np.maximum(np.asarray(source_prior, "float64"), 1e-8)
    q = base.copy()
    for _ in range(iterations):
        adjusted = p * (q / base)
        adjusted /= np.maximum(adjusted.sum(axis=1, keepdims=True), 1e-12)
        q = adjusted.mean(axis=0)
    return q


class HealthWatch(keras.callbacks.Callback):
    """Watches one stage; records each signal at most once per term (or once for the prior)."""

    def __init__(self, run: RunState, stage: int, name: str, compositions: list, samples: Optional[dict], epochs: int = 1) -> None:
        super().__init__()
        self.run, self.stage, self.name, self.compositions, self.samples = run, stage, name, compositions, samples
        self.spec = run.spec.training.health
        self.accuracies: dict[str, list[float]] = {}
        self.warned: set = set()
        self.prior: Optional[np.ndarray] = None
        self.epochs = max(1, int(epochs))
        self.every = -(-self.epochs // self.spec.prior_checks)  # ceil: at most prior_checks checks a stage
        self.batches: dict[str, list] = {}  # the fixed samples, read once (not a tf.data pass per check)
        self.ended = (0, True)  # the last epoch run, and whether the prior was looked at after it

    def _checks_prior(self, epoch: int) -> bool:
        """Whether the prior is checked after ``epoch`` (1-based) of the stage's ``epochs``."""
        return epoch % self.every == 0 or epoch >= self.epochs

    def _warn(self, signal: str, epoch: int, term: Optional[str], value: Optional[float], message: str) -> None:
        if (signal, term) in self.warned:
            return
        self.warned.add((signal, term))
        text = f"{self.name} epoch {epoch}: {message}"
        log.warning("health: %s", text)
        self.run.health.append({"stage": self.stage + 1, "epoch": epoch, "signal": signal, "term": term,
                                "value": None if value is None else round(float(value), 4), "message": text})

    # -- the prior signal ------------------------------------------------
    def _predict(self, split: str) -> tuple[np.ndarray, Optional[np.ndarray]]:
        encoder, classifier = _adapted(self.run, self.compositions)
        probs, labels = [], []
        if split not in self.batches:
            self.batches[split] = list(self.samples[split])
        for element in self.batches[split]:
            x, y = element if isinstance(element, tuple) else (element, None)
            probs.append(_probabilities(keras.ops.convert_to_numpy(classifier(encoder(x, training=False), training=False))))
            if y is not None:
                labels.append(np.asarray(y).reshape(-1))
        return np.concatenate(probs), (np.concatenate(labels) if labels else None)

    def _estimate(self) -> None:
        probs, _ = self._predict("target")
        _, labels = self._predict("train")
        classes = probs.shape[1]
        source = np.bincount(labels.astype(int), minlength=classes)[:classes] / max(1, len(labels))
        self.prior = em_prior(probs, source)
        shown = np.round(self.prior, 3).tolist()
        if self.prior.min() < DEGENERATE / classes:  # EM ran to a corner: the model is too uncertain on the target to say
            log.info("health: %s: EM's target class prior %s puts a class near zero (the model is not yet calibrated on "
                     "the target): no prior signal in this stage", self.name, shown)
            self.samples = None
            return
        log.info("health: %s: estimated target class prior %s", self.name, shown)

    def _check_prior(self, epoch: int) -> None:
        probs, _ = self._predict("target")
        shares = np.bincount(probs.argmax(axis=1), minlength=probs.shape[1]) / len(probs)
        tv = 0.5 * float(np.abs(shares - self.prior).sum())
        if tv > self.spec.prior_shift:
            self._warn("prior_shift", epoch, None, tv,
                       f"the target's predicted class shares {np.round(shares, 3).tolist()} are {tv:.3f} (total variation) from "
                       f"its estimated prior {np.round(self.prior, 3).tolist()}: the alignment may be pushing the target to some classes")

    # -- Keras hooks -----------------------------------------------------------
    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        if self.samples is not None and self.stage > 0:
            self._estimate()  # from the model the earlier stages trained

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        logs = logs or {}
        for term in sorted(getattr(self.model, "unreached_terms", ())):
            self._warn("no_gradient", epoch + 1, term, None,
                       f"the gradient of {term} reaches no trainable variable of its player: the term trains nothing")
        for key, value in logs.items():
            if key.endswith(DOMAIN_ACCURACY) and not key.startswith("val_"):
                self.accuracies.setdefault(key, []).append(float(value))
                if float(value) < self.spec.flip_below:
                    self._warn("domain_flipped", epoch + 1, key, value,
                               f"{key} is {float(value):.3f}, below {self.spec.flip_below}: the domain classifier labels the domains "
                               "the wrong way round (the reversed gradient is too strong: lower the term's weight)")
        if self.samples is not None:
            checked = True
            if self.prior is None:
                self._estimate()  # a first stage: after its first epoch
            elif self._checks_prior(epoch + 1):
                self._check_prior(epoch + 1)
            else:
                checked = False
            self.ended = (epoch + 1, checked)

    def on_train_end(self, logs: Optional[dict] = None) -> None:
        ended, checked = self.ended
        if self.samples is not None and self.prior is not None and not checked:
            self._check_prior(ended)  # a stage stopped early (EarlyStopping) still gets its last check
        band = self.spec.collapse_band
        for key, values in self.accuracies.items():
            if values and all(abs(v - 0.5) <= band for v in values):
                self._warn("domain_collapsed", len(values), key, float(np.mean(values)),
                           f"{key} stayed within 0.5 +- {band} in every epoch: the domain classifier never told the domains apart, "
                           "so aligning through it did nothing (a larger classifier or learning rate, or a smaller weight early)")


def health_callbacks(run: RunState, stage: int, name: str, compositions: list, epochs: int = 1) -> list:
    """The stage's :class:`HealthWatch` (none without loss terms, or with ``training.health.enabled: false``)."""
    spec = run.spec.training.health
    if not spec.enabled or not compositions:
        return []
    samples = None
    classifier = run.parts.tasks is None and run.parts.task.num_classes is not None
    sizes = run.splits.sizes
    if classifier and sizes.get("target") and sizes.get("train"):
        seed = run.spec.split_seed if run.spec.split_seed is not None else run.spec.seed
        bs = run.spec.data.batch_size
        samples = {split: fixed_sample(run.splits.sets[split], sizes[split], spec.sample, seed + 17 + k).batch(bs)
                   for k, split in enumerate(("target", "train"))}
    return [HealthWatch(run, stage, name, compositions, samples, epochs)]
