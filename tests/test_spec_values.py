"""Spec values: numbers are strict and finite, sizes positive, bounds where the runtime has them."""

from __future__ import annotations

import copy

import pytest

from adaptkit import load_spec
from adaptkit._specfile import SpecErrors

BASE = {
    "name": "t",
    "data": {"train": {"kind": "arrays", "path": "d.npz"}},
    "source": {"kind": "mlp"},
    "head": {"kind": "classifier"},
    "training": {"stages": [{"epochs": 1}]},
}


def with_value(path: str, value):
    """BASE with the value at a dotted path set (list items by index)."""
    data = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node = data
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
    node[int(last) if isinstance(node, list) else last] = value
    return data


def errors_of(data) -> list[str]:
    with pytest.raises(SpecErrors) as info:
        load_spec(data)
    return [str(e) for e in info.value.errors]


@pytest.mark.parametrize(
    "path, value",
    [
        ("training.stages.0.optimizer.learning_rate", float("inf")),
        ("training.stages.0.optimizer.learning_rate", float("nan")),
        ("data.train.scale", float("inf")),
        ("training.stages.0.optimizer.clipnorm", float("inf")),
        ("training.stages.0.optimizer.weight_decay", float("nan")),
        ("training.stages.0.discriminative.factor", float("inf")),
        ("training.stages.0.losses.0.weight", float("inf")),
    ],
)
def test_inf_and_nan_are_refused_in_every_float(path, value):
    data = with_value(path, value)
    if "losses" in path:
        data["training"]["stages"][0]["losses"] = [{"kind": "mmd", "weight": value}]
        data["data"]["target"] = {"kind": "arrays", "path": "t.npz", "labeled": False}
    (msg,) = errors_of(data)
    assert msg.startswith(path + ": ") and "finite number" in msg, msg


@pytest.mark.parametrize(
    "path, value, says",
    [
        ("data.batch_size", True, "valid integer"),
        ("training.stages.0.epochs", "2", "valid integer"),
        ("training.stages.0.epochs", 2.0, "valid integer"),
        ("training.stages.0.optimizer.learning_rate", "0.01", "valid number"),
        ("training.stages.0.optimizer.learning_rate", False, "valid number"),
        ("source.units", [32, True], "valid integer"),
        ("seed", "3", "valid integer"),
    ],
)
def test_numbers_are_not_coerced_from_booleans_or_strings(path, value, says):
    (msg,) = errors_of(with_value(path, value))
    assert msg.startswith(path) and says in msg, msg


def test_strict_numbers_keep_the_legit_spellings():
    data = with_value("training.stages.0.optimizer.learning_rate", 1)  # an int where a float is asked
    data["training"]["backup"] = False  # YAML's bare off
    data["evaluation"] = {"baseline": True}
    spec = load_spec(data)
    assert spec.training.stages[0].optimizer.learning_rate == 1.0 and spec.training.backup == "off"


def test_a_tuple_field_takes_a_list_with_strict_numbers():
    data = copy.deepcopy(BASE)
    data["data"]["train"] = {"kind": "image_directory", "path": "d", "image_size": [32, 48]}
    assert load_spec(data).data.train.image_size == (32, 48)
    data["data"]["train"]["image_size"] = [True, 48]
    assert errors_of(data) == ["data.train.image_size.0: Input should be a valid integer"]


@pytest.mark.parametrize(
    "path, value",
    [
        ("seed", -1),
        ("seed", 2**32),
        ("data.batch_size", 9223372036854775808),
        ("training.steps_per_execution", 2**63),
        ("training.stages.0.epochs", 2**63),
        ("training.stages.0.discriminative.factor", 1e308),
        ("training.backup", 2**63),
    ],
)
def test_values_the_runtime_cannot_take_are_refused(path, value):
    (msg,) = errors_of(with_value(path, value))
    assert msg.startswith(path + ": ") and " than " in msg, msg


def test_the_largest_seed_numpy_takes_is_accepted():
    assert load_spec(with_value("seed", 2**32 - 1)).seed == 2**32 - 1


@pytest.mark.parametrize(
    "path, value",
    [
        ("source.units", [32, 0]),
        ("source", {"kind": "convnet", "filters": [-1]}),
        ("head.hidden", [0]),
        ("training.stages.0.losses", [{"kind": "dann", "discriminator": {"hidden": [0]}}]),
        ("training.stages.0.losses", [{"kind": "adda", "discriminator": {"hidden": [-3]}}]),
    ],
)
def test_layer_sizes_must_be_positive(path, value):
    data = with_value(path, value)
    data["data"]["target"] = {"kind": "arrays", "path": "t.npz", "labeled": False}
    (msg,) = errors_of(data)
    assert "greater than 0" in msg, msg


@pytest.mark.parametrize(
    "op",
    [
        {"kind": "freeze", "up_to": ""},
        {"kind": "freeze", "from_layer": ""},
        {"kind": "unfreeze", "from_layer": ""},
        {"kind": "truncate", "layer": ""},
        {"kind": "lora", "layers": [""]},
    ],
)
def test_empty_layer_names_are_refused(op):
    (msg,) = errors_of(with_value("surgery", [op]))
    assert msg.startswith("surgery.0.") and "at least 1 character" in msg, msg


def test_a_run_with_the_largest_seed_trains(spec_file):
    """numpy, Keras and tf.data all take seed 2**32 - 1 (and the seeds derived from it)."""
    from adaptkit import load_spec_file
    from adaptkit._runner import run_pipeline

    path = spec_file(f"seed: {2**32 - 1}\ntraining: {{verbose: 0, stages: [{{epochs: 1}}]}}")
    result = run_pipeline(load_spec_file(path), path)
    assert 0 <= result.headline[1] <= 1


def test_discriminative_rates_of_many_groups_underflow_instead_of_overflowing():
    """factor**k overflowed (OverflowError) past k = 154 at factor 100; rate * factor**-k goes to 0."""
    import keras

    from adaptkit._stages import discriminative_groups

    spec = load_spec(with_value("training.stages.0.discriminative.factor", 100.0))
    source = keras.Sequential([keras.Input((2,))] + [keras.layers.Dense(1, name=f"dense{i}") for i in range(160)])
    groups = discriminative_groups(spec.training.stages[0], source, total_steps=10)
    rates = [float(keras.ops.convert_to_numpy(optimizer.learning_rate)) for optimizer, _ in groups]
    assert len(rates) == 160
    assert rates[0] == pytest.approx(1e-5) and rates[-1] == 0.0
