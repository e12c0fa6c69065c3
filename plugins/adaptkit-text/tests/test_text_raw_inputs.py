"""A text run's model.keras takes raw strings: ``text_directory`` strips each file's text, and
the saved model strips it the same way (``StripWhitespace``, exactly Python's ``str.strip``)."""

from __future__ import annotations

import numpy as np
import pytest

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from adaptkit.testing import run_spec
from adaptkit_text.layers import StripWhitespace

WHITESPACE = [chr(c) for c in range(0x110000) if chr(c).isspace()]


def test_strip_whitespace_strips_what_str_strip_strips_and_nothing_else():
    texts = [f"{c}{c}a{c}b{c}" for c in WHITESPACE] + ["\u200bx\u200b", "\ufeffy", " \t\n", "", "z"]
    out = [t.decode("utf-8") for t in StripWhitespace()(tf.constant(texts)).numpy()]
    assert out == [t.strip() for t in texts]


class LengthAware(tf.Module):
    """string -> features: a hashed bag of words, and the string's length (so whitespace counts)."""

    def __init__(self):
        super().__init__()
        self.table = tf.Variable(tf.random.stateless_normal((32, 4), seed=(3, 4)), name="table")

    @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
    def __call__(self, texts):
        bag = tf.reduce_mean(tf.gather(self.table, tf.strings.to_hash_bucket_fast(tf.strings.split(texts), 32)), axis=1)
        length = tf.cast(tf.strings.length(texts, unit="UTF8_CHAR"), tf.float32)[:, None] / 20.0
        return tf.concat([bag, length], axis=1)


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Reviews in one folder per class (train and test), each file's text padded with whitespace."""
    root = tmp_path_factory.mktemp("reviews")
    tf.saved_model.save(LengthAware(), str(root / "module"))
    rng = np.random.default_rng(0)
    words = {"pos": ["good", "great", "fine", "lovely"], "neg": ["bad", "awful", "poor", "dull"]}
    filler, pads = ["film", "day", "plot", "the", "a"], [" ", "\n", "\t", "\u3000", "\xa0", "\r\n", ""]
    for split, n in (("train", 40), ("test", 16)):
        for label, own in words.items():
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(n):
                body = " ".join(rng.choice(own + filler, size=rng.integers(2, 7)))
                pad = lambda: "".join(rng.choice(pads, size=rng.integers(0, 5)))  # noqa: E731
                (folder / f"{i}.txt").write_text(pad() + body + pad(), encoding="utf-8")
    return root


def test_raw_file_texts_give_the_runs_predictions(tmp_path, folders):
    data = {"kind": "text_directory"}
    spec = {
        "data": {"train": {**data, "path": str(folders / "train")}, "test": {**data, "path": str(folders / "test")},
                 "batch_size": 16},
        "source": {"kind": "tfhub", "handle": str(folders / "module")},
        "head": {"kind": "classifier", "pooling": "none"},
        "training": {"verbose": 0, "stages": [{"epochs": 5, "optimizer": {"learning_rate": 0.05}}]},
        "evaluation": {"plots": False},
    }
    run = run_spec(tmp_path, spec, name="reviews")
    # a SavedModel layer runs graph code from outside the file: Keras' safe mode refuses it
    model = keras.saving.load_model(run.run_dir / "model.keras", safe_mode=False)
    files = sorted((folders / "test").rglob("*.txt"))
    raw = [f.read_text(encoding="utf-8") for f in files]  # as the files hold them, whitespace and all
    truth = np.array([["neg", "pos"].index(f.parent.name) for f in files])
    p = keras.ops.convert_to_numpy(model(tf.constant(raw)))
    encoder, classifier = model.get_layer("encoder"), model.get_layer("classifier")
    loaded = keras.ops.convert_to_numpy(classifier(encoder(tf.constant([t.strip() for t in raw]))))
    np.testing.assert_allclose(p, loaded, atol=1e-6)
    unstripped = keras.ops.convert_to_numpy(classifier(encoder(tf.constant(raw))))
    assert np.abs(unstripped - loaded).max() > 1e-3  # the whitespace would change the predictions
    assert float(np.mean(p.argmax(1) == truth)) == pytest.approx(run.metrics["test/accuracy"], abs=1e-9)
