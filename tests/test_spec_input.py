"""Reading spec input: bounded parsing, duplicate keys, --set paths, short echoes, did-you-mean."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest
from click.testing import CliRunner

from adaptkit import SpecError, load_spec
from adaptkit._specfile import SpecErrors, load_spec_file, parse_overrides, read_spec_file
from adaptkit._specload import MAX_BYTES
from adaptkit.cli import main

BILLION_LAUGHS = """\
name: lol
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
source: {kind: *i}
"""


def validate(*args):
    return CliRunner().invoke(main, ["validate", *map(str, args)])


def read_error(tmp_path, text, name="spec.yaml") -> str:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(SpecError) as info:
        read_spec_file(path)
    return str(info.value)


def test_an_alias_bomb_is_refused_at_once_in_little_memory(tmp_path):
    path = tmp_path / "lol.yaml"
    path.write_text(BILLION_LAUGHS)
    tracemalloc.start()
    start = time.perf_counter()
    result = validate(path)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert result.exit_code == 2
    assert result.output == f"error: {path}: e.0: line 6: the spec holds more than 10,000 values, aliases expanded\n"
    assert seconds < 5 and peak < 100 * 2**20, (seconds, peak)


@pytest.mark.parametrize("name, text", [
    ("many.yaml", "name: x\nclass_names: [" + ", ".join(["a"] * 12_000) + "]\n"),
    ("many.json", '{"name": "x", "class_names": [' + ", ".join(['"a"'] * 12_000) + "]}"),
])
def test_too_many_values_without_aliases_are_refused_too(tmp_path, name, text):
    msg = read_error(tmp_path, text, name)
    assert "the spec holds more than 10,000 values" in msg, msg


def test_a_recursive_alias_is_refused(tmp_path):
    assert read_error(tmp_path, "name: x\nr: &r [1, *r]\n").endswith("r.1: line 2: alias *r refers to a value that contains it")


@pytest.mark.parametrize("name, text, where", [
    ("deep.yaml", "name: x\nhead: {kind: classifier, hidden: " + "[" * 500 + "]" * 500 + "}\n", "head.hidden" + ".0" * 63),
    ("deep.json", '{"name": "x", "head": {"hidden": ' + "[" * 500 + "]" * 500 + "}}", "head.hidden" + ".0" * 63),
    ("deeper.json", '{"name": "x", "head": ' + "[" * 5000 + "]" * 5000 + "}", "deeper.json"),  # past json's own recursion
])
def test_deep_nesting_is_refused_at_its_path(tmp_path, name, text, where):
    msg = read_error(tmp_path, text, name)
    assert msg.endswith(f"{where}: nested deeper than 64 levels"), msg


def test_deep_nesting_through_set_is_refused(spec_file):
    deep = "[" * 500 + "]" * 500
    with pytest.raises(SpecError, match=r"^head\.hidden\.0\.0(\.0)*: nested deeper than 64 levels$"):
        parse_overrides([f"head.hidden={deep}"])


@pytest.mark.parametrize("name, text", [
    ("big.yaml", "name: x\nseed: " + "9" * 5000 + "\n"),
    ("big.json", '{"name": "x", "seed": ' + "9" * 5000 + "}"),
])
def test_a_huge_integer_is_refused_at_its_key(tmp_path, name, text):
    assert read_error(tmp_path, text, name) == "seed: an integer of 5,000 digits is too large (at most 100)"


def test_files_that_are_not_specs(tmp_path):
    assert read_error(tmp_path, b"name: \xff\xfe\n").endswith("spec.yaml: not UTF-8 text (byte 6)")
    assert read_error(tmp_path, b"x" * (MAX_BYTES + 1)).endswith("spec.yaml: larger than 1,024 KiB: not a spec file?")
    assert read_error(tmp_path, b"name: a\x00b\n").endswith("not valid YAML: character #x0000 at position 7 is not allowed")
    assert read_error(tmp_path, b"").endswith("a spec must be a mapping of keys to values")
    assert read_error(tmp_path, b"{", "spec.json").endswith("not valid JSON: Expecting property name enclosed in double quotes: line 1 column 2 (char 1)")
    assert read_error(tmp_path, "when: 2024-13-45\n").endswith("not valid YAML: month must be in 1..12")
    with pytest.raises(SpecError, match="is a folder, not a spec file"):
        read_spec_file(tmp_path)


def test_duplicate_keys_are_refused_with_their_lines(tmp_path):
    text = "name: x\ndata:\n  batch_size: 8\n  cache: true\n  batch_size: 16\n"
    assert read_error(tmp_path, text).endswith("data.batch_size: duplicate key (line 5; first given on line 3)")
    assert read_error(tmp_path, '{"name": "x", "seed": 1, "seed": 2}', "spec.json").endswith("seed: duplicate key")
    with pytest.raises(SpecError, match=r"^head.kind: duplicate key \(line 1; first given on line 1\)$"):
        parse_overrides(["head={kind: classifier, kind: regression}"])


def test_exponents_read_as_numbers_and_quoted_numbers_stay_strings(tmp_path):
    path = tmp_path / "spec.yaml"
    path.write_text("name: x\nrate: 1e-3\nbig: 2E+5\nquoted: '2'\n")
    assert read_spec_file(path) == {"name": "x", "rate": 0.001, "big": 200000.0, "quoted": "2"}
    assert parse_overrides(["training.stages.0.optimizer.learning_rate=3e-4"]) == [
        (["training", "stages", "0", "optimizer", "learning_rate"], 0.0003)
    ]


@pytest.mark.parametrize("item", [".=1", "a..b=1", "a.=1", ".a=1", "=1", "seed", " . =1"])
def test_bad_set_paths_are_refused(item):
    with pytest.raises(SpecError) as info:
        parse_overrides([item])
    assert str(info.value) == f"--set: {item!r} is not path.to.key=value"


def test_set_list_indexes_must_be_plain_numbers(spec_file):
    result = validate(spec_file(), "--set", "training.stages.²=1")
    assert result.exit_code == 2 and "training.stages.²: --set: no list item ² (the list has 1)" in result.output


def test_echoed_values_are_cut(spec_file):
    long_kind = "y" * 5000
    result = validate(spec_file(), "--set", f"head={{kind: {long_kind}}}", "--set", f"{'z' * 300}=1")
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert all(len(line) < 600 for line in lines), [len(line) for line in lines]
    assert any(": head: unknown kind 'yyy" in line and "…" not in line.split("installed")[1] for line in lines)
    assert any("zzz…: unknown key" in line for line in lines)


BASE = {
    "name": "t",
    "data": {"train": {"kind": "arrays", "path": "d.npz"}},
    "source": {"kind": "mlp"},
    "head": {"kind": "classifier"},
    "training": {"stages": [{"epochs": 1}]},
}


def errors_with(**parts) -> list[str]:
    data = json.loads(json.dumps(BASE))
    data.update(parts)
    with pytest.raises(SpecErrors) as info:
        load_spec(data)
    return [str(e) for e in info.value.errors]


def test_an_unknown_key_gets_the_close_one_of_that_place():
    assert errors_with(source={"kind": "mlp", "unit": [3]}) == ["source.unit: unknown key; did you mean 'units'?"]
    assert errors_with(traning={}) == ["traning: unknown key; did you mean 'training'?"]
    assert errors_with(source={"kind": "mlp", "zzz": 1}) == ["source.zzz: unknown key (misspelt?)"]
    # in a section another section holds (adda's own optimizer), by the optimizer's kind
    stage = {"epochs": 1, "losses": [{"kind": "adda", "optimizer": {"name": "sgd", "momentun": 0.5}}]}
    data = {"target": {"kind": "arrays", "path": "t.npz", "labeled": False}, "train": BASE["data"]["train"]}
    assert errors_with(data=data, training={"stages": [stage]}) == [
        "training.stages.0.losses.0.optimizer.momentun: unknown key; did you mean 'momentum'?"
    ]
    # a key of another kind is not suggested: hidden is the head's, not the mlp's
    assert errors_with(source={"kind": "mlp", "hiden": [3]}) == ["source.hiden: unknown key (misspelt?)"]


def test_the_members_of_a_union_make_one_line_without_their_labels():
    assert errors_with(training={"stages": [{"epochs": 1}], "backup": 0}) == [
        "training.backup: Input should be 'auto', 'epoch' or 'off'; or: input should be greater than or equal to 1"
    ]


def test_test_split_zero_needs_test_data():
    data = {"train": BASE["data"]["train"], "test_split": 0}
    with pytest.raises(SpecError, match=r"^data.test_split: 0 leaves no test data for the headline metric"):
        load_spec({**BASE, "data": data})
    assert load_spec({**BASE, "data": {**data, "test": BASE["data"]["train"]}}).data.test_split == 0


def test_a_bad_text_encoding_is_found_at_its_full_path():
    train = {"kind": "text_table", "path": "t.csv", "encoding": "no-such-codec"}
    assert errors_with(data={"train": train}, source={"kind": "bert", "preset": "bert_tiny_en_uncased"}) == [
        "data.train.encoding: unknown text encoding 'no-such-codec' (Python codec names: utf-8, latin-1, cp1252, ...)"
    ]


def test_the_text_loader_names_a_bad_encoding_at_its_full_path(tmp_path):
    """Past validation (a section built without it), the loader's message has the full dotted path."""
    from adaptkit import RunContext
    from adaptkit_text.data import load_text_table
    from adaptkit_text.sections import TextTable

    table = tmp_path / "t.csv"
    table.write_text("text,label\na,x\n")
    section = TextTable.model_construct(kind="text_table", path=str(table), encoding="no-such-codec")
    with pytest.raises(SpecError) as info:
        load_text_table(section, RunContext(seed=0, spec_dir=tmp_path, where="data.train"))
    assert str(info.value) == "data.train.encoding: unknown text encoding 'no-such-codec'"


def test_nested_block_keys_count_towards_the_depth_limit(tmp_path):
    from adaptkit import SpecError
    from adaptkit._specfile import read_spec_file

    text = "name: x\nhead:\n" + "".join("  " * (i + 1) + "?\n" for i in range(300)) + "  " * 301 + "k\n"
    path = tmp_path / "keys.yaml"
    path.write_text(text)
    with pytest.raises(SpecError) as info:  # never a RecursionError
        read_spec_file(path)
    assert "nested" in info.value.message or "YAML" in info.value.message
