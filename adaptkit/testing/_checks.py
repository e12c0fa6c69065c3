"""Whole-plugin checks for a plugin's own tests: :func:`check_plugin` and :func:`check_save_reload`.

``check_plugin(module)`` checks what ``adaptkit plugins`` and a run rely on: the module
imports without TensorFlow (in a fresh interpreter), registers ``ok`` with no unmarked
``adaptkit_*`` functions, implements the building hook of every family it declares
kinds of, and answers each kind that can be built on dummy inputs with an answer the
host accepts. ``check_save_reload(layer, x)`` saves a model holding the layer as
``.keras`` and reloads it in safe mode, as a run's ``model.keras`` is reloaded.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Optional, Union

from .._errors import AdaptkitError, PluginError
from .._plugins import PluginHost, PluginInfo, get_host
from .._sections import FAMILY_HOOKS
from ._build import build_head, compose_loss, context, dummy_parts, section

__all__ = ["PluginCheck", "check_plugin", "check_save_reload", "HEAVY_MODULES"]

HEAVY_MODULES = ("tensorflow", "keras", "torch", "jax")
"""Modules a plugin must not import at import time (``adaptkit validate`` and ``plugins`` stay fast)."""


@dataclass
class PluginCheck:
    """What :func:`check_plugin` found: the plugin's info and which kinds it built or could not try."""

    info: PluginInfo
    built: list[str] = field(default_factory=list)
    """``family: kind`` of each kind built on dummy inputs and accepted by the host's answer check."""
    skipped: list[str] = field(default_factory=list)
    """``family: kind (why)`` of each kind not built (it needs files or settings: pass them in ``sections``)."""


def _heavy_imports(name: str) -> list[str]:
    code = f"import importlib, sys; importlib.import_module({name!r}); print(' '.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise AssertionError(f"import {name} failed in a fresh interpreter:\n{done.stderr[-2000:]}")
    return done.stdout.split()


def _host_with(module: ModuleType) -> tuple[PluginHost, PluginInfo]:
    """The process host when the module came through an entry point; else a fresh host with it registered."""
    host = get_host()
    for info in host.plugins.values():
        if info.module.split(":")[0] == module.__name__:
            return host, info
    host = PluginHost()
    host.load_entry_points()
    info = PluginInfo(module.__name__, module.__name__, None, None)
    host.register(module, info)
    return host, info


def _build(family: str, sec: Any, host: PluginHost) -> Optional[str]:
    """Build one section on dummy inputs through the host (answers checked); the reason when not tried."""
    import keras

    hook, where = FAMILY_HOOKS[family], f"{family} ({sec.kind})"
    if family == "head":
        build_head(sec, host=host)
    elif family == "loss":
        compose_loss(sec, host=host)
    elif family == "source":
        model = host.call_first(hook, where, sec, input_shape=(8,), context=context("source"))
        model(keras.ops.zeros((2, 8)))
    elif family == "surgery":
        host.call_first(hook, where, sec, model=dummy_parts().encoder, context=context("surgery.0"))
    elif family == "schedule":
        host.call_first(hook, where, sec, learning_rate=0.01, total_steps=100, context=context("schedule"))
    elif family == "optimizer":
        host.call_first(hook, where, sec, learning_rate=0.01, name=None, context=context("optimizer"))
    elif family == "validator":
        host.call_first(hook, where, sec, context=context("evaluation.validators.0"))
    elif family == "weighting":
        host.call_first(hook, where, sec, weights={"a": 1.0, "b": 1.0}, context=context("training.task_weighting"))
    elif family == "augment":
        host.call_first(hook, where, sec, input_shape=(8, 8, 1), context=context("augment.0"))
    elif family == "data":
        host.call_first(hook, where, sec, context=context("data.train"))
    elif family == "metric":
        _metric_on_dummies(host.call_first(hook, where, sec, context=context("evaluation.metrics.0")), sec)
    elif family == "score":
        _score_on_dummies(host.call_first(hook, where, sec, context=context("rank.scores.0")), sec)
    elif family == "tracker":
        return "a tracker's callbacks need a run (test them with run_spec)"
    return None


def _metric_on_dummies(metric: Any, sec: Any) -> None:
    """A built metric computes numbers for the names it declares, on 6 examples of 3 classes (or values)."""
    import numpy as np

    from .._types import TaskInfo

    if type(sec).task == "regression":
        y, p, task = np.linspace(0, 1, 6), np.linspace(0.1, 0.9, 6), TaskInfo(None)
    else:
        y, p, task = np.array([0, 1, 2, 0, 1, 2]), np.full((6, 3), 1 / 3) + np.eye(3)[[0, 1, 1, 0, 2, 2]], TaskInfo(["a", "b", "c"])
        p = p / p.sum(axis=1, keepdims=True)
    values = metric.compute(y, p, task)
    if not isinstance(values, dict) or not set(values) <= set(metric.names) or not values:
        raise AssertionError(f"{sec.kind}: compute returned {values!r}, not numbers for its names {list(metric.names)}")


