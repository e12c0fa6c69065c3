"""Plugin discovery through entry points: third-party, broken and disabled plugins."""

from __future__ import annotations

import json
import sys
import textwrap

import pytest
from click.testing import CliRunner

import adaptkit
from adaptkit import SpecError, get_host, load_spec, reset_host
from adaptkit.cli import main

THIRD_PARTY = '''
"""A third-party plugin: one head kind."""
from typing import Literal
from pydantic import Field
import adaptkit

class LinearHead(adaptkit.HeadSection):
    """A linear softmax head."""
    kind: Literal["linear_probe"]
    temperature: float = Field(1.0, description="Softmax temperature.")

@adaptkit.hookimpl
def adaptkit_sections():
    return [LinearHead]
'''


def install_fake(tmp_path, monkeypatch, name: str, module_source: str, version: str = "1.2.3"):
    """Put a module and its dist-info (with an adaptkit entry point) on sys.path."""
    site = tmp_path / "site"
    site.mkdir(exist_ok=True)
    (site / f"{name}.py").write_text(textwrap.dedent(module_source))
    dist = site / f"{name}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name.replace('_', '-')}\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text(f"[adaptkit]\n{name} = {name}\n")
    monkeypatch.syspath_prepend(str(site))
    reset_host()


@pytest.fixture(autouse=True)
def fresh_host():
    reset_host()
    yield
    reset_host()


BASE = {
    "name": "t",
    "data": {"train": {"kind": "arrays", "path": "d.npz"}},
    "source": {"kind": "mlp"},
    "head": {"kind": "classifier"},
    "training": {"stages": [{"epochs": 1}]},
}


def test_builtins_register_through_entry_points():
    host = get_host()
    core = host.plugins["core"]
    assert core.ok and core.distribution == "adaptkit-core" and core.version
    assert "adaptkit_attach_head" in core.hooks
    assert "classifier" in core.sections["head"]


def test_third_party_plugin_adds_a_kind(tmp_path, monkeypatch):
    install_fake(tmp_path, monkeypatch, "adaptkit_fakehead", THIRD_PARTY)
    host = get_host()
    info = host.plugins["adaptkit_fakehead"]
    assert info.ok and info.version == "1.2.3" and info.distribution == "adaptkit-fakehead"
    spec = load_spec({**BASE, "head": {"kind": "linear_probe", "temperature": 2}})
    assert spec.head.temperature == 2.0
    result = CliRunner().invoke(main, ["schema"])
    assert "linear_probe" in result.output


def test_plugin_that_fails_to_import_is_reported_and_others_work(tmp_path, monkeypatch):
    install_fake(tmp_path, monkeypatch, "adaptkit_broken", "raise RuntimeError('boom at import')\n")
    host = get_host()
    assert host.plugins["adaptkit_broken"].status.startswith("broken: import failed: RuntimeError: boom at import")
    assert host.plugins["core"].ok
    result = CliRunner().invoke(main, ["plugins", "--json"])
    listed = {p["name"]: p for p in json.loads(result.output)}
    assert listed["adaptkit_broken"]["status"].startswith("broken")
    # a spec that needs a kind no working plugin provides names the broken plugin
    with pytest.raises(SpecError) as info:
        load_spec({**BASE, "head": {"kind": "linear_probe"}})
    assert "broken plugins: adaptkit_broken" in str(info.value)


def test_plugin_with_a_hook_that_does_not_match_is_broken(tmp_path, monkeypatch):
    source = """
    import adaptkit

    @adaptkit.hookimpl
    def adaptkit_load_source(section, wrong_argument):
        return None
    """
    install_fake(tmp_path, monkeypatch, "adaptkit_badsig", source)
    info = get_host().plugins["adaptkit_badsig"]
    assert info.status.startswith("broken:") and "wrong_argument" in info.status


def test_plugin_implementing_an_unknown_hook_is_broken(tmp_path, monkeypatch):
    source = """
    import adaptkit

    @adaptkit.hookimpl
    def adaptkit_make_coffee():
        return None
    """
    install_fake(tmp_path, monkeypatch, "adaptkit_coffee", source)
    info = get_host().plugins["adaptkit_coffee"]
    assert info.status == "broken: implements hooks that adaptkit does not define: adaptkit_coffee.adaptkit_make_coffee"


