"""The code templates of ``adaptkit new-plugin``: pyproject, hook implementations, sections, builders, layers.

Each kind (``loss``, ``head``, ``data``, ``source``, ``metric``) adds one block to
the files it touches; :mod:`adaptkit._scaffold` joins the blocks of the kinds asked
for and fills ``$prefix`` (the kinds' prefix and package suffix), ``$dist`` (the
distribution's suffix) and ``$title``. The generated code is small and real: a
confidence-penalty loss, a dense head with a registered temperature-softmax layer, a
CSV data source, a dense source model and a macro-F1 metric.
"""

from __future__ import annotations

PYPROJECT = '''\
[build-system]
requires = ["setuptools>=61"]
build-backend = "setuptools.build_meta"

[project]
name = "adaptkit-$dist"
version = "0.1.0"
description = "An adaptkit plugin: $title."
requires-python = ">=3.10"
dependencies = ["adaptkit"]

[project.optional-dependencies]
test = ["pytest>=8"]

# how adaptkit finds the plugin (`adaptkit plugins` lists it once installed)
[project.entry-points.adaptkit]
$prefix = "adaptkit_$prefix"

[tool.setuptools.packages.find]
include = ["adaptkit_$prefix*"]

[tool.pytest.ini_options]
testpaths = ["tests"]
filterwarnings = [
  # Keras' own tensors trip numpy 2's copy-keyword check; nothing a plugin can change
  "ignore:__array__ implementation doesn't accept a copy keyword:DeprecationWarning",
]
'''

INIT_HEAD = '''\
"""adaptkit-$dist: $title.

Registered through the ``adaptkit`` entry-point group (pyproject.toml). Importing this
package does not import TensorFlow (``adaptkit validate`` and ``plugins`` import every
plugin): each hook imports what it builds with. The host calls a building hook only with
this plugin's own sections, so no hook checks ``isinstance``.
"""

from __future__ import annotations

import adaptkit

from . import sections
'''

INIT = {
    "head": '''
# the head's Keras layer is registered as soon as Keras is imported, so plain
# keras.saving.load_model reads a model.keras that holds it
adaptkit.register_keras_classes("adaptkit_$prefix.layers")
''',
}

SECTIONS_HOOK = '''

@adaptkit.hookimpl
def adaptkit_sections():
    return sections.SECTIONS
'''

HOOK_CALLS = {
    "loss": ("adaptkit_compose_loss", "section, parts, context", "confidence_penalty"),
    "head": ("adaptkit_attach_head", "section, features, task, context", "dense_head"),
    "data": ("adaptkit_load_data", "section, context", "load_csv"),
    "source": ("adaptkit_load_source", "section, input_shape, context", "dense_source"),
    "metric": ("adaptkit_build_metric", "section, context", "macro_f1"),
}
"""Each kind's hook, its arguments and the builder in build.py it hands them to."""

HOOK_EXTRA = {
    "head": '''

@adaptkit.hookimpl
def adaptkit_keras_objects():
    from .layers import TemperatureSoftmax

    return {"adaptkit_$prefix>TemperatureSoftmax": TemperatureSoftmax}
''',
}


def hook(kind: str) -> str:
    """The hook implementation of ``kind``: import its builder (and so TensorFlow) only when called."""
    name, args, builder = HOOK_CALLS[kind]
    code = f"\n\n@adaptkit.hookimpl\ndef {name}({args}):\n    from .build import {builder}\n\n    return {builder}({args})\n"
    return code + HOOK_EXTRA.get(kind, "")


SECTIONS_HEAD = '''\
"""The spec sections of adaptkit-$dist: pydantic models, validated before TensorFlow loads.

Every field has a description (it feeds ``adaptkit schema``) and bounds for what the
builders cannot take; unknown keys and non-numbers are refused by the bases.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

import adaptkit
'''

SECTIONS = {
    "loss": '''

class ConfidencePenalty(adaptkit.LossSection):
    """Penalise confident predictions: the mean negative entropy of the head's class probabilities
    on the source batch (Pereyra et al., 2017), a smooth cousin of label smoothing."""

    kind: Literal["${prefix}_confidence_penalty"]
    weight: float = Field(0.1, ge=0, description="Weight of the penalty in the training objective.")
''',
    "head": '''

class DenseHead(adaptkit.HeadSection):
    """One hidden Dense layer, class logits, and a softmax at a temperature (a registered layer)."""

    kind: Literal["${prefix}_head"]
    hidden: int = Field(32, ge=1, description="Units of the hidden layer.")
    temperature: float = Field(1.0, gt=0, description="Softmax temperature (above 1: softer probabilities).")
''',
    "data": '''

class CsvData(adaptkit.DataSourceSection):
    """A CSV table with a header row: numeric feature columns and one integer class column."""

    kind: Literal["${prefix}_csv"]
    path: adaptkit.ExistingFile = Field(..., description="The CSV file (relative to the spec's folder).")
    label: str = Field("label", min_length=1, description="The column holding the class, integers 0..K-1.")
''',
    "source": '''

class DenseSource(adaptkit.SourceSection):
    """A small dense encoder, randomly initialised (a stand-in for your pre-trained model)."""

    kind: Literal["${prefix}_dense"]
    units: int = Field(64, ge=1, description="Units of each Dense layer.")
    depth: int = Field(1, ge=1, description="Number of Dense layers.")

    def has_pretrained_weights(self) -> bool:
        return False  # random initialisation: the transfer verdict warns about it
''',
    "metric": '''

class MacroF1(adaptkit.MetricSection):
    """Macro-averaged F1 over the classes (an ``evaluation.metrics`` entry), on every labeled split."""

    kind: Literal["${prefix}_macro_f1"]
    task = "classification"  # refused, before training, for a regression head
''',
}

