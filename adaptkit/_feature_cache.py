"""Frozen features computed once: a stage's prefix run once per split, stored, and streamed to the trained suffix.

:func:`cache_features` decides for one stage (``training.cache``): a stage
that needs the multi-player trainer (loss terms, discriminative rates, gradual
unfreezing, several tasks) or has no cut (:mod:`adaptkit._cache_boundary`)
runs uncached and the log says why. Otherwise the prefix runs in inference
mode over the train and validation splits, batch by batch; the features are
kept in memory up to ``memory_limit_mb`` and written beyond it to
``feature_cache/`` in the run directory (numpy memory maps), which
:func:`close_cache` deletes when training ends. The training stream draws
the same shuffled order as the uncached one (the same ``shuffle`` of the
same seed, over example indices), so the batches, and so the weights, match
within float tolerance. Features are recomputed when the cut moves or the
prefix's weights change (a checksum of them).
"""

from __future__ import annotations

import logging
import math
import shutil
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import numpy as np
import tensorflow as tf

from ._cache_boundary import Cut, find_cut
from ._predictions import batch_predictor
from ._state import RunState

__all__ = ["FeatureCache", "cache_features", "cached_predictions", "close_cache", "keep_in_step", "stepped"]

log = logging.getLogger("adaptkit")


@dataclass
class Stored:
    """One split's features (one array per boundary tensor) and labels (a nest of arrays)."""

    features: list
    labels: Any
    size: int


def _flat(value: Any) -> list:
    return [np.asarray(v) for v in tf.nest.flatten(value)]


class FeatureCache:
    """The features of the current cut, by split; the shuffled index orders, kept across stages."""

    def __init__(self, folder: Optional[Path], memory_limit_mb: int) -> None:
        self.limit = memory_limit_mb * 2**20
        self.parent, self.folder = folder, None
        self.key: Optional[tuple] = None
        self.splits: dict[str, Stored] = {}
        self.orders: dict[tuple, Any] = {}
        self.in_memory = 0
        self.cut: Optional[Cut] = None
        self.model: Any = None
        """The cut and the whole model of the stage that cached the features."""

    def reset(self, key: Optional[tuple] = None) -> None:
        """Forget every split's features (and their files): the cut moved or its weights changed."""
        self.splits, self.key, self.in_memory, self.cut, self.model = {}, key, 0, None, None
        if self.folder is not None:
            shutil.rmtree(self.folder, ignore_errors=True)
            self.folder = None

    def _array(self, name: str, shape: tuple, dtype: Any) -> np.ndarray:
        nbytes = math.prod(shape) * np.dtype(dtype).itemsize
        if self.in_memory + nbytes <= self.limit:
            self.in_memory += nbytes
            return np.empty(shape, dtype=dtype)
        if self.folder is None:
            base = self.parent if self.parent is not None else Path(tempfile.gettempdir())
            base.mkdir(parents=True, exist_ok=True)
            self.folder = Path(tempfile.mkdtemp(prefix="feature_cache_", dir=base))
        log.info("feature cache: %s (%.1f MB) written to %s", name, nbytes / 2**20, self.folder)
        return np.lib.format.open_memmap(self.folder / f"{name}.npy", mode="w+", dtype=dtype, shape=shape)

    def compute(self, cut: Cut, split: str, dataset: Any, size: int) -> Stored:
        """Run the prefix (inference mode) over a batched, unshuffled split, once."""
        if split in self.splits:
            return self.splits[split]
        arrays: list = []
        labels: list = []
        start = 0
        step = batch_predictor(cut.prefix, dataset)
        for x, y in dataset:
            values = _flat(step(x))
            if not arrays:
                arrays = [self._array(f"{split}_{i}", (size,) + v.shape[1:], v.dtype) for i, v in enumerate(values)]
            n = values[0].shape[0]
            for array, v in zip(arrays, values):
                array[start : start + n] = v
            labels.append(tf.nest.map_structure(np.asarray, y))
            start += n
        joined = tf.nest.map_structure(lambda *ys: np.concatenate(ys), *labels)
        self.splits[split] = Stored(arrays, joined, start)
        return self.splits[split]

    def stream(self, split: str, batch_size: int, shuffle_seed: Optional[int] = None) -> Any:
        """``(features, labels)`` batches of a stored split, shuffled each epoch like the uncached stream."""
        stored = self.splits[split]
        order_key = (split, batch_size, shuffle_seed)
        if order_key not in self.orders:  # one order per split: its reshuffling goes on across stages
            order = tf.data.Dataset.range(stored.size)
            if shuffle_seed is not None:
                order = order.shuffle(min(stored.size, 10_000), seed=shuffle_seed, reshuffle_each_iteration=True)
            self.orders[order_key] = order.batch(batch_size)
        label_list = tf.nest.flatten(stored.labels)
        columns = list(stored.features) + label_list
        n_features = len(stored.features)

        def gather(index: np.ndarray) -> list:
            return [c[index] for c in columns]

        def load(index: Any) -> tuple:
            out = tf.numpy_function(gather, [index], [tf.as_dtype(c.dtype) for c in columns], stateful=False)
            for t, c in zip(out, columns):
                t.set_shape((None,) + c.shape[1:])
            x = out[0] if n_features == 1 else tuple(out[:n_features])
            return x, tf.nest.pack_sequence_as(stored.labels, out[n_features:])

        return self.orders[order_key].map(load).prefetch(tf.data.AUTOTUNE)


