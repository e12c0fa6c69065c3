"""Specs that validate but cannot be built: refused while the model is built, before any run
directory exists, as one line naming the spec place (no traceback, no `.partial`, no `--resume`)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from adaptkit.cli import main


@pytest.fixture(scope="module")
def flat_npz(tmp_path_factory, digits_npz) -> Path:
    """The UCI digits as flat vectors: x (N, 64)."""
    with np.load(digits_npz) as f:
        x, y = f["x"], f["y"]
    path = tmp_path_factory.mktemp("flat") / "flat.npz"
    np.savez(path, x=x.reshape(len(x), -1), y=y)
    return path


def spec(tmp_path: Path, data: Path, **changes) -> Path:
    body = {
        "name": "faulty",
        "seed": 0,
        "data": {"train": {"kind": "arrays", "path": str(data), "scale": 0.0625}, "batch_size": 64},
        "source": {"kind": "mlp", "units": [16]},
        "head": {"kind": "classifier"},
        "training": {"verbose": 0, "stages": [{"epochs": 1}]},
        "evaluation": {"plots": False},
        **changes,
    }
    path = tmp_path / "faulty.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def run_cli(path: Path, out: Path):
    return CliRunner().invoke(main, ["run", str(path), "--output", str(out)])


def assert_clean_error(result, out: Path, line: str) -> None:
    errors = [e for e in result.stderr.splitlines() if e.startswith("error: ")]
    assert result.exit_code == 2, result.output
    assert errors == [line], result.stderr
    assert "Traceback" not in result.output and "--resume" not in result.output
    assert not out.exists() or list(out.iterdir()) == []  # no .partial, not even an empty folder


CASES = {
    "random_flip on flat vectors": (
        "flat", {"augment": [{"kind": "random_flip"}]},
        "error: augment.0: random_flip needs images (height, width, channels); the data's examples have shape (64,)",
    ),
    "a second augmentation on flat vectors": (
        "flat", {"augment": [{"kind": "random_contrast"}]},
        "error: augment.0: random_contrast needs images (height, width, channels); the data's examples have shape (64,)",
    ),
    "regression head on class labels": (
        "flat", {"head": {"kind": "regression"}},
        "error: head: a regression head needs numeric targets; the data has class labels (10 classes: '0'..'9'): "
        "use kind: classifier, or task: regression in the data section",
    ),
    "convnet kernel larger than the images": (
        "images", {"source": {"kind": "convnet", "kernel_size": 1000}},
        "error: source.kernel_size: 1000 is larger than the input (8x8)",
    ),
    "convnet pooling 8x8 images away": (
        "images", {"source": {"kind": "convnet", "filters": [4, 4, 4, 4]}},
        "error: source.filters: 4 conv blocks, each pooling by 2, shrink the 8x8 input to nothing: use at most 3 blocks",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_spec_that_cannot_be_built_is_one_line_before_training(case, tmp_path, flat_npz, digits_npz):
    data, changes, line = CASES[case]
    path = spec(tmp_path, flat_npz if data == "flat" else digits_npz, **changes)
    out = tmp_path / "runs"
    result = run_cli(path, out)
    assert_clean_error(result, out, line)
    assert "stage 1" not in result.stderr  # refused before the first stage started


def test_the_largest_kernel_and_deepest_convnet_that_fit_do_run(tmp_path, digits_npz):
    path = spec(tmp_path, digits_npz, source={"kind": "convnet", "kernel_size": 8, "filters": [2, 2, 2]})
    result = run_cli(path, tmp_path / "runs")
    assert result.exit_code == 0, result.output
    run_dir = tmp_path / "runs" / "faulty-latest"
    assert (run_dir / "metrics.json").is_file()
    # what was logged before the run directory existed (loading, building) is in run.log too
    log = (run_dir / "run.log").read_text()
    assert "INFO data: test 359, validation 288, train 1150" in log and "INFO headline test/accuracy" in log


ABORTING_PLUGIN = '''
"""A source kind whose building kills the process, as TensorFlow does when it aborts natively."""
import os
from typing import Literal
import adaptkit

class Abort(adaptkit.SourceSection):
    kind: Literal["abort_on_build"]

@adaptkit.hookimpl
def adaptkit_sections():
    return [Abort]

@adaptkit.hookimpl
def adaptkit_load_source(section, input_shape, context):
    os.abort()
'''


def test_a_native_crash_while_building_leaves_no_run_directory(tmp_path, flat_npz):
    """The run directory is created only once the model is built: a process killed while
    building (SIGABRT from TensorFlow, the kernel's OOM killer) leaves nothing to clean."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "adaptkit_aborting.py").write_text(textwrap.dedent(ABORTING_PLUGIN))
    dist = site / "adaptkit_aborting-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: adaptkit-aborting\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[adaptkit]\naborting = adaptkit_aborting\n")
    path = spec(tmp_path, flat_npz, source={"kind": "abort_on_build"})
    out = tmp_path / "runs"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-m", "adaptkit.cli", "run", str(path), "--output", str(out)],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert done.returncode in (-6, 134), done.stderr[-2000:]  # killed by SIGABRT
    assert "data: test 359, validation 288, train 1150" in done.stderr  # it died building, after the data
    assert not out.exists()
