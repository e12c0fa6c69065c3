"""Scale-out: the spec's ``training.distribution`` and the tf.distribute strategy it selects.

The section is validated without TensorFlow; the strategy is built lazily, once
per process (TensorFlow sets its devices up once, and a multi-worker strategy
must exist before any collective runs), by :func:`strategy_for`. Everything a
run builds — model, optimizers, metrics, the trainer — is created inside
:func:`distribution_scope`, so its variables are mirrored and ``keras.Model.fit``
distributes the data by itself (``data.batch_size`` is the global batch).

Loss scaling: Keras scales its compiled losses by ``1 / replicas`` itself; the
multi-player trainer keeps every loss it computes *per replica, unscaled* (the
mean over the replica's share of the batch) and scales once, with
:func:`per_replica`, just before taking gradients, because the optimizer sums
the replicas' gradients. Gradient-based task weighting combines the per-task
gradients after averaging them over the replicas (:func:`replica_mean`), so it
sees what a single device would.

``ADAPTKIT_LOGICAL_CPUS=N`` (hidden, for tests and laptops) splits the CPU into
N logical devices before TensorFlow initialises them, so ``mirrored`` has N
replicas on a machine without accelerators.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from typing import Any, Literal, Optional

from pydantic import Field, model_validator

from ._errors import SpecError
from ._sections import SpecModel

__all__ = [
    "DistributionSpec",
    "distribution_field",
    "strategy_for",
    "distribution_scope",
    "worker_parent",
    "describe",
    "build_for_fit",
    "split_cpu",
    "per_replica",
    "replica_mean",
    "unscaled",
    "replicas",
    "distributed",
    "multi_worker",
    "for_workers",
]

LOGICAL_CPUS = "ADAPTKIT_LOGICAL_CPUS"
log = logging.getLogger("adaptkit")


class DistributionSpec(SpecModel):
    """Which tf.distribute strategy trains the run (default: none, one device)."""

    kind: Literal["default", "mirrored", "multi_worker"] = Field(
        "default",
        description=(
            "default: no strategy (one device); mirrored: MirroredStrategy over the devices of this machine "
            "(every GPU, or `devices`); multi_worker: MultiWorkerMirroredStrategy over a cluster described by "
            "the TF_CONFIG environment variable."
        ),
    )
    devices: Optional[list[str]] = Field(
        None,
        min_length=1,
        description="mirrored only: the devices to mirror over (e.g. ['/gpu:0', '/gpu:1']); default: every GPU, else the CPU.",
    )
    communication: Literal["auto", "ring", "nccl"] = Field(
        "auto",
        description="multi_worker only: the collective implementation (nccl for GPUs, ring over gRPC; auto lets TensorFlow pick).",
    )

    @model_validator(mode="after")
    def _check(self) -> "DistributionSpec":
        if self.devices is not None and self.kind != "mirrored":
            raise ValueError(f"devices are for kind 'mirrored' only (kind is {self.kind!r})")
        if self.communication != "auto" and self.kind != "multi_worker":
            raise ValueError(f"communication is for kind 'multi_worker' only (kind is {self.kind!r})")
        return self


def _short_form(value: Any) -> Any:
    """``distribution: mirrored`` is ``distribution: {kind: mirrored}``."""
    return {"kind": value} if isinstance(value, str) else value


def distribution_field() -> tuple[Any, Any]:
    """The ``training.distribution`` field for the spec model (a name or a mapping)."""
    from typing import Annotated

    from pydantic import BeforeValidator

    return (
        Annotated[DistributionSpec, BeforeValidator(_short_form)],
        Field(
            {},
            validate_default=True,
            description="Scale-out through tf.distribute: default, mirrored (one machine's devices) or multi_worker (a TF_CONFIG cluster); a kind name or {kind, devices, communication}. data.batch_size is the global batch.",
        ),
    )


_STRATEGIES: dict[tuple, Any] = {}
WHERE = "training.distribution"


def split_cpu() -> None:
    """Honour ``ADAPTKIT_LOGICAL_CPUS`` (it takes effect only before TensorFlow has set its devices up)."""
    count = os.environ.get(LOGICAL_CPUS)
    if not count:
        return
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * int(count))
    except RuntimeError:  # devices already set up in this process (an earlier run): keep them
        pass
    found = len(tf.config.list_logical_devices("CPU"))
    if found != int(count):
        log.warning("%s=%s: TensorFlow had set its devices up already; %d CPU device(s)", LOGICAL_CPUS, count, found)


def _local_devices() -> Optional[list[str]]:
    """mirrored's default: every GPU, else every (logical) CPU device."""
    import tensorflow as tf

    if tf.config.list_logical_devices("GPU"):
        return None  # MirroredStrategy's own default
    return [d.name for d in tf.config.list_logical_devices("CPU")]


def _cluster() -> dict:
    raw = os.environ.get("TF_CONFIG")
    if not raw:
        raise SpecError(WHERE, "multi_worker needs the cluster in the TF_CONFIG environment variable (docs/distribution.md)")
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        assert isinstance(workers, list) and task["type"] in ("worker", "chief") and isinstance(task["index"], int)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise SpecError(WHERE, "TF_CONFIG is not a cluster: give {\"cluster\": {\"worker\": [host:port, ...]}, \"task\": {\"type\": \"worker\", \"index\": i}}") from None
    return config


