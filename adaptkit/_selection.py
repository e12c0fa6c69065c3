"""Model selection without target labels: validator scores per epoch, and the epoch a stage keeps.

``evaluation.validators`` lists label-free scores (a section family: the kinds
come from plugins through ``adaptkit_build_validator``). Every epoch of every
stage, :class:`ValidatorScores` runs the model the stage would save (``finalize``
of an ADDA stage, say) on fixed, seeded samples of the unlabeled ``target``
stream and of the source splits, and logs each score as ``score_<kind>`` in
history.csv. A stage's ``select_by: <kind>`` adds Keras' ``EarlyStopping`` on
that score with ``restore_best_weights`` and a patience longer than the stage,
so it never stops the stage but keeps the best-scored epoch's weights.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Optional

import keras
import numpy as np
import tensorflow as tf

from ._errors import AdaptkitError, PluginError
from ._features import flatten
from ._state import RunState
from ._training import finalize_model
from ._types import ValidationData

__all__ = ["ValidatorScores", "validator_callbacks", "selection_report", "score_key"]

log = logging.getLogger("adaptkit")

SPLITS = ("target", "train", "validation")
"""What the validators may read: the unlabeled target stream, the source training and validation splits."""


def score_key(kind: str) -> str:
    return f"score_{kind}"


def fixed_sample(dataset: Any, size: int, n: int, seed: int) -> Any:
    """The same ``n`` of ``size`` examples every time (a seeded choice, in the split's order)."""
    if size <= n:
        return dataset
    keep = np.zeros(size, bool)
    keep[np.random.default_rng(seed).choice(size, n, replace=False)] = True
    mask = tf.constant(keep)
    return dataset.enumerate().filter(lambda i, _: tf.gather(mask, i)).map(lambda _, element: element)


def _probabilities(p: np.ndarray) -> np.ndarray:
    """Class probabilities from a classifier's output: a softmax as it is, one sigmoid unit as
    two columns, logits through a softmax."""
    p = np.asarray(p, "float64").reshape(len(p), -1)
    if p.shape[1] == 1:
        return np.concatenate([1 - p, p], axis=1)
    if np.all(p >= 0) and np.allclose(p.sum(axis=1), 1.0, atol=1e-3):
        return p
    from scipy.special import softmax

    return softmax(p, axis=1)


def _adapted(run: RunState, compositions: list) -> tuple[Any, Any]:
    """Encoder and head of the model the stage would save now."""
    parts = run.parts
    adapted = finalize_model(parts, compositions)
    if adapted is None:
        return parts.encoder, parts.classifier
    names = [layer.name for layer in adapted.layers]
    encoder = adapted.get_layer("encoder") if "encoder" in names else parts.encoder
    classifier = adapted.get_layer("classifier") if "classifier" in names else parts.classifier
    return encoder, classifier


class ValidatorScores(keras.callbacks.Callback):
    """At each epoch end, every validator's score of the model the stage would save, logged as
    ``score_<kind>``. It goes before the history callback, which writes them in the epoch's row."""

    def __init__(self, run: RunState, compositions: list, validators: list[tuple[str, Any]], samples: dict) -> None:
        super().__init__()
        self.run, self.compositions, self.validators, self.samples = run, compositions, validators, samples

    def _compute(self, encoder: Any, classifier: Any) -> Any:
        def compute(split: str) -> tuple:
            features, probabilities, labels = [], [], []
            for element in self.samples[split]:
                x, y = element if isinstance(element, tuple) else (element, None)
                f = encoder(x, training=False)
                probabilities.append(_probabilities(keras.ops.convert_to_numpy(classifier(f, training=False))))
                features.append(keras.ops.convert_to_numpy(flatten(f)).astype("float64"))
                if y is not None:
                    labels.append(np.asarray(y).reshape(-1))
            return (np.concatenate(features), np.concatenate(probabilities), np.concatenate(labels) if labels else None)

        return compute

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        if logs is None:
            return
        data = ValidationData(self._compute(*_adapted(self.run, self.compositions)))
        for i, (kind, validator) in enumerate(self.validators):
            try:
                value = float(validator.score(data))
            except AdaptkitError:
                raise
            except Exception as exc:
                text = " ".join(str(exc).split()) or type(exc).__name__
                raise PluginError(f"evaluation.validators.{i}", f"validator {kind!r} failed: {type(exc).__name__}: {text}") from exc
            if not math.isfinite(value):
                log.warning("epoch %d: validator %s gave %s", epoch + 1, kind, value)
            logs[score_key(kind)] = value


def validator_callbacks(run: RunState, compositions: list, epochs: int, select_by: Optional[str]) -> tuple[list, Any]:
    """The scoring callback (before the history's) and, with ``select_by``, the selecting one (after it)."""
    spec = run.spec
    sections = spec.evaluation.validators
    if not sections or not run.splits.sizes.get("target"):
        return [], None
    validators = []
    for i, section in enumerate(sections):
        where = f"evaluation.validators.{i}"
        validators.append((section.kind, run.host.call_first("adaptkit_build_validator", where, section, context=run.ctx.at(where))))
    seed = spec.split_seed if spec.split_seed is not None else spec.seed
    n, bs = spec.evaluation.validator_sample, spec.data.batch_size
    samples = {}
    for k, split in enumerate(SPLITS):
        size = run.splits.sizes.get(split, 0)
        if size:
            samples[split] = fixed_sample(run.splits.sets[split], size, n, seed + k).batch(bs)
    scores = ValidatorScores(run, compositions, validators, samples)
    if select_by is None:
        return [scores], None
    higher = dict(validators)[select_by].higher_is_better
    selector = keras.callbacks.EarlyStopping(
        monitor=score_key(select_by), mode="max" if higher else "min", patience=epochs + 1, restore_best_weights=True
    )
    selector.higher_is_better = higher  # for the report
    return [scores], selector


def selection_report(selector: Any, kind: str, history: list, stage: int) -> Optional[dict[str, Any]]:
    """Which epoch ``select_by`` kept, its score, and the last epoch's, for metrics.json."""
    if selector is None or selector.best_weights is None:
        return None
    rows = [r for r in history if r["stage"] == stage]
    key = score_key(kind)
    best = float(selector.best) if selector.best is not None else None
    return {
        "validator": kind,
        "higher_is_better": selector.higher_is_better,
        "epoch": int(selector.best_epoch) + 1,
        "score": best,
        "epochs_run": len(rows),
        "last_epoch_score": float(rows[-1][key]) if rows and key in rows[-1] else None,
    }
