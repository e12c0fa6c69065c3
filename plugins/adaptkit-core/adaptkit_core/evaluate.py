"""Test-set metrics computed from the model's predictions (no compiled state needed)."""

from __future__ import annotations

import numpy as np

from adaptkit import ModelParts

LABELED_SPLITS = ("validation", "test", "target_test")


def _predict(model, dataset):
    """Labels and predictions of a whole split; dicts of arrays (by task) for a multi-task model."""
    ys, ps = [], []
    for x, y in dataset:
        ps.append(_numpy(model(x, training=False)))
        ys.append(_numpy(y))
    return _joined(ys), _joined(ps)


def _predicted(model, dataset, split: str, predictions):
    if predictions is not None and predictions.has(split):
        return predictions.of(model, split)
    return _predict(model, dataset)


def _joined(parts):
    if parts and isinstance(parts[0], dict):
        return {k: np.concatenate([part[k] for part in parts]) for k in parts[0]}
    return np.concatenate(parts)


def _numpy(value):
    if isinstance(value, dict):
        return {k: np.asarray(v) for k, v in value.items()}
    return np.asarray(value)


def _task_metrics(prefix: str, y: np.ndarray, p: np.ndarray, task) -> dict[str, float]:
    """Accuracy, loss and balanced accuracy for classes; MAE and MSE for regression."""
    out: dict[str, float] = {}
    if task.num_classes is not None:
        y = y.astype(int).reshape(-1)
        out[f"{prefix}accuracy"] = float(np.mean(p.argmax(-1) == y))
        out[f"{prefix}loss"] = float(-np.mean(np.log(np.clip(p[np.arange(len(y)), y], 1e-7, 1.0))))
        recalls = [float(np.mean(p[y == k].argmax(-1) == k)) for k in range(task.num_classes) if np.any(y == k)]
        out[f"{prefix}balanced_accuracy"] = float(np.mean(recalls))
    else:
        p = p.reshape(y.shape)
        out[f"{prefix}mae"] = float(np.mean(np.abs(p - y)))
        out[f"{prefix}mse"] = float(np.mean((p - y) ** 2))
    return out


def evaluate_splits(parts: ModelParts, data: dict, predictions=None) -> dict[str, float]:
    """Every labeled split's metrics: ``<split>/<metric>``, or ``<split>/<task>/<metric>`` per task.

    ``predictions`` (the host's, shared by every plugin) predicts each split once; without it the
    splits are predicted here.

    A split named ``<split>@<task>`` (a task's own data) yields that task's label alone; the
    task's output is evaluated on it as ``<split>/<task>/<metric>`` (and ``<split>/<task>/examples``).
    """
    out: dict[str, float] = {}
    for name, ds in data.items():
        split, _, task = name.partition("@")
        if split not in LABELED_SPLITS or ds is None or not isinstance(ds.element_spec, tuple):
            continue
        if task:
            if task not in (parts.tasks or {}):
                continue
            y, p = _predicted(parts.model, ds, name, predictions)
            if len(y):
                out[f"{split}/{task}/examples"] = int(len(y))
                out.update(_task_metrics(f"{split}/{task}/", y, p[task], parts.tasks[task]))
            continue
        y, p = _predicted(parts.model, ds, name, predictions)
        if isinstance(y, dict):
            n = len(next(iter(y.values()))) if y else 0
            if n == 0:
                continue
            out[f"{split}/examples"] = int(n)
            for task_name, info in (parts.tasks or {}).items():
                if task_name in y:
                    out.update(_task_metrics(f"{split}/{task_name}/", y[task_name], p[task_name], info))
            continue
        if len(y) == 0:
            continue
        out[f"{split}/examples"] = int(len(y))
        out.update(_task_metrics(f"{split}/", y, p, parts.task))
    return out


def _features(encoder, dataset, limit: int) -> np.ndarray:
    out, n = [], 0
    for element in dataset:
        x = element[0] if isinstance(element, tuple) else element
        f = np.asarray(encoder(x, training=False), dtype="float64")
        out.append(f.reshape(len(f), -1))
        n += len(f)
        if n >= limit:
            break
    return np.concatenate(out)[:limit]


def proxy_a_distance(source: np.ndarray, target: np.ndarray, seed: int = 0, epochs: int = 300) -> float:
    """Ben-David et al.'s proxy A-distance, 2 (1 - 2 err), err of a linear domain classifier.

    A logistic regression (L2, full-batch gradient descent on standardised
    features) is trained on half of the pooled examples to tell source from
    target and tested on the other half: 0 means indistinguishable, 2 means
    perfectly separable.
    """
    n = min(len(source), len(target))
    rng = np.random.default_rng(seed)
    x = np.concatenate([source[rng.permutation(len(source))[:n]], target[rng.permutation(len(target))[:n]]])
    y = np.concatenate([np.ones(n), np.zeros(n)])
    order = rng.permutation(2 * n)
    x, y = x[order], y[order]
    half = n
    mean, std = x[:half].mean(0), x[:half].std(0) + 1e-8
    x = (x - mean) / std
    w, b = np.zeros(x.shape[1]), 0.0
    lr, l2 = 0.5, 1e-3
    for _ in range(epochs):
        p = 1 / (1 + np.exp(-(x[:half] @ w + b)))
        g = p - y[:half]
        w -= lr * (x[:half].T @ g / half + l2 * w)
        b -= lr * g.mean()
    err = float(np.mean(((x[half:] @ w + b) > 0) != (y[half:] > 0.5)))
    return 2 * (1 - 2 * min(err, 0.5))


def proxy_a_distances(parts: ModelParts, data: dict, before, seed: int = 0, limit: int = 1000) -> dict[str, float]:
    """Proxy A-distance between the source test features and the target features, after
    (and, when the run had a domain-adaptation stage, before) adaptation."""
    source, target = data.get("test"), data.get("target")
    if source is None or target is None:
        return {}
    out = {"domain/proxy_a_distance": proxy_a_distance(_features(parts.encoder, source, limit), _features(parts.encoder, target, limit), seed)}
    if before is not None:
        out["domain/proxy_a_distance_before"] = proxy_a_distance(
            _features(before.encoder, source, limit), _features(before.encoder, target, limit), seed
        )
    return out
