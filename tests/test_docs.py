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
    assert load_spec_file(spec, check_files=False).name


def test_there_are_example_specs():
    assert len(SPECS) >= 2


@pytest.fixture(scope="module")
def made_data(tmp_path_factory) -> Path:
    """A folder laid out as `make data` lays out the repository: data/digits written by prepare_data.py."""
    import subprocess
    import sys

    root = tmp_path_factory.mktemp("repo")
    subprocess.run([sys.executable, str(ROOT / "pipelines/prepare_data.py"), "digits", str(root / "data/digits"), "--size", "28"],
                   check=True, capture_output=True)
    return root


@pytest.mark.parametrize("doc", ["README.md", "docs/multi-task.md", "docs/distribution.md"])
def test_the_first_spec_shown_in_a_doc_runs_on_make_datas_files(doc, made_data):
    """The README's minimal spec and the multi-task page's spec, saved in the repository root as
    the text says, run as shown (one epoch, to keep the test short)."""
    import yaml

    from adaptkit.testing import run_spec

    block = re.findall(r"```yaml\n(.*?)```", (ROOT / doc).read_text(), re.S)[0]
    spec = yaml.safe_load(block)
    for stage in spec["training"]["stages"]:
        stage["epochs"] = 1
    spec["training"]["verbose"] = 0
    spec.setdefault("evaluation", {})["plots"] = False
    spec["evaluation"]["baseline_epochs"] = 1
    run = run_spec(made_data, spec, name=spec.get("name", "doc"))
    assert run.result["headline"]["value"] is not None


def test_the_readmes_saved_model_snippet_predicts_on_raw_values(made_data, monkeypatch, capsys):
    """After the README's minimal spec (scale 0.0039), its snippet loads model.keras with plain Keras
    and predicts on the file's raw 0..255 values (1 epoch here: well above chance, 0.1)."""
    import yaml

    from adaptkit.testing import run_spec

    readme = (ROOT / "README.md").read_text()
    spec = yaml.safe_load(re.findall(r"```yaml\n(.*?)```", readme, re.S)[0])
    spec["training"]["stages"] = [dict(spec["training"]["stages"][0], epochs=1)]
    spec["training"]["verbose"] = 0
    spec["evaluation"] = {"plots": False}
    run_spec(made_data, spec, name=spec["name"])
    snippet = next(b for b in re.findall(r"```python\n(.*?)```", readme, re.S) if "load_model" in b)
    monkeypatch.chdir(made_data)
    exec(compile(snippet, "README.md", "exec"), {})
    assert float(capsys.readouterr().out.split()[-1]) > 0.3


def _hook_sections() -> dict[str, str]:
    text = (ROOT / "docs" / "hooks.md").read_text()
    parts = re.split(r"^## (adaptkit_\w+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2]))


@pytest.mark.parametrize("hook", hook_names())
def test_each_hooks_signature_in_the_docs_is_the_hookspecs(hook):
    """docs/hooks.md cannot drift from adaptkit/_hookspecs.py: the first signature shown in a hook's
    section has the hookspec's arguments, in order, and says `(firstresult)` exactly when it is."""
    import inspect

    body = _hook_sections()[hook]
    shown = re.search(rf"`{hook}\(([^)]*)\)(?: -> [^`]+)?`(\s+\(firstresult\))?", body)
    assert shown, f"docs/hooks.md's '## {hook}' does not start with `{hook}(...) -> ...`"
    documented = [a.strip() for a in shown.group(1).split(",") if a.strip()]
    spec = getattr(_hookspecs, hook)
    assert documented == list(inspect.signature(spec).parameters), f"{hook}: docs show ({', '.join(documented)})"
    firstresult = bool(getattr(spec, _hookspecs.PROJECT + "_spec")["firstresult"])  # pluggy's marker
    assert bool(shown.group(2)) == firstresult, f"{hook}: (firstresult) {'missing' if firstresult else 'shown but it is not'}"
