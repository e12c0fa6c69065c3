"""Untrusted model files never run code: SavedModel graphs inspected before loading, .keras files in
safe mode, both refused in one line naming the opt-in (--trust-code), which only the command line sets."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

import adaptkit
from adaptkit import ModelError, check_saved_model, inspect_saved_model
from adaptkit.cli import main

import tensorflow as tf  # noqa: E402  (the SavedModels are built here with real TensorFlow)

def found(directory) -> list[str]:
    return [str(f) for f in inspect_saved_model(directory)]


# ------------------------------------------------------------------ SavedModels built here


def _module(body, signature=(tf.TensorSpec([None], tf.float32),), **attrs):
    """A tf.Module whose __call__ is ``body(self, x)``."""
    module = tf.Module()
    for name, value in attrs.items():
        setattr(module, name, value)
    module.__call__ = tf.function(lambda x: body(module, x), input_signature=list(signature))
    return module


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """name -> SavedModel directory; ``marker`` is the file the malicious ones would write."""
    root = tmp_path_factory.mktemp("savedmodels")
    marker = root / "PWNED"
    vocab = root / "vocab.txt"
    vocab.write_text("a\nb\nc\n")

    def writes(m, x):
        tf.io.write_file(str(marker), "owned")
        return x * 2

    def nested(m, x):
        @tf.function
        def inner(v):
            if tf.reduce_sum(v) > 0:  # a tf.cond branch inside a function inside the call
                tf.io.write_file(str(marker), "owned")
            return v

        return tf.map_fn(lambda v: v + 1.0, inner(x))

    def saves(m, x):
        tf.raw_ops.SaveV2(prefix=str(marker), tensor_names=["x"], shape_and_slices=[""], tensors=[x])
        return x

    def table_from_asset(m, x):
        return m.table.lookup(x)

    built = {
        "writes_file": _module(writes),
        "py_function": _module(lambda m, x: tf.py_function(lambda t: t * 2, [x], tf.float32)),
        "numpy_function": _module(lambda m, x: tf.numpy_function(lambda t: t * 2, [x], tf.float32, stateful=False)),
        "prints_to_file": _module(lambda m, x: (tf.print(x, output_stream="file://" + str(marker)), x * 2)[1]),
        "prints_to_stderr": _module(lambda m, x: (tf.print("x:", x), x * 2)[1]),
        "nested_write": _module(nested),
        "saves_checkpoint": _module(saves),
        "reads_other_file": _module(lambda m, x: tf.strings.length(tf.io.read_file(str(vocab))) + tf.cast(x, tf.int32)),
        "benign": _module(
            lambda m, x: tf.reduce_sum(tf.nn.dropout(m.w * x[:, None], 0.5), axis=1) + tf.random.normal([1]),
            w=tf.Variable([1.0, 2.0]),
        ),
        "reads_own_asset": _module(
            lambda m, x: tf.strings.length(tf.io.read_file(m.asset.asset_path)) + tf.cast(x, tf.int32),
            asset=tf.saved_model.Asset(str(vocab)),
        ),
        "vocab_table": _module(
            table_from_asset,
            signature=(tf.TensorSpec([None], tf.string),),
            table=tf.lookup.StaticHashTable(
                tf.lookup.TextFileInitializer(
                    str(vocab), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER
                ),
                -1,
            ),
        ),
    }
    paths = {"marker": marker}
    for name, module in built.items():
        tf.saved_model.save(module, str(root / name))
        paths[name] = root / name
    assert not marker.exists()  # tracing and saving ran nothing
    return paths


@pytest.mark.parametrize(
    "name, op, reason",
    [
        ("writes_file", "WriteFile", "writes files"),
        ("py_function", "EagerPyFunc", "runs Python code"),
        ("numpy_function", "PyFuncStateless", "runs Python code"),  # not even stateful: the denylist knows it
        ("nested_write", "WriteFile", "writes files"),
        ("saves_checkpoint", "SaveV2", "writes files"),  # checkpoint ops are for TensorFlow's saver only
        ("reads_other_file", "ReadFile", "reads a file that is not one of the SavedModel's own assets"),
    ],
)
def test_savedmodels_that_reach_outside_are_refused_before_loading(models, name, op, reason):
    with pytest.raises(ModelError) as err:
        check_saved_model(models[name], "source.handle")
    message = str(err.value)
    assert message.startswith(f"source.handle: refused to run SavedModel {models[name]}: op {op} ({reason}) in function ")
    assert message.endswith("; pass --trust-code to run it anyway")
    assert "\n" not in message
    assert not models["marker"].exists()


def test_a_nested_op_names_the_nested_function(models):
    (finding, *_) = inspect_saved_model(models["nested_write"])
    assert finding.place.startswith("function cond_true")  # the tf.cond branch, two calls deep


def test_print_to_a_file_is_refused_print_to_the_console_is_not(models):
    (finding,) = inspect_saved_model(models["prints_to_file"])
    assert finding.op == "PrintV2" and finding.reason == f"prints to the file {models['marker']}"
    assert found(models["prints_to_stderr"]) == []


def test_benign_savedmodels_pass_and_still_load(models):
    # variables, dropout, random numbers, TensorFlow's own saver (SaveV2/RestoreV2 in its functions),
    # a lookup table from the model's own vocabulary asset, ReadFile of the model's own asset
    for name in ("benign", "vocab_table", "reads_own_asset"):
        assert found(models[name]) == [], name
        check_saved_model(models[name], "source.handle")
    table = tf.saved_model.load(str(models["vocab_table"]))
    assert table(tf.constant(["b", "zzz"])).numpy().tolist() == [1, -1]


def test_keras_exports_pass(tmp_path):
    import keras

    inputs = keras.Input((5,), dtype="string")
    x = keras.layers.StringLookup(vocabulary=["a", "b"])(inputs)
    x = keras.layers.Embedding(4, 3)(x)
    x = keras.layers.LSTM(4)(x)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.5)(x)
    keras.Model(inputs, x).export(str(tmp_path / "exported"), verbose=False)
    assert found(tmp_path / "exported") == []


def test_trust_code_lets_it_through_with_a_warning(models, caplog):
    log = logging.getLogger("adaptkit.test")
    with caplog.at_level(logging.WARNING, logger="adaptkit.test"):
        check_saved_model(models["writes_file"], "source.handle", trust_code=True, log=log)
    assert "op WriteFile (writes files)" in caplog.text


def _rewrite(directory: Path, change) -> None:
    from tensorflow.core.protobuf import saved_model_pb2

    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((directory / "saved_model.pb").read_bytes())
    change(proto.meta_graphs[0])
    (directory / "saved_model.pb").write_bytes(proto.SerializeToString())


def test_an_asset_outside_the_savedmodel_is_refused(models, tmp_path):
    import shutil

    copy = tmp_path / "escaping"
    shutil.copytree(models["vocab_table"], copy)

    def escape(meta_graph):
        meta_graph.asset_file_def[0].filename = "../../../../../etc/hostname"

    _rewrite(copy, escape)
    (finding, *_) = inspect_saved_model(copy)
    assert finding.op == "asset" and "lies outside the SavedModel's assets/ folder" in finding.reason

    linked = tmp_path / "linked"
    shutil.copytree(models["vocab_table"], linked)
    (asset,) = (linked / "assets").iterdir()
    asset.unlink()
    asset.symlink_to("/etc/hostname")  # a symlink out of the SavedModel
    (finding, *_) = inspect_saved_model(linked)
    assert finding.op == "asset" and "lies outside" in finding.reason

    moved = tmp_path / "moved"
    shutil.copytree(models["vocab_table"], moved)
    shutil.move(moved / "assets", tmp_path / "elsewhere")
    (moved / "assets").symlink_to(tmp_path / "elsewhere")  # the whole assets/ folder points out
    (finding, *_) = inspect_saved_model(moved)
    assert finding.op == "asset" and "lies outside" in finding.reason


def test_a_custom_op_unknown_to_tensorflow_is_refused(models, tmp_path):
    import shutil

    copy = tmp_path / "custom"
    shutil.copytree(models["benign"], copy)

    def rename(meta_graph):
        function = next(f for f in meta_graph.graph_def.library.function if any(n.op == "Mul" for n in f.node_def))
        next(n for n in function.node_def if n.op == "Mul").op = "DefinitelyNotARealOp"

    _rewrite(copy, rename)
    (finding,) = inspect_saved_model(copy)
    assert finding.op == "DefinitelyNotARealOp" and finding.reason.startswith("not an op this TensorFlow knows")


def _tf1_savedmodel(path: Path, vocab: Path, write_to: Path | None) -> None:
    """A TF1 SavedModel (graph + saver + a vocabulary asset), optionally writing a file in its signature."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None], name="x")
        v = tf.compat.v1.get_variable("v", initializer=tf.constant([1.0]), use_resource=True)
        initializer = tf.lookup.TextFileInitializer(
            str(vocab), tf.string, tf.lookup.TextFileIndex.WHOLE_LINE, tf.int64, tf.lookup.TextFileIndex.LINE_NUMBER
        )
        table = tf.lookup.StaticHashTable(initializer, -1)
        y = x * v + tf.cast(table.lookup(tf.constant("b")), tf.float32)
        if write_to is not None:
            with tf.control_dependencies([tf.io.write_file(str(write_to), "owned")]):
                y = tf.identity(y)
        with tf.compat.v1.Session() as session:
            session.run([tf.compat.v1.global_variables_initializer(), tf.compat.v1.tables_initializer()])
            builder = tf.compat.v1.saved_model.Builder(str(path))
            builder.add_meta_graph_and_variables(
                session,
                ["serve"],
                signature_def_map={"serving_default": tf.compat.v1.saved_model.predict_signature_def({"x": x}, {"y": y})},
                main_op=tf.compat.v1.tables_initializer(),
                assets_collection=tf.compat.v1.get_collection(tf.compat.v1.GraphKeys.ASSET_FILEPATHS),
            )
            builder.save()


