"""The saved model's raw-input front: the data plugin's own preprocessing put before the trained model.

Training reads what ``data.train``'s loader yields (arrays scaled, images
resized, ...); a user of ``model.keras`` has the raw examples. At assembly the
plugin that declared ``data.train``'s kind is asked for that transformation as
a model (``adaptkit_input_preprocessing``); at save time the host puts it in
front of the trained model::

    model.keras = classifier(encoder(preprocessing(raw)))

The ``encoder`` keeps taking loaded examples, as in training: a later
pipeline's ``keras_file`` source reuses it behind that pipeline's own loader.
Training and evaluation never see the front, so the run's metrics do not
depend on it.
"""

from __future__ import annotations

from typing import Any, Optional

import keras

from ._errors import PluginError
from ._plugins import PluginHost
from ._types import DataSource, RunContext

__all__ = ["input_preprocessing", "raw_input_model"]

HOOK = "adaptkit_input_preprocessing"


def _compatible(got: tuple, want: tuple) -> bool:
    return len(got) == len(want) and all(g is None or w is None or int(g) == int(w) for g, w in zip(got, want))


def input_preprocessing(spec: Any, host: PluginHost, ctx: RunContext, data: DataSource) -> Optional[Any]:
    """``data.train``'s preprocessing model (raw example -> loaded example), or ``None``."""
    where = "data.train"
    section = spec.data.train
    model = host.call_optional(HOOK, where, section, input_shape=tuple(data.input_shape), context=ctx.at(where))
    if model is None:
        return None
    who = f"plugin {host.provider(section)!r} answered {HOOK} with a model"
    if len(model.inputs) != 1 or isinstance(model.output, (list, tuple, dict)):
        raise PluginError(where, f"{who} of {len(model.inputs)} inputs and outputs {type(model.output).__name__}, not one of each")
    got, want = tuple(model.output.shape[1:]), tuple(data.input_shape)
    if not _compatible(got, want):
        raise PluginError(where, f"{who} whose output shape {got} is not the loaded examples' {want}")
    spec_x = data.dataset.element_spec
    spec_x = spec_x[0] if isinstance(spec_x, tuple) else spec_x
    if keras.backend.standardize_dtype(model.output.dtype) != keras.backend.standardize_dtype(spec_x.dtype.name):
        raise PluginError(where, f"{who} whose output dtype {model.output.dtype} is not the loaded examples' {spec_x.dtype.name}")
    model.name = "preprocessing"
    return model


def raw_input_model(model: Any, preprocessing: Optional[Any]) -> Any:
    """``model`` with ``preprocessing`` in front; ``model`` itself when there is none.

    A model shaped ``classifier(encoder(x))`` (the host's own, ADDA's adapted
    one) keeps ``encoder`` and ``classifier`` as top-level layers, so
    ``get_layer("encoder")`` finds them as before; any other model is called
    as one layer.
    """
    if preprocessing is None:
        return model
    raw = keras.Input(shape=tuple(preprocessing.inputs[0].shape[1:]), dtype=preprocessing.inputs[0].dtype, name="inputs")
    x = preprocessing(raw)
    names = [layer.name for layer in model.layers if not isinstance(layer, keras.layers.InputLayer)]
    if names == ["encoder", "classifier"]:
        outputs = model.get_layer("classifier")(model.get_layer("encoder")(x))
    else:
        outputs = model(x)
    return keras.Model(raw, outputs, name=model.name)