def test_plugin_declaring_a_kind_twice_is_broken(tmp_path, monkeypatch):
    source = """
    from typing import Literal
    import adaptkit

    class Again(adaptkit.HeadSection):
        kind: Literal["classifier"]

    @adaptkit.hookimpl
    def adaptkit_sections():
        return [Again]
    """
    # plugins load in entry-point name order; the first to declare a kind keeps it
    install_fake(tmp_path, monkeypatch, "zz_dupe", source)
    host = get_host()
    assert "already provided by plugin 'core'" in host.plugins["zz_dupe"].status
    assert host.sections["head"]["classifier"][1] == "core"


def test_disable_plugins_by_environment(monkeypatch):
    monkeypatch.setenv("ADAPTKIT_DISABLE_PLUGINS", "vision, text")
    host = get_host()
    assert host.plugins["vision"].status.startswith("disabled")
    assert "image_directory" not in host.sections["data"]
    assert host.plugins["core"].ok


def test_public_names_match_all():
    public = {n for n in dir(adaptkit) if not n.startswith("_")} - {
        "cli", "annotations"
    }
    modules = {n for n in public if type(getattr(adaptkit, n)).__name__ == "module"}
    assert public - modules == set(adaptkit.__all__) - {"__version__"}


def test_a_failing_hook_is_blamed_on_its_plugin(tmp_path, monkeypatch, digits_npz):
    source = """
    import adaptkit

    @adaptkit.hookimpl
    def adaptkit_evaluate(parts):
        raise ZeroDivisionError("bad metric")
    """
    install_fake(tmp_path, monkeypatch, "adaptkit_badmetric", source)
    from adaptkit import PluginError
    from adaptkit._runner import run_pipeline

    spec = load_spec({**BASE, "output_dir": str(tmp_path / "runs"),
                      "data": {"train": {"kind": "arrays", "path": str(digits_npz)}},
                      "training": {"verbose": 0, "stages": [{"epochs": 1}]}})
    # evaluation comes after training: the run completes without that plugin's metrics
    result = run_pipeline(spec, tmp_path / "spec.yaml")
    assert [str(e) for e in result.errors] == [
        "evaluation: plugin 'adaptkit_badmetric' failed in adaptkit_evaluate: ZeroDivisionError: bad metric"
    ]
    assert all(isinstance(e, PluginError) for e in result.errors)
    written = json.loads((result.run_dir / "metrics.json").read_text())
    assert written["errors"] == [str(e) for e in result.errors]
    assert written["headline"]["value"] == result.metrics["metrics"]["test/accuracy"] > 0.3  # core's metrics stand
    assert (result.run_dir / "model.keras").is_file()


def test_a_family_without_any_provider_is_a_one_line_error(monkeypatch):
    monkeypatch.setenv("ADAPTKIT_DISABLE_PLUGINS", "adversarial,gan,selftrain")
    data = {**BASE, "training": {"stages": [{"epochs": 1, "losses": [{"kind": "dann"}]}]}}
    with pytest.raises(SpecError) as info:
        load_spec(data)
    assert str(info.value).startswith("training.stages.0.losses.0: no installed plugin provides loss kinds; broken plugins: adversarial")


# -- routing: a building hook reaches only the plugin that declared the section's class --------

from typing import Literal  # noqa: E402

from adaptkit import Head, PluginError, PluginHost, PluginInfo, RunContext, TaskInfo, hookimpl  # noqa: E402


class ProbeHead(adaptkit.HeadSection):
    kind: Literal["probe"]


class CrashHead(adaptkit.HeadSection):
    kind: Literal["crash"]


class TraceHead(adaptkit.HeadSection):
    kind: Literal["trace"]


def host_with(**plugins) -> PluginHost:
    """A fresh host with these plugin objects registered, in keyword order."""
    host = PluginHost()
    for name, plugin in plugins.items():
        host.register(plugin, PluginInfo(name, type(plugin).__module__, None, None))
        assert host.plugins[name].ok, host.plugins[name].status
    return host


def head_kwargs(tmp_path) -> dict:
    return {"features": None, "task": TaskInfo(None), "context": RunContext(seed=0, spec_dir=tmp_path)}


class Prober:
    """Declares the probe head and answers for it."""

    @hookimpl
    def adaptkit_sections(self):
        return [ProbeHead]

    @hookimpl
    def adaptkit_attach_head(self, section, features, task, context):
        return Head(outputs="probe", loss="mse")


