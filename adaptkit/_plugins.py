"""Plugin discovery and hook calls: every plugin, built-in or third-party, comes
through the ``adaptkit`` entry-point group and is registered on one pluggy manager.

A plugin that fails to import, whose hook implementations do not match the
hookspecs, or whose ``adaptkit_sections`` answer is wrong is recorded as
broken (with the reason) and does not stop the others.
``ADAPTKIT_DISABLE_PLUGINS=name,...`` blocks plugins by entry-point name.

The host calls hooks through pluggy (:meth:`PluginHost.call_first`,
:meth:`PluginHost.call_each`): a building hook reaches only the plugin that
declared the section's class (:mod:`adaptkit._calls`), a failure names the
plugin it came from, and every answer is checked (:mod:`adaptkit._answers`).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any, Optional

import pluggy

from . import _hookspecs
from ._answers import check_answer, check_answers
from ._calls import blamed, recording, routed, wrap_impl
from ._errors import AdaptkitError, PluginError
from ._hooknames import did_you_mean, unmarked_hooks
from ._plugin_index import DISABLE_ENV, ENTRY_POINT_GROUP, discover, load_entry_point, read_index, write_index
from ._sections import SECTION_BASES, Section

__all__ = ["PluginInfo", "PluginHost", "get_host", "reset_host", "ENTRY_POINT_GROUP"]


@dataclass
class PluginInfo:
    """What ``adaptkit plugins`` shows about one plugin."""

    name: str
    module: str
    distribution: Optional[str]
    version: Optional[str]
    status: str = "ok"  # "ok", "disabled" or "broken: reason"
    hooks: list[str] = field(default_factory=list)
    sections: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """Functions pluggy will not call (``adaptkit_*`` without ``@hookimpl``): the plugin stays ``ok``."""

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status,
            "hooks": self.hooks,
            "sections": self.sections,
            "warnings": self.warnings,
        }


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text}"


class PluginHost:
    """The pluggy manager plus what was learnt while loading the plugins."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(_hookspecs.PROJECT)
        self.pm.add_hookspecs(_hookspecs)
        self.plugins: dict[str, PluginInfo] = {}
        # section family -> kind -> (section class, plugin name)
        self.sections: dict[str, dict[str, tuple[type[Section], str]]] = {
            family: {} for family in SECTION_BASES
        }

    @property
    def hook(self) -> Any:
        return self.pm.hook

    # -- loading ---------------------------------------------------------
    def load_entry_points(self, found: Optional[list[dict[str, Any]]] = None) -> None:
        """Load and register every plugin of the entry-point group (``found``: as
        :func:`discover` lists them, when already known, e.g. from the plugin index)."""
        disabled = {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}
        for ep in discover() if found is None else found:
            if ep["name"] in self.plugins:
                continue
            info = PluginInfo(name=ep["name"], module=ep["value"], distribution=ep["distribution"], version=ep["version"])
            self.plugins[ep["name"]] = info
            if ep["name"] in disabled:
                info.status = f"disabled ({DISABLE_ENV})"
                continue
            try:
                module = load_entry_point(ep["value"])
            except Exception as exc:  # a broken plugin must not stop the others
                info.status = f"broken: import failed: {_one_line(exc)}"
                continue
            self.register(module, info)

    def register(self, plugin: Any, info: PluginInfo) -> None:
        """Register one plugin object (a module or an instance) under ``info.name``."""
        self.plugins.setdefault(info.name, info)
        try:
            self.pm.register(plugin, name=info.name)
        except Exception as exc:  # pluggy.PluginValidationError, ValueError
            info.status = f"broken: {_one_line(exc)}"
            return
        unknown = [
            impl.plugin_name + "." + name + did_you_mean(name, self._hook_names())
            for name, caller in vars(self.pm.hook).items()
            if isinstance(caller, pluggy.HookCaller) and not caller.has_spec()
            for impl in caller.get_hookimpls()
            if impl.plugin_name == info.name
        ]
        if unknown:
            self.pm.unregister(name=info.name)
            info.status = "broken: implements hooks that adaptkit does not define: " + ", ".join(
                sorted(unknown)
            )
            return
        info.hooks = sorted(
            caller.name
            for caller in self.pm.get_hookcallers(plugin) or []
        )
        info.warnings = unmarked_hooks(plugin, self._hook_names())
        if "adaptkit_sections" in info.hooks:
            try:
                declared = plugin.adaptkit_sections()
                self._add_sections(info, declared)
            except Exception as exc:
                self.pm.unregister(name=info.name)
                info.status = f"broken: adaptkit_sections: {_one_line(exc)}"
                for family in self.sections.values():
                    for kind in [k for k, (_, p) in family.items() if p == info.name]:
                        del family[kind]
                return
        for caller in self.pm.get_hookcallers(plugin) or []:
            for impl in caller.get_hookimpls():
                if impl.plugin is plugin:
                    wrap_impl(impl, self.owner if routed(caller) else None, caller.name)

    def _hook_names(self) -> list[str]:
        return sorted(n for n, c in vars(self.pm.hook).items() if isinstance(c, pluggy.HookCaller) and c.has_spec())

    def _add_sections(self, info: PluginInfo, declared: Any) -> None:
        for cls in list(declared or []):
            if not (isinstance(cls, type) and issubclass(cls, Section)):
                raise TypeError(f"{cls!r} is not a subclass of an adaptkit section base")
            family = next(
                (f for f, base in SECTION_BASES.items() if issubclass(cls, base) and base is not Section),
                None,
            )
            if family is None:
                raise TypeError(f"{cls.__name__} subclasses Section but none of its families")
            kind_field = cls.model_fields.get("kind")
            kinds = getattr(kind_field.annotation, "__args__", ()) if kind_field else ()
            if len(kinds) != 1 or not isinstance(kinds[0], str):
                raise TypeError(f"{cls.__name__}.kind must be a Literal of one string")
            kind = kinds[0]
            other = self.sections[family].get(kind)
            if other is not None and other[1] != info.name:
                raise TypeError(f"{family} kind {kind!r} is already provided by plugin {other[1]!r}")
            self.sections[family][kind] = (cls, info.name)
            info.sections.setdefault(family, []).append(kind)

    # -- queries ---------------------------------------------------------
    def section_classes(self, family: str) -> list[type[Section]]:
        return [cls for cls, _ in self.sections[family].values()]

    def broken(self) -> list[PluginInfo]:
        return [p for p in self.plugins.values() if not p.ok]

    def owner(self, section: Any) -> Optional[str]:
        """The plugin that declared ``type(section)``, or ``None`` when no plugin did."""
        kind = getattr(section, "kind", None)
        if isinstance(kind, str):
            for family in self.sections.values():
                cls, plugin = family.get(kind, (None, None))
                if cls is type(section):
                    return plugin
        return None

    def provider(self, section: Section) -> str:
        return self.owner(section) or "?"

    def _hook(self, hookname: str, where: str, kwargs: dict[str, Any], isolate: bool = False) -> tuple[Any, Any]:
        """Call a hook through pluggy; its result and who gave which answer (and, isolated, who failed)."""
        caller = getattr(self.pm.hook, hookname)
        with recording(isolate) as call:
            try:
                result = caller(**kwargs)
            except AdaptkitError:
                raise
            except Exception as exc:
                raise _failed(where, hookname, blamed(exc), exc) from exc
        return result, call

    def call_first(self, hookname: str, where: str, section: Section, **kwargs: Any) -> Any:
        """Call a firstresult building hook on the plugin that declared the section's class.

        A failure names the plugin that raised; a wrong answer names the plugin that gave it.
        """
        result = self.call_optional(hookname, where, section, **kwargs)
        if result is None:
            raise PluginError(
                where, f"no plugin answered {hookname} for kind {section.kind!r} (declared by {self.provider(section)!r})"
            )
        return result

    def call_optional(self, hookname: str, where: str, section: Section, **kwargs: Any) -> Any:
        """:meth:`call_first` for a hook that a plugin may leave unanswered: ``None`` is an answer."""
        kwargs["section"] = section
        result, call = self._hook(hookname, where, kwargs)
        if result is not None:
            check_answer(hookname, where, call.author(result), result)
        return result

    def call_chain(self, hookname: str, where: str, key: str, value: Any, **kwargs: Any) -> Any:
        """Pass ``value`` (argument ``key``) through every implementation in turn; ``None`` keeps it."""
        caller = getattr(self.pm.hook, hookname)
        for impl in reversed(caller.get_hookimpls()):  # pluggy's calling order
            if impl.hookwrapper or impl.wrapper:
                continue
            arguments = {**kwargs, key: value}
            try:
                result = impl.function(**{name: arguments[name] for name in impl.argnames})
            except AdaptkitError:
                raise
            except Exception as exc:
                raise PluginError(where, f"plugin {impl.plugin_name!r} failed in {hookname}: {_one_line(exc)}") from exc
            if result is not None:
                value = result
        return value

    def call_each(self, hookname: str, where: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a collecting hook; ``(plugin, answer)`` for every non-``None`` answer, each checked."""
        results, call = self._hook(hookname, where, kwargs)
        answers = call.authored(list(results))
        check_answers(hookname, where, answers)
        return answers

    def call_each_isolated(self, hookname: str, where: str, **kwargs: Any) -> tuple[list[tuple[str, Any]], list[AdaptkitError]]:
        """Call a collecting hook, each plugin on its own: ``(answers, errors)``.

        A plugin that raises, or whose answer is wrong (or repeats another plugin's key), is
        left out of the answers and reported in the errors, as a ``PluginError`` naming it and
        the hook (an ``AdaptkitError`` it raised stays as it is); the others' answers stand.
        A hook wrapper that fails ends the whole call: no answers, its error.
        """
        try:
            results, call = self._hook(hookname, where, kwargs, isolate=True)
        except AdaptkitError as exc:
            return [], [exc]
        errors: list[AdaptkitError] = []
        for plugin, exc in call.failures:
            errors.append(exc if isinstance(exc, AdaptkitError) else _failed(where, hookname, blamed(exc) or plugin, exc))
        answers: list[tuple[str, Any]] = []
        for plugin, answer in call.authored(list(results)):
            try:
                check_answers(hookname, where, answers + [(plugin, answer)])
            except PluginError as exc:
                errors.append(exc)
                continue
            answers.append((plugin, answer))
        return answers, errors


def _failed(where: str, hookname: str, plugin: Optional[str], exc: Exception) -> PluginError:
    """The one-line error for an exception out of a hook: the plugin it came from, the hook, the reason."""
    who = f"plugin {plugin!r} failed in {hookname}" if plugin else f"{hookname} failed"
    error = PluginError(where, f"{who}: {_one_line(exc)}")
    error.__cause__ = exc
    return error


_HOST: Optional[PluginHost] = None


def get_host() -> PluginHost:
    """The process-wide plugin host, loading the entry points on first use (listed by the
    plugin index while it is valid, :mod:`adaptkit._plugin_index`)."""
    global _HOST
    if _HOST is None:
        host = PluginHost()
        found = (read_index() or {}).get("entry_points")
        if found is None:
            found = discover()
            host.load_entry_points(found)
            if not any(p.status.startswith("broken") for p in host.plugins.values()):  # disabled ones are fine
                write_index(entry_points=found, plugins=plugin_rows(host))
        else:
            host.load_entry_points(found)
        _HOST = host
    return _HOST


def plugin_rows(host: PluginHost) -> list[dict[str, Any]]:
    """What ``adaptkit plugins --json`` prints: one dict per plugin."""
    return [p.as_dict() for p in host.plugins.values()]


def reset_host() -> None:
    """Forget the loaded plugins (tests, or after installing a plugin)."""
    global _HOST
    _HOST = None
