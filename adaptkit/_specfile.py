"""Reading specs: YAML/JSON files, ``--set`` overrides, and pydantic's errors as dotted SpecErrors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Optional, Union

import yaml
from pydantic import ValidationError

from ._errors import SpecError
from ._plugins import PluginHost, get_host
from ._spec import build_spec_model

__all__ = ["SpecErrors", "read_spec_file", "parse_overrides", "apply_overrides", "spec_errors", "load_spec", "load_spec_file"]

def read_spec_file(path: Union[str, Path]) -> dict[str, Any]:
    p = Path(path)
    if not p.is_file():
        raise SpecError(str(path), "no such spec file")
    try:
        text = p.read_text(encoding="utf-8")
        data = json.loads(text) if p.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(str(path), f"cannot read: {exc}") from exc
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(str(path), f"not valid YAML/JSON{at}: {problem}") from exc
    if not isinstance(data, dict):
        raise SpecError(str(path), "a spec must be a mapping of keys to values")
    return data


def parse_overrides(items: Optional[list[str]]) -> list[tuple[list[str], Any]]:
    """``path.to.key=value`` strings -> (path, YAML-parsed value)."""
    out = []
    for item in items or []:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise SpecError("--set", f"{item!r} is not path.to.key=value")
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        out.append((key.strip().split("."), value))
    return out


def apply_overrides(data: dict[str, Any], overrides: list[tuple[list[str], Any]]) -> dict[str, Any]:
    for path, value in overrides:
        node: Any = data
        for i, part in enumerate(path):
            last = i == len(path) - 1
            where = ".".join(path[: i + 1])
            if isinstance(node, list):
                if not part.isdigit() or int(part) >= len(node):
                    raise SpecError(where, f"--set: no list item {part} (the list has {len(node)})")
                if last:
                    node[int(part)] = value
                else:
                    node = node[int(part)]
            elif isinstance(node, dict):
                if last:
                    node[part] = value
                else:
                    node = node.setdefault(part, {})
            else:
                raise SpecError(where, "--set: the parent is not a mapping or list")
    return data


def _clean_loc(loc: tuple, data: Any, tags: frozenset = frozenset()) -> str:
    """A dotted spec path from a pydantic location, without union tags.

    ``tags``: every kind the host knows; a tag that is not a key of the mapping
    at hand (a default kind, filled in) is left out too."""
    parts: list[str] = []
    node = data
    for item in loc:
        if isinstance(node, dict):
            if item in node:
                node = node[item]
                parts.append(str(item))
            elif item in (node.get("kind"), node.get("name")) or item in tags:  # a union's tag
                continue
            else:
                parts.append(str(item))
                node = None
        elif isinstance(node, list) and isinstance(item, int) and item < len(node):
            node = node[item]
            parts.append(str(item))
        else:
            parts.append(str(item))
            node = None
    return ".".join(parts)


def spec_errors(exc: ValidationError, data: Any, host: Optional[PluginHost] = None) -> list[SpecError]:
    """One ``SpecError`` per pydantic error, with dotted paths and plain messages."""
    host = host or get_host()
    broken = [f"{p.name} ({p.status})" for p in host.broken()]
    tags = frozenset(kind for family in host.sections.values() for kind in family)
    out = []
    for err in exc.errors(include_url=False):
        where = _clean_loc(tuple(err["loc"]), data, tags)
        msg = err["msg"]
        kind_of = err["type"] in ("union_tag_invalid", "union_tag_not_found") or (
            err["type"] == "literal_error" and where.endswith("kind")
        )
        if err["type"] == "extra_forbidden":
            msg = "unknown key (misspelt?)"
        elif err["type"] == "missing":
            msg = "required key is missing"
        elif kind_of:
            if err["type"] == "union_tag_not_found":
                msg = "needs a 'kind' key"
            else:
                ctx = err.get("ctx") or {}
                given = ctx.get("tag") or err.get("input")
                expected = ctx.get("expected_tags") or ctx.get("expected") or ""
                word = "name" if "'name'" in str(ctx.get("discriminator", "")) else "kind"
                msg = f"unknown {word} {given!r}; installed plugins provide: {expected}"
            if broken:
                msg += "; broken plugins: " + ", ".join(broken)
        if err["type"] == "value_error" and msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        out.append(SpecError(where, msg))
    return out


def load_spec(data: dict[str, Any], host: Optional[PluginHost] = None) -> Any:
    """Validate a spec mapping; raise ``SpecErrors`` listing every problem."""
    host = host or get_host()
    model = build_spec_model(host)
    try:
        return model.model_validate(data, context={"host": host})
    except ValidationError as exc:
        errors = spec_errors(exc, data, host)
        if isinstance(data, dict) and data.get("head") is None and data.get("tasks") is None:
            errors.insert(0, SpecError("head", "required key is missing"))  # the after-check did not run
        raise SpecErrors(errors) from None


def load_spec_file(
    path: Union[str, Path], overrides: Optional[list[str]] = None, host: Optional[PluginHost] = None
) -> Any:
    data = read_spec_file(path)
    data = apply_overrides(data, parse_overrides(overrides))
    return load_spec(data, host)


class SpecErrors(SpecError):
    """Several spec errors at once (``validate`` prints each on its own line)."""

    def __init__(self, errors: list[SpecError]):
        self.errors = errors
        first = errors[0] if errors else SpecError("", "invalid spec")
        super().__init__(first.where, first.message)
