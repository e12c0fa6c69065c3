"""The ``tfhub`` source: a TF Hub handle or local SavedModel as a Keras 3 model.

A SavedModel is graph code: every one — a local directory, or a URL once
``tensorflow_hub`` has downloaded it into its cache — is inspected with
``adaptkit.check_saved_model`` before TensorFlow loads it, and refused when it
could run Python, touch files or the network, unless the user passed
``--trust-code`` (``context.trust_code``).
"""

from __future__ import annotations

from typing import Any

from adaptkit import ModelError, RunContext, SpecError, check_saved_model

from .sections import REMOTE_HANDLE, TFHubSource

__all__ = ["build_hub_source"]

def _handle(value: str, where: str, context: RunContext) -> str:
    if value.startswith(REMOTE_HANDLE):
        return value
    local = context.resolve(value)
    if not local.is_dir():
        raise SpecError(where, f"no such SavedModel directory: {local}")
    if not ((local / "saved_model.pb").is_file() or (local / "saved_model.pbtxt").is_file()):
        raise SpecError(where, f"{local} is not a SavedModel: it has no saved_model.pb")
    return str(local.resolve())


def _one_line(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {' '.join(str(exc).split())}"[:400]


def checked_directory(handle: str, where: str, context: RunContext) -> str:
    """The local directory of a handle (a URL is downloaded into tensorflow_hub's cache first),
    inspected: its graph may not run code unless ``--trust-code``."""
    from .layers import resolve_handle

    try:  # TF Hub text models (BERT preprocessors) use its ops: registered, they are known ops
        import tensorflow_text  # noqa: F401
    except ImportError:  # pragma: no cover - a dependency of this plugin
        pass
    try:
        directory = resolve_handle(handle)
    except Exception as exc:  # offline, no such handle, a bad archive
        raise ModelError(where, f"cannot get SavedModel {handle!r}: {_one_line(exc)}") from exc
    check_saved_model(directory, where, trust_code=context.trust_code, log=context.log)
    return directory


def build_hub_source(section: TFHubSource, input_shape: tuple, context: RunContext) -> Any:
    handle = _handle(section.handle, context.where + ".handle", context)
    pre = None if section.preprocessor is None else _handle(section.preprocessor, context.where + ".preprocessor", context)
    # both are inspected before either is loaded
    pre_dir = None if pre is None else checked_directory(pre, context.where + ".preprocessor", context)
    handle_dir = checked_directory(handle, context.where + ".handle", context)

    import keras

    from .layers import SavedModelLayer

    def load(h: str, directory: str, where: str, **kwargs: Any) -> Any:
        try:
            return SavedModelLayer(h, directory=directory, **kwargs)
        except Exception as exc:  # format, bad signature/output key
            raise ModelError(where, f"cannot load SavedModel {h!r}: {_one_line(exc)}") from exc

    x = inputs = keras.Input(shape=tuple(input_shape), dtype=section.input_dtype, name="inputs")
    if pre is not None:
        x = load(pre, pre_dir, context.where + ".preprocessor", trainable=False, name="hub_preprocessor")(x)
    layer = load(
        handle,
        handle_dir,
        context.where + ".handle",
        signature=section.signature,
        output_key=section.output_key,
        trainable=section.trainable,
        name="hub_module",
    )
    try:
        features = layer(x)
    except Exception as exc:
        raise ModelError(context.where + ".handle", f"the SavedModel does not take the data's examples: {_one_line(exc)}") from exc
    return keras.Model(inputs, features, name="hub_encoder")
