"""The plugin index: what plugin discovery found (and the JSON Schema it makes), kept on disk while nothing it came from has changed.

No TensorFlow, pydantic or ``importlib.metadata`` import here: reading the index is what
lets ``adaptkit plugins`` and ``adaptkit schema`` answer without loading a plugin, and
``validate``, ``render`` and ``run`` skip the entry-point scan (``importlib.metadata``
reads every installed distribution's metadata).

The index is one JSON file per interpreter, ``sys.path`` and ``ADAPTKIT_DISABLE_PLUGINS``
(``$ADAPTKIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/adaptkit``, else ``~/.cache/adaptkit``).
It holds the modification time and size of everything its answers came from, and is used
only while all of them are unchanged:

- the names of the ``*.dist-info``, ``*.egg-info``, ``*.egg-link`` and ``*.pth`` in every
  ``sys.path`` folder (installing, upgrading or removing a distribution changes them);
- every ``entry_points.txt`` in those metadata folders (an egg-info rewritten in place);
- every module loaded when it was written, outside the standard library (the plugins'
  code, adaptkit's, pydantic's ...).

It is not written while a plugin is broken (a module that failed to import may appear
anywhere), nor in a process that has loaded TensorFlow.

``ADAPTKIT_PLUGIN_INDEX=off`` neither reads nor writes it. A failure to read or write it
is never an error: discovery runs as without it.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import zlib
from typing import Any, Optional

__all__ = [
    "INDEX_ENV", "CACHE_DIR_ENV", "DISABLE_ENV", "ENTRY_POINT_GROUP",
    "discover", "load_entry_point", "index_path", "read_index", "write_index", "cached", "host_is_new",
]

ENTRY_POINT_GROUP = "adaptkit"
DISABLE_ENV = "ADAPTKIT_DISABLE_PLUGINS"
INDEX_ENV = "ADAPTKIT_PLUGIN_INDEX"
CACHE_DIR_ENV = "ADAPTKIT_CACHE_DIR"
_FORMAT = 1
_STDLIB = os.path.dirname(os.__file__) + os.sep


def _enabled() -> bool:
    return os.environ.get(INDEX_ENV, "").strip().lower() not in ("off", "0", "false", "no")


def _context() -> dict[str, Any]:
    """What the index is for: the interpreter, its module search path, the disabled plugins."""
    return {
        "format": _FORMAT,
        "python": sys.executable,
        "version": sys.version,
        "path": list(sys.path),
        "disabled": os.environ.get(DISABLE_ENV, ""),
    }


def index_path(context: Optional[dict[str, Any]] = None) -> str:
    """The index file for this interpreter, ``sys.path`` and disabled plugins."""
    root = os.environ.get(CACHE_DIR_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "adaptkit"
    )
    digest = f"{zlib.crc32(json.dumps(context or _context(), sort_keys=True).encode()):08x}"
    return os.path.join(root, f"plugin-index-{digest}.json")


def _stat(path: str) -> list[int]:
    try:
        st = os.stat(path)
    except OSError:
        return [-1, -1]
    return [st.st_mtime_ns, st.st_size]


def _installed() -> dict[str, list[str]]:
    """By ``sys.path`` folder: the distributions' metadata folders and ``.pth`` files in it."""
    found: dict[str, list[str]] = {}
    for entry in sys.path:
        folder = os.path.abspath(entry or os.curdir)
        try:
            names = os.listdir(folder)
        except OSError:
            names = []
        found[folder] = sorted(n for n in names if n.endswith((".dist-info", ".egg-info", ".egg-link", ".pth")))
    return found


def _watched(installed: dict[str, list[str]]) -> list[str]:
    """The files the discovery's answers depend on: the entry points, the loaded modules' code."""
    paths: set[str] = set()
    for folder, names in installed.items():
        paths.update(os.path.join(folder, n, "entry_points.txt") for n in names if n.endswith("-info"))
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        if isinstance(file, str) and not (file.startswith(_STDLIB) and "-packages" not in file[len(_STDLIB):]):
            paths.add(file)
    return sorted(paths)


def read_index() -> Optional[dict[str, Any]]:
    """The index's parts (``entry_points``, ``plugins``, ``schema`` where written), or ``None``
    when there is none, it is off, or anything it depends on has changed."""
    if not _enabled():
        return None
    context = _context()
    try:
        with open(index_path(context), encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, ValueError):
        return None
    if not isinstance(index, dict) or index.get("context") != context or index.get("installed") != _installed():
        return None
    for path, stamp in index.get("stats", {}).items():
        if _stat(path) != stamp:
            return None
    return index.get("parts") or None


def host_is_new() -> bool:
    """True while this process has no plugin host yet: one built now comes from the entry
    points alone (tests and embedding programs register plugins on an existing host)."""
    plugins = sys.modules.get("adaptkit._plugins")
    return plugins is None or getattr(plugins, "_HOST", None) is None


def cached(part: str) -> Any:
    """One part of a valid index (``plugins``, ``schema``), or ``None``; ``None`` too once this
    process has a plugin host, whose plugins may differ from the entry points'."""
    return (read_index() or {}).get(part) if host_is_new() else None


def write_index(**parts: Any) -> None:
    """Write the index with these parts (JSON values), stamped with what they depend on now.

    Not written in a process that has loaded TensorFlow: its thousands of modules would
    all be watched, and every later read would check them.
    """
    if not _enabled() or "tensorflow" in sys.modules:
        return
    context, installed = _context(), _installed()
    index = {"context": context, "installed": installed, "stats": {p: _stat(p) for p in _watched(installed)}, "parts": parts}
    path = index_path(context)
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as f:
            json.dump(index, f)
        os.replace(temporary, path)
    except (OSError, TypeError, ValueError):
        try:
            os.remove(temporary)
        except OSError:
            pass


def discover() -> list[dict[str, Any]]:
    """The ``adaptkit`` entry points of the installed distributions, by name (the first of a
    name wins): name, value (``module`` or ``module:object``), distribution, version."""
    from importlib.metadata import entry_points

    found: list[dict[str, Any]] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if any(f["name"] == ep.name for f in found):
            continue
        dist = getattr(ep, "dist", None)
        found.append({
            "name": ep.name,
            "value": ep.value,
            "distribution": dist.metadata["Name"] if dist is not None else None,
            "version": dist.version if dist is not None else None,
        })
    return found


def load_entry_point(value: str) -> Any:
    """What an entry point's ``module:object.attr`` value names (``EntryPoint.load``)."""
    module, _, attrs = value.partition(":")
    loaded = importlib.import_module(module.strip())
    for attr in filter(None, attrs.strip().split(".")):
        loaded = getattr(loaded, attr)
    return loaded
