"""How pluggy calls a plugin's hook implementations for the host: routed, blamed and heard.

When a plugin registers, the host replaces the function of each of its
``HookImpl`` objects (in this host's plugin manager only) with a thin wrapper
made by :func:`wrap_impl`. pluggy still does all the calling, so ``tryfirst``,
``trylast``, ``specname``, hook wrappers and ``PluginManager.enable_tracing``
work as pluggy documents them. The wrapper adds three things:

- **routing**: for a building hook (``firstresult`` and takes a ``section``),
  a plugin's function runs only when that plugin declared ``type(section)``
  (or when no plugin did: a section built by hand is offered to every plugin);
  for another plugin's section the wrapper answers ``None`` without calling
  it. Hook wrappers (``wrapper=True``/``hookwrapper=True``) are never routed:
  they see every call.
- **blame**: an exception leaving a plugin's function or hook wrapper (other
  than an ``AdaptkitError``) is tagged with the plugin's name, unless an
  implementation it came through already tagged it: :func:`blamed` reads it.
- **hearing**: while the host records a call (:func:`recording`), each
  non-``None`` answer, and what each hook wrapper returns, is noted with its
  plugin, so the host knows which plugin gave the answer it checks.
- **isolation**: in a call recorded with ``isolate=True``, an exception
  leaving a plugin's function is noted (``Call.failures``) instead of
  propagating, and pluggy goes on with the other plugins: one plugin's bug
  costs only its own answer (the host uses it for ``adaptkit_evaluate``,
  which runs after training).
- **tracing**: with ``ADAPTKIT_TRACE_PLUGINS=1`` in the environment, each
  answer is logged to stderr, one line naming the hook, the section's kind,
  the plugin and the answer's type (:func:`trace`).
"""

from __future__ import annotations

import functools
import os
import sys
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Optional

import pluggy

from ._errors import AdaptkitError

__all__ = ["Call", "recording", "wrap_impl", "blamed", "routed", "trace", "TRACE_ENV"]

TRACE_ENV = "ADAPTKIT_TRACE_PLUGINS"

_BLAME = "_adaptkit_plugin"


@dataclass
class Call:
    """Who answered what during one host call of a hook, in the order pluggy heard them."""

    answers: list[tuple[str, Any]] = field(default_factory=list)
    isolate: bool = False
    """Whether a failing implementation is noted in ``failures`` (its answer missing) and the
    others are still called, instead of the exception ending the call."""
    failures: list[tuple[str, Exception]] = field(default_factory=list)
    """``(plugin, exception)`` for each implementation that raised, in an isolated call."""

    def author(self, answer: Any) -> str:
        """The plugin whose implementation (or hook wrapper) first returned ``answer``."""
        return next((plugin for plugin, heard in self.answers if heard is answer), "?")

    def authored(self, results: list) -> list[tuple[str, Any]]:
        """``(plugin, answer)`` for each answer of a collecting hook.

        An answer that no implementation gave was added by a hook wrapper:
        it is credited to the wrapper that returned the list.
        """
        pool = list(self.answers)
        added_by = self.author(results)
        out = []
        for answer in results:
            i = next((i for i, (_, heard) in enumerate(pool) if heard is answer), None)
            out.append((pool.pop(i)[0] if i is not None else added_by, answer))
        return out


_CURRENT: ContextVar[Optional[Call]] = ContextVar("adaptkit_hook_call", default=None)


@contextmanager
def recording(isolate: bool = False) -> Iterator[Call]:
    """Hear the answers of the hook call made inside the ``with`` block (``isolate``: see :class:`Call`)."""
    call = Call(isolate=isolate)
    token = _CURRENT.set(call)
    try:
        yield call
    finally:
        _CURRENT.reset(token)


def blamed(exc: BaseException) -> Optional[str]:
    """The plugin an exception came out of, or ``None`` (pluggy's or the host's own)."""
    return getattr(exc, _BLAME, None)


def _blame(exc: Exception, plugin: str) -> None:
    if isinstance(exc, (AdaptkitError, pluggy.HookCallError)) or blamed(exc) is not None:
        return
    try:
        setattr(exc, _BLAME, plugin)
    except AttributeError:  # an exception type that takes no attributes
        pass


def _hear(plugin: str, answer: Any) -> None:
    call = _CURRENT.get()
    if call is not None and answer is not None:
        call.answers.append((plugin, answer))


def trace(hookname: str, plugin: str, section: Any, answer: Any) -> None:
    """``adaptkit trace: HOOK(kind=K) <- plugin 'P': TYPE`` on stderr, when ``ADAPTKIT_TRACE_PLUGINS`` is set (not 0)."""
    if os.environ.get(TRACE_ENV, "0").strip() in ("", "0"):
        return
    kind = getattr(section, "kind", None)
    about = f"(kind={kind})" if isinstance(kind, str) else ""
    sys.stderr.write(f"adaptkit trace: {hookname}{about} <- plugin {plugin!r}: {type(answer).__module__}.{type(answer).__qualname__}\n")


def routed(caller: pluggy.HookCaller) -> bool:
    """Whether a hook is routed by section: a ``firstresult`` hook that takes ``section``."""
    spec = caller.spec
    return spec is not None and bool(spec.opts.get("firstresult")) and "section" in spec.argnames


def wrap_impl(impl: pluggy.HookImpl, owner_of: Optional[Callable[[Any], Optional[str]]], hookname: str = "") -> None:
    """Replace ``impl.function`` by a wrapper that routes (when ``owner_of`` is given), blames, hears
    and traces (``hookname``: the hook, for the trace).

    ``owner_of(section)`` names the plugin that declared the section's class,
    or ``None`` when none did.
    """
    function, plugin = impl.function, impl.plugin_name
    if impl.wrapper or impl.hookwrapper:

        @functools.wraps(function)
        def hook_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                result = yield from function(*args, **kwargs)
            except Exception as exc:
                _blame(exc, plugin)
                raise
            _hear(plugin, result)
            return result

        impl.function = hook_wrapper  # type: ignore[misc]  # pluggy marks it Final; it is a plain slot
        return

    section_at = impl.argnames.index("section") if "section" in impl.argnames else None
    at = section_at if owner_of is not None else None

    @functools.wraps(function)
    def implementation(*args: Any, **kwargs: Any) -> Any:
        if at is not None and owner_of(args[at]) not in (None, plugin):  # type: ignore[misc]
            return None  # another plugin's section: this plugin is not asked
        call = _CURRENT.get()
        token = _CURRENT.set(None)  # hook calls made inside the plugin are not this call's answers
        try:
            result = function(*args, **kwargs)
        except Exception as exc:
            _blame(exc, plugin)
            if call is not None and call.isolate:
                call.failures.append((plugin, exc))
                return None
            raise
        finally:
            _CURRENT.reset(token)
        _hear(plugin, result)
        if result is not None:
            trace(hookname or impl.function.__name__, plugin, args[section_at] if section_at is not None else None, result)
        return result

    impl.function = implementation  # type: ignore[misc]
