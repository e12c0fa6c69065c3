"""What the host tells a plugin author: an unregistered custom layer before anything is saved,
``adaptkit_*`` functions pluggy would ignore, and which plugin answered each hook call."""

from __future__ import annotations

import json
from typing import Literal

import pytest
from click.testing import CliRunner

import adaptkit
from adaptkit import Head, ModelError, PluginHost, PluginInfo, hookimpl, load_spec_file, reset_host
from adaptkit.cli import main


class PlainLayerHead(adaptkit.HeadSection):
    """A head whose last layer is a custom class nobody registered."""

    kind: Literal["plain_layer_head"]


class PlainLayers:
    @hookimpl
    def adaptkit_sections(self):
        return [PlainLayerHead]

    @hookimpl
    def adaptkit_attach_head(self, section, features, task):
        import keras

        class Doubling(keras.layers.Layer):  # trains and saves fine; model.keras would not load
            def call(self, x):
                return 2.0 * x

        probabilities = keras.layers.Dense(task.num_classes, activation="softmax")(features)
        return Head(outputs=Doubling(name="doubling")(probabilities) / 2.0, loss="sparse_categorical_crossentropy", metrics=["accuracy"], monitor="accuracy")


def test_an_unregistered_custom_layer_fails_before_training_naming_the_layer_and_the_hook(spec_file, tmp_path):
    from adaptkit._runner import run_pipeline

    host = PluginHost()
    host.load_entry_points()
    host.register(PlainLayers(), PluginInfo("plain", "tests", None, None))
    path = spec_file("head: {kind: plain_layer_head}")
    with pytest.raises(ModelError) as info:
        run_pipeline(load_spec_file(path, host=host), path, host=host)
    message = str(info.value)
    assert message.startswith("model.keras: layer 'classifier/doubling' is a ")
    assert "test_plugin_contracts.PlainLayers.adaptkit_attach_head.<locals>.Doubling, a custom Keras class that is not registered" in message
    assert "register_keras_serializable" in message and "adaptkit_keras_objects" in message
    assert "\n" not in message
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing written


def test_a_layer_known_by_registration_or_by_adaptkit_keras_objects_passes():
    import keras

    from adaptkit._serializable import unregistered_layers

    class Halving(keras.layers.Layer):
        def call(self, x):
            return x / 2.0

    registered = keras.saving.register_keras_serializable(package="adaptkit_contract_test")(type("Tripling", (Halving,), {}))
    x = keras.Input(shape=(3,))
    inner = keras.Model(x, Halving(name="half")(keras.layers.Dense(3)(x)), name="encoder")
    y = keras.Input(shape=(3,))
    model = keras.Model(y, registered(name="triple")(inner(y)))
    assert [(path, cls) for path, cls in unregistered_layers(model)] == [("encoder/half", Halving)]  # nested models are walked
    assert unregistered_layers(model, custom_objects=[Halving]) == []  # what adaptkit_keras_objects answers


UNMARKED = '''
"""A plugin whose author forgot a marker and misspelt a hook."""
import adaptkit

@adaptkit.hookimpl
def adaptkit_sections():
    return []

def adaptkit_attach_head(section, features, task, context):
    return None

def adaptkit_attach_heads(section, features, task, context):
    return None

def helper():
    return None
'''


@pytest.fixture
def unmarked_plugin(tmp_path, monkeypatch):
    from adaptkit.testing import write_distribution

    monkeypatch.syspath_prepend(str(write_distribution(tmp_path / "site", "adaptkit_unmarked", UNMARKED)))
    reset_host()
    yield
    reset_host()


def test_adaptkit_functions_without_hookimpl_are_reported_with_the_nearest_hook(unmarked_plugin):
    outcome = CliRunner().invoke(main, ["plugins", "--json"])
    info = {p["name"]: p for p in json.loads(outcome.stdout)}["unmarked"]
    assert info["status"] == "ok" and info["hooks"] == ["adaptkit_sections"]
    assert info["warnings"] == [
        "adaptkit_attach_head is defined without @adaptkit.hookimpl, so it is never called: mark it",
        "adaptkit_attach_heads is not an adaptkit hook and has no @adaptkit.hookimpl (did you mean adaptkit_attach_head?)",
    ]
    table = CliRunner().invoke(main, ["plugins"])
    assert "warning: plugin 'unmarked': adaptkit_attach_head is defined without @adaptkit.hookimpl" in table.stderr


def test_a_marked_misspelt_hook_is_broken_with_the_nearest_name():
    class Misspelt:
        @hookimpl
        def adaptkit_attach_heads(self, section):
            return None

    host = PluginHost()
    host.register(Misspelt(), PluginInfo("misspelt", "tests", None, None))
    assert host.plugins["misspelt"].status == (
        "broken: implements hooks that adaptkit does not define: misspelt.adaptkit_attach_heads (did you mean adaptkit_attach_head?)"
    )


def test_trace_plugins_logs_which_plugin_answered_each_call(monkeypatch, capsys):
    from adaptkit.testing import build_head

    build_head({"kind": "classifier"})
    assert "adaptkit trace" not in capsys.readouterr().err  # off by default
    monkeypatch.setenv("ADAPTKIT_TRACE_PLUGINS", "1")
    build_head({"kind": "classifier"})
    assert "adaptkit trace: adaptkit_attach_head(kind=classifier) <- plugin 'core': adaptkit._types.Head\n" in capsys.readouterr().err
