"""Shared fixtures: small real data (scikit-learn's UCI digits) and helpers."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# the plugin index (adaptkit/_plugin_index.py) of the tests' processes: not the user's ~/.cache
os.environ.setdefault("ADAPTKIT_CACHE_DIR", tempfile.mkdtemp(prefix="adaptkit-test-cache-"))


def pytest_configure(config):
    """adaptkit.testing's fixtures (``adaptkit_digits``, ...), as its ``pytest11`` entry point gives
    them to plugin authors; registered here too while an install predates that entry point."""
    import adaptkit.testing

    if not config.pluginmanager.is_registered(adaptkit.testing):
        config.pluginmanager.register(adaptkit.testing, "adaptkit.testing")


@pytest.fixture(scope="session")
def digits_npz(tmp_path_factory) -> Path:
    """UCI optdigits (1,797 real 8x8 images), as a .npz of x (N,8,8,1) and y."""
    from sklearn.datasets import load_digits

    d = load_digits()
    path = tmp_path_factory.mktemp("data") / "digits.npz"
    np.savez(path, x=d.images[..., None].astype("float32"), y=d.target.astype("int64"))
    return path


HEAVY_MODULES = ("tensorflow", "keras", "keras_hub", "tensorflow_hub")


@pytest.fixture(scope="session")
def fresh_cli():
    """``fresh_cli(args)`` runs ``adaptkit.cli.main(args)`` in a new interpreter; its stdout ends with
    ``EXIT <code>`` and ``HEAVY [...]``, the heavy modules (TensorFlow, Keras, ...) the command imported."""

    def run(args: list[str], timeout: int = 120) -> subprocess.CompletedProcess:
        code = (
            "import sys; from adaptkit.cli import main\n"
            f"try:\n    main({list(args)!r})\nexcept SystemExit as e:\n    print('EXIT', e.code)\n"
            f"print('HEAVY', sorted(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
        )
        return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout)

    return run


def write_spec(directory: Path, text: str, name: str = "spec.yaml") -> Path:
    path = directory / name
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture
def spec_file(tmp_path, digits_npz):
    """A factory writing a small digits spec (MLP source) with the given extra YAML."""

    def make(body: str = "", **fmt) -> Path:
        base = f"""
        name: digits
        seed: 3
        output_dir: {tmp_path / 'runs'}
        data:
          train: {{kind: arrays, path: {digits_npz}, scale: 0.0625}}
          batch_size: 64
        source: {{kind: mlp, units: [32, 16]}}
        head: {{kind: classifier}}
        training:
          verbose: 0
          stages:
            - {{epochs: 2, optimizer: {{learning_rate: 0.01}}}}
        """
        text = textwrap.dedent(base)
        if body:
            import yaml

            data = yaml.safe_load(text)
            data.update(yaml.safe_load(textwrap.dedent(body)))
            text = yaml.safe_dump(data)
        return write_spec(tmp_path, text)

    return make


HOSTILE = '<script>alert("x")</script> & <b>bold</b>'
"""Text with markup, put into a spec's description, class and stage names: a report must show it, not run it."""


@pytest.fixture(scope="session")
def finished_run(tmp_path_factory, digits_npz) -> Path:
    """One real finished run directory (two named stages, a baseline, markup in its strings), for the
    tests that only read run directories (report.html, ``adaptkit compare``)."""
    import json

    from adaptkit import load_spec_file
    from adaptkit._runner import run_pipeline

    folder = tmp_path_factory.mktemp("finished")
    names = [f"digit {k}" for k in range(10)]
    names[8] = HOSTILE
    spec = {
        "name": "finished",
        "description": HOSTILE,
        "seed": 2,
        "output_dir": str(folder / "runs"),
        "data": {"train": {"kind": "arrays", "path": str(digits_npz), "scale": 0.0625, "class_names": names}, "batch_size": 64},
        "source": {"kind": "mlp", "units": [32, 16]},
        "head": {"kind": "classifier"},
        "training": {"verbose": 0, "stages": [
            {"name": "head only", "epochs": 2, "optimizer": {"learning_rate": 0.01}, "surgery": [{"kind": "freeze"}]},
            {"name": "all $layers$ " + HOSTILE, "epochs": 2, "optimizer": {"learning_rate": 0.003},
             "surgery": [{"kind": "unfreeze"}], "early_stopping": {"patience": 1}},
        ]},
        "evaluation": {"baseline": True},
    }
    path = folder / "finished.yaml"
    path.write_text(json.dumps(spec))  # JSON is YAML
    return run_pipeline(load_spec_file(path), path).run_dir


