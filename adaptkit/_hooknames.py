"""Spotting hook functions pluggy will never call: ``adaptkit_*`` without ``@hookimpl``, and misspelt hook names.

pluggy registers only the functions that carry the ``@adaptkit.hookimpl`` marker, so a
plugin's ``def adaptkit_attach_head(...)`` without it is silently ignored and its kinds
then fail with "no plugin answered". Discovery notes such functions as warnings of the
plugin (``adaptkit plugins`` lists them, ``adaptkit run`` logs them at start), with the
nearest hook name for a misspelling (``adaptkit_attach_heads``). No TensorFlow here.
"""

from __future__ import annotations

import difflib
import inspect
from types import ModuleType
from typing import Any, Iterable, Optional

__all__ = ["unmarked_hooks", "did_you_mean"]

MARKER = "adaptkit_impl"
"""The attribute pluggy's ``HookimplMarker("adaptkit")`` sets on a marked function."""


def did_you_mean(name: str, hooks: Iterable[str]) -> str:
    """`` (did you mean adaptkit_x?)`` for the nearest hook name, or ``""``."""
    close = difflib.get_close_matches(name, list(hooks), n=1, cutoff=0.75)
    return f" (did you mean {close[0]}?)" if close else ""


def _functions(plugin: Any) -> list[tuple[str, Any]]:
    if isinstance(plugin, ModuleType):
        items = [(n, v) for n, v in vars(plugin).items() if inspect.isfunction(v)]  # pluggy reads every attribute
    else:
        items = [(n, getattr(plugin, n, None)) for n in dir(type(plugin))]
        items = [(n, v) for n, v in items if inspect.ismethod(v) or inspect.isfunction(v)]
    return [(n, v) for n, v in items if n.startswith("adaptkit_")]


def unmarked_hooks(plugin: Any, hooks: Iterable[str]) -> list[str]:
    """One warning per ``adaptkit_*`` function of ``plugin`` that lacks ``@adaptkit.hookimpl``."""
    hooks = sorted(hooks)
    warnings = []
    for name, function in sorted(_functions(plugin)):
        if getattr(function, MARKER, None) is not None:
            continue
        if name in hooks:
            warnings.append(f"{name} is defined without @adaptkit.hookimpl, so it is never called: mark it")
        else:
            hint: Optional[str] = did_you_mean(name, hooks)
            warnings.append(f"{name} is not an adaptkit hook and has no @adaptkit.hookimpl{hint}")
    return warnings
