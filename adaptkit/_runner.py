"""The runner: data -> source model -> surgery -> head -> stages -> evaluation -> run directory.

Every model-specific step is a hook call; the runner only wires the answers
together with Keras and ``tf.data``.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import keras
import numpy as np
import tensorflow as tf
import yaml

from ._adapters import adapter_arrays, write_adapters
from ._errors import AdaptkitError, DataError, PluginError, SpecError
from ._layers import all_trainable, layer_groups, leaf_layers, set_trainable
from ._plugins import PluginHost, get_host
from ._rundir import Checkpoints, RunDir, spec_digest
from ._training import (
    GradualUnfreezing,
    Trainer,
    build_optimizer,
    build_schedule,
    count_params,
    finalize_model,
    steps_per_epoch,
)
from ._types import DataSource, Head, ModelParts, RunContext, TaskInfo

log = logging.getLogger("adaptkit")


@dataclass
class Splits:
    """Unbatched datasets by split, and their sizes."""

    source: DataSource
    sets: dict[str, Any] = field(default_factory=dict)
    sizes: dict[str, int] = field(default_factory=dict)


@dataclass
class RunResult:
    run_dir: Path
    metrics: dict[str, Any]
    headline: tuple[str, Optional[float]]


# -- data ------------------------------------------------------------------


def _load(host: PluginHost, section: Any, ctx: RunContext, where: str) -> DataSource:
    ds = host.call_first("adaptkit_load_data", where, section, context=ctx.at(where))
    if ds.size < 1:
        raise DataError(where, "the dataset is empty")
    return ds


def _take_split(dataset: Any, size: int, fraction: float) -> tuple[Any, Any, int]:
    n = int(round(size * fraction))
    return dataset.take(n), dataset.skip(n), n


def load_splits(spec: Any, host: PluginHost, ctx: RunContext) -> Splits:
    data = spec.data
    train = _load(host, data.train, ctx, "data.train")
    if not train.labeled:
        raise SpecError("data.train", "the training data must be labeled")
    out = Splits(train)
    rest, size = train.dataset, train.size
    if data.test is not None:
        test = _load(host, data.test, ctx, "data.test")
        if tuple(test.input_shape) != tuple(train.input_shape):
            raise SpecError("data.test", f"examples of shape {test.input_shape} do not match data.train's {train.input_shape}")
        if test.class_names != train.class_names:
            raise SpecError("data.test", f"classes {test.class_names} differ from data.train's {train.class_names}")
        out.sets["test"], out.sizes["test"] = test.dataset, test.size
    else:
        out.sets["test"], rest, out.sizes["test"] = _take_split(rest, size, data.test_split)
        size -= out.sizes["test"]
    out.sets["validation"], rest, out.sizes["validation"] = _take_split(rest, size, data.validation_split)
    out.sets["train"], out.sizes["train"] = rest, size - out.sizes["validation"]
    if out.sizes["train"] < 1:
        raise SpecError("data.validation_split", f"no training examples are left out of {train.size}")
    if data.target is not None:
        target = _load(host, data.target, ctx, "data.target")
        if tuple(target.input_shape) != tuple(train.input_shape):
            raise SpecError(
                "data.target", f"examples of shape {target.input_shape} do not match data.train's {train.input_shape}"
            )
        tds, tsize = target.dataset, target.size
        if target.labeled and target.class_names != train.class_names:
            raise SpecError(
                "data.target", f"classes {target.class_names} differ from data.train's {train.class_names}"
            )
        if target.labeled:
            out.sets["target_test"], tds, out.sizes["target_test"] = _take_split(tds, tsize, data.target_test_split)
            tsize -= out.sizes["target_test"]
            tds = tds.map(lambda x, y: x)  # target labels are for evaluation only
        out.sets["target"], out.sizes["target"] = tds, tsize
    return out


def batched(dataset: Any, batch_size: int, *, cache: bool, shuffle: Optional[int] = None, seed: int = 0) -> Any:
    if cache:
        dataset = dataset.cache()
    if shuffle:
        dataset = dataset.shuffle(min(shuffle, 10_000), seed=seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


# -- model -----------------------------------------------------------------


def _x_spec(source: DataSource) -> Any:
    spec = source.dataset.element_spec
    return spec[0] if isinstance(spec, tuple) else spec


def build_model(spec: Any, host: PluginHost, ctx: RunContext, data: DataSource) -> tuple[ModelParts, Head, Any]:
    """Assemble ``classifier(encoder(x))`` through the hooks; return the parts, the head, the source."""
    x_spec = _x_spec(data)
    inputs = keras.Input(shape=tuple(data.input_shape), dtype=x_spec.dtype.name, name="inputs")
    x = inputs
    for i, section in enumerate(spec.augment):
        where = f"augment.{i}"
        layer = host.call_first("adaptkit_build_augmentation", where, section, context=ctx.at(where))
        x = layer(x)
    source = host.call_first(
        "adaptkit_load_source", "source", spec.source, input_shape=tuple(data.input_shape), context=ctx.at("source")
    )
    for i, section in enumerate(spec.surgery):
        where = f"surgery.{i}"
        source = host.call_first("adaptkit_apply_surgery", where, section, model=source, context=ctx.at(where))
    features = source(x)
    encoder = keras.Model(inputs, features, name="encoder")
    task = TaskInfo(data.class_names, tuple(data.target_shape))
    feature_in = keras.Input(shape=tuple(features.shape[1:]), name="features")
    head: Head = host.call_first(
        "adaptkit_attach_head", "head", spec.head, features=feature_in, task=task, context=ctx.at("head")
    )
    classifier = keras.Model(feature_in, head.outputs, name="classifier")
    model_in = keras.Input(shape=tuple(data.input_shape), dtype=x_spec.dtype.name, name="inputs")
    model = keras.Model(model_in, classifier(encoder(model_in)), name="adapted")
    return ModelParts(encoder, classifier, model, task), head, source


def freeze_batch_norm(model: Any) -> int:
    """Keep BatchNormalization layers in inference mode with fixed statistics."""
    n = 0
    for layer in leaf_layers(model):
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable:
            layer.trainable = False
            n += 1
    return n


# -- training ----------------------------------------------------------------


class EpochLog(keras.callbacks.Callback):
    """One log line per epoch, and the rows of history.csv."""

    def __init__(
        self,
        rows: list,
        stage_index: int,
        stage_name: str,
        lr_of: Callable[[], float],
        persist: Optional[Callable[[], None]] = None,
    ) -> None:
        super().__init__()
        self.rows, self.stage_index, self.stage_name, self.lr_of = rows, stage_index, stage_name, lr_of
        self.persist = persist
        self.started = time.perf_counter()

    def on_train_begin(self, logs: Optional[dict] = None) -> None:
        # BackupAndRestore (earlier in the list) may have restored a later epoch: keep rows up to it
        done = getattr(self.model, "_initial_epoch", None) or 0
        kept = [r for r in self.rows if r["stage"] != self.stage_index or r["stage_epoch"] <= done]
        if done:
            log.info("stage %d (%s): resuming after epoch %d", self.stage_index, self.stage_name, done)
        self.rows[:] = kept

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        self.started = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None:
        row: dict[str, Any] = {
            "epoch": len(self.rows) + 1,
            "stage": self.stage_index,
            "stage_name": self.stage_name,
            "stage_epoch": epoch + 1,
            "learning_rate": self.lr_of(),
            "seconds": round(time.perf_counter() - self.started, 3),
        }
        row.update({k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"})
        self.rows.append(row)
        shown = ", ".join(f"{k}={v:.4g}" for k, v in row.items() if isinstance(v, float) and k != "seconds")
        log.debug("stage %d (%s) epoch %d: %s", self.stage_index, self.stage_name, epoch + 1, shown)
        if self.persist is not None:
            self.persist()


def _lr_reader(optimizer: Any) -> Callable[[], float]:
    def read() -> float:
        try:
            return float(keras.ops.convert_to_numpy(optimizer.learning_rate))
        except Exception:
            return float("nan")

    return read


def train_stages(
    spec: Any,
    host: PluginHost,
    ctx: RunContext,
    parts: ModelParts,
    head: Head,
    source: Any,
    splits: Splits,
    history: list,
    checkpoints: Optional[Checkpoints] = None,
    digest: str = "",
    before: Optional[list] = None,
) -> ModelParts:
    """Train every stage; ``before`` receives a snapshot of the model before the first
    stage with domain-adaptation losses."""
    data = spec.data
    done = int(checkpoints.state.get("completed", 0)) if checkpoints is not None else 0
    n_train = splits.sizes["train"]
    steps = steps_per_epoch(n_train, data.batch_size)
    train_ds = batched(splits.sets["train"], data.batch_size, cache=data.cache, shuffle=n_train, seed=spec.seed)
    val_ds = (
        batched(splits.sets["validation"], data.batch_size, cache=data.cache)
        if splits.sizes["validation"]
        else None
    )
    target_ds = None
    if "target" in splits.sets:
        target_ds = batched(
            splits.sets["target"], data.batch_size, cache=data.cache, shuffle=splits.sizes["target"], seed=spec.seed + 1
        ).repeat()
    prefix = "val_" if val_ds is not None else ""
    compositions_all: list = []
    for s, stage in enumerate(spec.training.stages):
        name = stage.name or f"stage{s + 1}"
        for j, section in enumerate(stage.surgery):
            where = f"training.stages.{s}.surgery.{j}"
            host.call_first("adaptkit_apply_surgery", where, section, model=source, context=ctx.at(where))
        if spec.training.batch_norm == "frozen":
            freeze_batch_norm(parts.encoder)
        if s < done:
            if stage.gradual_unfreezing is not None:  # leave the groups as the stage left them
                gu = stage.gradual_unfreezing
                ran = max(1, sum(1 for row in history if row["stage"] == s + 1))  # early stopping may end sooner
                unfreezer = gradual_unfreezing(stage, spec, parts, source, name)
                unfreezer.unfreeze(min(len(unfreezer.groups), gu.start + (ran - 1) // gu.every))
            for j, section in enumerate(stage.losses):
                where = f"training.stages.{s}.losses.{j}"
                composed = host.call_first("adaptkit_compose_loss", where, section, parts=parts, context=ctx.at(where))
                if composed.finalize is not None:
                    raise SpecError(
                        "--resume",
                        f"stage {s + 1} ({name}) finished with {section.kind!r}, whose adapted model is not "
                        "checkpointed; run the spec again without --resume",
                    )
            log.info("stage %d (%s): done in the interrupted run", s + 1, name)
            continue
        if s == done and done > 0:
            parts.model.load_weights(checkpoints.weights(done - 1))
        extra_callbacks: list = []
        if stage.gradual_unfreezing is not None:
            extra_callbacks.append(gradual_unfreezing(stage, spec, parts, source, name))
        trainable, total = count_params(parts.model)
        log.info("stage %d (%s): %s of %s parameters trainable", s + 1, name, f"{trainable:,}", f"{total:,}")
        if stage.losses and before is not None and not before:
            before.append(snapshot(parts))
        total_steps = stage.epochs * steps
        lr = build_schedule(stage.schedule, stage.optimizer.learning_rate, total_steps)
        optimizer = build_optimizer(stage.optimizer, lr)
        compositions = []
        for j, section in enumerate(stage.losses):
            where = f"training.stages.{s}.losses.{j}"
            compositions.append(host.call_first("adaptkit_compose_loss", where, section, parts=parts, context=ctx.at(where)))
        compositions_all.extend(compositions)
        groups = discriminative_groups(stage, source, total_steps) if stage.discriminative else None
        if compositions or groups or stage.gradual_unfreezing:
            two_stream = target_ds is not None and bool(compositions)
            model = Trainer(parts, compositions, two_stream, total_steps, groups=groups)
            fit_data = tf.data.Dataset.zip((train_ds, target_ds)) if two_stream else train_ds
            if stage.gradual_unfreezing is not None:
                prebuild_optimizer(optimizer, parts.model, groups)
        else:
            model, fit_data = parts.model, train_ds
        model.compile(
            optimizer=optimizer,
            loss=head.loss,
            metrics=list(head.metrics),
            steps_per_execution=spec.training.steps_per_execution,
            jit_compile=spec.training.jit_compile,
        )
        persist = None
        callbacks: list = list(extra_callbacks)
        if checkpoints is not None and spec.training.backup != "off":
            persist = lambda s=s: checkpoints.save_state(digest, s, history)  # noqa: E731
            callbacks.append(keras.callbacks.BackupAndRestore(str(checkpoints.backup(s)), save_freq=spec.training.backup))
        callbacks += [EpochLog(history, s + 1, name, _lr_reader(optimizer), persist), keras.callbacks.TerminateOnNaN()]
        if stage.early_stopping is not None:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor=prefix + head.monitor,
                    mode="max" if head.higher_is_better else "min",
                    patience=stage.early_stopping.patience,
                    restore_best_weights=stage.early_stopping.restore_best_weights,
                )
            )
        model._initial_epoch = None  # a restored epoch belongs to its own stage only (Keras keeps it)
        try:
            model.fit(
                fit_data,
                validation_data=val_ds,
                epochs=stage.epochs,
                steps_per_epoch=steps,
                callbacks=callbacks,
                verbose=spec.training.verbose,
                shuffle=False,
            )
        except (tf.errors.InvalidArgumentError, tf.errors.DataLossError, tf.errors.NotFoundError) as exc:
            raise DataError("data", f"reading the data failed: {exc.message.splitlines()[0]}") from exc
        if checkpoints is not None:
            parts.model.save_weights(checkpoints.weights(s))
            checkpoints.save_state(digest, s + 1, history)
    if 0 < done == len(spec.training.stages):  # interrupted after the last stage
        parts.model.load_weights(checkpoints.weights(done - 1))
    adapted = finalize_model(parts, compositions_all)
    if adapted is not None:
        names = [layer.name for layer in adapted.layers]
        encoder = adapted.get_layer("encoder") if "encoder" in names else parts.encoder
        classifier = adapted.get_layer("classifier") if "classifier" in names else parts.classifier
        parts = ModelParts(encoder, classifier, adapted, parts.task)
    return parts


def snapshot(parts: ModelParts) -> ModelParts:
    """A frozen copy of the model as it is now (fresh layers, same weights)."""
    encoder = keras.models.clone_model(parts.encoder)
    encoder.set_weights(parts.encoder.get_weights())
    classifier = keras.models.clone_model(parts.classifier)
    classifier.set_weights(parts.classifier.get_weights())
    inputs = keras.Input(shape=tuple(parts.encoder.inputs[0].shape[1:]), dtype=parts.encoder.inputs[0].dtype)
    model = keras.Model(inputs, classifier(encoder(inputs)), name="before_adaptation")
    model.trainable = False
    return ModelParts(encoder, classifier, model, parts.task)


def discriminative_groups(stage: Any, source: Any, total_steps: int) -> list[tuple[Any, list]]:
    """One optimizer per layer group of the source, the rate divided by ``factor`` per group down."""
    spec = stage.discriminative
    groups = layer_groups(source, spec.block_depth)
    out = []
    with all_trainable(source):
        for k, (group, layers) in enumerate(reversed(groups), start=1):
            rate = stage.optimizer.learning_rate / spec.factor**k
            optimizer = build_optimizer(stage.optimizer, build_schedule(stage.schedule, rate, total_steps))
            variables = [v for layer in layers for v in layer.trainable_variables]
            optimizer.build(variables)
            out.append((optimizer, variables))
            log.info("discriminative rate: group %s learns at %.3g", group, rate)
    return out


def prebuild_optimizer(optimizer: Any, model: Any, groups: Optional[list]) -> None:
    """Build the stage optimizer on every variable that may become trainable during the stage."""
    grouped = {id(v) for _, vs in groups or [] for v in vs}
    with all_trainable(model):
        optimizer.build([v for v in model.trainable_variables if id(v) not in grouped])


def gradual_unfreezing(stage: Any, spec: Any, parts: ModelParts, source: Any, name: str) -> GradualUnfreezing:
    """Freeze the source, then let the callback unfreeze its groups top down, one per epoch."""
    gu = stage.gradual_unfreezing
    groups = [layers for _, layers in reversed(layer_groups(source, gu.block_depth))]
    set_trainable(source, lambda i, _: False)

    def after_change() -> None:
        if spec.training.batch_norm == "frozen":
            freeze_batch_norm(parts.encoder)
        trainable, total = count_params(parts.model)
        log.info("%s: gradual unfreezing: %s of %s parameters trainable", name, f"{trainable:,}", f"{total:,}")

    return GradualUnfreezing(groups, gu.start, gu.every, after_change)


# -- evaluation ----------------------------------------------------------------


def evaluation_sets(spec: Any, splits: Splits) -> dict[str, Any]:
    bs = spec.data.batch_size
    return {name: batched(ds, bs, cache=False) for name, ds in splits.sets.items() if splits.sizes.get(name)}


def evaluate(
    spec: Any, host: PluginHost, ctx: RunContext, parts: ModelParts, sets: dict, before: Optional[ModelParts] = None
) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    answers = host.call_each(
        "adaptkit_evaluate", "evaluation", spec=spec, parts=parts, data=sets, context=ctx.at("evaluation"), before=before
    )
    for plugin, answer in answers:
        if not isinstance(answer, dict):
            raise PluginError("evaluation", f"plugin {plugin!r} answered adaptkit_evaluate with {type(answer).__name__}, not a dict")
        metrics.update(answer)
    return metrics


def _fresh_layer(layer: Any) -> Any:
    """A new layer from the config, without LoRA adapters: its full kernel trains from scratch."""
    config = layer.get_config()
    config.pop("lora_rank", None)
    config.pop("lora_alpha", None)
    return layer.__class__.from_config(config)


def train_baseline(
    spec: Any, parts: ModelParts, head: Head, splits: Splits, rows: list
) -> ModelParts:
    """The same architecture from random initialisation, every layer trainable."""
    keras.utils.set_random_seed(spec.seed)
    model = keras.models.clone_model(parts.model, clone_function=_fresh_layer, recursive=True)
    set_trainable(model, lambda i, _: True)  # every layer, BatchNorm included: nothing was learnt before
    ev = spec.evaluation
    epochs = ev.baseline_epochs or sum(stage.epochs for stage in spec.training.stages)
    opt_spec = ev.baseline_optimizer or spec.training.stages[0].optimizer
    data = spec.data
    steps = steps_per_epoch(splits.sizes["train"], data.batch_size)
    optimizer = build_optimizer(opt_spec, opt_spec.learning_rate)
    model.compile(
        optimizer=optimizer,
        loss=head.loss,
        metrics=list(head.metrics),
        steps_per_execution=spec.training.steps_per_execution,
        jit_compile=spec.training.jit_compile,
    )
    train_ds = batched(splits.sets["train"], data.batch_size, cache=data.cache, shuffle=splits.sizes["train"], seed=spec.seed)
    val_ds = batched(splits.sets["validation"], data.batch_size, cache=data.cache) if splits.sizes["validation"] else None
    trainable, total = count_params(model)
    log.info("baseline (from scratch): %s of %s parameters trainable, %d epochs", f"{trainable:,}", f"{total:,}", epochs)
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=epochs,
        steps_per_epoch=steps,
        callbacks=[EpochLog(rows, 1, "baseline", _lr_reader(optimizer)), keras.callbacks.TerminateOnNaN()],
        verbose=spec.training.verbose,
        shuffle=False,
    )
    return ModelParts(model.get_layer("encoder"), model.get_layer("classifier"), model, parts.task)


def compare_transfer(
    transfer_rows: list, baseline_rows: list, monitor: str, higher: bool, t_final: Optional[float], b_final: Optional[float]
) -> dict[str, Any]:
    """Start, slope, asymptote: does transfer help, or is it negative transfer?"""

    def curve(rows: list) -> list[float]:
        key = "val_" + monitor if rows and ("val_" + monitor) in rows[0] else monitor
        return [float(r[key]) for r in rows if key in r]

    t, b = curve(transfer_rows), curve(baseline_rows)
    sign = 1.0 if higher else -1.0

    def slope(c: list[float]) -> float:
        k = max(2, math.ceil(len(c) / 2))
        c = c[:k]
        return (c[-1] - c[0]) / (len(c) - 1) if len(c) > 1 else 0.0

    out: dict[str, Any] = {"metric": monitor, "curve": "validation" if transfer_rows and "val_" + monitor in transfer_rows[0] else "train"}
    if t and b:
        out.update(
            start_transfer=t[0],
            start_baseline=b[0],
            higher_start=bool(sign * (t[0] - b[0]) > 0),
            slope_transfer=slope(t),
            slope_baseline=slope(b),
            steeper_slope=bool(sign * (slope(t) - slope(b)) > 0),
        )
    if t_final is not None and b_final is not None:
        out.update(
            asymptote_transfer=t_final,
            asymptote_baseline=b_final,
            higher_asymptote=bool(sign * (t_final - b_final) > 0),
            negative_transfer=bool(sign * (t_final - b_final) < 0),
        )
    return out


def plot_curves(path: Path, transfer_rows: list, baseline_rows: list, monitor: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", monitor)):
        for rows, label in ((transfer_rows, "transfer"), (baseline_rows, "from scratch")):
            if not rows:
                continue
            epochs = [r["epoch"] for r in rows]
            for prefix, style in (("", "--"), ("val_", "-")):
                if prefix + key in rows[0]:
                    ax.plot(epochs, [r[prefix + key] for r in rows], style, label=f"{label} {prefix or 'train_'}{key}")
        for r0, r1 in zip(transfer_rows, transfer_rows[1:]):
            if r1["stage"] != r0["stage"]:
                ax.axvline(r0["epoch"] + 0.5, color="grey", lw=0.8)
        ax.set_xlabel("epoch")
        ax.set_title(key)
        ax.legend(fontsize=7)
    fig.tight_layout()
    tmp = path.with_name(".tmp-" + path.name)
    fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    tmp.replace(path)


# -- the whole run ---------------------------------------------------------------


def configure_determinism(seed: int) -> None:
    keras.utils.set_random_seed(seed)
    try:
        tf.config.experimental.enable_op_determinism()
    except Exception:  # pragma: no cover - older TF
        pass


def _resolved_yaml(spec: Any) -> str:
    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)


def run_pipeline(
    spec: Any,
    spec_path: Path,
    output_dir: Optional[Path] = None,
    host: Optional[PluginHost] = None,
    resume: bool = False,
) -> RunResult:
    """Run a validated spec; ``resume`` goes on with the newest interrupted run of the same spec."""
    host = host or get_host()
    started = time.perf_counter()
    ctx = RunContext(seed=spec.seed, spec_dir=Path(spec_path).resolve().parent)
    resolved = _resolved_yaml(spec)
    digest = spec_digest(resolved)
    parent = Path(output_dir or spec.output_dir)
    if resume:
        found = RunDir.resume(parent, spec.name, digest)
        if found is None:
            raise SpecError("--resume", f"no interrupted run of {spec.name!r} with this exact spec in {parent}")
        rundir = found
    else:
        try:
            rundir = RunDir(parent, spec.name)
        except OSError as exc:
            raise SpecError("output_dir", f"cannot create a run directory in {parent}: {exc.strerror or exc}") from exc
    checkpoints = Checkpoints(rundir.partial)
    ctx.run_dir = rundir.partial
    handler = logging.FileHandler(rundir.path("run.log"), encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    handler.setLevel(logging.DEBUG)
    previous_level, previous_policy = log.level, keras.mixed_precision.global_policy()
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    try:
        configure_determinism(spec.seed)
        keras.mixed_precision.set_global_policy("mixed_bfloat16" if spec.training.mixed_precision else "float32")
        rundir.write_text("spec.yaml", resolved)
        splits = load_splits(spec, host, ctx)
        log.info("data: " + ", ".join(f"{k} {v}" for k, v in splits.sizes.items()))
        parts, head, source = build_model(spec, host, ctx, splits.source)
        history: list = list(checkpoints.state.get("history", [])) if resume else []
        if resume:
            log.info("resuming %s after %d completed stage(s)", rundir.partial.name, checkpoints.state.get("completed", 0))
        before: list = []
        parts = train_stages(spec, host, ctx, parts, head, source, splits, history, checkpoints, digest, before)
        sets = evaluation_sets(spec, splits)
        metrics = evaluate(spec, host, ctx, parts, sets, before[0] if before else None)
        trainable, total = count_params(parts.model)
        monitor = head.monitor
        headline_key = f"test/{monitor}"
        result: dict[str, Any] = {
            "headline": {"metric": headline_key, "value": metrics.get(headline_key)},
            "metrics": metrics,
            "parameters": {"total": total, "trainable_last_stage": trainable},
            "data": splits.sizes,
            "epochs": len(history),
            "last_epoch": history[-1] if history else {},
        }
        baseline_rows: list = []
        if spec.evaluation.baseline:
            base_parts = train_baseline(spec, parts, head, splits, baseline_rows)
            base_metrics = evaluate(spec, host, ctx, base_parts, sets)
            result["baseline"] = {"metrics": base_metrics, "epochs": len(baseline_rows)}
            result["transfer"] = compare_transfer(
                history, baseline_rows, monitor, head.higher_is_better, metrics.get(headline_key), base_metrics.get(headline_key)
            )
            rundir.write_csv("baseline_history.csv", baseline_rows)
        rundir.save_model("model.keras", parts.model)
        adapters = adapter_arrays(parts.model)
        if adapters:
            write_adapters(rundir.path("adapters.npz"), adapters)
            result["adapters"] = {"file": "adapters.npz", "parameters": int(sum(a.size for a in adapters.values()))}
        rundir.write_csv("history.csv", history)
        if spec.evaluation.plots and history:
            plot_curves(rundir.path("curves.png"), history, baseline_rows, monitor)
        result["wall_time_s"] = round(time.perf_counter() - started, 2)
        rundir.write_json("metrics.json", result)
        log.info("headline %s = %s", headline_key, metrics.get(headline_key))
        handler.close()
        final = rundir.commit()
        return RunResult(final, result, (headline_key, metrics.get(headline_key)))
    except BaseException as exc:
        handler.close()
        # Bad input is found before training starts: leave nothing behind. A run that
        # has trained keeps its hidden .partial folder, so `run --resume` can go on.
        if not checkpoints.state or (isinstance(exc, SpecError) and not resume):
            if not resume:
                rundir.discard()
        else:
            exc.add_note(f"adaptkit: interrupted run kept in {rundir.partial}; go on with: adaptkit run SPEC --resume")
            exc.adaptkit_partial = rundir.partial  # type: ignore[attr-defined]
        raise
    finally:
        log.removeHandler(handler)
        log.setLevel(previous_level)
        keras.mixed_precision.set_global_policy(previous_policy)