def test_tf1_savedmodels_graph_nodes_are_inspected(tmp_path):
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("a\nb\n")
    marker = tmp_path / "PWNED"
    _tf1_savedmodel(tmp_path / "good", vocab, None)
    _tf1_savedmodel(tmp_path / "bad", vocab, marker)
    assert found(tmp_path / "good") == []  # its saver's SaveV2/RestoreV2 and the asset table are fine
    assert found(tmp_path / "bad") == ["op WriteFile (writes files) in graph node WriteFile"]
    assert not marker.exists()


def test_the_savers_allowance_goes_only_to_the_savers_functions(models, tmp_path):
    """A crafted SavedModel empties the object graph's function map (its function objects still name the
    functions): its SaveV2 must not pass as TensorFlow's saver, nor may any function no one calls."""
    import shutil

    from tensorflow.core.protobuf import saved_model_pb2

    crafted = tmp_path / "crafted"
    shutil.copytree(models["saves_checkpoint"], crafted)
    proto = saved_model_pb2.SavedModel()
    proto.ParseFromString((crafted / "saved_model.pb").read_bytes())
    objects = proto.meta_graphs[0].object_graph_def
    for name in list(objects.concrete_functions):  # the function objects and signatures still name them
        del objects.concrete_functions[name]
    (crafted / "saved_model.pb").write_bytes(proto.SerializeToString())
    assert any(f.startswith("op SaveV2 (writes files)") for f in found(crafted))
    # the benign models' own saver functions (SaveV2, RestoreV2, MergeV2Checkpoints) still pass
    assert found(models["benign"]) == []


