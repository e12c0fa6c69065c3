"""Training: optimizers and schedules from the spec, and the multi-player trainer.

A stage without extra loss terms trains the model with plain ``compile`` and
``fit``. A stage with loss compositions (domain adaptation) trains a
:class:`Trainer`, a ``keras.Model`` that wraps the model and whose
``train_step`` draws a source and a target batch, computes every term, and
lets each player (the main model, a discriminator, ...) apply the gradients of
its own weighted loss with its own optimizer. Everything still runs inside
``keras.Model.fit``, so callbacks, progress bars and checkpoints work.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import keras
import tensorflow as tf

from ._types import LossComposition, ModelParts, Player, StepBatch


def build_schedule(schedule: Any, learning_rate: float, total_steps: int) -> Any:
    """A Keras learning-rate schedule (or a float) for one stage."""
    if schedule.kind == "constant":
        return learning_rate
    warmup = int(round(schedule.warmup_fraction * total_steps))
    decay = max(1, total_steps - warmup)
    if warmup:
        return keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=0.0,
            decay_steps=decay,
            alpha=schedule.final_fraction,
            warmup_target=learning_rate,
            warmup_steps=warmup,
        )
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate, decay_steps=decay, alpha=schedule.final_fraction
    )


def build_optimizer(spec: Any, learning_rate: Any) -> keras.optimizers.Optimizer:
    """A Keras optimizer from an ``OptimizerSpec`` and a rate or schedule."""
    common: dict[str, Any] = {"learning_rate": learning_rate}
    if spec.clipnorm:
        common["clipnorm"] = spec.clipnorm
    if spec.name == "adamw":
        return keras.optimizers.AdamW(weight_decay=spec.weight_decay or 0.004, **common)
    if spec.weight_decay:
        common["weight_decay"] = spec.weight_decay
    if spec.name == "adam":
        return keras.optimizers.Adam(**common)
    if spec.name == "sgd":
        return keras.optimizers.SGD(momentum=spec.momentum, **common)
    return keras.optimizers.RMSprop(momentum=spec.momentum, **common)


def _ids(variables: Any) -> set[int]:
    return {id(v) for v in variables}


class Trainer(keras.Model):
    """Trains ``parts.model`` together with the players of loss compositions."""

    def __init__(
        self,
        parts: ModelParts,
        compositions: list[LossComposition],
        two_stream: bool,
        total_steps: int,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.net = parts.model
        self.encoder = parts.encoder
        self.classifier = parts.classifier
        self.two_stream = two_stream
        self.total_steps = float(max(1, total_steps))
        self.compositions = compositions
        self.terms = [t for c in compositions for t in c.terms]
        self.extra_modules = [m for c in compositions for m in c.modules]
        self.extra_players: list[Player] = [p for c in compositions for p in c.players]
        self.player_optimizers = [p.optimizer for p in self.extra_players]
        self.freeze_main = any(c.freeze_main for c in compositions)
        self.step_counter = keras.Variable(0.0, trainable=False, dtype="float32", name="adaptkit_step")
        self.extra_metrics = {name: fn for c in compositions for name, fn in c.metrics.items()}
        names = [t.name for t in self.terms] + list(self.extra_metrics)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self.net(inputs, training=training)

    @property
    def metrics(self) -> list:
        return super().metrics + list(self.trackers.values())

    # -- variables of each player ----------------------------------------
    def _player_variables(self) -> dict[str, list]:
        claimed: dict[str, list] = {p.name: list(p.variables()) for p in self.extra_players}
        taken = set().union(*(_ids(v) for v in claimed.values())) if claimed else set()
        main = [] if self.freeze_main else list(self.net.trainable_variables)
        for module in self.extra_modules:
            main.extend(v for v in module.trainable_variables if id(v) not in taken)
        seen: set[int] = set()
        claimed["main"] = [v for v in main if not (id(v) in seen or seen.add(id(v)))]
        return claimed

    # -- the step ----------------------------------------------------------
    def _unpack(self, data: Any) -> tuple:
        if not self.two_stream:
            x, y = data[0], data[1]
            return x, y, None, None
        (xs, ys), target = data
        if isinstance(target, (tuple, list)):
            return xs, ys, target[0], target[1]
        return xs, ys, target, None

    def _forward(self, xs: Any, ys: Any, xt: Any, yt: Any, progress: Any) -> tuple[StepBatch, Any]:
        fs = self.encoder(xs, training=True)
        os_ = self.classifier(fs, training=True)
        ft = ot = None
        if xt is not None:
            ft = self.encoder(xt, training=True)
            ot = self.classifier(ft, training=True)
        batch = StepBatch(xs, ys, fs, os_, progress, xt, yt, ft, ot)
        return batch, os_

    def _player_loss(self, batch: StepBatch, ys: Any, os_: Any, player: str, values: dict) -> Any:
        total = 0.0
        if player == "main" and not self.freeze_main:
            task = self._compute_loss(x=batch.x_source, y=ys, y_pred=os_, training=True)
            values["__task__"] = task
            total = total + task
        for term in self.terms:
            if term.player != player:
                continue
            value = term.fn(batch)
            values[term.name] = value
            weight = term.weight(batch.progress) if callable(term.weight) else term.weight
            total = total + keras.ops.cast(weight, "float32") * value
        return total

    def train_step(self, data: Any) -> dict:
        xs, ys, xt, yt = self._unpack(data)
        progress = keras.ops.minimum(self.step_counter / self.total_steps, 1.0)
        variables = self._player_variables()
        values: dict[str, Any] = {}
        order = self.extra_players + [Player("main", lambda: variables["main"], self.optimizer)]
        os_ = None
        for player in order:
            pvars = variables[player.name]
            for _ in range(player.steps):
                with tf.GradientTape() as tape:
                    batch, os_ = self._forward(xs, ys, xt, yt, progress)
                    loss = self._player_loss(batch, ys, os_, player.name, values)
                if pvars:
                    grads = tape.gradient(loss, pvars)
                    pairs = [(g, v) for g, v in zip(grads, pvars) if g is not None]
                    if pairs:
                        player.optimizer.apply_gradients(pairs)
        if "__task__" in values:
            self._loss_tracker.update_state(values["__task__"], sample_weight=tf.shape(ys)[0])
        for name, fn in self.extra_metrics.items():
            values[name] = fn(batch)
        for name, tracker in self.trackers.items():
            if name in values:
                tracker.update_state(values[name])
        self.step_counter.assign_add(1.0)
        logs = self.compute_metrics(xs, ys, os_, sample_weight=None)
        return logs


def steps_per_epoch(size: int, batch_size: int) -> int:
    return max(1, math.ceil(size / batch_size))


def count_params(model: keras.Model) -> tuple[int, int]:
    """(trainable, total) parameter counts."""
    trainable = sum(int(math.prod(v.shape)) for v in model.trainable_weights)
    total = sum(int(math.prod(v.shape)) for v in model.weights)
    return trainable, total


def finalize_model(parts: ModelParts, compositions: list[LossComposition]) -> Optional[keras.Model]:
    for comp in compositions:
        if comp.finalize is not None:
            return comp.finalize(parts)
    return None
