"""Schedules and optimizers are section families: a third-party plugin adds a kind, and a
plugin section can hold a section of another family (``adaptkit.section_of``)."""

from __future__ import annotations

from typing import Literal, Optional

import pytest
from pydantic import Field

import adaptkit
from adaptkit import PluginHost, PluginInfo, build_schedule, load_spec
from adaptkit._specfile import SpecErrors

BASE = {
    "name": "t",
    "data": {"train": {"kind": "arrays", "path": "d.npz"}},
    "source": {"kind": "mlp"},
    "head": {"kind": "classifier"},
}


class StepSchedule(adaptkit.ScheduleSection):
    """Halve the rate every ``every`` steps."""

    kind: Literal["halving"]
    every: int = Field(10, ge=1, description="Steps between halvings.")


class Probe(adaptkit.HeadSection):
    """A head section that carries its own optimizer (as a player's would)."""

    kind: Literal["probe_with_optimizer"]
    optimizer: adaptkit.section_of("optimizer", beta_1=0.5) = Field({}, validate_default=True, description="Its optimizer.")
    schedule: Optional[adaptkit.section_of("schedule")] = Field(None, description="Its schedule.")


class ThirdParty:
    """A tiny plugin object: one schedule kind, one head section holding an optimizer."""

    @adaptkit.hookimpl
    def adaptkit_sections(self):
        return [StepSchedule, Probe]

    @adaptkit.hookimpl
    def adaptkit_build_schedule(self, section, learning_rate, total_steps):
        if not isinstance(section, StepSchedule):
            return None
        import keras

        return keras.optimizers.schedules.ExponentialDecay(learning_rate, section.every, 0.5, staircase=True)


@pytest.fixture
def host():
    host = PluginHost()
    host.load_entry_points()
    host.register(ThirdParty(), PluginInfo("third_party", "tests", None, None))
    assert host.plugins["third_party"].ok
    return host


def test_a_third_party_plugin_adds_a_schedule_kind(host):
    stages = [{"epochs": 1, "schedule": {"kind": "halving", "every": 5}}, {"epochs": 1}]
    spec = load_spec({**BASE, "training": {"stages": stages}}, host)
    section = spec.training.stages[0].schedule
    assert isinstance(section, StepSchedule) and section.every == 5
    schedule = build_schedule(section, 0.1, 20, host=host)
    assert [round(float(schedule(t)), 6) for t in (0, 4, 5, 12)] == [0.1, 0.1, 0.05, 0.025]
    assert build_schedule(spec.training.stages[1].schedule, 0.1, 20, host=host) == 0.1  # core's constant
    assert "halving" in host.plugins["third_party"].sections["schedule"]


def test_the_spec_refuses_a_schedule_kind_no_plugin_provides():
    with pytest.raises(SpecErrors) as info:
        load_spec({**BASE, "training": {"stages": [{"epochs": 1, "schedule": {"kind": "halving"}}]}})
    assert str(info.value.errors[0]).startswith("training.stages.0.schedule: unknown kind 'halving'")


def test_a_nested_section_takes_every_kind_of_its_family_and_its_own_defaults(host):
    spec = load_spec({**BASE, "head": {"kind": "probe_with_optimizer"}, "training": {"stages": [{"epochs": 1}]}}, host)
    optimizer = spec.head.optimizer
    assert optimizer.name == "adam" and optimizer.beta_1 == 0.5 and optimizer.beta_2 == 0.999
    head = {"kind": "probe_with_optimizer", "optimizer": {"name": "sgd", "momentum": 0.9},
            "schedule": {"kind": "halving", "every": 3}}
    spec = load_spec({**BASE, "head": head, "training": {"stages": [{"epochs": 1}]}}, host)
    assert spec.head.optimizer.name == "sgd" and spec.head.optimizer.momentum == 0.9  # sgd has no beta_1
    assert spec.head.schedule.every == 3  # a kind only this host knows: validated with it
    dumped = spec.model_dump(mode="json")["head"]
    assert dumped["optimizer"]["name"] == "sgd" and dumped["schedule"] == {"kind": "halving", "every": 3}
    head["optimizer"] = {"name": "sgd", "beta_2": 0.9}
    with pytest.raises(SpecErrors) as info:
        load_spec({**BASE, "head": head, "training": {"stages": [{"epochs": 1}]}}, host)
    assert [str(e) for e in info.value.errors] == ["head.optimizer.beta_2: unknown key (misspelt?)"]


def test_a_nested_section_outside_a_spec_uses_the_process_host():
    assert Probe(kind="probe_with_optimizer").optimizer.beta_1 == 0.5
    assert Probe(kind="probe_with_optimizer", optimizer={"name": "rmsprop"}).optimizer.momentum == 0.0