class Crasher:
    """Declares the crash head; every building hook raises, and asks to go first."""

    @hookimpl
    def adaptkit_sections(self):
        return [CrashHead]

    @hookimpl(tryfirst=True)
    def adaptkit_attach_head(self, section):
        raise RuntimeError("boom")

    @hookimpl(tryfirst=True)
    def adaptkit_load_data(self, section):
        raise RuntimeError("boom")

    @hookimpl(tryfirst=True)
    def adaptkit_load_source(self, section):
        raise RuntimeError("boom")

    @hookimpl(tryfirst=True)
    def adaptkit_apply_surgery(self, section):
        raise RuntimeError("boom")


def test_a_building_hook_reaches_only_the_declaring_plugin(tmp_path):
    host = host_with(prober=Prober(), crasher=Crasher())
    head = host.call_first("adaptkit_attach_head", "head", ProbeHead(kind="probe"), **head_kwargs(tmp_path))
    assert head.outputs == "probe"
    # pluggy's own relay routes the same way
    assert host.hook.adaptkit_attach_head(section=ProbeHead(kind="probe"), **head_kwargs(tmp_path)).outputs == "probe"
    with pytest.raises(PluginError) as info:
        host.call_first("adaptkit_attach_head", "head", CrashHead(kind="crash"), **head_kwargs(tmp_path))
    assert str(info.value) == "head: plugin 'crasher' failed in adaptkit_attach_head: RuntimeError: boom"


def test_a_plugin_failing_in_every_hook_does_not_break_a_run_of_other_kinds(tmp_path, monkeypatch, digits_npz):
    source = """
    import adaptkit

    def _boom(*args, **kwargs):
        raise RuntimeError("this plugin fails for every section")

    adaptkit_load_data = adaptkit.hookimpl(tryfirst=True)(lambda section: _boom())
    adaptkit_load_source = adaptkit.hookimpl(tryfirst=True)(lambda section: _boom())
    adaptkit_apply_surgery = adaptkit.hookimpl(tryfirst=True)(lambda section: _boom())
    adaptkit_attach_head = adaptkit.hookimpl(tryfirst=True)(lambda section: _boom())
    """
    install_fake(tmp_path, monkeypatch, "adaptkit_crashy", source)
    assert get_host().plugins["adaptkit_crashy"].ok
    from adaptkit._runner import run_pipeline

    spec = load_spec({**BASE, "output_dir": str(tmp_path / "runs"),
                      "data": {"train": {"kind": "arrays", "path": str(digits_npz)}},
                      "surgery": [{"kind": "freeze", "up_to": "dense1"}],
                      "training": {"verbose": 0, "stages": [{"epochs": 1}]}})
    result = run_pipeline(spec, tmp_path / "spec.yaml")
    assert result.headline[0] == "test/accuracy" and "test/accuracy" in result.metrics["metrics"]


@pytest.mark.parametrize("tryfirst", [True, False])
def test_tryfirst_on_the_owners_implementation_is_honoured(tmp_path, tryfirst):
    class TwoWays:
        @hookimpl
        def adaptkit_sections(self):
            return [ProbeHead]

        # registered before adaptkit_attach_head (dir() order): pluggy calls it second unless tryfirst
        @hookimpl(specname="adaptkit_attach_head", tryfirst=tryfirst)
        def a_first(self, section):
            return Head(outputs="first", loss="mse")

        @hookimpl
        def adaptkit_attach_head(self, section):
            return Head(outputs="plain", loss="mse")

    host = host_with(crasher=Crasher(), two=TwoWays())
    head = host.call_first("adaptkit_attach_head", "head", ProbeHead(kind="probe"), **head_kwargs(tmp_path))
    assert head.outputs == ("first" if tryfirst else "plain")


class Tracer:
    """A tracing plugin: wraps every adaptkit_attach_head call, and declares a head of its own."""

    def __init__(self):
        self.seen = []

    @hookimpl
    def adaptkit_sections(self):
        return [TraceHead]

    @hookimpl(wrapper=True)
    def adaptkit_attach_head(self, section):
        head = yield
        self.seen.append(("new", section.kind, head.outputs))
        return head

    @hookimpl(hookwrapper=True, specname="adaptkit_attach_head")
    def old_style(self, section):
        outcome = yield
        self.seen.append(("old", section.kind, outcome.get_result().outputs))

    @hookimpl(specname="adaptkit_attach_head")
    def own_head(self, section):
        return Head(outputs="trace", loss="mse")


