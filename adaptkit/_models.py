"""Loading saved models with every plugin's custom Keras classes known, with or without adaptkit.

Two ways to load a ``.keras`` file that holds plugin layers:

- :func:`load_model`: asks every plugin (``adaptkit_keras_objects``) for its
  classes and passes them to ``keras.saving.load_model`` in safe mode;
- plain ``keras.saving.load_model`` after importing the plugin packages: each
  plugin package calls :func:`register_keras_classes` at import, which imports
  the plugin's layer module (whose ``@keras.saving.register_keras_serializable``
  decorators register the classes) as soon as Keras itself is imported. The
  plugin package does not import Keras, so ``adaptkit validate`` stays free of
  TensorFlow.
"""

from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any, Union

from ._plugins import get_host

__all__ = ["keras_objects", "load_model", "register_keras_classes"]


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


def register_keras_classes(module: str, after: str = "keras") -> None:
    """Import ``module`` (which registers Keras classes) as soon as ``after`` is imported.

    At once when ``after`` is already imported; otherwise when it is, through
    ``wrapt``'s post-import hooks, so calling this costs no TensorFlow import.
    A failure to import ``module`` is logged, never raised into the user's
    ``import keras``.
    """
    import wrapt

    def hook(_: Any) -> None:
        try:
            importlib.import_module(module)
        except Exception as exc:  # a broken plugin must not break `import keras`
            logging.getLogger("adaptkit").warning("%s: its Keras classes are not registered (%s: %s)", module, type(exc).__name__, exc)

    wrapt.register_post_import_hook(hook, after)
