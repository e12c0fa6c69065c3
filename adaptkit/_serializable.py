"""Refusing a model that ``model.keras`` could not reload: a custom layer class Keras does not know.

Keras saves any layer, but loads only classes it can find by their registered name:
its own, those registered with ``keras.saving.register_keras_serializable``, and those
passed as ``custom_objects`` (every plugin's ``adaptkit_keras_objects`` answer). A
plugin's head with a plain ``class MyLayer(keras.layers.Layer)`` trains and saves
fine and then does not load. The host checks the assembled model before training
and the model to save before it writes it, and names the layer, its class and the
fix in one line. Imports Keras (called from the runner only).
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from ._errors import ModelError

__all__ = ["unregistered_layers", "check_serializable", "FIX"]

FIX = (
    "decorate the class with @keras.saving.register_keras_serializable(package=...), import its module "
    "at plugin import with adaptkit.register_keras_classes(...), and return it from the plugin's "
    "adaptkit_keras_objects hook"
)


def _keras_own(cls: type) -> bool:
    return cls.__module__.split(".", 1)[0] == "keras"


def _walk(model: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """``(path, layer)`` for every layer, descending into Keras' own models (functional, sequential)."""
    import keras

    for layer in getattr(model, "layers", []):
        path = f"{prefix}{layer.name}"
        yield path, layer
        if isinstance(layer, keras.Model) and _keras_own(type(layer)):
            yield from _walk(layer, path + "/")


def _known(cls: type, custom_objects: Iterable[Any]) -> bool:
    import keras

    if _keras_own(cls) or any(cls is obj for obj in custom_objects):
        return True
    return keras.saving.get_registered_object(keras.saving.get_registered_name(cls)) is cls


def unregistered_layers(model: Any, custom_objects: Iterable[Any] = ()) -> list[tuple[str, type]]:
    """``(layer path, class)`` of every layer whose class Keras could not find when loading the
    saved model (neither Keras' own, registered, nor among ``custom_objects``)."""
    import keras

    known = list(custom_objects)
    found = [(path, type(layer)) for path, layer in _walk(model)]
    if isinstance(model, keras.Model) and not _keras_own(type(model)):
        found.insert(0, (model.name, type(model)))
    return [(path, cls) for path, cls in found if not _known(cls, known)]


def check_serializable(model: Any, where: str, host: Any) -> None:
    """Raise a one-line :class:`ModelError` at ``where`` naming the first layer class that the
    saved model could not be loaded with. The plugins' ``adaptkit_keras_objects`` (``host``) are
    asked only when some class is not registered with Keras (a question that may import KerasHub)."""
    missing = unregistered_layers(model)
    if missing:
        where_hook = "adaptkit_keras_objects"
        known = [cls for _, answer in host.call_each(where_hook, where_hook) for cls in answer.values()]
        missing = unregistered_layers(model, known)
    if not missing:
        return
    path, cls = missing[0]
    more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
    raise ModelError(
        where,
        f"layer {path!r} is a {cls.__module__}.{cls.__qualname__}, a custom Keras class that is not registered{more}, "
        f"so the saved model.keras would not load: {FIX}",
    )