def test_hook_wrappers_of_other_plugins_see_every_call(tmp_path):
    tracer = Tracer()
    host = host_with(prober=Prober(), tracer=tracer)
    assert host.call_first("adaptkit_attach_head", "head", ProbeHead(kind="probe"), **head_kwargs(tmp_path)).outputs == "probe"
    assert host.call_first("adaptkit_attach_head", "head", TraceHead(kind="trace"), **head_kwargs(tmp_path)).outputs == "trace"
    assert sorted(tracer.seen) == [("new", "probe", "probe"), ("new", "trace", "trace"),
                                   ("old", "probe", "probe"), ("old", "trace", "trace")]


def test_a_failing_hook_wrapper_is_blamed_on_its_plugin(tmp_path):
    class BadTracer:
        @hookimpl(wrapper=True)
        def adaptkit_attach_head(self):
            yield
            raise KeyError("lost")

    host = host_with(prober=Prober(), badtracer=BadTracer())
    with pytest.raises(PluginError) as info:
        host.call_first("adaptkit_attach_head", "head", ProbeHead(kind="probe"), **head_kwargs(tmp_path))
    assert str(info.value) == "head: plugin 'badtracer' failed in adaptkit_attach_head: KeyError: 'lost'"


def test_a_section_no_plugin_declared_is_offered_to_every_plugin(tmp_path):
    class Undeclared(adaptkit.HeadSection):
        kind: Literal["undeclared"]

    class Generous:
        @hookimpl
        def adaptkit_attach_head(self, section):
            return Head(outputs=section.kind, loss="mse")

    host = host_with(prober=Prober(), generous=Generous())
    assert host.call_first("adaptkit_attach_head", "head", Undeclared(kind="undeclared"), **head_kwargs(tmp_path)).outputs == "undeclared"


# -- answers are checked at the boundary -----------------------------------------------------

import types  # noqa: E402

from adaptkit import DataSource, LossComposition, LossTerm, Player  # noqa: E402


class TData(adaptkit.DataSourceSection):
    kind: Literal["t_data"]


class TAugment(adaptkit.AugmentSection):
    kind: Literal["t_augment"]


class TSource(adaptkit.SourceSection):
    kind: Literal["t_source"]


class TSurgery(adaptkit.SurgerySection):
    kind: Literal["t_surgery"]


class THead(adaptkit.HeadSection):
    kind: Literal["t_head"]


class TLoss(adaptkit.LossSection):
    kind: Literal["t_loss"]


class Answering:
    """Declares one section of each family and answers every hook with what the test gives."""

    def __init__(self, declares: bool = True, **answers):
        self.declares, self.answers = declares, answers

    @hookimpl
    def adaptkit_sections(self):
        return [TData, TAugment, TSource, TSurgery, THead, TLoss] if self.declares else []

    @hookimpl
    def adaptkit_load_data(self, section):
        return self.answers.get("adaptkit_load_data")

    @hookimpl
    def adaptkit_build_augmentation(self, section):
        return self.answers.get("adaptkit_build_augmentation")

    @hookimpl
    def adaptkit_load_source(self, section):
        return self.answers.get("adaptkit_load_source")

    @hookimpl
    def adaptkit_apply_surgery(self, section):
        return self.answers.get("adaptkit_apply_surgery")

    @hookimpl
    def adaptkit_attach_head(self, section):
        return self.answers.get("adaptkit_attach_head")

    @hookimpl
    def adaptkit_compose_loss(self, section):
        return self.answers.get("adaptkit_compose_loss")

    @hookimpl
    def adaptkit_evaluate(self):
        return self.answers.get("adaptkit_evaluate")


def build(host, hookname, tmp_path):
    """Call one building hook with its section and arguments."""
    ctx = RunContext(seed=0, spec_dir=tmp_path)
    calls = {
        "adaptkit_load_data": (TData(kind="t_data"), {"context": ctx}),
        "adaptkit_build_augmentation": (TAugment(kind="t_augment"), {"input_shape": (8,), "context": ctx}),
        "adaptkit_load_source": (TSource(kind="t_source"), {"input_shape": (8,), "context": ctx}),
        "adaptkit_apply_surgery": (TSurgery(kind="t_surgery"), {"model": None, "context": ctx}),
        "adaptkit_attach_head": (THead(kind="t_head"), head_kwargs(tmp_path)),
        "adaptkit_compose_loss": (TLoss(kind="t_loss"), {"parts": None, "context": ctx}),
    }
    section, kwargs = calls[hookname]
    return host.call_first(hookname, "here", section, **kwargs)