def strategy_for(section: DistributionSpec) -> Optional[Any]:
    """The strategy ``section`` selects (``None`` for ``default``), built once per process."""
    if section.kind == "default":
        return None
    key = (section.kind, tuple(section.devices or ()), section.communication)
    if key in _STRATEGIES:
        return _STRATEGIES[key]
    if section.kind == "multi_worker":
        _cluster()
    split_cpu()
    import tensorflow as tf

    if section.kind == "mirrored":
        known = {d.name.lower() for d in tf.config.list_logical_devices()}
        for device in section.devices or []:
            name = tf.DeviceSpec.from_string(device).to_string().lower()
            if not any(k.endswith(name.lstrip("/")) or k == name for k in known):
                raise SpecError(f"{WHERE}.devices", f"{device!r} is not a device of this machine ({', '.join(sorted(known))})")
        strategy = tf.distribute.MirroredStrategy(devices=section.devices or _local_devices())
    else:
        impl = tf.distribute.experimental.CommunicationImplementation
        options = tf.distribute.experimental.CommunicationOptions(implementation=getattr(impl, section.communication.upper()))
        strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    _STRATEGIES[key] = strategy
    return strategy


def distribution_scope(section: DistributionSpec) -> Any:
    """The strategy's scope (a no-op context for ``default``): what is built inside it is built under
    the strategy. The strategy is built now, at the call, before the run makes any other TensorFlow op."""
    strategy = strategy_for(section)
    return contextlib.nullcontext() if strategy is None else strategy.scope()


def describe(section: DistributionSpec) -> Optional[dict]:
    """What ``metrics.json`` says of the strategy (``None`` without one): kind, replicas, workers."""
    strategy = strategy_for(section)
    if strategy is None:
        return None
    workers = 1
    if section.kind == "multi_worker":
        cluster = _cluster()["cluster"]
        workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    return {"kind": section.kind, "replicas": int(strategy.num_replicas_in_sync), "workers": workers}


def worker_parent(section: DistributionSpec) -> Optional[str]:
    """Where a multi-worker non-chief writes its copy of the run, under the output directory
    (``.worker-<index>``); ``None`` for the process that writes the run directory itself: always,
    except a non-chief (worker 0 is the chief when the cluster names none)."""
    if section.kind != "multi_worker":
        return None
    config = _cluster()
    task, cluster = config["task"], config["cluster"]
    if task["type"] == "chief" or (task["index"] == 0 and "chief" not in cluster):
        return None
    return f".worker-{task['index']}"


def build_for_fit(model: Any, data: Any) -> None:
    """Under a strategy, build ``model`` (its metrics, compiled loss, optimizer) from ``data``'s
    element spec, before ``fit``; nothing happens without one.

    Keras would build it from the first batch of the distributed dataset, which (Keras 3.15) fails
    under MultiWorkerMirroredStrategy (it all-reduces that batch) and, by opening one extra
    iterator, shifts every epoch's reshuffle by one. Building from the spec reads no data, so a
    distributed run sees the examples in the order a single device does; ``fit`` still distributes
    the data: it takes the strategy of the scope it runs in. (The private Keras names live here alone.)
    """
    if not distributed():
        return
    model._symbolic_build(data_batch=data.element_spec)
    model._distribute_strategy = None


# -- inside a train step -------------------------------------------------------


def distributed() -> bool:
    """Whether a strategy's scope is open (what is built now is built under it)."""
    import tensorflow as tf

    return bool(tf.distribute.has_strategy())


def replicas() -> int:
    """Replicas training in sync (1 without a strategy)."""
    import tensorflow as tf

    return int(tf.distribute.get_strategy().num_replicas_in_sync)


def per_replica(loss: Any) -> Any:
    """A replica's (unscaled) loss as its share of the global one: the optimizer sums the replicas'
    gradients, so each replica's loss is divided by their number."""
    n = replicas()
    return loss if n == 1 else loss * (1.0 / n)


def unscaled(loss: Any) -> Any:
    """A Keras-computed loss (already divided by the replicas) back to the replica's own mean."""
    n = replicas()
    return loss if n == 1 else loss * float(n)


def multi_worker() -> bool:
    """Whether the open scope is a multi-worker strategy's (Keras 3.15's ``fit`` cannot reduce a
    scalar log over workers: tensorflow/tensorflow#72388; the trainer hands its logs over as [1])."""
    import tensorflow as tf

    return tf.distribute.has_strategy() and isinstance(tf.distribute.get_strategy(), tf.distribute.MultiWorkerMirroredStrategy)


def for_workers(logs: dict) -> dict:
    """A train or test step's logs as Keras can reduce them over workers (each a [1] tensor: the
    metrics are synchronised already, so the mean over workers is the value itself)."""
    if not multi_worker():
        return logs
    import tensorflow as tf

    return {k: tf.reshape(v, [1]) for k, v in logs.items()}


def replica_mean(values: Any) -> Any:
    """A nest of tensors averaged over the replicas (the values themselves without a strategy)."""
    import tensorflow as tf

    context = tf.distribute.get_replica_context()
    if context is None or context.num_replicas_in_sync == 1:
        return values
    return context.all_reduce(tf.distribute.ReduceOp.MEAN, values)