def test_unreadable_savedmodels_are_one_line_model_errors(tmp_path):
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "saved_model.pb").write_bytes(b"\x0a\xff\xff\xff garbage")
    with pytest.raises(ModelError, match=r"^source.handle: .*junk is not a valid SavedModel: saved_model.pb does not parse"):
        check_saved_model(tmp_path / "junk", "source.handle")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelError, match="has no saved_model.pb"):
        check_saved_model(tmp_path / "empty", "source.handle")


def test_the_op_registry_wrapper_knows_statefulness():
    from adaptkit._trust import _registry

    registry = _registry()
    assert registry.get("WriteFile").is_stateful and not registry.get("AddV2").is_stateful
    assert registry.get("NoSuchOp") is None


# ------------------------------------------------------------------ .keras files and the CLI


def _lambda_model(path: Path, marker: Path) -> None:
    """A digits-shaped model whose Lambda layer writes ``marker`` whenever it runs (also while loading)."""
    import keras

    evil = eval(f"lambda x: (open({str(marker)!r}, 'w').close(), x)[1]")  # noqa: S307 - the payload under test
    inputs = keras.Input((8, 8, 1), name="inputs")
    x = keras.layers.Lambda(evil, name="evil")(inputs)
    x = keras.layers.Flatten(name="flatten")(x)
    outputs = keras.layers.Dense(16, name="dense1")(x)
    keras.Model(inputs, outputs).save(path)
    marker.unlink()  # building it ran the lambda once


