"""Loading saved models with every plugin's custom Keras classes known."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

from ._plugins import get_host

__all__ = ["keras_objects", "load_model"]


def keras_objects() -> dict[str, Any]:
    """Every plugin's answer to ``adaptkit_keras_objects``, merged."""
    merged: dict[str, Any] = {}
    for _, answer in get_host().call_each("adaptkit_keras_objects", "adaptkit_keras_objects"):
        merged.update(answer)
    return merged


def load_model(path: Union[str, Path], compile: bool = False) -> Any:
    """``keras.saving.load_model`` in safe mode, with the plugins' custom classes."""
    import keras

    return keras.saving.load_model(path, custom_objects=keras_objects(), compile=compile, safe_mode=True)
