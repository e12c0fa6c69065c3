"""The fine-tuning toolkit: discriminative rates, gradual unfreezing, LoRA, mixed precision
and the learning-rate finder, with real Keras (the schedule kinds' values are tested with the
core plugin, which provides them)."""

from __future__ import annotations

import csv
import re

import numpy as np
import pytest

from adaptkit import load_spec, load_spec_file
from adaptkit._runner import run_pipeline


def _digits_parts(digits_npz, tmp_path, stage_yaml, source="{kind: convnet, filters: [4, 4]}"):
    import yaml

    from adaptkit import get_host
    from adaptkit._assembly import build_model
    from adaptkit._splits import load_splits
    from adaptkit._types import RunContext

    spec = load_spec(
        yaml.safe_load(
            f"""
            name: t
            data: {{train: {{kind: arrays, path: {digits_npz}}}, batch_size: 16}}
            source: {source}
            head: {{kind: classifier, pooling: flatten}}
            training: {{stages: [{stage_yaml}]}}
            """
        )
    )
    host = get_host()
    ctx = RunContext(seed=0, spec_dir=tmp_path)
    splits = load_splits(spec, host, ctx)
    built = build_model(spec, host, ctx, splits.source)
    parts, head, src = built.parts, built.head, built.source
    return spec, parts, head, src, splits


def test_discriminative_rates_are_applied_per_group(digits_npz, tmp_path):
    """With SGD one step moves each variable by exactly -rate_of_its_group * gradient."""
    import keras
    import tensorflow as tf

    from adaptkit._stages import discriminative_groups
    from adaptkit._training import Trainer, build_optimizer

    stage_yaml = "{epochs: 1, optimizer: {name: sgd, learning_rate: 0.1}, discriminative: {factor: 4}}"
    spec, parts, head, source, splits = _digits_parts(digits_npz, tmp_path, stage_yaml)
    stage = spec.training.stages[0]
    groups = discriminative_groups(stage, source, 10)
    assert len(groups) == 2  # block2 (top) and block1
    trainer = Trainer(parts, [], False, 10, groups=groups)
    trainer.compile(optimizer=build_optimizer(stage.optimizer, 0.1), loss=head.loss)
    x, y = next(iter(splits.sets["train"].batch(16)))
    with tf.GradientTape() as tape:
        loss = head.loss(y, parts.model(x, training=True))
    variables = parts.model.trainable_variables
    grads = dict(zip([id(v) for v in variables], tape.gradient(loss, variables)))
    before = {id(v): np.array(v) for v in variables}
    trainer.train_on_batch(x, y)
    rate = {}
    for v in variables:
        g = np.asarray(grads[id(v)])
        step = before[id(v)] - np.asarray(v)
        if np.abs(g).max() > 1e-6:
            rate[v.path] = float(np.sum(step * g) / np.sum(g * g))
    by_block = {}
    for path, r in rate.items():
        block = "head" if "classifier" in path or "predictions" in path else path.split("/")[-2].split("_")[0]
        by_block.setdefault(block, set()).add(round(r, 5))
    assert by_block["head"] == {0.1}
    assert by_block["block2"] == {0.025}   # 0.1 / 4
    assert by_block["block1"] == {0.00625}  # 0.1 / 4**2


def test_gradual_unfreezing_changes_trainable_counts_per_epoch(spec_file, digits_npz):
    path = spec_file(
        f"""
        data: {{train: {{kind: arrays, path: {digits_npz}}}, batch_size: 64}}
        source: {{kind: convnet, filters: [4, 4, 4]}}
        head: {{kind: classifier, pooling: flatten}}
        training:
          verbose: 0
          stages:
            - {{epochs: 4, optimizer: {{learning_rate: 0.003}}, gradual_unfreezing: {{start: 1}}}}
        """
    )
    result = run_pipeline(load_spec_file(path), path)
    log = (result.run_dir / "run.log").read_text()
    counts = [int(c.replace(",", "")) for c in re.findall(r"gradual unfreezing: ([\d,]+) of", log)]
    conv = lambda cin, cout: 3 * 3 * cin * cout + cout  # noqa: E731
    head = 1 * 1 * 4 * 10 + 10  # 8x8 digits pooled three times: a 1x1x4 map, flattened
    assert counts == [head + conv(4, 4), head + 2 * conv(4, 4), head + 2 * conv(4, 4) + conv(1, 4)]
    rows = list(csv.DictReader((result.run_dir / "history.csv").open()))
    assert len(rows) == 4


def test_lora_surgery_trainable_count_and_adapter_round_trip(spec_file, digits_npz, tmp_path):
    import keras

    path = spec_file(
        """
        source: {kind: mlp, units: [32, 16]}
        surgery: [{kind: lora, rank: 2}]
        head: {kind: classifier}
        """
    )
    result = run_pipeline(load_spec_file(path), path)
    log = (result.run_dir / "run.log").read_text()
    lora_params = (64 * 2 + 2 * 32) + (32 * 2 + 2 * 16)
    head = 16 * 10 + 10
    biases = 32 + 16
    assert f"stage 1 (stage1): {lora_params + head + biases:,} of" in log
    assert result.metrics["adapters"]["parameters"] == lora_params
    with np.load(result.run_dir / "adapters.npz") as npz:
        saved = {k: npz[k] for k in npz.files}
    assert sorted(saved) == ["dense1/lora_kernel_a", "dense1/lora_kernel_b", "dense2/lora_kernel_a", "dense2/lora_kernel_b"]
    assert np.abs(saved["dense1/lora_kernel_b"]).sum() > 0  # B starts at zero: it trained

    # load only the adapters into a fresh source with the same (seeded) base weights
    again = spec_file(
        f"""
        name: again
        source: {{kind: mlp, units: [32, 16]}}
        surgery: [{{kind: lora, rank: 2, adapters: {result.run_dir / 'adapters.npz'}}}]
        head: {{kind: classifier}}
        training: {{verbose: 0, stages: [{{epochs: 1, optimizer: {{learning_rate: 1.0e-9}}}}]}}
        """
    )
    second = run_pipeline(load_spec_file(again), again)
    with np.load(second.run_dir / "adapters.npz") as npz:
        np.testing.assert_allclose(npz["dense1/lora_kernel_b"], saved["dense1/lora_kernel_b"], atol=1e-6)
    model = keras.saving.load_model(second.run_dir / "model.keras", safe_mode=True)
    assert model.get_layer("encoder").get_layer("source").get_layer("dense1").lora_enabled


