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
from typing import Any, Callable, Optional

import keras
import tensorflow as tf

from ._distribution import for_workers, per_replica, replica_mean, unscaled
from ._reach import unreached_terms
from ._layers import all_trainable, make_trainable
from ._optim import build_optimizer, build_schedule  # noqa: F401  (re-exported: callers import them from here)
from ._streams import StreamsMixin, TaskStreams
from ._types import LossComposition, ModelParts, Player, StepBatch, TaskWeighting


def _ids(variables: Any) -> set[int]:
    return {id(v) for v in variables}


def _as_loss(loss: Any) -> Callable[[Any, Any], Any]:
    """A head's loss (a Keras Loss, or a name) as a function returning the batch's mean (on a
    replica's share of the batch under a strategy: Keras' own division by the replicas undone)."""
    fn = keras.losses.get(loss) if isinstance(loss, str) else loss
    if isinstance(fn, keras.losses.Loss):
        return lambda y, p: unscaled(fn(y, p))
    return lambda y, p: keras.ops.mean(fn(y, p))


class Trainer(StreamsMixin, keras.Model):
    """Trains ``parts.model`` together with the players of loss compositions."""

    def __init__(
        self,
        parts: ModelParts,
        compositions: list[LossComposition],
        two_stream: bool,
        total_steps: int,
        groups: Optional[list[tuple[Any, list]]] = None,
        task_losses: Optional[dict[str, Any]] = None,
        weighting: Optional[TaskWeighting] = None,
        task_streams: Optional[TaskStreams] = None,
        **kwargs: Any,
    ) -> None:
        """``groups``: (optimizer, variables) pairs that take the main player's
        gradients for those variables instead of the compiled optimizer
        (discriminative learning rates). Each optimizer is built on its
        variables up front, so layers unfrozen later still have slots.

        ``task_losses`` (multi-task): each task's loss, by task name; the
        model's outputs and labels are dicts with those keys, and
        ``weighting`` combines the task losses (or their gradients of the
        shared encoder variables) into one update.

        ``task_streams``: some tasks have their own data; every batch is then
        ``((x, {task: y}), {task: (x_task, y_task)})`` and the trainer keeps
        every task's metrics itself (compile without metrics)."""
        super().__init__(**kwargs)
        self.task_losses = {name: _as_loss(fn) for name, fn in (task_losses or {}).items()}
        self.weighting = weighting if weighting is not None else (TaskWeighting({t: 1.0 for t in self.task_losses}) if self.task_losses else None)
        self.weighting_variables = list(self.weighting.variables()) if self.weighting is not None else []
        self.weighting_state = list(self.weighting.state()) if self.weighting is not None else []
        self.task_trackers = {name: keras.metrics.Mean(name=f"{name}_loss") for name in self.task_losses}
        self.net = parts.model
        self.encoder = parts.encoder
        self.classifier = parts.classifier
        self._init_streams(task_streams)
        self.two_stream = two_stream
        self.total_steps = float(max(1, total_steps))
        self.compositions = compositions
        self.terms = [t for c in compositions for t in c.terms]
        self.extra_modules = [m for c in compositions for m in c.modules]
        self.extra_players: list[Player] = [p for c in compositions for p in c.players]
        self.player_optimizers = [p.optimizer for p in self.extra_players]
        self.freeze_main = any(c.freeze_main for c in compositions)
        self.group_optimizers = [opt for opt, _ in groups or []]
        self._group_of = {id(v): i for i, (_, vs) in enumerate(groups or []) for v in vs}
        # every replica counts the same steps: under a strategy the first replica's update stands
        self.step_counter = keras.Variable(0.0, trainable=False, dtype="float32", name="adaptkit_step", aggregation="only_first_replica")
        self.extra_metrics = {name: fn for c in compositions for name, fn in c.metrics.items()}
        if self.weighting is not None:
            self.extra_metrics.update(
                {f"weight_{task}": (lambda batch, task=task: self.weighting.weights()[task]) for task in self.weighting.weights()}
            )
        names = [t.name for t in self.terms] + list(self.extra_metrics)
        self.trackers = {name: keras.metrics.Mean(name=name) for name in names}
        for player in self.extra_players:  # built up front: BackupAndRestore restores their state
            variables = list(player.variables())
            if variables and not player.optimizer.built:
                player.optimizer.build(variables)
        self.unreached_terms: set = set()  # terms whose gradient reaches nothing (found as the step is traced)
        self.built = True  # the wrapped model is built; BackupAndRestore needs a built model

    def call(self, inputs: Any, training: bool = False) -> Any:
        return self.net(inputs, training=training)

    def _symbolic_build(self, iterator: Any = None, data_batch: Any = None) -> None:
        # Under a strategy Keras builds the model, its compiled metrics and loss from the first batch
        # before fit (not inside the replicas' step, where variables cannot be made), reading it as
        # (x, y): a training batch of the trainer (two streams, tasks' own data) is handed on as the
        # source's (x, y). Evaluation batches are (x, y) already. (Overrides a private Keras method:
        # tests/test_distribution.py runs it.)
        if data_batch is not None and isinstance(data_batch[0], (tuple, list)):
            xs, ys, _, _ = self._unpack(data_batch)
            data_batch = (xs, ys)
        super()._symbolic_build(iterator=iterator, data_batch=data_batch)

    @property
    def metrics(self) -> list:
        own = list(self.own_metrics.values())
        return super().metrics + list(self.task_trackers.values()) + own + list(self.trackers.values())

    # -- variables of each player ----------------------------------------
    def _player_variables(self) -> dict[str, list]:
        claimed: dict[str, list] = {p.name: list(p.variables()) for p in self.extra_players}
        taken = set().union(*(_ids(v) for v in claimed.values())) if claimed else set()
        main = [] if self.freeze_main else list(self.net.trainable_variables) + list(self.weighting_variables)
        for module in self.extra_modules:
            main.extend(v for v in module.trainable_variables if id(v) not in taken)
        seen: set[int] = set()
        claimed["main"] = [v for v in main if not (id(v) in seen or seen.add(id(v)))]
        return claimed

    def main_variables(self) -> list:
        """Every variable the stage's own optimizer may train (frozen ones too: gradual unfreezing)."""
        with all_trainable(self.net):
            return self._player_variables()["main"]

    # -- the step ----------------------------------------------------------
    def _unpack(self, data: Any) -> tuple:
        if self.streams is not None:
            (xs, ys), _ = data
            return xs, ys, None, None
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
            if self.task_losses:
                losses = self._per_task(ys, os_)
                values["__tasks__"] = losses
                task = self.weighting.loss(losses, batch.progress)
                if self.losses:  # layers' own losses (kernel regularizers), as Keras' compute_loss adds them
                    task = task + keras.ops.sum(self.losses)
            else:
                task = unscaled(self._compute_loss(x=batch.x_source, y=ys, y_pred=os_, training=True))
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

    def _apply_grouped(self, pairs: list) -> None:
        routed: dict[int, list] = {}
        for g, v in pairs:
            routed.setdefault(self._group_of.get(id(v), -1), []).append((g, v))
        for index, group_pairs in sorted(routed.items(), reverse=True):  # groups first, main (-1) last
            if index < 0:
                self.optimizer.apply_gradients(group_pairs)
                continue
            optimizer = self.group_optimizers[index]
            # the stage's schedule runs on one clock, also for groups unfrozen late
            optimizer.iterations.assign(self.optimizer.iterations)
            optimizer.apply_gradients(group_pairs)

    def _per_task(self, ys: Any, outputs: Any) -> dict[str, Any]:
        """Each task's (unweighted) loss on the batch, as a float32 scalar."""
        return {name: keras.ops.cast(fn(ys[name], outputs[name]), "float32") for name, fn in self.task_losses.items() if name in ys}

    def _track_tasks(self, losses: dict[str, Any], total: Any, ys: Any) -> None:
        n = tf.shape(tf.nest.flatten(ys)[0])[0]
        self._loss_tracker.update_state(total, sample_weight=n)
        for name, value in losses.items():
            self.task_trackers[name].update_state(value, sample_weight=n)

    def test_step(self, data: Any) -> dict:
        # validation sees the model alone: the loss terms' trackers are training-only
        if self.task_losses:
            x, y = data[0], data[1]
            outputs = self.net(x, training=False)
            losses = self._per_task(y, outputs)
            self._track_tasks(losses, sum(self.weighting.static[k] * v for k, v in losses.items()), y)
            self._update_own_metrics(y, outputs)
            logs = self.compute_metrics(x, y, outputs, sample_weight=None)
        else:
            logs = super().test_step(data)
        return for_workers({k: v for k, v in logs.items() if k not in self.trackers and k not in self._stream_keys})

    def _shared_update(self, tape: Any, main_share: Any, values: dict, main_vars: list) -> tuple[list, list]:
        """Gradient-based task weighting: the shared (encoder) variables get the strategy's
        combination of the per-task gradients (plus the other terms' gradient), the rest
        the gradient of the main loss."""
        shared_ids = _ids(self.encoder.trainable_variables)
        shared = [v for v in main_vars if id(v) in shared_ids]
        rest = [v for v in main_vars if id(v) not in shared_ids]
        losses = values["__tasks__"]
        per_task = {
            name: [g if g is not None else tf.zeros_like(v) for g, v in zip(tape.gradient(loss, shared), shared)]
            for name, loss in losses.items()
        }
        # under a strategy the weighting sees the replicas' mean gradients and losses (what one device
        # would see); its combination is then this replica's share of the summed update
        combined = [per_replica(g) for g in self.weighting.gradients(*replica_mean((per_task, losses)))] if shared else []
        others = [t for t in self.terms if t.player == "main"]
        if others and shared:
            extra = tape.gradient(values["__others__"], shared)
            combined = [c if e is None else c + e for c, e in zip(combined, extra)]
        grads = combined + (list(tape.gradient(main_share, rest)) if rest else [])
        return grads, shared + rest

    def _apply(self, optimizer: Any, grads: Any, variables: list, grouped: bool = False) -> None:
        pairs = [(g, v) for g, v in zip(grads, variables) if g is not None]
        if grouped and self._group_of:
            self._apply_grouped(pairs)
        elif pairs:
            optimizer.apply_gradients(pairs)

    def train_step(self, data: Any) -> dict:
        """One forward pass over both streams; every player's loss; each player's update.

        Players are updated simultaneously from the same forward pass (the
        main player's gradient does not see this step's discriminator update).
        A player with ``steps > 1`` (a WGAN critic) takes its extra updates on
        the same features, recomputing only its own terms.
        """
        xs, ys, xt, yt = self._unpack(data)
        progress = keras.ops.minimum(self.step_counter / self.total_steps, 1.0)
        variables = self._player_variables()
        values: dict[str, Any] = {}
        with tf.GradientTape(persistent=True) as tape:
            batch, os_ = self._forward(xs, ys, xt, yt, progress)
            ys_all, os_all = self._own_streams(data, ys, os_)
            # each loss is this replica's mean; per_replica makes it its share of the summed gradient
            losses = {p.name: per_replica(self._player_loss(batch, ys, os_, p.name, values)) for p in self.extra_players}
            main_loss = self._player_loss(batch, ys_all, os_all, "main", values)
            main_share = per_replica(main_loss)
            if "__task__" in values:  # the other main-player terms, on the tape (gradient-based weighting)
                values["__others__"] = main_share - per_replica(values["__task__"])
        self.unreached_terms.update(unreached_terms(tape, self.terms, values, variables))  # at trace time only
        for player in self.extra_players:
            pvars = variables[player.name]
            if not pvars:
                continue
            self._apply(player.optimizer, tape.gradient(losses[player.name], pvars), pvars)
            for _ in range(player.steps - 1):
                with tf.GradientTape() as inner:
                    loss = per_replica(self._player_loss(batch, ys, os_, player.name, values))
                self._apply(player.optimizer, inner.gradient(loss, pvars), pvars)
        if variables["main"]:
            if self.weighting is not None and self.weighting.gradient_based and "__tasks__" in values:
                grads, main_vars = self._shared_update(tape, main_share, values, variables["main"])
            else:
                grads, main_vars = tape.gradient(main_share, variables["main"]), variables["main"]
            self._apply(self.optimizer, grads, main_vars, grouped=True)
        del tape
        if "__tasks__" in values:
            self._track_tasks(values["__tasks__"], values["__task__"], ys)
        elif "__task__" in values:
            self._loss_tracker.update_state(values["__task__"], sample_weight=tf.shape(ys)[0])
        for name, fn in self.extra_metrics.items():
            values[name] = fn(batch)
        for name, tracker in self.trackers.items():
            if name in values:
                tracker.update_state(values[name])
        self.step_counter.assign_add(1.0)
        self._update_own_metrics(ys_all, os_all)
        return for_workers(self.compute_metrics(xs, ys, os_, sample_weight=None))


class GradualUnfreezing(keras.callbacks.Callback):
    """Unfreeze one more layer group (top down) every ``every`` epochs, and retrace the step."""

    def __init__(self, groups_top_down: list[list], start: int, every: int, after_change: Callable[[], None]) -> None:
        super().__init__()
        self.groups, self.start, self.every, self.after_change = groups_top_down, start, every, after_change
        self.unfrozen = -1

    def unfreeze(self, n: int) -> bool:
        """Unfreeze the top ``n`` groups; True when that changed anything."""
        if n == self.unfrozen:
            return False
        for layers in self.groups[:n]:
            for layer in layers:
                make_trainable(layer)
        self.unfrozen = n
        self.after_change()
        return True

    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None:
        changed = self.unfreeze(min(len(self.groups), self.start + epoch // self.every))
        if changed and self.model.train_function is not None:
            self.model.make_train_function(force=True)


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