EVALUATE = {"spec": None, "parts": None, "data": {}, "context": None, "before": None}


def _term(name="t", player="main"):
    return LossTerm(name, fn=lambda batch: 0.0, player=player)


WRONG_ANSWERS = [
    ("adaptkit_load_data", 3, "int, not an adaptkit.DataSource"),
    ("adaptkit_load_data", DataSource(None, -1, (8,)), "a DataSource whose size is -1, not an int >= 0"),
    ("adaptkit_load_data", DataSource(None, 2.5, (8,)), "a DataSource whose size is 2.5, not an int >= 0"),
    ("adaptkit_load_data", DataSource(None, 10, [8]), "a DataSource whose input_shape is list [8], not a tuple"),
    ("adaptkit_build_augmentation", "flip", "str, not a keras.layers.Layer"),
    ("adaptkit_load_source", object(), "object, not a keras.Model"),
    ("adaptkit_apply_surgery", "model", "str, not a keras.Model"),
    ("adaptkit_attach_head", {"outputs": 1}, "dict, not an adaptkit.Head"),
    ("adaptkit_attach_head", Head(None, "mse", metrics=["accuracy"], monitor="acc"),
     "a Head whose monitor 'acc' is neither 'loss' nor the name of one of its metrics ['accuracy']"),
    ("adaptkit_compose_loss", [_term()], "list, not an adaptkit.LossComposition"),
    ("adaptkit_compose_loss", LossComposition(terms=[_term(player="critic")]),
     "a LossComposition whose term 't' is for player 'critic', not 'main' or one of its players []"),
    ("adaptkit_compose_loss", LossComposition(terms=[_term(), _term()]), "a LossComposition with two terms named 't'"),
    ("adaptkit_compose_loss", LossComposition(terms=[("t", None)]),
     "a LossComposition whose terms[0] is tuple, not an adaptkit.LossTerm"),
]


@pytest.mark.parametrize("hookname, answer, problem", WRONG_ANSWERS, ids=lambda v: v if isinstance(v, str) else "")
def test_a_wrong_answer_is_a_plugin_error_naming_the_plugin_and_the_hook(tmp_path, hookname, answer, problem):
    host = host_with(prober=Prober(), answering=Answering(**{hookname: answer}))
    with pytest.raises(PluginError) as info:
        build(host, hookname, tmp_path)
    assert str(info.value) == f"here: plugin 'answering' answered {hookname} with {problem}"


def test_right_answers_pass(tmp_path):
    import keras

    layer = keras.layers.Identity()
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(2)])
    critic = Player("critic", variables=lambda: [], optimizer=None)
    answers = {
        "adaptkit_load_data": DataSource(None, 0, ()),
        "adaptkit_build_augmentation": layer,
        "adaptkit_load_source": model,
        "adaptkit_apply_surgery": model,
        # a metric object logs under its name
        "adaptkit_attach_head": Head(None, "mse", metrics=["mae", types.SimpleNamespace(name="auc")], monitor="auc"),
        "adaptkit_compose_loss": LossComposition(terms=[_term("a"), _term("b", "critic")], players=[critic]),
    }
    host = host_with(answering=Answering(**answers))
    for hookname, answer in answers.items():
        assert build(host, hookname, tmp_path) is answer
    metrics = {"test/x": float("nan"), "test/n": 3, "test/ok": True}
    host = host_with(answering=Answering(adaptkit_evaluate=metrics))
    assert host.call_each("adaptkit_evaluate", "evaluation", **EVALUATE) == [("answering", metrics)]


def test_a_wrong_answer_put_in_by_a_hook_wrapper_is_blamed_on_the_wrapper(tmp_path):
    class Swapper:
        @hookimpl(wrapper=True)
        def adaptkit_attach_head(self):
            yield
            return "not a head"

    host = host_with(prober=Prober(), swapper=Swapper())
    with pytest.raises(PluginError) as info:
        host.call_first("adaptkit_attach_head", "head", ProbeHead(kind="probe"), **head_kwargs(tmp_path))
    assert str(info.value) == "head: plugin 'swapper' answered adaptkit_attach_head with str, not an adaptkit.Head"


