"""Predictions on the evaluation splits, computed once per model and split, shared by the verdict and the report.

The transfer verdict needs the test predictions of the adapted model and of
the baseline; the report needs the adapted model's (and the baseline's, when
there is one) for its confusion matrix or regression summary. One
:class:`Predictions` per run holds them, so no split is predicted twice; a split
whose frozen features a stage cached is predicted by the trained head on them
(:meth:`Predictions.provide`).
No TensorFlow import at module level: the datasets and models are handed in.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

__all__ = ["Predictions", "predict", "batch_predictor", "labels_of", "predicted_classes"]


def _numpy(value: Any) -> Any:
    return {k: np.asarray(v) for k, v in value.items()} if isinstance(value, dict) else np.asarray(value)


def _join(parts: list) -> Any:
    if parts and isinstance(parts[0], dict):
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return np.concatenate(parts) if parts else np.zeros((0,))


def predicted_classes(p: Any) -> np.ndarray:
    """A classifier's predicted class per example: the arg-max of its scores, or of one sigmoid unit
    (or logit) the positive class where it is above one half (zero)."""
    p = np.asarray(p)
    p = p.reshape(len(p), -1) if p.ndim else p.reshape(1, 1)
    if p.shape[1] > 1:
        return p.argmax(-1)
    cut = 0.5 if np.all((p >= 0) & (p <= 1)) else 0.0  # probabilities, else logits
    return (p[:, 0] > cut).astype(int)


def batch_predictor(model: Any, dataset: Any) -> Any:
    """``model(x, training=False)`` compiled once for every batch of ``dataset``: traced for its
    element spec, whose batch dimension is unknown, so the last, smaller batch is not traced again
    (``predict_on_batch`` traces each new batch size; one trace of MiniLM-L6 with its tokenizer
    took about 9 s at load 7). An eager call instead was slower per example for a BERT encoder.
    TensorFlow is imported here, when called."""
    import tensorflow as tf

    spec = dataset.element_spec
    x_spec = spec[0] if isinstance(spec, tuple) else spec
    return tf.function(lambda x: model(x, training=False), input_signature=[x_spec])


def predict(model: Any, dataset: Any) -> tuple[Any, Any]:
    """Labels and predictions of a whole batched split (dicts by task for a multi-task model),
    each batch through :func:`batch_predictor`."""
    ys, ps = [], []
    step = batch_predictor(model, dataset)
    for x, y in dataset:
        ps.append(_numpy(step(x)))
        ys.append(_numpy(y))
    return _join(ys), _join(ps)


def labels_of(dataset: Any) -> Any:
    """The labels of a whole batched split, without running any model."""
    return _join([_numpy(y) for _, y in dataset])


class Predictions:
    """``of(model, split)``: labels and predictions of ``sets[split]``, computed on first use."""

    def __init__(self, sets: dict[str, Any]) -> None:
        self.sets = sets
        self._done: dict[tuple[int, str], tuple[Any, Any, Any]] = {}
        self._ways: dict[tuple[int, str], Callable[[], tuple[Any, Any]]] = {}

    def provide(self, model: Any, split: str, compute: Callable[[], tuple[Any, Any]]) -> None:
        """A faster way to ``(labels, predictions)`` of ``model`` on ``split``, used instead of running
        the whole model over it (e.g. the trained head on the split's cached frozen features)."""
        self._ways[(id(model), split)] = compute

    def has(self, split: str) -> bool:
        return self.sets.get(split) is not None

    def of(self, model: Any, split: str) -> tuple[Any, Any]:
        key = (id(model), split)
        if key not in self._done:
            way = self._ways.pop(key, None)
            y, p = way() if way is not None else predict(model, self.sets[split])
            self._done[key] = (model, y, p)  # the model is kept so that its id is not reused
        _, y, p = self._done[key]
        return y, p

    def cached(self, model: Any, split: str) -> Optional[tuple[Any, Any]]:
        """The predictions if some step has computed them already, else ``None`` (nothing is run)."""
        hit = self._done.get((id(model), split))
        return None if hit is None else (hit[1], hit[2])
