"""The text plugin through the host: discovery, sections in specs, TF-free import, hook dispatch."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

import adaptkit
import adaptkit_text
from adaptkit_text import sections as S

SPEC = Path(__file__).resolve().parents[3] / "pipelines" / "sentiment_minilm.yaml"


def test_plugin_is_discovered_with_its_sections():
    host = adaptkit.get_host()
    info = host.plugins["text"]
    assert info.ok, info.status
    assert sorted(info.sections["source"]) == ["bert", "tfhub"]
    assert sorted(info.sections["data"]) == ["text_directory", "text_table"]


def test_importing_the_plugin_does_not_import_tensorflow():
    code = "import adaptkit_text, sys; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_example_spec_validates_and_a_misspelt_key_is_named():
    spec = adaptkit.load_spec_file(SPEC, check_files=False)
    assert isinstance(spec.source, S.BertSource) and spec.source.exact_gelu
    with pytest.raises(adaptkit.SpecError) as e:
        adaptkit.load_spec_file(SPEC, overrides=["source.pooling_mode=cls"], check_files=False)
    assert e.value.where == "source.pooling_mode"


def test_hooks_answer_only_for_their_own_sections(tmp_path):
    ctx = adaptkit.RunContext(seed=0, spec_dir=tmp_path, where="x", log=logging.getLogger("t"))

    class Other(adaptkit.SourceSection):
        kind: str = "other"

    assert adaptkit_text.adaptkit_load_source(Other(), (), ctx) is None
    assert adaptkit_text.adaptkit_load_data(Other(), ctx) is None
