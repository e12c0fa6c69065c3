"""`adaptkit new-plugin`: the package it writes installs, is listed `ok`, and its own tests pass."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from adaptkit._scaffold import KINDS
from adaptkit.cli import main


def _env(site: Path) -> dict[str, str]:
    """This process's environment with the installed package's folder after adaptkit's own paths."""
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p] + [str(site)]
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths), TF_CPP_MIN_LOG_LEVEL="2")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """`adaptkit new-plugin kitdemo` with every kind, then a real `pip install` of it (wheel built from
    its pyproject, entry point in its dist-info) into a folder put on the path: (package, site)."""
    root = tmp_path_factory.mktemp("scaffold")
    outcome = CliRunner().invoke(main, ["new-plugin", "kitdemo", "--output", str(root)])
    assert outcome.exit_code == 0, outcome.output
    package, site = root / "adaptkit-kitdemo", root / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(site), str(package)],
        check=True, capture_output=True, text=True,
    )
    return package, site


def test_the_installed_plugin_is_listed_ok(installed):
    _, site = installed
    done = subprocess.run([sys.executable, "-m", "adaptkit.cli", "plugins", "--json"], env=_env(site), capture_output=True, text=True, check=True)
    info = {p["name"]: p for p in json.loads(done.stdout)}["kitdemo"]
    assert (info["status"], info["distribution"], info["warnings"]) == ("ok", "adaptkit-kitdemo", [])
    assert info["sections"] == {
        "loss": ["kitdemo_confidence_penalty"], "head": ["kitdemo_head"], "data": ["kitdemo_csv"], "source": ["kitdemo_dense"],
        "metric": ["kitdemo_macro_f1"],
    }
    assert "adaptkit_build_metric" in info["hooks"] and "adaptkit_keras_objects" in info["hooks"]


def test_the_generated_tests_pass_on_first_run(installed):
    """The package's own tests (adaptkit.testing: check_plugin, one end-to-end run of a spec with
    every generated kind found through its entry point, one test per kind) pass as written."""
    package, site = installed
    probe = "import importlib.metadata as m; print(any(e.value == 'adaptkit.testing' for e in m.entry_points(group='pytest11')))"
    # asked where the tests run: a project folder's own adaptkit.egg-info can hide the entry point here
    seen = subprocess.run([sys.executable, "-c", probe], cwd=package, env=_env(site), capture_output=True, text=True)
    has_entry_point = seen.stdout.strip() == "True"
    plugin = [] if has_entry_point else ["-p", "adaptkit.testing"]  # until adaptkit is reinstalled with its pytest11 entry point
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugin, str(package / "tests")],
        cwd=package, env=_env(site), capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert re.search(r"^11 passed", done.stdout, re.M), done.stdout[-2000:]


def test_kinds_pick_what_is_generated(tmp_path):
    outcome = CliRunner().invoke(main, ["new-plugin", "only-head", "--kinds", "head", "--output", str(tmp_path)])
    assert outcome.exit_code == 0, outcome.output
    folder = tmp_path / "adaptkit-only-head"
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == ["README.md", "adaptkit_only_head/__init__.py", "adaptkit_only_head/build.py", "adaptkit_only_head/layers.py",
                     "adaptkit_only_head/sections.py", "docs/only_head.md", "pyproject.toml", "tests/test_only_head.py"]
    for path in folder.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")  # every file is valid Python
    init = (folder / "adaptkit_only_head/__init__.py").read_text()
    assert "adaptkit_attach_head" in init and "adaptkit_compose_loss" not in init and "adaptkit_build_metric" not in init
    assert "only_head = \"adaptkit_only_head\"" in (folder / "pyproject.toml").read_text()


@pytest.mark.parametrize(
    "args, line",
    [
        (["Bad!"], "error: NAME: 'Bad!' is not a plugin name"),
        (["ok", "--kinds", "head,optimizer"], "error: --kinds: 'optimizer' is not a kind; choose from " + ", ".join(KINDS)),
    ],
)
def test_bad_arguments_are_one_line_errors_and_write_nothing(tmp_path, args, line):
    outcome = CliRunner().invoke(main, ["new-plugin", *args, "--output", str(tmp_path)])
    assert outcome.exit_code == 2 and outcome.output.startswith(line) and len(outcome.output.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []


def test_an_existing_folder_is_never_touched(tmp_path):
    (tmp_path / "adaptkit-mine").mkdir()
    (tmp_path / "adaptkit-mine" / "keep.txt").write_text("mine")
    outcome = CliRunner().invoke(main, ["new-plugin", "mine", "--output", str(tmp_path)])
    assert outcome.exit_code == 2 and "already exists" in outcome.output
    assert [p.name for p in (tmp_path / "adaptkit-mine").iterdir()] == ["keep.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adaptkit-mine"]  # no partial folder left


def test_an_output_that_cannot_be_written_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("not a folder")
    outcome = CliRunner().invoke(main, ["new-plugin", "mine", "--output", str(tmp_path / "afile" / "x")])
    assert outcome.exit_code == 2 and len(outcome.output.splitlines()) == 1
    assert outcome.output.startswith("error: --output: cannot write ") and "Not a directory" in outcome.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]
