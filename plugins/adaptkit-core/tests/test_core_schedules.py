"""The core schedule and optimizer kinds: their values, their fields, and specs as they were written."""

from __future__ import annotations

import pytest

from adaptkit import build_optimizer, build_schedule, load_spec
from adaptkit._specfile import SpecErrors
from adaptkit_core import optim_sections as O

BASE = {
    "name": "t",
    "data": {"train": {"kind": "arrays", "path": "d.npz"}},
    "source": {"kind": "mlp"},
    "head": {"kind": "classifier"},
    "training": {"stages": [{"epochs": 1}]},
}


def stage(**keys):
    return load_spec({**BASE, "training": {"stages": [{"epochs": 1, **keys}]}}).training.stages[0]


def value(schedule, step):
    return float(schedule(step)) if callable(schedule) else float(schedule)


def test_slanted_triangular_schedule_values():
    s = build_schedule(O.SlantedTriangularSchedule(kind="slanted_triangular", cut_fraction=0.1, ratio=32), 0.01, 100)
    assert value(s, 0) == pytest.approx(0.01 / 32)
    assert value(s, 5) == pytest.approx(0.01 / 32 + (0.01 - 0.01 / 32) * 0.5)
    assert value(s, 10) == pytest.approx(0.01)
    assert value(s, 55) == pytest.approx(0.01 + (0.01 / 32 - 0.01) * 0.5)
    assert value(s, 100) == pytest.approx(0.01 / 32)


def test_linear_and_cosine_warmup_and_constant():
    lin = build_schedule(O.LinearSchedule(kind="linear", warmup_fraction=0.2, final_fraction=0.1), 1.0, 50)
    assert [round(value(lin, t), 6) for t in (0, 5, 10, 30, 50)] == [0.0, 0.5, 1.0, 0.55, 0.1]
    cos = build_schedule(O.CosineSchedule(kind="cosine", warmup_fraction=0.1), 1.0, 100)
    assert value(cos, 0) == pytest.approx(0.0)
    assert value(cos, 10) == pytest.approx(1.0)
    assert value(cos, 55) == pytest.approx(0.5, abs=1e-6)
    assert value(cos, 100) == pytest.approx(0.0, abs=1e-6)
    assert build_schedule(stage().schedule, 0.3, 10) == 0.3  # the default: constant
    inv = build_schedule(O.InversePowerSchedule(kind="inverse_power"), 0.01, 100)
    assert value(inv, 0) == pytest.approx(0.01)
    assert value(inv, 50) == pytest.approx(0.01 / 6**0.75)
    assert value(inv, 100) == pytest.approx(0.01 / 11**0.75)


def test_schedules_as_specs_write_them_and_each_kind_has_only_its_fields():
    assert isinstance(stage(schedule={"kind": "cosine", "warmup_fraction": 0.1}).schedule, O.CosineSchedule)
    assert isinstance(stage(schedule={}).schedule, O.ConstantSchedule)
    with pytest.raises(SpecErrors) as info:
        stage(schedule={"kind": "cosine", "ratio": 4})
    assert [str(e) for e in info.value.errors] == ["training.stages.0.schedule.ratio: unknown key (misspelt?)"]


def test_optimizers_keep_name_default_adam_and_accept_kind():
    default = stage().optimizer
    assert isinstance(default, O.AdamOptimizer) and default.name == "adam" and default.learning_rate == 1e-3
    sgd = stage(optimizer={"name": "sgd", "learning_rate": 0.1, "momentum": 0.9}).optimizer
    assert isinstance(sgd, O.SGDOptimizer) and sgd.momentum == 0.9
    assert stage(optimizer={"kind": "rmsprop"}).optimizer.name == "rmsprop"
    assert stage(optimizer={"learning_rate": 0.01}).optimizer.model_dump(mode="json")["name"] == "adam"
    with pytest.raises(SpecErrors) as info:
        stage(optimizer={"name": "sgd", "beta_1": 0.5})
    assert [str(e) for e in info.value.errors] == ["training.stages.0.optimizer.beta_1: unknown key (misspelt?)"]
    with pytest.raises(SpecErrors) as info:
        stage(optimizer={"name": "lion"})
    assert str(info.value.errors[0]).startswith("training.stages.0.optimizer: unknown name 'lion'")


def test_built_optimizers_match_the_spec():
    import keras

    adamw = build_optimizer(stage(optimizer={"name": "adamw", "learning_rate": 0.01}).optimizer, 0.01)
    assert isinstance(adamw, keras.optimizers.AdamW) and adamw.weight_decay == pytest.approx(0.004)
    sgd = build_optimizer(stage(optimizer={"name": "sgd", "momentum": 0.5, "clipnorm": 1.0}).optimizer, 0.1, name="mine")
    assert isinstance(sgd, keras.optimizers.SGD) and sgd.momentum == 0.5 and sgd.clipnorm == 1.0 and sgd.name == "mine"
    adam = build_optimizer(O.AdamOptimizer(kind="adam", beta_1=0.5), 1e-3)
    assert float(adam.beta_1) == 0.5 and float(adam.beta_2) == 0.999
