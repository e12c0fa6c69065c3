"""Core surgery operations on a real Keras model: which layers each one makes trainable."""

from __future__ import annotations

from pathlib import Path

import pytest

from adaptkit import RunContext, SpecError, leaf_layers
from adaptkit_core import sections as S
from adaptkit_core import surgery
from adaptkit_core.models import convnet

CTX = RunContext(seed=0, spec_dir=Path("."), where="surgery.0")


@pytest.fixture
def model():
    return convnet(S.ConvNetSource(kind="convnet", filters=[4, 4, 4], batch_norm=True), (16, 16, 1), CTX)


def trainable(model):
    return [layer.name for layer in leaf_layers(model) if layer.trainable and layer.weights]


def test_freeze_all_up_to_and_from(model):
    surgery.freeze(S.Freeze(kind="freeze"), model, CTX)
    assert trainable(model) == []
    surgery.unfreeze(S.Unfreeze(kind="unfreeze"), model, CTX)
    surgery.freeze(S.Freeze(kind="freeze", up_to="block2_bn"), model, CTX)
    assert trainable(model) == ["block3_conv", "block3_bn"]
    surgery.unfreeze(S.Unfreeze(kind="unfreeze"), model, CTX)
    surgery.freeze(S.Freeze(kind="freeze", from_layer="block2_conv"), model, CTX)
    assert trainable(model) == ["block1_conv", "block1_bn"]


def test_unfreeze_last_layers_blocks_and_from(model):
    surgery.freeze(S.Freeze(kind="freeze"), model, CTX)
    surgery.unfreeze(S.Unfreeze(kind="unfreeze", last_layers=1), model, CTX)
    assert trainable(model) == ["block3_bn"]
    surgery.unfreeze(S.Unfreeze(kind="unfreeze", last_blocks=2), model, CTX)
    assert trainable(model) == ["block2_conv", "block2_bn", "block3_conv", "block3_bn"]
    surgery.freeze(S.Freeze(kind="freeze"), model, CTX)
    surgery.unfreeze(S.Unfreeze(kind="unfreeze", from_layer="block3_conv"), model, CTX)
    assert trainable(model) == ["block3_conv", "block3_bn"]


def test_truncate_makes_a_layer_the_output(model):
    cut = surgery.truncate(S.Truncate(kind="truncate", layer="block2_pool"), model, CTX)
    assert cut.output_shape == (None, 4, 4, 4)
    assert [layer.name for layer in cut.layers][-1] == "block2_pool"


def test_unknown_layer_names_the_spec_key(model):
    with pytest.raises(SpecError, match=r"^surgery.0.up_to: the model has no layer 'nope'"):
        surgery.freeze(S.Freeze(kind="freeze", up_to="nope"), model, CTX)
    with pytest.raises(SpecError, match=r"^surgery.0.layer: the model has no layer 'nope'"):
        surgery.truncate(S.Truncate(kind="truncate", layer="nope"), model, CTX)


def test_contradictory_options_are_spec_errors():
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="give up_to or from_layer, not both"):
        S.Freeze(kind="freeze", up_to="a", from_layer="b")
    with pytest.raises(ValidationError, match="at most one of"):
        S.Unfreeze(kind="unfreeze", last_layers=1, last_blocks=1)