@pytest.mark.parametrize("answer, problem", [
    (["test/accuracy"], "list, not a dict"),
    ({"test/accuracy": "0.9"}, "a dict whose 'test/accuracy' is str, not a number (int, float or bool)"),
    ({("test", "accuracy"): 0.9}, "a dict whose key ('test', 'accuracy') is tuple, not a str"),
])
def test_a_wrong_evaluate_answer_names_the_plugin(answer, problem):
    host = host_with(answering=Answering(adaptkit_evaluate=answer))
    with pytest.raises(PluginError) as info:
        host.call_each("adaptkit_evaluate", "evaluation", **EVALUATE)
    assert str(info.value) == f"evaluation: plugin 'answering' answered adaptkit_evaluate with {problem}"


def test_colliding_metric_keys_name_both_plugins():
    host = host_with(first=Answering(adaptkit_evaluate={"test/accuracy": 0.5, "test/a": 1.0}),
                     second=Answering(declares=False, adaptkit_evaluate={"test/accuracy": 0.9}))
    with pytest.raises(PluginError) as info:
        host.call_each("adaptkit_evaluate", "evaluation", **EVALUATE)
    # pluggy calls the last registered plugin first
    assert str(info.value) == (
        "evaluation: plugins 'second' and 'first' both answered adaptkit_evaluate with the key 'test/accuracy'"
    )


# -- isolation: evaluation plugins are called each on its own -----------------------------------


class Raising:
    """An evaluation plugin with a bug."""

    @hookimpl
    def adaptkit_evaluate(self):
        raise KeyError("test/auc")


def test_an_isolated_call_keeps_the_good_answers_and_names_each_failing_plugin():
    good = {"test/accuracy": 0.5}
    host = host_with(good=Answering(adaptkit_evaluate=good), raising=Raising(),
                     wrong=Answering(declares=False, adaptkit_evaluate={"test/f1": "high"}),
                     clash=Answering(declares=False, adaptkit_evaluate={"test/accuracy": 0.9}))
    answers, errors = host.call_each_isolated("adaptkit_evaluate", "evaluation", **EVALUATE)
    # pluggy calls the last registered plugin first: clash's key is taken, good's then collides
    assert answers == [("clash", {"test/accuracy": 0.9})]
    assert [str(e) for e in errors] == [
        "evaluation: plugin 'raising' failed in adaptkit_evaluate: KeyError: 'test/auc'",
        "evaluation: plugin 'wrong' answered adaptkit_evaluate with a dict whose 'test/f1' is str, not a number (int, float or bool)",
        "evaluation: plugins 'clash' and 'good' both answered adaptkit_evaluate with the key 'test/accuracy'",
    ]
    assert all(isinstance(e, PluginError) for e in errors)
    with pytest.raises(KeyError):  # pluggy's own relay is not isolated: the exception is the plugin's
        host.hook.adaptkit_evaluate(**EVALUATE)


def test_a_failing_evaluation_plugin_leaves_a_complete_run_and_exit_status_2(tmp_path, monkeypatch, digits_npz):
    source = """
    import adaptkit

    @adaptkit.hookimpl
    def adaptkit_evaluate(parts):
        raise ZeroDivisionError("bad metric")
    """
    install_fake(tmp_path, monkeypatch, "adaptkit_badmetric", source)
    spec = {**BASE, "data": {"train": {"kind": "arrays", "path": str(digits_npz)}},
            "training": {"verbose": 0, "stages": [{"epochs": 1}]}, "evaluation": {"baseline": True, "plots": False}}
    (tmp_path / "s.yaml").write_text(json.dumps(spec))
    result = CliRunner().invoke(main, ["run", str(tmp_path / "s.yaml"), "--output", str(tmp_path / "runs")])
    assert result.exit_code == 2, result.output
    line = "evaluation: plugin 'adaptkit_badmetric' failed in adaptkit_evaluate: ZeroDivisionError: bad metric"
    # the same failure in the baseline's evaluation is not repeated
    assert [e for e in result.stderr.splitlines() if e.startswith("error: ")] == [f"error: {line}"]
    assert "Traceback" not in result.output and "--resume" not in result.output
    assert "headline test/accuracy = " in result.stdout  # the summary of what did work
    run_dir = (tmp_path / "runs" / "t-latest").resolve()
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [run_dir.name, "t-latest"]  # no .partial
    written = json.loads((run_dir / "metrics.json").read_text())
    assert written["errors"] == [line]
    assert written["metrics"]["test/accuracy"] > 0.3 and written["baseline"]["metrics"]["test/accuracy"] > 0.3
    assert (run_dir / "model.keras").is_file()