def _needs_trainer(run: RunState, s: int) -> Optional[str]:
    stage = run.spec.training.stages[s]
    if stage.losses:
        return "the stage's loss terms read the encoder's features of every batch"
    if stage.gradual_unfreezing is not None:
        return "gradual unfreezing changes what trains during the stage"
    if stage.discriminative is not None:
        return "discriminative rates train through the multi-player trainer"
    if run.assembly.multitask:
        return "multi-task stages train through the multi-player trainer"
    return None


def _checksum(model: Any) -> int:
    crc = 0
    for v in model.weights:
        crc = zlib.crc32(np.ascontiguousarray(v.numpy()).tobytes(), crc)
    return crc


def _deterministic(cut: Cut, dataset: Any) -> bool:
    """The prefix gives the same in training as in inference mode on a few real examples
    (a backstop for layers drawing random numbers the static check cannot see); its state is put back."""
    x = tf.nest.map_structure(lambda t: t[:8], next(iter(dataset))[0])
    saved = [v.numpy() for v in cut.prefix.variables]
    try:
        a, b = _flat(cut.prefix(x, training=True)), _flat(cut.prefix(x, training=False))
    finally:
        for v, value in zip(cut.prefix.variables, saved):
            v.assign(value)
    return all(np.allclose(p, q, rtol=1e-5, atol=1e-6) for p, q in zip(a, b))


def cache_features(run: RunState, s: int) -> Optional[tuple[Any, Any, Any]]:
    """``(suffix model, train stream, validation stream)`` when stage ``s`` trains on cached features,
    else ``None`` (the stage runs the whole model; the log says why)."""
    section = run.spec.training.cache
    cache = run.feature_cache
    if section.mode == "off":
        return None
    if cache is None:
        cache = run.feature_cache = FeatureCache(run.ctx.run_dir, section.memory_limit_mb)
    why = _needs_trainer(run, s)
    cut = find_cut(run.parts) if why is None else why
    bs = run.spec.data.batch_size
    if not isinstance(cut, str):
        probe = run.splits.batched("train", bs)
        if not _deterministic(cut, probe):
            cut = "the frozen part computes differently in training mode (a layer draws random numbers)"
    if isinstance(cut, str):
        # a stage that trains from its first layer has nothing to cache: worth a word only in run.log
        level = logging.DEBUG if cut.startswith("nothing below") else logging.INFO
        log.log(level, "stage %d: features not cached: %s", s + 1, cut)
        cache.reset()
        return None
    key = cut.key + (_checksum(cut.prefix),)
    if key != cache.key:
        cache.reset(key)
    cache.cut, cache.model = cut, run.parts.model
    stored = cache.compute(cut, "train", run.splits.batched("train", bs), run.splits.sizes["train"])
    validation = None
    if run.splits.sizes.get("validation"):
        cache.compute(cut, "validation", run.splits.batched("validation", bs), run.splits.sizes["validation"])
        validation = cache.stream("validation", bs)
    size = sum(a.nbytes for a in stored.features) / 2**20
    log.info("stage %d: frozen features cached at %s (train %.1f MB)", s + 1, cut.where, size)
    return cut.suffix, cache.stream("train", bs, shuffle_seed=run.spec.seed), validation


def cached_predictions(run: RunState, predictions: Any) -> list[str]:
    """Let ``predictions`` predict the splits whose features the last stage cached through the trained
    suffix on those features, instead of the whole model on the raw examples (the same numbers within
    float tolerance: the prefix is frozen and computes the same in inference mode). Only while the
    features are still those of the model being evaluated: same model, same cut, prefix weights
    unchanged. The splits it provides for."""
    cache = run.feature_cache
    if cache is None or cache.cut is None or not cache.splits or cache.model is not run.parts.model:
        return []
    cut = cache.cut
    if cache.key != cut.key + (_checksum(cut.prefix),):
        return []
    bs = run.spec.data.batch_size

    def way(stored: Stored) -> Any:
        def compute() -> tuple[Any, Any]:
            outputs = []
            for start in range(0, stored.size, bs):
                x = [f[start : start + bs] for f in stored.features]
                outputs.append(tf.nest.map_structure(np.asarray, cut.suffix(x[0] if len(x) == 1 else x, training=False)))
            return stored.labels, tf.nest.map_structure(lambda *ps: np.concatenate(ps), *outputs)

        return compute

    for split, stored in cache.splits.items():
        predictions.provide(run.parts.model, split, way(stored))
    return sorted(cache.splits)


def close_cache(run: RunState) -> None:
    """Drop the features and delete their files (training has ended, or failed)."""
    if run.feature_cache is not None:
        run.feature_cache.reset()
        run.feature_cache = None


def keep_in_step(run: RunState, plan: Any, iterations_before: int) -> None:
    """Reshuffle the stream stage ``plan`` draws from as often as the run's training streams were before it.

    Cached stages draw from the cache's index order, uncached ones from the run's train stream:
    two datasets with the same seed, each reshuffling whenever an iteration starts (every epoch,
    and once as each ``fit`` starts: Keras peeks at a batch to build the model). A stage on one
    catches up with the iterations run on the other, so a run that mixes cached and uncached
    stages trains on the batches of a run that caches nothing."""
    seen = run.shuffled_epochs.get(plan.cached, 0)
    for _ in range(max(0, iterations_before - seen)):
        iter(plan.shuffled)  # starting an iteration draws the next order (the iterator is dropped)
    run.shuffled_epochs[plan.cached] = max(seen, iterations_before)


def stepped(run: RunState, plan: Any, iterations_after: int) -> None:
    """The stream of ``plan`` has been reshuffled for every iteration the run's training has started."""
    run.shuffled_epochs[plan.cached] = iterations_after
