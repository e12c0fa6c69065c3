"""The plugin index: ``plugins`` and ``schema`` answer from it without loading a plugin, and it
is dropped as soon as a plugin is installed, removed or edited, or its entry point changes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from adaptkit import get_host, reset_host
from adaptkit._plugin_index import cached, read_index

PLUGIN = '''
"""A third-party plugin: one head kind."""
from typing import Literal
import adaptkit

class ProbeHead(adaptkit.HeadSection):
    """A probe head."""
    kind: Literal["{kind}"]

@adaptkit.hookimpl
def adaptkit_sections():
    return [ProbeHead]
'''

PROBE = (
    "import sys\nfrom adaptkit.cli import main\n"
    "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
    "print('LOADED', sorted(m for m in ('pydantic', 'pluggy', 'importlib.metadata', 'adaptkit_core') if m in sys.modules), file=sys.stderr)"
)


@pytest.fixture
def site(tmp_path, monkeypatch):
    """A folder on the subprocesses' PYTHONPATH, where plugins are 'installed'; a cache of their own."""
    folder = tmp_path / "site"
    folder.mkdir()
    monkeypatch.setenv("ADAPTKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(folder), os.environ.get("PYTHONPATH", "")]))
    monkeypatch.delenv("ADAPTKIT_PLUGIN_INDEX", raising=False)
    return folder


def install(site: Path, name: str, kind: str, version: str = "1.0") -> None:
    (site / f"{name}.py").write_text(textwrap.dedent(PLUGIN.format(kind=kind)))
    dist = site / f"{name}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text(f"[adaptkit]\n{name} = {name}\n")


def cli(*args: str, index: bool = True) -> tuple[str, list[str]]:
    """stdout of ``adaptkit ARGS`` in a fresh process, and which heavy modules it loaded."""
    env = dict(os.environ, **({} if index else {"ADAPTKIT_PLUGIN_INDEX": "off"}))
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=120, env=env)
    loaded = [line for line in out.stderr.splitlines() if line.startswith("LOADED")]
    assert out.returncode == 0 and loaded, out.stderr[-2000:]
    return out.stdout, json.loads(loaded[-1].removeprefix("LOADED ").replace("'", '"'))


def head_kinds(schema_text: str) -> set[str]:
    defs = json.loads(schema_text)["$defs"]
    return {d["properties"]["kind"]["const"] for d in defs.values() if "kind" in d.get("properties", {}) and "const" in d["properties"]["kind"]}


def test_a_warm_index_answers_plugins_and_schema_as_discovery_does_without_loading_a_plugin(site):
    install(site, "probe_one", "probe_one_head")
    fresh_schema, loaded = cli("schema")  # discovers, and writes the index
    assert "pydantic" in loaded and "adaptkit_core" in loaded
    warm_schema, loaded = cli("schema")
    assert loaded == []  # no pydantic, no pluggy, no entry-point scan, no plugin
    assert warm_schema == fresh_schema == cli("schema", index=False)[0]
    assert "probe_one_head" in head_kinds(warm_schema)
    warm_plugins, loaded = cli("plugins", "--json")
    assert loaded == [] and warm_plugins == cli("plugins", "--json", index=False)[0]
    assert "probe_one" in [p["name"] for p in json.loads(warm_plugins)]


def test_validate_with_a_warm_index_loads_the_plugins_but_scans_no_entry_points(site, spec_file):
    spec = str(spec_file())
    watch = "import sys, adaptkit._plugin_index as index\nscan = index.discover\nindex.discover = lambda: print('SCANNED', file=sys.stderr) or scan()\n"
    runs = [subprocess.run([sys.executable, "-c", watch + PROBE, "validate", "--no-files", spec], capture_output=True, text=True, timeout=120)
            for _ in range(2)]
    assert [r.stdout.strip().endswith(": ok") for r in runs] == [True, True], runs[1].stderr[-2000:]
    assert ["SCANNED" in r.stderr for r in runs] == [True, False]  # the second took the index's entry points
    assert "adaptkit_core" in runs[1].stderr  # and loaded the plugins, to validate


def test_installing_removing_editing_a_plugin_or_its_entry_point_drops_the_index(site):
    cli("schema")
    install(site, "probe_two", "probe_two_head")  # installed after the index was written
    assert "probe_two_head" in head_kinds(cli("schema")[0])
    module = site / "probe_two.py"
    module.write_text(module.read_text().replace("probe_two_head", "probe_two_edited"))  # its code edited
    kinds = head_kinds(cli("schema")[0])
    assert "probe_two_edited" in kinds and "probe_two_head" not in kinds
    (site / "probe_two-1.0.dist-info" / "entry_points.txt").write_text("[adaptkit]\n")  # entry point removed in place
    assert "probe_two_edited" not in head_kinds(cli("schema")[0])
    assert "probe_two" not in [p["name"] for p in json.loads(cli("plugins", "--json")[0])]
    install(site, "probe_three", "probe_three_head")
    assert "probe_three" in [p["name"] for p in json.loads(cli("plugins", "--json")[0])]
    for path in (site / "probe_three-1.0.dist-info").iterdir():  # uninstalled
        path.unlink()
    (site / "probe_three-1.0.dist-info").rmdir()
    assert "probe_three" not in [p["name"] for p in json.loads(cli("plugins", "--json")[0])]


def test_disabling_a_plugin_is_a_different_index(site, monkeypatch):
    cli("plugins", "--json")
    monkeypatch.setenv("ADAPTKIT_DISABLE_PLUGINS", "gan")
    rows = {p["name"]: p["status"] for p in json.loads(cli("plugins", "--json")[0])}
    assert rows["gan"].startswith("disabled")
    out, loaded = cli("plugins", "--json")  # an index of its own, used
    assert loaded == [] and {p["name"]: p["status"] for p in json.loads(out)} == rows
    monkeypatch.delenv("ADAPTKIT_DISABLE_PLUGINS")
    assert {p["name"]: p["status"] for p in json.loads(cli("plugins", "--json")[0])}["gan"] == "ok"


def test_a_broken_plugin_is_not_kept_in_the_index(site):
    (site / "probe_broken.py").write_text("import a_module_nobody_installed\n")
    dist = site / "probe_broken-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: probe-broken\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[adaptkit]\nprobe_broken = probe_broken\n")
    for _ in range(2):
        rows = {p["name"]: p["status"] for p in json.loads(cli("plugins", "--json")[0])}
        assert rows["probe_broken"].startswith("broken: import failed")
    assert not list((site.parent / "cache").glob("*.json"))
    (site / "a_module_nobody_installed.py").write_text("")  # the missing module appears
    rows = {p["name"]: p["status"] for p in json.loads(cli("plugins", "--json")[0])}
    assert rows["probe_broken"] == "ok"


def test_a_process_with_a_plugin_host_of_its_own_does_not_answer_from_the_index(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPTKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("ADAPTKIT_PLUGIN_INDEX", raising=False)
    # a fresh process with this one's sys.path writes the index this process reads
    code = f"import sys; sys.path[:] = {sys.path!r}; from adaptkit import get_host; get_host()"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
    reset_host()
    assert read_index() is not None and "plugins" in read_index()
    assert cached("plugins") is not None
    try:
        get_host()
        assert cached("plugins") is None  # a host exists: its plugins may have been added to
    finally:
        reset_host()


def test_the_index_can_be_turned_off(tmp_path, monkeypatch):
    monkeypatch.setenv("ADAPTKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("ADAPTKIT_PLUGIN_INDEX", "off")
    reset_host()
    try:
        get_host()
    finally:
        reset_host()
    assert not (tmp_path / "cache").exists() and read_index() is None
