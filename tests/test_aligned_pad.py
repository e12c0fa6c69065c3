"""The proxy A-distance is measured where the losses align the domains: a head layer gets keys of its own."""

from __future__ import annotations

import numpy as np
import pytest

from adaptkit import LossComposition, load_spec_file
from adaptkit._evaluation import aligned_layers
from adaptkit._runner import run_pipeline


@pytest.fixture(scope="module")
def head_aligned(tmp_path_factory, digits_npz):
    """One run: the encoder frozen but its last layer, MMD at the head's hidden layer and CORAL at the
    encoder's output (a term on a wholly frozen encoder would be refused: nothing below it trains)."""
    tmp = tmp_path_factory.mktemp("pad")
    with np.load(digits_npz) as d:
        x, y = d["x"], d["y"]
    np.savez(tmp / "target.npz", x=(16 - x).astype("float32"), y=y)  # inverted digits: a strong shift
    spec = tmp / "spec.yaml"
    spec.write_text(
        f"""
name: pad
seed: 3
output_dir: {tmp / 'runs'}
data:
  train: {{kind: arrays, path: {digits_npz}, scale: 0.0625}}
  target: {{kind: arrays, path: {tmp / 'target.npz'}, scale: 0.0625}}
  batch_size: 64
source: {{kind: mlp, units: [32, 16]}}
surgery: [{{kind: freeze}}, {{kind: unfreeze, last_layers: 1}}]
head: {{kind: classifier, hidden: [16]}}
training:
  verbose: 0
  stages:
    - {{name: adapt, epochs: 2, optimizer: {{learning_rate: 0.01}},
       losses: [{{kind: mmd, weight: 5.0, feature_layer: head_dense1}}, {{kind: coral}}]}}
"""
    )
    return run_pipeline(load_spec_file(spec), spec).metrics["metrics"]


def test_pad_is_reported_at_each_aligned_layer(head_aligned):
    pads = {k: v for k, v in head_aligned.items() if k.startswith("domain/")}
    assert set(pads) == {
        "domain/proxy_a_distance", "domain/proxy_a_distance_before",
        "domain/proxy_a_distance@head_dense1", "domain/proxy_a_distance_before@head_dense1",
    }
    # two places, two distances; the head layer MMD trained moved
    assert pads["domain/proxy_a_distance@head_dense1"] != pads["domain/proxy_a_distance"]
    assert pads["domain/proxy_a_distance@head_dense1"] != pads["domain/proxy_a_distance_before@head_dense1"]


def test_aligned_layers_are_listed_once_in_order():
    found = aligned_layers([LossComposition(aligned_at="b"), LossComposition(), LossComposition(aligned_at="b")])
    assert found == ("b", None)


def test_a_composition_aligned_at_a_non_name_is_refused():
    from adaptkit._answers import loss_composition

    assert loss_composition(LossComposition(aligned_at="head_dense1")) is None
    assert loss_composition(LossComposition(aligned_at="")).startswith("a LossComposition whose aligned_at is '', ")
    assert loss_composition(LossComposition(aligned_at=3)) == "a LossComposition whose aligned_at is int, not a layer name (str) or None"
