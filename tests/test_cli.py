"""The CLI through click's runner and through real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from adaptkit.cli import main

ADAPTKIT = [sys.executable, "-m", "adaptkit.cli"]


def invoke(*args):
    return CliRunner().invoke(main, list(args))


def test_validate_ok_and_errors_one_line_each(spec_file, tmp_path):
    good = spec_file()
    result = invoke("validate", str(good))
    assert result.exit_code == 0 and result.output.strip() == f"{good}: ok"
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("batch_size: 64", "batch_sise: 64").replace("kind: mlp", "kind: mlpp"))
    result = invoke("validate", str(good), str(bad))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert f"{good}: ok" in lines
    assert f"error: {bad}: data.batch_sise: unknown key; did you mean 'batch_size'?" in lines
    assert any(line.startswith(f"error: {bad}: source: unknown kind 'mlpp'") for line in lines)
    assert "Traceback" not in result.output


def test_validate_with_set_and_missing_file(spec_file, tmp_path):
    good = spec_file()
    result = invoke("validate", str(good), "--set", "training.stages.0.epochs=0")
    assert result.exit_code == 2
    assert "training.stages.0.epochs: Input should be greater than or equal to 1" in result.output
    result = invoke("validate", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2 and "nope.yaml: no such spec file" in result.output


def test_render_fills_defaults_and_applies_overrides(spec_file):
    import yaml

    result = invoke("render", str(spec_file()), "--set", "seed=11")
    assert result.exit_code == 0
    rendered = yaml.safe_load(result.output)
    assert rendered["seed"] == 11
    assert rendered["training"]["batch_norm"] == "frozen"
    assert rendered["training"]["stages"][0]["optimizer"]["name"] == "adam"
    assert rendered["evaluation"]["baseline"] is False


def test_schema_includes_plugin_kinds():
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    text = json.dumps(schema)
    for kind in ("arrays", "mlp", "keras_file", "freeze", "classifier", "keras_application", "image_directory"):
        assert f'"{kind}"' in text
    assert schema["properties"]["source"]["discriminator"]["propertyName"] == "kind"


def test_plugins_lists_hooks_and_versions():
    result = invoke("plugins", "--json")
    assert result.exit_code == 0
    listed = {p["name"]: p for p in json.loads(result.output)}
    assert listed["core"]["status"] == "ok"
    assert listed["core"]["version"] == "0.1.0"
    assert "adaptkit_load_source" in listed["vision"]["hooks"]
    assert invoke("plugins").exit_code == 0


@pytest.mark.parametrize(
    "args",
    [["--help"], ["plugins"], ["schema"], ["validate", "SPEC"], ["render", "SPEC"], ["compare", "RUN"], ["compare", "RUN", "--json"]],
)
def test_light_commands_do_not_import_tensorflow(args, spec_file, request, fresh_cli):
    args = [str(spec_file()) if a == "SPEC" else a for a in args]
    args = [str(request.getfixturevalue("finished_run")) if a == "RUN" else a for a in args]
    out = fresh_cli(args, timeout=60)
    assert "HEAVY []" in out.stdout, out.stdout + out.stderr
    if args[0] == "compare":  # it did compare: the run is in its table
        assert "finished" in out.stdout and "error" not in out.stderr, out.stdout + out.stderr


def test_run_in_a_real_subprocess(spec_file, tmp_path):
    spec = spec_file()
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run(
        ADAPTKIT + ["run", str(spec), "--output", str(tmp_path / "out"), "--set", "name=sub"],
        capture_output=True, text=True, timeout=300, env=env,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "headline test/accuracy = " in out.stdout
    (run_dir,) = [p for p in (tmp_path / "out").iterdir() if not p.is_symlink()]
    assert run_dir.name.startswith("sub-")
    assert (tmp_path / "out" / "sub-latest").resolve() == run_dir.resolve()
    assert (run_dir / "metrics.json").is_file()


def test_run_bad_input_exit_2_one_line_no_traceback(spec_file, tmp_path):
    spec = spec_file("surgery: [{kind: unfreeze, from_layer: nowhere}]")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    out = subprocess.run(ADAPTKIT + ["run", str(spec)], capture_output=True, text=True, timeout=300, env=env)
    assert out.returncode == 2
    errors = [line for line in out.stderr.splitlines() if line.startswith("error: ")]
    assert errors == ["error: surgery.0.from_layer: the model has no layer 'nowhere' (layers: inputs, flatten, dense1, dense2)"]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "runs").exists() or list((tmp_path / "runs").iterdir()) == []


def test_run_invalid_spec_does_not_start(tmp_path):
    spec = tmp_path / "s.yaml"
    spec.write_text("name: x\n")
    result = invoke("run", str(spec))
    assert result.exit_code == 2
    assert "data: required key is missing" in result.output
