"""Data splits and batching: the loaded datasets cut into train/validation/test (and target).

Every dataset comes from a data plugin, unbatched; the host splits it with
``take``/``skip`` (the plugin's order is a function of the seed), checks that
the splits agree on shapes and classes, and batches, caches and prefetches.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Optional

import tensorflow as tf

from ._errors import DataError, SpecError
from ._plugins import PluginHost
from ._tasks import Task, spec_tasks, task_labels
from ._types import DataSource, RunContext, TaskInfo

__all__ = ["Splits", "load_splits", "batched"]


@dataclass
class Splits:
    """Unbatched datasets by split, and their sizes."""

    source: DataSource
    sets: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)
    tasks: dict[str, TaskInfo] = field(default_factory=dict)
    """What each task predicts, by task name (``""`` for the one task of a ``head:`` spec)."""
    loaded: dict[str, DataSource] = field(default_factory=dict)
    """Every data source as its plugin delivered it, by spec path (``data.train``, ...): where to
    look for the bad example when reading fails (:attr:`DataSource.diagnose`)."""

    def batched(self, name: str, batch_size: int, *, cache: bool = False, shuffle_seed: Optional[int] = None) -> Any:
        """One split, batched; shuffled each epoch with ``shuffle_seed`` when given; ``None`` when empty."""
        if not self.sizes.get(name):
            return None
        shuffle = self.sizes[name] if shuffle_seed is not None else None
        return batched(self.sets[name], batch_size, cache=cache, shuffle=shuffle, seed=shuffle_seed or 0)


def _load(host: PluginHost, section: Any, ctx: RunContext, where: str, loaded: dict) -> DataSource:
    ds = host.call_first("adaptkit_load_data", where, section, context=ctx.at(where))
    if ds.size < 1:
        raise DataError(where, "the dataset is empty")
    loaded[where] = ds
    return ds


def _take_split(dataset: Any, size: int, fraction: float) -> tuple[Any, Any, int]:
    n = int(round(size * fraction))
    return dataset.take(n), dataset.skip(n), n


def _same_examples(where: str, other: DataSource, train: DataSource) -> None:
    if tuple(other.input_shape) != tuple(train.input_shape):
        raise SpecError(where, f"examples of shape {other.input_shape} do not match data.train's {train.input_shape}")


def _same_labels(where: str, other: DataSource, train: DataSource, name: str = "data.train") -> None:
    if other.label_infos() != train.label_infos():
        mine = {k: v.class_names for k, v in other.label_infos().items()}
        theirs = {k: v.class_names for k, v in train.label_infos().items()}
        if len(mine) == len(theirs) == 1:
            mine, theirs = next(iter(mine.values())), next(iter(theirs.values()))
        raise SpecError(where, f"classes {mine} differ from {name}'s {theirs}")


def _for_tasks(source: DataSource, tasks: list[Task], where: str, as_dict: bool = False) -> DataSource:
    """The source with each example's labels as the tasks read them: one task, ``(x, y)``;
    several (or ``as_dict``), ``(x, {task: y})``."""
    labels = task_labels(tasks, source, where)
    if source.labels is None and len(tasks) == 1 and not as_dict:
        return source
    if len(tasks) == 1 and not as_dict:
        (name, (label, info)), = labels.items()
        dataset = source.dataset.map(lambda x, y: (x, y[label]))
        return DataSource(dataset, source.size, source.input_shape, info.class_names, True, info.target_shape)
    if source.labels is None:
        dataset = source.dataset.map(lambda x, y: (x, {t: y for t in labels}))
    else:
        dataset = source.dataset.map(lambda x, y: (x, {t: y[label] for t, (label, _) in labels.items()}))
    infos = {t: info for t, (_, info) in labels.items()}
    return DataSource(dataset, source.size, source.input_shape, None, True, (), labels=infos)


def _cut(out: "Splits", suffix: str, rest: Any, size: int, data: Any, where: str, has_test: bool) -> None:
    """Cut ``rest`` into test (unless given), validation and train, named ``<split><suffix>``."""
    total = size
    if not has_test:
        out.sets["test" + suffix], rest, out.sizes["test" + suffix] = _take_split(rest, size, data.test_split)
        size -= out.sizes["test" + suffix]
    out.sets["validation" + suffix], rest, out.sizes["validation" + suffix] = _take_split(rest, size, data.validation_split)
    out.sets["train" + suffix], out.sizes["train" + suffix] = rest, size - out.sizes["validation" + suffix]
    if out.sizes["train" + suffix] < 1:
        raise SpecError(where, f"no training examples are left out of {total}")


def _labeled_for_task(host: PluginHost, section: Any, ctx: RunContext, where: str, train: DataSource, task: Task, what: str, loaded: dict) -> DataSource:
    """A task's own dataset: loaded, shaped like data.train's examples, labeled, with the task's label."""
    own = _load(host, section, ctx, where, loaded)
    _same_examples(where, own, train)
    if not own.labeled:
        raise SpecError(where, f"a task's {what} must be labeled")
    return _for_tasks(own, [task], where)