SECTIONS_CLASSES = {"loss": "ConfidencePenalty", "head": "DenseHead", "data": "CsvData", "source": "DenseSource", "metric": "MacroF1"}

BUILD_HEAD = '''\
"""What adaptkit-$dist builds; TensorFlow and Keras are imported here, inside the functions."""

from __future__ import annotations

import adaptkit
'''

BUILD = {
    "loss": '''

def confidence_penalty(section, parts, context):
    """The penalty as one loss term of the main player, logged per epoch under its name."""
    if parts.tasks is not None:
        raise adaptkit.SpecError(context.where, "the confidence penalty works on one-task models")

    def negative_entropy(batch):
        import keras

        # outputs_source is the head's output on the source batch: class probabilities here
        p = keras.ops.clip(batch.outputs_source, 1e-7, 1.0)
        return keras.ops.mean(keras.ops.sum(p * keras.ops.log(p), axis=-1))

    return adaptkit.LossComposition(terms=[adaptkit.LossTerm("${prefix}_confidence_penalty", negative_entropy, section.weight)])
''',
    "head": '''

def dense_head(section, features, task, context):
    """Probabilities out (as core's classifier): losses and metrics read them as probabilities."""
    import keras

    from .layers import TemperatureSoftmax

    if task.num_classes is None:
        raise adaptkit.ModelError(context.where, "this head classifies; the data has regression targets")
    x = features
    if len(features.shape) > 2:
        x = keras.layers.Flatten(name="${prefix}_head_flatten")(x)
    x = keras.layers.Dense(section.hidden, activation="relu", name="${prefix}_head_dense")(x)
    logits = keras.layers.Dense(task.num_classes, dtype="float32", name="${prefix}_head_logits")(x)
    outputs = TemperatureSoftmax(section.temperature, dtype="float32", name="${prefix}_head_probabilities")(logits)
    return adaptkit.Head(
        outputs=outputs,
        loss=keras.losses.SparseCategoricalCrossentropy(),
        metrics=["accuracy"],
        monitor="accuracy",
        higher_is_better=True,
    )
''',
    "data": '''

def load_csv(section, context):
    """The table as an unbatched tf.data dataset of (features, class index), in file order."""
    import csv

    import numpy as np
    import tensorflow as tf

    path, where = context.resolve(section.path), context.where + ".path"
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise adaptkit.DataError(where, f"{path} does not read as a CSV table ({exc})") from None
    if not rows:
        raise adaptkit.DataError(where, f"{path} has no rows")
    if section.label not in rows[0]:
        raise adaptkit.SpecError(context.where + ".label", f"{path} has no column {section.label!r}; it has {', '.join(rows[0])}")
    columns = [c for c in rows[0] if c != section.label]
    try:
        x = np.array([[float(row[c]) for c in columns] for row in rows], dtype="float32")
        labels = np.array([float(row[section.label]) for row in rows])
    except (TypeError, ValueError) as exc:
        raise adaptkit.DataError(where, f"{path}: a value is not a number ({exc})") from None
    adaptkit.check_finite(x, "the features", path, where)
    y, names = adaptkit.class_indices(labels, None, path, where)
    return adaptkit.DataSource(
        tf.data.Dataset.from_tensor_slices((x, y)), size=len(x), input_shape=(len(columns),), class_names=names
    )
''',
    "source": '''

def dense_source(section, input_shape, context):
    """Examples in, features out; layers named ${prefix}_* so surgery and layer groups can find them."""
    import keras

    inputs = keras.Input(shape=tuple(input_shape))
    x = keras.layers.Flatten(name="${prefix}_flatten")(inputs) if len(input_shape) > 1 else inputs
    for i in range(1, section.depth + 1):
        x = keras.layers.Dense(section.units, activation="relu", name=f"${prefix}_dense{i}")(x)
    return keras.Model(inputs, x, name="${prefix}_dense")
''',
    "metric": '''

def macro_f1(section, context):
    """Macro-averaged F1 as an ``evaluation.metrics`` kind: the host hands ``compute`` one split's
    class indices and class probabilities, predicted once per split and model."""
    import numpy as np

    def compute(y_true, y_pred, task):
        guess = np.argmax(y_pred, axis=-1)
        scores = []
        for c in range(task.num_classes):
            tp, fp, fn = [int(np.sum(m)) for m in ((guess == c) & (y_true == c), (guess == c) & (y_true != c), (guess != c) & (y_true == c))]
            if tp + fp + fn:
                scores.append(2 * tp / (2 * tp + fp + fn))
        return {"${prefix}_macro_f1": float(np.mean(scores))}

    return adaptkit.Metric(names=["${prefix}_macro_f1"], compute=compute)
''',
}

LAYERS = '''\
"""adaptkit-$dist's Keras layers, registered so that a saved model.keras reloads in safe mode.

Imported when Keras is (``adaptkit.register_keras_classes`` in the package's
``__init__``), and named by ``adaptkit_keras_objects``.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="adaptkit_$prefix")
class TemperatureSoftmax(keras.layers.Layer):
    """``softmax(logits / temperature)``."""

    def __init__(self, temperature: float = 1.0, **kwargs):
        super().__init__(**kwargs)
        self.temperature = float(temperature)

    def call(self, logits):
        return keras.ops.softmax(logits / self.temperature, axis=-1)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "temperature": self.temperature}
'''