def docs_plugin(doc: str, name: str):
    """The first ``python`` block of ``docs/<doc>`` as a plugin module (the docs' example code, run as is)."""
    import re
    import types

    text = (Path(__file__).resolve().parents[1] / "docs" / doc).read_text()
    module = types.ModuleType(name)
    exec(compile(re.findall(r"```python\n(.*?)```", text, re.S)[0], f"docs/{doc}", "exec", dont_inherit=True), module.__dict__)
    return module


@pytest.fixture(scope="session")
def docs_tracker():
    """The JSONL tracker plugin of docs/tracking.md, as a module."""
    return docs_plugin("tracking.md", "adaptkit_jsonl")


class BrokenMetricPlugin:
    """A third party's metric kind, ``broken``, that fails on every split (its numbers must be all
    that is lost)."""

    def __init__(self) -> None:
        from typing import Literal

        import adaptkit

        class Broken(adaptkit.MetricSection):
            """Fails: for the tests."""

            kind: Literal["broken"]

        self.adaptkit_sections = adaptkit.hookimpl(lambda: [Broken])
        self.adaptkit_build_metric = adaptkit.hookimpl(
            lambda section, context: adaptkit.Metric(["broken"], lambda y, p, task: {"broken": 1 / 0})
        )


@pytest.fixture(scope="session")
def tracked_run(tmp_path_factory):
    """One real run with trackers (core's TensorBoard when installed, the JSONL tracker of
    docs/tracking.md), listed metrics (one of them failing) and a baseline, on digits with a
    test file of their last 397 images: ``(run result, test x, test y)``."""
    import importlib.util
    import json

    from sklearn.datasets import load_digits

    from adaptkit import PluginHost, PluginInfo, load_spec
    from adaptkit._runner import run_pipeline

    folder = tmp_path_factory.mktemp("tracked")
    d = load_digits()
    x, y = d.images[..., None].astype("float32"), d.target.astype("int64")
    np.savez(folder / "train.npz", x=x[:1400], y=y[:1400])
    np.savez(folder / "test.npz", x=x[1400:], y=y[1400:])
    host = PluginHost()
    host.load_entry_points()
    host.register(docs_plugin("tracking.md", "adaptkit_jsonl"), PluginInfo("jsonl", "docs/tracking.md", None, None))
    host.register(BrokenMetricPlugin(), PluginInfo("broken", "tests", None, None))
    arrays = {"kind": "arrays", "scale": 0.0625}
    trackers = ([{"kind": "tensorboard"}] if importlib.util.find_spec("tensorboard") else []) + [{"kind": "jsonl"}]
    spec = {
        "name": "tracked", "seed": 4, "output_dir": str(folder / "runs"),
        "data": {"train": {**arrays, "path": str(folder / "train.npz")}, "test": {**arrays, "path": str(folder / "test.npz")},
                 "batch_size": 64},
        "source": {"kind": "mlp", "units": [32, 16]}, "head": {"kind": "classifier"},
        "tracking": trackers,
        "training": {"verbose": 0, "stages": [
            {"name": "head", "epochs": 1, "optimizer": {"learning_rate": 0.01}, "surgery": [{"kind": "freeze"}]},
            {"name": "all layers", "epochs": 2, "optimizer": {"learning_rate": 0.003}, "surgery": [{"kind": "unfreeze"}]},
        ]},
        "evaluation": {"baseline": True, "baseline_epochs": 2, "plots": False, "metrics": [
            {"kind": "accuracy"}, {"kind": "loss"}, {"kind": "balanced_accuracy"}, {"kind": "f1", "average": "macro"},
            {"kind": "auc"}, {"kind": "top_k_accuracy", "k": 3}, {"kind": "broken"},
        ]},
    }
    path = folder / "tracked.yaml"
    path.write_text(json.dumps(spec))
    return run_pipeline(load_spec(spec, host), path, host=host), x[1400:], y[1400:]
