"""Shared fixtures: small real data (scikit-learn's UCI digits) and helpers."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


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