def test_keras_file_with_a_lambda_is_refused_then_trusted(spec_file, tmp_path):
    marker = tmp_path / "PWNED"
    model = tmp_path / "lambda.keras"
    _lambda_model(model, marker)
    spec = spec_file(f"source: {{kind: keras_file, path: {model}}}")
    out = CliRunner().invoke(main, ["run", str(spec)])
    assert out.exit_code == 2, out.output
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        f"error: source.path: refused to load {model}: it requests the deserialization of a `Lambda` layer whose "
        "`function` is a Python lambda (Keras' safe mode runs no code from model files); "
        "pass --trust-code to load it anyway"
    ]
    assert "Traceback" not in out.output
    sweep = CliRunner().invoke(main, ["lr-find", str(spec), "--plot", str(tmp_path / "lr.png")])
    assert sweep.exit_code == 2 and sweep.stderr.strip().splitlines()[-1] == errors[0]
    assert not marker.exists()
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []

    result = CliRunner().invoke(main, ["run", str(spec), "--trust-code"])
    assert result.exit_code == 0, result.output
    assert marker.exists()  # trusted: the file's code ran, as asked


def test_truncated_keras_file_is_named_as_such(spec_file, tmp_path):
    import keras

    whole = tmp_path / "whole.keras"
    keras.Sequential([keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(4)]).save(whole)
    cut = tmp_path / "cut.keras"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    result = CliRunner().invoke(main, ["run", str(spec_file(f"source: {{kind: keras_file, path: {cut}}}"))])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: source.path: {cut} does not load as a Keras model: it is not a valid, complete .keras archive "
        "(not a zip archive: truncated, or not a .keras file)"
    )
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


def test_a_spec_cannot_opt_itself_in(spec_file):
    result = CliRunner().invoke(main, ["validate", str(spec_file("trust_code: true"))])
    assert result.exit_code == 2
    assert "trust_code: unknown key" in result.output
    result = CliRunner().invoke(main, ["validate", str(spec_file()), "--set", "trust_code=true"])
    assert result.exit_code == 2 and "trust_code: unknown key" in result.output


def test_the_flag_reaches_every_building_hook_and_the_resume_command(tmp_path):
    from adaptkit.cli import _again

    ctx = adaptkit.RunContext(seed=0, spec_dir=tmp_path, trust_code=True)
    assert ctx.at("source.handle").trust_code and not adaptkit.RunContext(seed=0, spec_dir=tmp_path).trust_code
    assert _again(Path("s.yaml"), (), None, True).endswith("--trust-code --resume")
    for verb in ("run", "lr-find"):
        assert "--trust-code" in CliRunner().invoke(main, [verb, "--help"]).output


def test_a_spec_with_a_python_tag_is_refused_and_runs_nothing(spec_file, tmp_path):
    marker = tmp_path / "PWNED"
    tag = f"!!python/object/apply:os.system ['touch {marker}']"
    spec = spec_file()
    evil = tmp_path / "evil.yaml"
    evil.write_text(spec.read_text().replace("name: digits", f"name: {tag}"))
    for args in (["validate", str(evil)], ["run", str(evil)], ["validate", str(spec), "--set", f"name={tag}"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 2, result.output
        (line,) = [x for x in result.output.splitlines() if x.strip()]  # one line: the YAML tag or the name
        assert "Traceback" not in result.output
    assert not marker.exists()