def _score_on_dummies(score: Any, sec: Any) -> None:
    """A built score answers one finite number on 12 examples of 3 classes (or values), 4 features."""
    import math

    import numpy as np

    from .._scoring import ScoreData
    from .._types import TaskInfo

    rng = np.random.default_rng(0)
    features = rng.normal(size=(12, 4))
    if type(sec).task == "regression":
        data = ScoreData(features, features @ np.arange(4.0), TaskInfo(None))
    else:
        data = ScoreData(features, np.arange(12) % 3, TaskInfo(["a", "b", "c"]), rng.dirichlet(np.ones(5), size=12))
    value = score.compute(data)
    if not isinstance(value, (int, float, np.floating)) or not math.isfinite(float(value)):
        raise AssertionError(f"{sec.kind}: compute returned {value!r}, not a finite number")


def check_plugin(module: Union[str, ModuleType], sections: Optional[dict[str, dict]] = None, import_check: bool = True) -> PluginCheck:
    """Check a plugin module as the host will use it; fail with every problem found.

    ``sections`` gives the settings of kinds that cannot be built from their defaults alone,
    by kind (``{"my_csv": {"kind": "my_csv", "path": "/tmp/x.csv"}}``); other kinds whose
    required fields have no default, and kinds that refuse the dummy inputs with a one-line
    ``SpecError``/``ModelError``/``DataError`` (a convnet on flat vectors), are listed in
    ``skipped``. A ``PluginError`` (a wrong answer) or any other exception is a problem. ``import_check``: also import
    the module in a fresh interpreter and refuse TensorFlow, Keras, torch or JAX there.
    """
    from pydantic import ValidationError

    module = importlib.import_module(module) if isinstance(module, str) else module
    problems: list[str] = []
    if import_check:
        heavy = _heavy_imports(module.__name__)
        if heavy:
            problems.append(f"importing {module.__name__} imports {', '.join(heavy)}: import them inside the hook functions")
    host, info = _host_with(module)
    report = PluginCheck(info)
    if not info.ok:
        problems.append(f"the plugin is {info.status}")
    problems += [f"warning: {w}" for w in info.warnings]
    for family, kinds in info.sections.items():
        hook = FAMILY_HOOKS[family]
        if hook not in info.hooks:
            problems.append(f"it declares {family} kinds {kinds} but does not implement {hook}")
            continue
        for kind in kinds:
            settings = (sections or {}).get(kind, {"name" if family == "optimizer" else "kind": kind})
            try:
                sec = section(family, settings, host)
            except ValidationError as exc:
                report.skipped.append(f"{family}: {kind} (needs settings: {', '.join('.'.join(map(str, e['loc'])) for e in exc.errors())})")
                continue
            try:
                why = _build(family, sec, host)
            except (PluginError, AssertionError) as exc:  # a wrong answer, or a failure blamed on the plugin
                problems.append(f"{family} kind {kind!r}: {type(exc).__name__}: {exc}")
                continue
            except AdaptkitError as exc:  # a one-line refusal of the dummy inputs is proper behaviour
                report.skipped.append(f"{family}: {kind} (refused the dummy inputs: {exc})")
                continue
            except Exception as exc:  # every other failure is a problem to report, not a crash of the check
                problems.append(f"{family} kind {kind!r}: {type(exc).__name__}: {exc}")
                continue
            if why is not None:
                report.skipped.append(f"{family}: {kind} ({why})")
                continue
            report.built.append(f"{family}: {kind}")
    if problems:
        raise AssertionError(f"plugin {info.name!r} ({module.__name__}):\n  " + "\n  ".join(problems))
    return report


def check_save_reload(layer: Any, x: Any, directory: Optional[Path] = None, atol: float = 1e-6) -> Any:
    """Save a model holding ``layer`` (or the model ``layer`` itself) as ``.keras``, reload it in safe
    mode — with plain ``keras.saving.load_model`` (the classes registered at import) and with
    ``adaptkit.load_model`` (the plugins' ``adaptkit_keras_objects``) — and check that both predict
    as the original on ``x`` (a batch). Returns the reloaded model."""
    import keras
    import numpy as np

    from .._models import load_model
    from .._serializable import check_serializable

    if isinstance(layer, keras.Model):
        model = layer
    else:
        inputs = keras.Input(shape=tuple(np.shape(x)[1:]))
        model = keras.Model(inputs, layer(inputs))
    check_serializable(model, "model", get_host())
    path = Path(directory or tempfile.mkdtemp(prefix="adaptkit-reload-")) / "model.keras"
    model.save(path)
    expected = keras.ops.convert_to_numpy(model(x))
    reloaded = None
    for how, load in (("keras.saving.load_model", lambda: keras.saving.load_model(path, safe_mode=True)), ("adaptkit.load_model", lambda: load_model(path))):
        reloaded = load()
        got = keras.ops.convert_to_numpy(reloaded(x))
        assert np.allclose(got, expected, atol=atol), f"after {how}, the model predicts differently (max diff {np.abs(got - expected).max()})"
    return reloaded
