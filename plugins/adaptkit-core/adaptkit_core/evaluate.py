"""Test-set metrics computed from the model's predictions (no compiled state needed)."""

from __future__ import annotations

import numpy as np

from adaptkit import ModelParts

LABELED_SPLITS = ("validation", "test", "target_test")


def _predict(model, dataset):
    ys, ps = [], []
    for x, y in dataset:
        ps.append(np.asarray(model(x, training=False)))
        ys.append(np.asarray(y))
    return np.concatenate(ys), np.concatenate(ps)


def evaluate_splits(parts: ModelParts, data: dict) -> dict[str, float]:
    out: dict[str, float] = {}
    for split in LABELED_SPLITS:
        ds = data.get(split)
        if ds is None or not isinstance(ds.element_spec, tuple):
            continue
        y, p = _predict(parts.model, ds)
        if len(y) == 0:
            continue
        out[f"{split}/examples"] = int(len(y))
        if parts.task.num_classes is not None:
            y = y.astype(int).reshape(-1)
            out[f"{split}/accuracy"] = float(np.mean(p.argmax(-1) == y))
            out[f"{split}/loss"] = float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1.0))))
            recalls = [float(np.mean(p[y == k].argmax(-1) == k)) for k in range(parts.task.num_classes) if np.any(y == k)]
            out[f"{split}/balanced_accuracy"] = float(np.mean(recalls))
        else:
            p = p.reshape(y.shape)
            out[f"{split}/mae"] = float(np.mean(np.abs(p - y)))
            out[f"{split}/mse"] = float(np.mean((p - y) ** 2))
    return out
