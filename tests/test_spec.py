"""Spec validation: strict keys, plugin unions, dotted error paths, --set, defaults."""

from __future__ import annotations

import pytest
import yaml

from adaptkit import SpecError, load_spec
from adaptkit._specfile import SpecErrors, apply_overrides, load_spec_file, parse_overrides, read_spec_file

BASE = {
    "name": "t",
    "data": {"train": {"kind": "arrays", "path": "d.npz"}},
    "source": {"kind": "mlp"},
    "head": {"kind": "classifier"},
    "training": {"stages": [{"epochs": 1}]},
}


def errors_of(data):
    with pytest.raises(SpecErrors) as info:
        load_spec(data)
    return [str(e) for e in info.value.errors]


def test_valid_spec_fills_defaults():
    spec = load_spec(BASE)
    assert spec.seed == 0
    assert spec.training.batch_norm == "frozen"
    assert spec.training.stages[0].optimizer.name == "adam"
    assert spec.data.validation_split == 0.2


def test_misspelt_key_is_reported_with_its_path():
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["source"]["unitz"] = [3]
    assert errors_of(data) == ["source.unitz: unknown key; did you mean 'units'?"]


def test_wrong_type_names_the_nested_path():
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["training"]["stages"][0]["epochs"] = "many"
    (msg,) = errors_of(data)
    assert msg.startswith("training.stages.0.epochs: ")


def test_unknown_kind_lists_the_installed_kinds():
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["source"] = {"kind": "nope"}
    (msg,) = errors_of(data)
    assert msg.startswith("source: unknown kind 'nope'")
    assert "mlp" in msg and "keras_file" in msg


def test_missing_key_and_several_errors_at_once():
    data = yaml.safe_load(yaml.safe_dump(BASE))
    del data["head"]
    data["data"]["batch_size"] = 0
    msgs = errors_of(data)
    assert "head: required key is missing" in msgs
    assert any(m.startswith("data.batch_size: ") for m in msgs)


def test_structural_surgery_is_refused_inside_a_stage():
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["training"]["stages"][0]["surgery"] = [{"kind": "truncate", "layer": "dense1"}]
    with pytest.raises(SpecError) as info:
        load_spec(data)
    assert str(info.value).startswith("training.stages.0.surgery.0: 'truncate' changes the model's structure")


def test_overrides_use_the_same_dotted_paths():
    data = yaml.safe_load(yaml.safe_dump(BASE))
    apply_overrides(data, parse_overrides(["training.stages.0.epochs=7", "seed=5", "head.hidden=[8, 4]"]))
    spec = load_spec(data)
    assert spec.training.stages[0].epochs == 7 and spec.seed == 5 and spec.head.hidden == [8, 4]
    with pytest.raises(SpecError, match=r"training.stages.3: --set: no list item 3"):
        apply_overrides(data, parse_overrides(["training.stages.3.epochs=1"]))
    with pytest.raises(SpecError, match="is not path.to.key=value"):
        parse_overrides(["seed"])


def test_bad_files(tmp_path):
    with pytest.raises(SpecError, match="no such spec file"):
        read_spec_file(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML at line"):
        read_spec_file(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("42\n")
    with pytest.raises(SpecError, match="must be a mapping"):
        read_spec_file(scalar)


def test_json_specs_load(tmp_path):
    import json

    path = tmp_path / "spec.json"
    path.write_text(json.dumps(BASE))
    assert load_spec_file(path, check_files=False).name == "t"


def test_every_field_has_a_description():
    from adaptkit import build_spec_model, get_host

    model = build_spec_model()
    missing = []

    def walk(cls, prefix):
        for name, field in cls.model_fields.items():
            if name == "kind":
                continue
            if not field.description:
                missing.append(f"{prefix}{cls.__name__}.{name}")

    walk(model, "")
    from pydantic import BaseModel

    seen = set()
    stack = [model]
    while stack:
        cls = stack.pop()
        for field in cls.model_fields.values():
            for arg in _types(field.annotation):
                if isinstance(arg, type) and issubclass(arg, BaseModel) and arg not in seen:
                    seen.add(arg)
                    stack.append(arg)
                    walk(arg, "")
    for family in get_host().sections.values():
        for cls, _ in family.values():
            walk(cls, "")
    assert not missing, missing


def _types(annotation):
    import typing

    args = typing.get_args(annotation)
    if not args:
        return [annotation]
    out = []
    for a in args:
        out.extend(_types(a))
    return out
