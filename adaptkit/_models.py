"""Loading saved models with every plugin's custom Keras classes known, with or without adaptkit, in safe mode unless trusted.

Two ways to load a ``.keras`` file that holds plugin layers:

- :func:`load_model`: asks every plugin (``adaptkit_keras_objects``) for its
  classes and passes them to ``keras.saving.load_model`` in safe mode;
- plain ``keras.saving.load_model`` after importing the plugin packages: each
  plugin package calls :func:`register_keras_classes` at import, which imports
  the plugin's layer module (whose ``@keras.saving.register_keras_serializable``
  decorators register the classes) as soon as Keras itself is imported
  (:mod:`adaptkit._postimport`). The
  plugin package does not import Keras, so ``adaptkit validate`` stays free of
  TensorFlow.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from pathlib import Path
from typing import Any, Iterator, Optional, Union

from ._errors import ModelError
from ._plugins import get_host
from ._postimport import register_keras_classes
from ._trust import untrusted_code

__all__ = ["keras_objects", "load_model", "check_keras_archive", "safe_deserialization", "register_keras_classes"]


def keras_objects() -> dict[str, Any]:
    """Every plugin's answer to ``adaptkit_keras_objects``, merged."""
    merged: dict[str, Any] = {}
    for _, answer in get_host().call_each("adaptkit_keras_objects", "adaptkit_keras_objects"):
        merged.update(answer)
    return merged


def check_keras_archive(path: Path, where: str) -> None:
    """A ``.keras`` file is a zip archive with ``config.json``; say so in one line when it is not
    (Keras reports a truncated file as 'File not found')."""
    bad = f"{path} does not load as a Keras model: it is not a valid, complete .keras archive"
    if not zipfile.is_zipfile(path):
        raise ModelError(where, f"{bad} (not a zip archive: truncated, or not a .keras file)")
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "config.json" not in names:
                raise ModelError(where, f"{bad} (it has no config.json)")
            corrupt = archive.testzip()  # reads every member and checks its CRC
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as exc:
        raise ModelError(where, f"{bad} ({type(exc).__name__}: {exc})") from None
    if corrupt is not None:
        raise ModelError(where, f"{bad} (its member {corrupt} is corrupt)")


def _safe_mode_refusal(exc: BaseException) -> Optional[str]:
    """What Keras' safe mode refused (a Lambda's bytecode, a TFSMLayer, a file outside the archive), or None."""
    text = " ".join(str(exc).split())
    if "safe_mode" not in text and "unsafe_deserialization" not in text:
        return None
    text = text.rsplit("Exception encountered: ", 1)[-1]  # Keras wraps a nested object's refusal
    first = re.split(r"(?<=[.;])\s", text, maxsplit=1)[0].rstrip(".;")
    first = re.sub(r"^Requested (the )?", "it requests the ", first)
    return f"{first} (Keras' safe mode runs no code from model files)"


def _safe_mode_scope(trust_code: bool) -> Any:
    """Keras' own scope for its safe-mode flag: the one private Keras name used here (Keras has no
    public way to pass ``safe_mode`` into a loader that does not take it, such as KerasHub's
    ``from_preset``). Untrusted, the flag is *unset*, so every deserialization inside uses its own
    default, ``safe_mode=True``, whatever a global ``enable_unsafe_deserialization()`` said; and
    KerasHub still reads a preset's own vocabulary after deserializing (it refuses files while
    safe mode is on). Trusted, it is off."""
    try:
        from keras.src.saving.serialization_lib import SafeModeScope
    except ImportError:  # pragma: no cover - a future Keras: its defaults (safe) apply
        return contextlib.nullcontext()
    return SafeModeScope(False if trust_code else None)


@contextlib.contextmanager
def safe_deserialization(where: str, what: str, trust_code: bool = False) -> Iterator[None]:
    """Deserialize Keras objects inside in safe mode unless ``trust_code`` (``--trust-code``).

    Inside, Keras deserializes in safe mode (its default) even if something switched
    it off for the process, and with ``trust_code`` not at all. A safe-mode refusal
    raised inside becomes the one-line ``ModelError`` at ``where``: ``refused to
    <what>: <why>; pass --trust-code to <verb> it anyway``. Other exceptions pass through.
    """
    with _safe_mode_scope(trust_code):
        try:
            yield
        except Exception as exc:
            refused = None if trust_code else _safe_mode_refusal(exc)
            if refused is None:
                raise
            raise untrusted_code(where, what, refused) from None


def load_model(
    path: Union[str, Path],
    compile: bool = False,
    *,
    trust_code: bool = False,
    where: str = "",
) -> Any:
    """``keras.saving.load_model`` with the plugins' custom classes, in safe mode unless ``trust_code``.

    Safe mode refuses what would run code from the file (a ``Lambda`` layer's
    Python bytecode, a ``TFSMLayer``'s outside SavedModel, ...): that is a
    one-line :class:`ModelError` at ``where`` (default: the path) naming the
    opt-in, ``--trust-code``, which loads with ``safe_mode=False``. A file
    that is not a complete ``.keras`` archive, or does not load, is a
    ``ModelError`` too.
    """
    import keras

    path = Path(path)
    where = where or str(path)
    if not path.is_file():
        raise ModelError(where, f"no such model file: {path}")
    if path.suffix == ".keras":
        check_keras_archive(path, where)
    try:
        with safe_deserialization(where, f"load {path}", trust_code):
            return keras.saving.load_model(path, custom_objects=keras_objects(), compile=compile, safe_mode=not trust_code)
    except ModelError:
        raise
    except Exception as exc:
        detail = " ".join(str(exc).split())[:400]
        raise ModelError(where, f"{path} does not load as a Keras model ({type(exc).__name__}: {detail})") from exc
