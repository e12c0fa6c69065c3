"""Loss-based task weighting: equal, static weights, uncertainty weighting, Dynamic Weight Average."""

from __future__ import annotations

import math

import keras

from adaptkit import SpecError, TaskWeighting


class Equal(TaskWeighting):
    """Every task's loss with weight 1."""

    def __init__(self, section, weights, context) -> None:
        super().__init__({name: 1.0 for name in weights})


class Static(TaskWeighting):
    """The sum of the task losses, each times its fixed weight."""

    def __init__(self, section, weights, context) -> None:
        chosen = dict(weights)
        if section.weights is not None:
            for name, value in section.weights.items():
                if name not in weights:
                    raise SpecError(f"{context.where}.weights.{name}", f"no task {name!r} (tasks: {', '.join(weights)})")
                if not (math.isfinite(value) and value >= 0):
                    raise SpecError(f"{context.where}.weights.{name}", f"a weight must be a finite number >= 0, not {value}")
            missing = [name for name in weights if name not in section.weights]
            if missing:
                raise SpecError(f"{context.where}.weights", f"no weight for task {missing[0]!r}")
            chosen = dict(section.weights)
        super().__init__(chosen)

    def weights(self):
        return {}


class Uncertainty(TaskWeighting):
    """Kendall et al. (2018): ``sum(L_t / (2 exp(s_t)) + s_t / 2)`` with a learnt log-variance ``s_t`` per task."""

    def __init__(self, section, weights, context) -> None:
        super().__init__(weights)
        self.log_variances = {
            name: keras.Variable(section.initial_log_variance, dtype="float32", name=f"log_variance_{name}")
            for name in self.tasks
        }

    def loss(self, losses, progress):
        total = 0.0
        for name, value in losses.items():
            s = self.log_variances[name]
            total = total + value / (2.0 * keras.ops.exp(s)) + s / 2.0
        return total

    def variables(self):
        return list(self.log_variances.values())

    def weights(self):
        return {name: 1.0 / (2.0 * keras.ops.exp(s)) for name, s in self.log_variances.items()}


class DWA(TaskWeighting):
    """Liu et al. (2019): at each epoch, ``w = K softmax(r / T)`` with ``r_t = L_t(e-1) / L_t(e-2)``
    the ratio of the task's last two epoch-mean training losses; weights 1 for the first two epochs.

    The last two epochs' losses are Keras variables (``state``), so a resumed run goes on with them."""

    def __init__(self, section, weights, context) -> None:
        super().__init__(weights)
        self.temperature = section.temperature
        def variables(prefix, value):
            return {name: keras.Variable(value, dtype="float32", trainable=False, name=f"dwa_{prefix}_{name}") for name in self.tasks}
        self.current = variables("weight", 1.0)
        self.last = variables("last_loss", 0.0)
        self.before = variables("previous_loss", 0.0)
        self.epochs = keras.Variable(0.0, dtype="float32", trainable=False, name="dwa_epochs")

    def loss(self, losses, progress):
        return sum(self.current[name] * value for name, value in losses.items())

    def state(self):
        return [*self.current.values(), *self.last.values(), *self.before.values(), self.epochs]

    def weights(self):
        return dict(self.current)

    def update(self, logs: dict) -> dict[str, float]:
        """Record one epoch's mean task losses (``<task>_loss`` in the training logs); set the next weights."""
        for name in self.tasks:
            self.before[name].assign(self.last[name])
            self.last[name].assign(float(logs[f"{name}_loss"]))
        self.epochs.assign_add(1.0)
        if float(self.epochs.numpy()) < 2:
            return {name: 1.0 for name in self.tasks}
        last = {name: float(self.last[name].numpy()) for name in self.tasks}
        before = {name: float(self.before[name].numpy()) for name in self.tasks}
        ratios = {name: last[name] / before[name] if before[name] > 0 else 1.0 for name in self.tasks}
        top = max(r / self.temperature for r in ratios.values())
        exps = {name: math.exp(r / self.temperature - top) for name, r in ratios.items()}
        total = sum(exps.values())
        new = {name: len(self.tasks) * e / total for name, e in exps.items()}
        for name, value in new.items():
            self.current[name].assign(value)
        return new

    def callbacks(self):
        weighting = self

        class DWAUpdate(keras.callbacks.Callback):
            """Sets DWA's weights for the next epoch from this epoch's task losses."""

            def on_epoch_end(self, epoch, logs=None):
                weighting.update(logs or {})

        return [DWAUpdate()]
