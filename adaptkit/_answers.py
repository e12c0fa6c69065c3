"""What each hook must answer: the host's checks on plugins' answers, by hook name.

:data:`CHECKS` maps a hook to a function that looks at one plugin's answer and
says what is wrong with it (``None``: nothing). :data:`TOGETHER` maps a
collecting hook to a function that looks at every plugin's answers at once.
``PluginHost.call_first``/``call_each`` apply them, so a wrong answer stops
the run at the boundary, as a ``PluginError`` naming the plugin and the hook,
instead of failing later, far from its cause. Checks that need Keras import
it inside the checker: importing this module does not import TensorFlow.
"""

from __future__ import annotations

import numbers
from typing import Any, Callable, Optional

from ._errors import PluginError
from ._scoring import Score
from ._types import DataSource, Head, LossComposition, LossTerm, Metric, Player, Validator

__all__ = ["CHECKS", "TOGETHER", "check_answer", "check_answers"]

Problem = Optional[str]


def _a(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def data_source(answer: Any) -> Problem:
    if not isinstance(answer, DataSource):
        return f"{_a(answer)}, not an adaptkit.DataSource"
    if not _is_int(answer.size) or answer.size < 0:
        return f"a DataSource whose size is {answer.size!r}, not an int >= 0"
    if not isinstance(answer.input_shape, tuple):
        return f"a DataSource whose input_shape is {_a(answer.input_shape)} {answer.input_shape!r}, not a tuple"
    if answer.ids is not None and len(answer.ids) != answer.size:
        return f"a DataSource with {len(answer.ids)} ids for {answer.size} examples"
    return None


def keras_model(answer: Any) -> Problem:
    import keras

    return None if isinstance(answer, keras.Model) else f"{_a(answer)}, not a keras.Model"


def keras_layer(answer: Any) -> Problem:
    import keras

    return None if isinstance(answer, keras.layers.Layer) else f"{_a(answer)}, not a keras.layers.Layer"


def _metric_name(metric: Any) -> Optional[str]:
    """The name Keras logs a compiled metric under: a string as given, an object by its ``name``."""
    if isinstance(metric, str):
        return metric
    name = getattr(metric, "name", None)
    if isinstance(name, str):
        return name
    return getattr(metric, "__name__", None)


def head(answer: Any) -> Problem:
    if not isinstance(answer, Head):
        return f"{_a(answer)}, not an adaptkit.Head"
    if not isinstance(answer.metrics, (list, tuple)):
        return None  # per-output metrics (a dict): Keras prefixes the names; not checked here
    names = [n for n in map(_metric_name, answer.metrics) if n]
    if answer.monitor != "loss" and answer.monitor not in names:
        return (
            f"a Head whose monitor {answer.monitor!r} is neither 'loss' nor the name of one of "
            f"its metrics {names}"
        )
    return None


def loss_composition(answer: Any) -> Problem:
    if not isinstance(answer, LossComposition):
        return f"{_a(answer)}, not an adaptkit.LossComposition"
    players = []
    for i, player in enumerate(answer.players):
        if not isinstance(player, Player):
            return f"a LossComposition whose players[{i}] is {_a(player)}, not an adaptkit.Player"
        if player.name == "main" or player.name in players:
            return f"a LossComposition with a second player named {player.name!r}"
        players.append(player.name)
    seen: set = set()
    for i, term in enumerate(answer.terms):
        if not isinstance(term, LossTerm):
            return f"a LossComposition whose terms[{i}] is {_a(term)}, not an adaptkit.LossTerm"
        if term.name in seen:
            return f"a LossComposition with two terms named {term.name!r}"
        seen.add(term.name)
        if term.player != "main" and term.player not in players:
            return (
                f"a LossComposition whose term {term.name!r} is for player {term.player!r}, "
                f"not 'main' or one of its players {players}"
            )
        if not callable(term.fn):
            return f"a LossComposition whose term {term.name!r} has fn {_a(term.fn)}, not a function of the batch"
        if not (callable(term.weight) or (isinstance(term.weight, numbers.Real) and not isinstance(term.weight, bool))):
            return f"a LossComposition whose term {term.name!r} has weight {_a(term.weight)}, not a number or a schedule"
    if answer.aligned_at is not None and not isinstance(answer.aligned_at, str):
        return f"a LossComposition whose aligned_at is {_a(answer.aligned_at)}, not a layer name (str) or None"
    if answer.aligned_at == "":
        return "a LossComposition whose aligned_at is '', not a layer name (None: the encoder's output)"
    return None


def metrics(answer: Any) -> Problem:
    if not isinstance(answer, dict):
        return f"{_a(answer)}, not a dict"
    for key, value in answer.items():
        if not isinstance(key, str):
            return f"a dict whose key {key!r} is {_a(key)}, not a str"
        if not isinstance(value, (int, float)):  # bool is an int; NaN and inf are floats
            return f"a dict whose {key!r} is {_a(value)}, not a number (int, float or bool)"
    return None


def keras_objects(answer: Any) -> Problem:
    if not isinstance(answer, dict):
        return f"{_a(answer)}, not a dict"
    bad = next((k for k in answer if not isinstance(k, str)), None)
    return None if bad is None else f"a dict whose key {bad!r} is {_a(bad)}, not a registered name (str)"


def distinct_keys(hookname: str, where: str, answers: list[tuple[str, Any]]) -> None:
    """Two plugins' metrics with the same key would overwrite each other in ``metrics.json``."""
    owner: dict[str, str] = {}
    for plugin, answer in answers:
        for key in answer:
            other = owner.setdefault(key, plugin)
            if other != plugin:
                raise PluginError(
                    where, f"plugins {other!r} and {plugin!r} both answered {hookname} with the key {key!r}"
                )


def task_weighting(answer: Any) -> Problem:
    from ._types import TaskWeighting

    if not isinstance(answer, TaskWeighting):
        return f"{_a(answer)}, not an adaptkit.TaskWeighting"
    if answer.gradient_based and type(answer).gradients is TaskWeighting.gradients:
        return "a gradient-based TaskWeighting that does not define gradients()"
    return None


def validator(answer: Any) -> Problem:
    if not isinstance(answer, Validator):
        return f"{_a(answer)}, not an adaptkit.Validator"
    if not callable(answer.score):
        return f"a Validator whose score is {_a(answer.score)}, not a function of the ValidationData"
    if not isinstance(answer.higher_is_better, bool):
        return f"a Validator whose higher_is_better is {_a(answer.higher_is_better)}, not a bool"
    return None


def metric(answer: Any) -> Problem:
    if not isinstance(answer, Metric):
        return f"{_a(answer)}, not an adaptkit.Metric"
    names = answer.names
    if isinstance(names, str) or not names or not all(isinstance(n, str) and n and "/" not in n for n in names):
        return f"a Metric whose names are {names!r}, not a list of names without '/'"
    if not callable(answer.compute):
        return f"a Metric whose compute is {_a(answer.compute)}, not a function of (y_true, y_pred, task)"
    return None


def score(answer: Any) -> Problem:
    if not isinstance(answer, Score):
        return f"{_a(answer)}, not an adaptkit.Score"
    if not callable(answer.compute):
        return f"a Score whose compute is {_a(answer.compute)}, not a function of the ScoreData"
    if not isinstance(answer.higher_is_better, bool):
        return f"a Score whose higher_is_better is {_a(answer.higher_is_better)}, not a bool"
    return None


def callbacks(answer: Any) -> Problem:
    import keras

    if not isinstance(answer, (list, tuple)):
        return f"{_a(answer)}, not a list of keras.callbacks.Callback"
    bad = next((c for c in answer if not isinstance(c, keras.callbacks.Callback)), None)
    return None if bad is None else f"a list holding {_a(bad)}, not a keras.callbacks.Callback"


CHECKS: dict[str, Callable[[Any], Problem]] = {
    "adaptkit_load_data": data_source,
    "adaptkit_build_augmentation": keras_layer,
    "adaptkit_load_source": keras_model,
    "adaptkit_input_preprocessing": keras_model,
    "adaptkit_apply_surgery": keras_model,
    "adaptkit_attach_head": head,
    "adaptkit_compose_loss": loss_composition,
    "adaptkit_evaluate": metrics,
    "adaptkit_keras_objects": keras_objects,
    "adaptkit_build_weighting": task_weighting,
    "adaptkit_build_validator": validator,
    "adaptkit_build_metric": metric,
    "adaptkit_build_score": score,
    "adaptkit_stage_callbacks": callbacks,
}
"""Hook name -> what is wrong with one plugin's answer (``None``: it is right)."""

TOGETHER: dict[str, Callable[[str, str, list[tuple[str, Any]]], None]] = {
    "adaptkit_evaluate": distinct_keys,
}
"""Collecting hook name -> a check of all ``(plugin, answer)`` pairs at once (raises ``PluginError``)."""


def check_answer(hookname: str, where: str, plugin: str, answer: Any) -> None:
    """Raise ``PluginError`` naming the plugin and the hook when ``answer`` is wrong."""
    check = CHECKS.get(hookname)
    problem = check(answer) if check is not None else None
    if problem:
        raise PluginError(where, f"plugin {plugin!r} answered {hookname} with {problem}")


def check_answers(hookname: str, where: str, answers: list[tuple[str, Any]]) -> None:
    """Check each answer of a collecting hook, then all of them together."""
    for plugin, answer in answers:
        check_answer(hookname, where, plugin, answer)
    together = TOGETHER.get(hookname)
    if together is not None:
        together(hookname, where, answers)
