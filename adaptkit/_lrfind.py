"""The learning-rate finder: an exponential sweep of the rate over a few hundred steps.

The model and the stage's plan are built exactly as ``run`` builds them (one
:func:`adaptkit._stages.plan_stage`), with the trainability of the chosen stage; the loss is recorded at every step while the rate grows from
``min_lr`` to ``max_lr``; the weights are restored afterwards. The suggested
rate is where the smoothed loss falls fastest (the steepest slope against
log-rate), a common rule (fastai's ``lr_find``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import keras
import numpy as np

from ._distribution import build_for_fit, distribution_scope
from ._errors import SpecError
from ._plugins import PluginHost, get_host
from ._runner import configure_determinism, start_run
from ._stages import plan_stage, prepare_stage
from ._types import RunContext


@dataclass
class LRFindResult:
    learning_rates: list[float]
    losses: list[float]
    suggested: Optional[float]
    plot: Optional[Path]


class LRSweep(keras.callbacks.Callback):
    """Sets the rate before each step; recovers each step's own loss from Keras' running mean."""

    def __init__(self, min_lr: float, max_lr: float, steps: int, divergence: float = 4.0) -> None:
        super().__init__()
        self.min_lr, self.max_lr, self.steps, self.divergence = min_lr, max_lr, steps, divergence
        self.rates: list[float] = []
        self.losses: list[float] = []
        self._previous_mean = 0.0

    def rate(self, step: int) -> float:
        return self.min_lr * (self.max_lr / self.min_lr) ** (step / max(self.steps - 1, 1))

    def on_train_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        self.model.optimizer.learning_rate.assign(self.rate(batch))

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        mean = float((logs or {}).get("loss", float("nan")))
        loss = (batch + 1) * mean - batch * self._previous_mean
        self._previous_mean = mean
        self.rates.append(self.rate(batch))
        self.losses.append(loss)
        best = min(self.losses)
        if not math.isfinite(loss) or (batch > 5 and loss > self.divergence * best and best > 0):
            self.model.stop_training = True


def smooth(values: list[float], beta: float = 0.8) -> np.ndarray:
    out, avg = [], 0.0
    for i, v in enumerate(values, start=1):
        avg = beta * avg + (1 - beta) * v
        out.append(avg / (1 - beta**i))
    return np.asarray(out)


def suggest(rates: list[float], losses: list[float]) -> Optional[float]:
    finite = [(r, l) for r, l in zip(rates, losses) if math.isfinite(l)]
    if len(finite) < 5:
        return None
    r, l = map(np.asarray, zip(*finite))
    s = smooth(list(l))
    # ignore the tail where the loss has started to blow up
    end = int(np.argmin(s)) + 1
    if end < 3:
        return float(r[0])
    slope = np.gradient(s[:end], np.log(r[:end]))
    return float(r[int(np.argmin(slope))])


def plot(path: Path, rates: list[float], losses: list[float], suggested: Optional[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(rates, losses, alpha=0.3, label="loss per step")
    ax.plot(rates, smooth(losses), label="smoothed")
    if suggested is not None:
        ax.axvline(suggested, color="red", ls="--", label=f"suggested {suggested:.2g}")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    finite = [v for v in losses if math.isfinite(v)]
    if finite:
        ax.set_ylim(min(finite) * 0.9, min(max(finite), 4 * min(finite)) * 1.1)
    ax.legend()
    fig.tight_layout()
    tmp = path.with_name(".tmp-" + path.name)
    fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    tmp.replace(path)


def lr_find(
    spec: Any,
    spec_path: Path,
    stage: int = 0,
    min_lr: float = 1e-7,
    max_lr: float = 1.0,
    steps: int = 100,
    output: Optional[Path] = None,
    host: Optional[PluginHost] = None,
    trust_code: bool = False,
) -> tuple[LRFindResult, Any]:
    """Sweep the rate for ``training.stages[stage]``; return the result and the (restored) model.
    ``trust_code`` (``--trust-code``) lets model files run their code, as in ``run``."""
    host = host or get_host()
    if not 0 <= stage < len(spec.training.stages):
        raise SpecError("--stage", f"the spec has {len(spec.training.stages)} stages (0..{len(spec.training.stages) - 1})")
    if not 0 < min_lr < max_lr:
        raise SpecError("--min-lr", "needs 0 < min-lr < max-lr")
    if spec.training.distribution.kind == "multi_worker":
        raise SpecError("training.distribution", "lr-find sweeps on one machine: run it with --set training.distribution=default (or mirrored)")
    ctx = RunContext(seed=spec.seed, spec_dir=Path(spec_path).resolve().parent, trust_code=trust_code)
    scope = distribution_scope(spec.training.distribution)  # built before any other TensorFlow op
    configure_determinism(spec.seed)
    previous_policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16" if spec.training.mixed_precision else "float32")
    try:
        with scope:
            return _sweep(spec, spec_path, stage, min_lr, max_lr, steps, output, host, ctx)
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)


def _sweep(spec: Any, spec_path: Path, stage: int, min_lr: float, max_lr: float, steps: int,
           output: Optional[Path], host: PluginHost, ctx: RunContext) -> tuple[LRFindResult, Any]:
    run = start_run(spec, host, ctx)
    for s in range(stage + 1):
        prepare_stage(run, s)
    model = run.parts.model
    before = [np.array(w) for w in model.get_weights()]
    plan = plan_stage(run, stage, learning_rate=min_lr)
    sweep = LRSweep(min_lr, max_lr, steps)
    build_for_fit(plan.model, plan.fit_data)
    plan.model.fit(plan.fit_data.repeat(), epochs=1, steps_per_epoch=steps, callbacks=[sweep], verbose=0, shuffle=False)
    model.set_weights(before)
    suggested = suggest(sweep.rates, sweep.losses)
    if output is not None:
        plot(output, sweep.rates, sweep.losses, suggested)
    return LRFindResult(sweep.rates, sweep.losses, suggested, output), model
