"""Post-import hooks: import a plugin's Keras-class module as soon as Keras itself is imported.

No TensorFlow import here, and nothing else heavy: plugin packages call
:func:`register_keras_classes` when the light CLI verbs load them. (``wrapt``'s
post-import hooks did this before; ``import wrapt`` 2.x also imports ``asyncio``,
about 50 ms of every ``adaptkit validate`` on a 2-core machine, for one hook.)

The hook is a :data:`sys.meta_path` finder that answers only for a watched module
name: it asks the other finders for the module's spec and wraps its loader so
the hooks run right after the module has executed, as ``wrapt`` does.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import sys
from typing import Any, Callable

__all__ = ["register_keras_classes", "when_imported"]

_HOOKS: dict[str, list[Callable[[Any], None]]] = {}
_FINDING: set[str] = set()


class _Loader:
    """A module's own loader, then the hooks waiting for it."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> Any:
        return self.loader.create_module(spec)

    def exec_module(self, module: Any) -> None:
        module.__loader__ = self.loader  # the module sees its own loader (resources, reload)
        module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        for hook in _HOOKS.pop(module.__name__, []):
            hook(module)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self.loader, name)


class _Finder:
    """On ``sys.meta_path``: finds nothing itself; wraps the loader of a watched module."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> Any:
        if name not in _HOOKS or name in _FINDING:
            return None
        _FINDING.add(name)
        try:
            spec = importlib.util.find_spec(name)  # the finders after this one
        finally:
            _FINDING.discard(name)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _Loader(spec.loader)
        return spec

    def invalidate_caches(self) -> None:
        pass


_FINDER = _Finder()


def when_imported(name: str, hook: Callable[[Any], None]) -> None:
    """Call ``hook(module)`` once module ``name`` is imported: now, if it already is."""
    module = sys.modules.get(name)
    if module is not None:
        hook(module)
        return
    _HOOKS.setdefault(name, []).append(hook)
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def register_keras_classes(module: str, after: str = "keras") -> None:
    """Import ``module`` (which registers Keras classes) as soon as ``after`` is imported.

    At once when ``after`` is already imported; otherwise when it is, so calling
    this costs no TensorFlow import. A failure to import ``module`` is logged,
    never raised into the user's ``import keras``.
    """

    def hook(_: Any) -> None:
        try:
            importlib.import_module(module)
        except Exception as exc:  # a broken plugin must not break `import keras`
            logging.getLogger("adaptkit").warning("%s: its Keras classes are not registered (%s: %s)", module, type(exc).__name__, exc)

    when_imported(after, hook)
