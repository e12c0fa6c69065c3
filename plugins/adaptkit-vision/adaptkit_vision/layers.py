"""The Keras layers of the vision plugin, registered so saved models reload.

The package registers them as soon as Keras is imported
(``adaptkit.register_keras_classes``), so plain ``keras.saving.load_model``
reads a saved model after ``import adaptkit_vision``. Importing this module
imports Keras.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = ["FamilyPreprocess"]

_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


@keras.saving.register_keras_serializable(package="adaptkit_vision")
class FamilyPreprocess(keras.layers.Layer):
    """A model family's ``preprocess_input`` as a saveable layer (no Lambda).

    Takes images with values in 0..255 (1 or 3 channels; one channel is
    repeated to three) and applies the family's mode, exactly as
    ``keras.applications.imagenet_utils.preprocess_input`` does:

    - ``caffe``: RGB to BGR, minus the ImageNet mean (VGG, ResNet v1);
    - ``tf``: scale to -1..1 (ResNet v2, MobileNet v2);
    - ``torch``: scale to 0..1, minus mean, over std (torchvision models);
    - ``none``: unchanged (EfficientNet normalises inside the network).
    """

    MODES = ("caffe", "tf", "torch", "none")

    def __init__(self, mode: str = "caffe", **kwargs: Any):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode

    def call(self, x):
        x = ops.cast(x, self.compute_dtype)
        if x.shape[-1] == 1:
            x = ops.repeat(x, 3, axis=-1)
        if self.mode == "caffe":
            x = ops.flip(x, axis=-1) - ops.convert_to_tensor(_CAFFE_MEAN_BGR, dtype=x.dtype)
        elif self.mode == "tf":
            x = x / 127.5 - 1.0
        elif self.mode == "torch":
            mean = ops.convert_to_tensor(_TORCH_MEAN, dtype=x.dtype)
            std = ops.convert_to_tensor(_TORCH_STD, dtype=x.dtype)
            x = (x / 255.0 - mean) / std
        return x

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (3,)

    def get_config(self) -> dict:
        return {**super().get_config(), "mode": self.mode}
