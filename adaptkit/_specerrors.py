"""Pydantic's validation errors as one-line SpecErrors: dotted paths, plain words, short echoes, did-you-mean.

A pydantic location names the members of unions it tried (``source.mlp.units``,
``training.backup.constrained-int``); the spec path a user reads has none of them. A
misspelt key is matched (difflib) against the keys of the model at that place. Values
echoed in a message are cut (:func:`adaptkit._errors.shown`). No TensorFlow here.
"""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, Optional

from pydantic import BaseModel, ValidationError

from ._errors import SpecError, shown
from ._families import nested_family
from ._plugins import PluginHost, get_host
from ._specload import dotted

__all__ = ["SpecErrors", "spec_errors"]

MAX_MESSAGE = 400
"""The longest message of one error (the rest is cut with '…')."""
MAX_ERRORS = 50
"""The most errors reported for one spec; a last line says how many more there are."""


class SpecErrors(SpecError):
    """Several spec errors at once (``validate`` prints each on its own line)."""

    def __init__(self, errors: list[SpecError]):
        self.errors = errors
        first = errors[0] if errors else SpecError("", "invalid spec")
        super().__init__(first.where, first.message)


def _clean_loc(loc: tuple, data: Any, tags: frozenset = frozenset()) -> tuple[str, bool]:
    """(dotted spec path, whether union members were left out) from a pydantic location.

    A tag of a kind union (``mlp``) is left out, and so is every part of the location
    below a value that is neither a mapping nor a list (the members of a union of
    scalar types: ``literal['epoch','off']``, ``constrained-int``). ``tags``: every kind
    the host knows; one that is not a key of the mapping at hand (a default kind, filled
    in) is left out too."""
    parts: list[Any] = []
    node = data
    missing = unioned = False
    for item in loc:
        if isinstance(node, dict):
            if item in node:
                node = node[item]
                parts.append(item)
            elif item in (node.get("kind"), node.get("name")) or item in tags:  # a union's tag
                continue
            else:
                parts.append(item)
                node, missing = None, True
        elif isinstance(node, list) and isinstance(item, int) and item < len(node):
            node = node[item]
            parts.append(item)
        elif not missing and isinstance(item, str):  # below a scalar: a union member's label
            unioned = True
        else:
            parts.append(item)
            node = None
    return dotted(parts), unioned


def _origin(annotation: Any) -> Any:
    return typing.get_origin(annotation)


def _kinds(cls: Any) -> tuple:
    field = getattr(cls, "model_fields", {}).get("kind")
    return typing.get_args(field.annotation) if field is not None else ()


def _keys_at(annotation: Any, loc: tuple, host: PluginHost) -> Optional[list[str]]:
    """The keys that the model at ``loc`` (below ``annotation``; a pydantic location, union tags
    included) accepts; ``None`` when the location leads to no model."""
    origin = _origin(annotation)
    if origin is typing.Annotated:
        family = next(filter(None, map(nested_family, annotation.__metadata__)), None)
        members = host.section_classes(family) if family else [typing.get_args(annotation)[0]]
        return _in_union(members, loc, host)
    if origin in (typing.Union, types.UnionType):
        return _in_union([a for a in typing.get_args(annotation) if a is not type(None)], loc, host)
    if origin in (list, tuple, set, frozenset):
        args = [a for a in typing.get_args(annotation) if a is not Ellipsis]
        if not loc or not isinstance(loc[0], int) or not args:
            return None
        return _keys_at(args[min(loc[0], len(args) - 1)] if origin is tuple else args[0], loc[1:], host)
    if origin is dict:
        return _keys_at(typing.get_args(annotation)[1], loc[1:], host) if loc else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = annotation.model_fields
        if not loc:
            return sorted({*fields, *(f.alias for f in fields.values() if f.alias)})
        name = next((n for n, f in fields.items() if loc[0] in (n, f.alias)), None)
        if name is None:
            return None
        field = fields[name]
        family = next(filter(None, map(nested_family, field.metadata)), None)
        if family:
            return _in_union(host.section_classes(family), loc[1:], host)
        return _keys_at(field.annotation, loc[1:], host)
    return None


def _in_union(members: list, loc: tuple, host: PluginHost) -> Optional[list[str]]:
    if loc and isinstance(loc[0], str):
        tagged = [m for m in members if loc[0] in _kinds(m)]
        if tagged:
            return _keys_at(tagged[0], loc[1:], host)
    for member in members:
        keys = _keys_at(member, loc, host)
        if keys is not None:
            return keys
    return None


def _unknown_key(loc: tuple, model: Optional[type], host: PluginHost) -> str:
    key = loc[-1] if loc else None
    keys = _keys_at(model, tuple(loc[:-1]), host) if model is not None and isinstance(key, str) else None
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.75) if keys else []
    return f"unknown key; did you mean {close[0]!r}?" if close else "unknown key (misspelt?)"


def spec_errors(
    exc: ValidationError, data: Any, host: Optional[PluginHost] = None, model: Optional[type] = None
) -> list[SpecError]:
    """One ``SpecError`` per place, with dotted paths and plain messages; ``model`` (the spec's
    model) lets an unknown key be matched against the keys it could have meant."""
    host = host or get_host()
    broken = [f"{p.name} ({p.status})" for p in host.broken()]
    tags = frozenset(kind for family in host.sections.values() for kind in family)
    out: list[SpecError] = []
    union_places: dict[str, int] = {}
    errors = exc.errors(include_url=False, include_input=True)
    for n, err in enumerate(errors):
        if len(out) == MAX_ERRORS:
            out.append(SpecError("", f"and {len(errors) - n:,} more errors, not shown"))
            break
        where, unioned = _clean_loc(tuple(err["loc"]), data, tags)
        msg = err["msg"]
        kind_of = err["type"] in ("union_tag_invalid", "union_tag_not_found") or (
            err["type"] == "literal_error" and where.endswith("kind")
        )
        if err["type"] == "extra_forbidden":
            msg = _unknown_key(tuple(err["loc"]), model, host)
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
                msg = f"unknown {word} {shown(given)}; installed plugins provide: {expected}"
            if broken:
                msg += "; broken plugins: " + ", ".join(broken)
        if err["type"] == "value_error" and msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        msg = shown(msg, MAX_MESSAGE, quote=False)
        if unioned and where in union_places:  # another member of the same union: one line
            i = union_places[where]
            if msg not in out[i].message:
                out[i] = SpecError(where, f"{out[i].message}; or: {msg[0].lower()}{msg[1:]}")
            continue
        if unioned:
            union_places[where] = len(out)
        out.append(SpecError(where, msg))
    return out
