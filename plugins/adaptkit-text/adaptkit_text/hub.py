"""The ``tfhub`` source: a TF Hub handle or local SavedModel as a Keras 3 model."""

from __future__ import annotations

from typing import Any

from adaptkit import ModelError, RunContext, SpecError

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


def build_hub_source(section: TFHubSource, input_shape: tuple, context: RunContext) -> Any:
    handle = _handle(section.handle, context.where + ".handle", context)
    pre = None if section.preprocessor is None else _handle(section.preprocessor, context.where + ".preprocessor", context)

    import keras

    from .layers import SavedModelLayer

    def load(h: str, where: str, **kwargs: Any) -> Any:
        try:
            return SavedModelLayer(h, **kwargs)
        except Exception as exc:  # download, format, bad signature/output key
            raise ModelError(where, f"cannot load SavedModel {h!r}: {_one_line(exc)}") from exc

    x = inputs = keras.Input(shape=tuple(input_shape), dtype=section.input_dtype, name="inputs")
    if pre is not None:
        x = load(pre, context.where + ".preprocessor", trainable=False, name="hub_preprocessor")(x)
    layer = load(
        handle,
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
