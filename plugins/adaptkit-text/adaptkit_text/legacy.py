"""A Keras class of earlier versions of the text plugin, kept so the models they saved reload.

:class:`ExactGeluBertBackbone` subclasses KerasHub's ``BertBackbone``, so this
module imports KerasHub; the package registers it as soon as KerasHub is
imported (a saved text model's ``TextPacker`` imports KerasHub while it loads,
before the backbone is read).
"""

from __future__ import annotations

from typing import Any

import keras
import keras_hub

__all__ = ["ExactGeluBertBackbone", "KERAS_OBJECTS"]

PACKAGE = "adaptkit_text"


@keras.saving.register_keras_serializable(package=PACKAGE)
class ExactGeluBertBackbone(keras_hub.models.BertBackbone):
    """``BertBackbone`` whose feed-forward activation is the exact GELU when ``exact_gelu``.

    KerasHub builds every ``TransformerEncoder`` of a ``BertBackbone`` with the
    tanh-approximate GELU and has no option for the exact one; its
    ``from_config`` rebuilds the layers from the backbone's own arguments, so
    patching a loaded backbone would be lost on reload. This subclass applies
    the activation in ``__init__`` and keeps ``exact_gelu`` in its config.
    """

    def __init__(self, *args: Any, exact_gelu: bool = True, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.exact_gelu = bool(exact_gelu)
        if self.exact_gelu:
            for block in self.transformer_layers:
                block.activation = keras.activations.gelu  # approximate=False: erf
                block._feedforward_intermediate_dense.activation = keras.activations.gelu

    def get_config(self) -> dict:
        config = super().get_config()
        config["exact_gelu"] = self.exact_gelu
        return config


KERAS_OBJECTS = {f"{PACKAGE}>ExactGeluBertBackbone": ExactGeluBertBackbone}
