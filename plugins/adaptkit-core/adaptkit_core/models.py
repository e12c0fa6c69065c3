"""Generic source models: a dense net, a small conv net, and a saved ``.keras`` file."""

from __future__ import annotations

from adaptkit import ModelError, RunContext, SpecError, load_model

from .sections import ConvNetSource, KerasFileSource, MLPSource


def mlp(section: MLPSource, input_shape: tuple, context: RunContext):
    import keras

    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Flatten(name="flatten")(inputs) if len(input_shape) > 1 else inputs
    for i, units in enumerate(section.units, start=1):
        x = keras.layers.Dense(units, activation=section.activation, name=f"dense{i}")(x)
        if section.dropout:
            x = keras.layers.Dropout(section.dropout, name=f"dropout{i}")(x)
    return keras.Model(inputs, x, name="source")


def convnet(section: ConvNetSource, input_shape: tuple, context: RunContext):
    import keras

    if len(input_shape) != 3:
        raise ModelError(context.where, f"convnet needs images (height, width, channels), the data has shape {input_shape}")
    _check_convnet_fits(section, input_shape, context.where)
    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Rescaling(section.scale, name="rescale")(inputs)
    for i, filters in enumerate(section.filters, start=1):
        x = keras.layers.Conv2D(filters, section.kernel_size, padding="same", use_bias=not section.batch_norm, name=f"block{i}_conv")(x)
        if section.batch_norm:
            x = keras.layers.BatchNormalization(momentum=0.9, name=f"block{i}_bn")(x)
        x = keras.layers.Activation("relu", name=f"block{i}_relu")(x)
        x = keras.layers.MaxPooling2D(name=f"block{i}_pool")(x)
    return keras.Model(inputs, x, name="source")


def _check_convnet_fits(section: ConvNetSource, input_shape: tuple, where: str) -> None:
    """Refuse a kernel larger than the images, and more pooling blocks than the images can halve,
    before any layer is built: TensorFlow would allocate the kernels (a 1000x1000 kernel needs
    gigabytes) or fail deep inside its graph code."""
    height, width = input_shape[:2]
    if not (isinstance(height, int) and isinstance(width, int)):
        return  # images of any size: nothing to compare with
    if section.kernel_size > min(height, width):
        raise SpecError(where + ".kernel_size", f"{section.kernel_size} is larger than the input ({height}x{width})")
    blocks = len(section.filters)
    side = min(height, width)
    if side >> blocks < 1:  # each block max-pools by 2
        fits = side.bit_length() - 1
        advice = f"use at most {fits} block{'s' if fits != 1 else ''}" if fits else "use larger images"
        raise SpecError(
            where + ".filters",
            f"{blocks} conv blocks, each pooling by 2, shrink the {height}x{width} input to nothing: {advice}",
        )


def keras_file(section: KerasFileSource, input_shape: tuple, context: RunContext):
    import keras

    where = context.where + ".path"
    path = context.resolve(section.path)
    # safe mode unless --trust-code; a missing, truncated or unloadable file is a one-line ModelError
    model = load_model(path, where=where, trust_code=context.trust_code)
    if section.output_layer is not None:
        names = [layer.name for layer in model.layers]
        if section.output_layer not in names:
            raise ModelError(context.where + ".output_layer", f"the model has no layer {section.output_layer!r} (it has: {', '.join(names)})")
        layer = model.get_layer(section.output_layer)
        # the last layer is the whole model (its saved head included): a nested model's own
        # ``output`` is not connected to the outer model's inputs
        source = model if layer is model.layers[-1] else keras.Model(model.inputs, layer.output, name="source")
    elif "encoder" in [layer.name for layer in model.layers]:
        source = model.get_layer("encoder")
    else:
        source = model
    # a fresh graph with the same weights: the reused part is then called once, in the new
    # model, so a layer inside it can be named (e.g. a domain-adaptation feature_layer)
    try:
        fresh = keras.models.clone_model(source)
        fresh.set_weights(source.get_weights())
        source = fresh
    except Exception:  # a model Keras cannot clone still works as it is, only less addressable
        pass
    expected = tuple(source.input_shape[1:]) if hasattr(source, "input_shape") else tuple(source.inputs[0].shape[1:])
    if tuple(expected) != tuple(input_shape):
        if section.resize_input and len(expected) == len(input_shape) == 3:
            return _resized(source, expected, tuple(input_shape))
        raise ModelError(where, f"{path} takes inputs of shape {expected}, the data has {tuple(input_shape)}")
    return source


def _resized(source, expected: tuple, input_shape: tuple):
    """``source`` behind a bilinear resize to its height and width, and a channel mean (or repeat)."""
    import keras
    import numpy as np

    inputs = keras.Input(shape=input_shape, name="inputs")
    x = keras.layers.Resizing(expected[0], expected[1], interpolation="bilinear", name="resize_input")(inputs)
    have, want = input_shape[-1], expected[-1]
    if have != want and want == 1:  # a fixed averaging weight, not a Lambda: the model saves and loads in safe mode
        mean = keras.layers.Dense(1, use_bias=False, trainable=False, name="channel_mean")
        x = mean(x)
        mean.set_weights([np.full((have, 1), 1.0 / have, dtype="float32")])
    elif have != want and have == 1:
        x = keras.layers.Concatenate(name="channel_repeat")([x] * want)
    elif have != want:
        raise ModelError("source.resize_input", f"cannot turn {have} channels into the model's {want}")
    return keras.Model(inputs, source(x), name="source")