def _task_data(out: "Splits", host: PluginHost, task: Task, train: DataSource, data: Any, ctx: RunContext) -> TaskInfo:
    """Load, check and split a task's own data into ``train@<task>``, ``validation@<task>``, ``test@<task>``."""
    where = f"{task.where}.data.train"
    own = _labeled_for_task(host, task.data.train, ctx, where, train, task, "data", out.loaded)
    info = TaskInfo(own.class_names, tuple(own.target_shape))
    suffix = f"@{task.name}"
    if task.data.test is not None:
        at = f"{task.where}.data.test"
        test = _labeled_for_task(host, task.data.test, ctx, at, train, task, "test data", out.loaded)
        _same_labels(at, test, own, where)
        out.sets["test" + suffix], out.sizes["test" + suffix] = test.dataset, test.size
    _cut(out, suffix, own.dataset, own.size, data, where, task.data.test is not None)
    return info


def load_splits(spec: Any, host: PluginHost, ctx: RunContext) -> Splits:
    """Load ``data.*`` (and every task's own data) through the data plugins and cut each train
    into train/validation(/test); a task's own splits are named ``<split>@<task>``."""
    data = spec.data
    tasks = spec_tasks(spec)
    if spec.split_seed is not None:  # the data order (and so the split) apart from the training's seed
        ctx = dataclasses.replace(ctx, seed=spec.split_seed)
    on_train = [t for t in tasks if t.data is None]
    multi = len(tasks) > 1
    loaded: dict[str, DataSource] = {}
    raw = _load(host, data.train, ctx, "data.train", loaded)
    if not raw.labeled:
        raise SpecError("data.train", "the training data must be labeled")
    train = _for_tasks(raw, on_train, "data.train", as_dict=multi)
    out = Splits(train, loaded=loaded)
    if data.test is not None:
        test = _load(host, data.test, ctx, "data.test", loaded)
        _same_examples("data.test", test, train)
        test = _for_tasks(test, on_train, "data.test", as_dict=multi)
        _same_labels("data.test", test, train)
        out.sets["test"], out.sizes["test"] = test.dataset, test.size
    _cut(out, "", train.dataset, train.size, data, "data.validation_split", data.test is not None)
    if data.target is not None:
        target = _load(host, data.target, ctx, "data.target", loaded)
        _same_examples("data.target", target, train)
        tds, tsize = target.dataset, target.size
        if target.labeled:
            target = _for_tasks(target, on_train, "data.target", as_dict=multi)
            tds = target.dataset
            _same_labels("data.target", target, train)
            out.sets["target_test"], tds, out.sizes["target_test"] = _take_split(tds, tsize, data.target_test_split)
            tsize -= out.sizes["target_test"]
            tds = tds.map(lambda x, y: x)  # target labels are for evaluation only
        out.sets["target"], out.sizes["target"] = tds, tsize
    own = {t.name: _task_data(out, host, t, raw, data, ctx) for t in tasks if t.data is not None}
    if train.labels is not None:
        out.tasks = {t.name: own[t.name] if t.name in own else train.labels[t.name] for t in tasks}
    else:
        out.tasks = {tasks[0].name: TaskInfo(train.class_names, tuple(train.target_shape))}
    return out


def batched(dataset: Any, batch_size: int, *, cache: bool, shuffle: Optional[int] = None, seed: int = 0) -> Any:
    """Cache, shuffle (each epoch anew), batch and prefetch."""
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(min(shuffle, 10_000), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)
