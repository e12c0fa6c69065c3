"""Task heads: classifier and regression, on a feature map or vector."""

from __future__ import annotations

import math

from adaptkit import Head, ModelError, RunContext, TaskInfo

from .sections import ClassifierHead, RegressionHead


def _trunk(section, features, where: str):
    import keras

    rank = len(features.shape)
    pool = section.pooling
    if rank > 2 and pool == "none":
        raise ModelError(where + ".pooling", f"the features have shape {tuple(features.shape[1:])}: choose avg, max or flatten")
    x = features
    if rank == 4:
        x = {"avg": keras.layers.GlobalAveragePooling2D, "max": keras.layers.GlobalMaxPooling2D,
             "flatten": keras.layers.Flatten}[pool](name="head_pool")(x)
    elif rank == 3:
        x = {"avg": keras.layers.GlobalAveragePooling1D, "max": keras.layers.GlobalMaxPooling1D,
             "flatten": keras.layers.Flatten}[pool](name="head_pool")(x)
    elif rank > 4:
        x = keras.layers.Flatten(name="head_pool")(x)
    if section.batch_norm:
        x = keras.layers.BatchNormalization(name="head_bn")(x)
    for i, units in enumerate(section.hidden, start=1):
        if section.dropout:
            x = keras.layers.Dropout(section.dropout, name=f"head_dropout{i}")(x)
        x = keras.layers.Dense(units, activation=section.activation, name=f"head_dense{i}")(x)
    if section.dropout:
        x = keras.layers.Dropout(section.dropout, name="head_dropout")(x)
    return x


def classifier(section: ClassifierHead, features, task: TaskInfo, context: RunContext) -> Head:
    import keras

    if task.num_classes is None:
        raise ModelError(context.where, "a classifier head needs class labels; the data has regression targets (use kind: regression)")
    x = _trunk(section, features, context.where)
    outputs = keras.layers.Dense(task.num_classes, activation="softmax", dtype="float32", name="predictions")(x)
    return Head(
        outputs=outputs,
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        monitor="accuracy",
        higher_is_better=True,
    )


def regression(section: RegressionHead, features, task: TaskInfo, context: RunContext) -> Head:
    import keras

    if task.num_classes is not None:
        names = task.class_names
        shown = f"{names[0]!r}..{names[-1]!r}" if len(names) > 3 else ", ".join(map(repr, names))
        raise ModelError(
            context.where,
            f"a regression head needs numeric targets; the data has class labels ({len(names)} classes: {shown}): "
            "use kind: classifier, or task: regression in the data section",
        )
    x = _trunk(section, features, context.where)
    units = math.prod(task.target_shape) if task.target_shape else 1
    outputs = keras.layers.Dense(units, dtype="float32", name="predictions")(x)
    if task.target_shape and len(task.target_shape) > 1:
        outputs = keras.layers.Reshape(task.target_shape, name="predictions_shape")(outputs)
    loss = {"mse": keras.losses.MeanSquaredError(), "mae": keras.losses.MeanAbsoluteError(),
            "huber": keras.losses.Huber()}[section.loss]
    return Head(outputs=outputs, loss=loss, metrics=["mae"], monitor="mae", higher_is_better=False)