def test_mixed_precision_run(spec_file):
    path = spec_file("training: {verbose: 0, mixed_precision: true, stages: [{epochs: 2, optimizer: {learning_rate: 0.01}}]}")
    result = run_pipeline(load_spec_file(path), path)
    import keras

    assert keras.mixed_precision.global_policy().name == "float32"  # restored after the run
    model = keras.saving.load_model(result.run_dir / "model.keras", safe_mode=True)
    dense = model.get_layer("encoder").get_layer("source").get_layer("dense1")
    assert dense.compute_dtype == "bfloat16" and dense.variable_dtype == "float32"
    assert model.output.dtype == "float32"
    assert result.metrics["headline"]["value"] > 0.5


def test_lr_find_suggests_a_rate_and_restores_weights(spec_file, tmp_path):
    from adaptkit._lrfind import lr_find

    path = spec_file()
    spec = load_spec_file(path)
    plot = tmp_path / "lr.png"
    result, model = lr_find(spec, path, steps=40, min_lr=1e-5, max_lr=1.0, output=plot)
    assert plot.stat().st_size > 1000
    from adaptkit._lrfind import smooth

    curve = smooth(result.losses)
    i = result.learning_rates.index(result.suggested)
    assert curve[i] < curve[0]  # the loss is already falling there
    assert i <= int(np.argmin(curve))  # and the suggestion comes before the minimum, not after
    assert result.learning_rates[0] == pytest.approx(1e-5)
    assert len(result.losses) <= 40
    # the weights were restored: they equal a freshly built model's (same seed)
    from adaptkit import get_host
    from adaptkit._assembly import build_model
    from adaptkit._runner import configure_determinism
    from adaptkit._splits import load_splits
    from adaptkit._types import RunContext

    configure_determinism(spec.seed)
    ctx = RunContext(seed=spec.seed, spec_dir=path.parent)
    parts = build_model(spec, get_host(), ctx, load_splits(spec, get_host(), ctx).source).parts
    for a, b in zip(model.get_weights(), parts.model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_saved_model_loads_with_plain_keras_after_a_custom_schedule(spec_file):
    import keras

    path = spec_file(
        "training: {verbose: 0, stages: [{epochs: 1, schedule: {kind: slanted_triangular}, optimizer: {learning_rate: 0.01}}]}"
    )
    result = run_pipeline(load_spec_file(path), path)
    model = keras.saving.load_model(result.run_dir / "model.keras")  # no custom objects needed
    assert model.output_shape == (None, 10)


def test_baseline_of_a_lora_run_trains_full_kernels(spec_file):
    path = spec_file(
        """
        source: {kind: mlp, units: [32, 16]}
        surgery: [{kind: lora, rank: 2}]
        evaluation: {baseline: true, baseline_epochs: 1}
        """
    )
    result = run_pipeline(load_spec_file(path), path)
    log = (result.run_dir / "run.log").read_text()
    line = next(l for l in log.splitlines() if "baseline (from scratch)" in l)
    full = (64 * 32 + 32) + (32 * 16 + 16) + (16 * 10 + 10)
    assert f"{full:,} of {full:,} parameters trainable" in line


def test_unfreezing_keeps_lora_base_kernels_frozen():
    import keras

    from adaptkit import set_trainable

    inputs = keras.Input((3,))
    dense = keras.layers.Dense(4, name="d")
    model = keras.Model(inputs, dense(inputs))
    dense.enable_lora(2)
    set_trainable(model, lambda i, _: False)
    set_trainable(model, lambda i, _: True)
    names = sorted(v.path.split("/")[-1] for v in model.trainable_variables)
    assert names == ["bias", "lora_kernel_a", "lora_kernel_b"]


def test_lora_with_gradual_unfreezing_trains_only_adapters_and_biases(spec_file):
    path = spec_file(
        """
        source: {kind: mlp, units: [32, 16]}
        surgery: [{kind: lora, rank: 2}]
        training:
          verbose: 0
          stages: [{epochs: 2, optimizer: {learning_rate: 0.01}, gradual_unfreezing: {start: 1}}]
        """
    )
    result = run_pipeline(load_spec_file(path), path)
    log = (result.run_dir / "run.log").read_text()
    counts = [int(c.replace(",", "")) for c in re.findall(r"gradual unfreezing: ([\d,]+) of", log)]
    head = 16 * 10 + 10
    assert counts == [head + (32 * 2 + 2 * 16) + 16, head + (32 * 2 + 2 * 16) + 16 + (64 * 2 + 2 * 32) + 32]


def test_backup_switch_reads_yaml_off(spec_file):
    spec = load_spec_file(spec_file("training: {backup: off, stages: [{epochs: 1}]}"))
    assert spec.training.backup == "off"
    result = run_pipeline(spec, spec_file("training: {backup: off, verbose: 0, stages: [{epochs: 1}]}"))
    assert result.metrics["epochs"] == 1
