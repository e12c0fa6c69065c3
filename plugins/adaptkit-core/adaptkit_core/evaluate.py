"""The proxy A-distance between source and target features where the losses align them, after (and before) adaptation.

The per-split metrics are ``evaluation.metrics`` kinds (``metrics.py``), fed by the host.
"""

from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from adaptkit import ModelParts, model_feature_extractor


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


def _pad(parts: ModelParts, layer: Optional[str], source, target, seed: int, limit: int) -> float:
    """The proxy A-distance at ``layer``'s output (``None``: the encoder's), from the model's input."""
    extract = parts.encoder if layer is None else model_feature_extractor(parts, layer, "evaluation.aligned_at")
    return proxy_a_distance(_features(extract, source, limit), _features(extract, target, limit), seed)


def proxy_a_distances(
    parts: ModelParts, data: dict, before, seed: int = 0, limit: int = 1000, aligned_at: Sequence[Optional[str]] = ()
) -> dict[str, float]:
    """Proxy A-distance between the source test features and the target features, after
    (and, when the run had a domain-adaptation stage, before) adaptation.

    Measured where the losses aligned the domains (``aligned_at``): the encoder's output
    as ``domain/proxy_a_distance[_before]`` (also when nothing names a layer), each named
    layer as ``domain/proxy_a_distance[_before]@<layer>``."""
    source, target = data.get("test"), data.get("target")
    if source is None or target is None:
        return {}
    layers = list(dict.fromkeys(aligned_at)) or [None]
    out: dict[str, float] = {}
    for layer in layers:
        at = "" if layer is None else f"@{layer}"
        out[f"domain/proxy_a_distance{at}"] = _pad(parts, layer, source, target, seed, limit)
        if before is not None:
            out[f"domain/proxy_a_distance_before{at}"] = _pad(before, layer, source, target, seed, limit)
    return out
