"""The documentation keeps up: every hook has a section, every kind is documented,
every example spec validates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adaptkit import _hookspecs, get_host, load_spec_file

ROOT = Path(__file__).resolve().parents[1]


def all_docs() -> str:
    files = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    return "\n".join(p.read_text() for p in files if p.exists())


def hook_names() -> list[str]:
    return sorted(n for n in dir(_hookspecs) if n.startswith("adaptkit_") and callable(getattr(_hookspecs, n)))


@pytest.mark.parametrize("hook", hook_names())
def test_every_hook_has_a_documentation_section(hook):
    text = (ROOT / "docs" / "hooks.md").read_text()
    assert re.search(rf"^## {hook}$", text, re.M), f"docs/hooks.md has no '## {hook}' section"


def test_every_hook_has_a_docstring():
    for hook in hook_names():
        assert (getattr(_hookspecs, hook).__doc__ or "").strip(), hook


def test_every_section_kind_is_documented():
    text = all_docs()
    missing = [
        f"{family}: {kind}"
        for family, kinds in get_host().sections.items()
        for kind in kinds
        if f"`{kind}`" not in text and f"kind: {kind}" not in text
    ]
    assert not missing, f"kinds without documentation: {missing}"


def test_every_spec_key_of_the_host_is_documented():
    from adaptkit import build_spec_model

    text = (ROOT / "docs" / "spec.md").read_text()
    model = build_spec_model()
    missing = [name for name in model.model_fields if f"`{name}`" not in text]
    for sub in ("data", "training", "evaluation"):
        cls = model.model_fields[sub].annotation
        missing += [f"{sub}.{n}" for n in cls.model_fields if f"`{n}`" not in text]
    assert not missing, f"docs/spec.md does not document: {missing}"


SPECS = sorted((ROOT / "pipelines").glob("*.yaml"))


@pytest.mark.parametrize("spec", SPECS, ids=[p.name for p in SPECS])
def test_example_specs_validate(spec):
    assert load_spec_file(spec).name


def test_there_are_example_specs():
    assert len(SPECS) >= 2
