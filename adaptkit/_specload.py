"""Parsing spec text within bounds: size, nesting depth, alias expansion, integer length, no duplicate keys.

A spec is small; these limits keep a hostile or broken one from costing minutes and
gigabytes (a "billion laughs" of nested YAML aliases), from overflowing the parser's
recursion, or from slipping a second value of a key past the reader. Every refusal is
a one-line :class:`SpecError` at the dotted path of the value (or at the file). YAML is
read with PyYAML's safe loader, extended to count what aliases expand to and to read
``1e-3`` as the number it means (YAML 1.1 wants ``1.0e-3``); JSON with the standard
library. No TensorFlow here.
"""

from __future__ import annotations

import json
import re
from typing import Any, Optional, Sequence

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.nodes import Node, ScalarNode
from yaml.resolver import Resolver

from ._errors import SpecError, shown

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_VALUES", "MAX_INT_DIGITS", "parse_yaml", "parse_json", "check_tree", "dotted"]

MAX_BYTES = 1 << 20
"""The largest spec file read (1 MiB; specs are a few KB)."""
MAX_DEPTH = 64
"""The deepest nesting of mappings and lists (the deepest real spec nests about 8)."""
MAX_VALUES = 10_000
"""The most values (keys, items, scalars) a spec may hold once its aliases are expanded (a
large real spec holds a few hundred; a list of 1,000 class names is a thousand)."""
MAX_INT_DIGITS = 100
"""The longest integer literal (Python refuses to read one of over 4,300 digits)."""

_INT_TAG = "tag:yaml.org,2002:int"
_MERGE_TAG = "tag:yaml.org,2002:merge"


def dotted(parts: Sequence[Any]) -> str:
    """A dotted spec path, each part (and the whole) cut to a readable length."""
    return shown(".".join(shown(str(p), quote=False) for p in parts if p is not None), 240, quote=False)


try:  # libyaml scans and parses; the composing below stays in Python, so that it can count
    from yaml._yaml import CParser

    _READERS: tuple = (CParser,)

    def _start_reading(loader: Any, text: str) -> None:
        CParser.__init__(loader, text)

except ImportError:  # pragma: no cover - PyYAML built without libyaml: all in Python, slower
    from yaml.parser import Parser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    _READERS = (Reader, Scanner, Parser)

    def _start_reading(loader: Any, text: str) -> None:
        Reader.__init__(loader, text)
        Scanner.__init__(loader)
        Parser.__init__(loader)


class _SpecLoader(Composer, *_READERS, SafeConstructor, Resolver):  # type: ignore[misc]
    """A safe loader, counting the values each node stands for (aliases included) as it composes."""

    def __init__(self, text: str, where: str, prefix: Sequence[str] = ()):
        _start_reading(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self.where = where
        self.path: list[Optional[str]] = list(prefix)
        self.sizes: dict[int, int] = {}  # id(node) -> values it stands for, set once composed
        self.values = 0
        self.depth = len(self.path)

    def place(self, extra: Optional[str] = None) -> str:
        return dotted([*self.path, extra]) or self.where

    def count(self, n: int, mark: Any) -> None:
        self.values += n
        if self.values > MAX_VALUES:
            raise SpecError(
                self.place(),
                f"line {mark.line + 1}: the spec holds more than {MAX_VALUES:,} values, aliases expanded",
            )

    def compose_node(self, parent: Optional[Node], index: Any) -> Node:
        part = None if index is None else (str(index.value) if isinstance(index, ScalarNode) else str(index))
        self.path.append(part)
        step = int(parent is not None)  # keys (index None) nest too: '? ' block keys escaped a count of values only
        self.depth += step
        try:
            if self.depth > MAX_DEPTH:
                raise SpecError(self.place(), f"nested deeper than {MAX_DEPTH} levels")
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                node = self.anchors.get(event.anchor)
                if node is not None:
                    if id(node) not in self.sizes:
                        raise SpecError(
                            self.place(), f"line {event.start_mark.line + 1}: alias *{shown(event.anchor, quote=False)} refers to a value that contains it"
                        )
                    self.count(self.sizes[id(node)], event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self.path.pop()
            self.depth -= step

    def compose_scalar_node(self, anchor: Optional[str]) -> Node:
        node = super().compose_scalar_node(anchor)
        if node.tag == _INT_TAG and len(node.value) > MAX_INT_DIGITS:
            raise SpecError(self.place(), f"an integer of {len(node.value):,} digits is too large (at most {MAX_INT_DIGITS})")
        self.sizes[id(node)] = 1
        self.count(1, node.start_mark)
        return node

    def compose_sequence_node(self, anchor: Optional[str]) -> Node:
        self.count(1, self.peek_event().start_mark)
        node = super().compose_sequence_node(anchor)
        self.sizes[id(node)] = 1 + sum(self.sizes[id(item)] for item in node.value)
        return node

    def compose_mapping_node(self, anchor: Optional[str]) -> Node:
        self.count(1, self.peek_event().start_mark)
        node = super().compose_mapping_node(anchor)
        first: dict[tuple, int] = {}
        for key, _ in node.value:
            if isinstance(key, ScalarNode) and key.tag != _MERGE_TAG:
                line = key.start_mark.line + 1
                if (key.tag, key.value) in first:
                    raise SpecError(self.place(key.value), f"duplicate key (line {line}; first given on line {first[key.tag, key.value]})")
                first[key.tag, key.value] = line
        self.sizes[id(node)] = 1 + sum(self.sizes[id(k)] + self.sizes[id(v)] for k, v in node.value)
        return node


# YAML 1.1 reads 1e-3 and 1E5 as strings; specs mean numbers (JSON and YAML 1.2 agree).
_SpecLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"),
)


def parse_yaml(text: str, where: str, prefix: Sequence[str] = ()) -> Any:
    """The value of a YAML document, within the bounds above. ``where`` names it in messages
    (the file, or ``--set``); ``prefix`` is the spec path the document stands at."""
    loader = _SpecLoader(text, where, prefix)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


class _Pairs(dict):
    """A JSON object, remembering the keys given twice."""

    duplicates: tuple = ()


def _pairs(items: list[tuple[str, Any]]) -> _Pairs:
    out = _Pairs(items)
    if len(out) != len(items):
        keys = [k for k, _ in items]
        out.duplicates = tuple(sorted({k for k in keys if keys.count(k) > 1}))
    return out


class _LongInt:
    """A JSON integer literal too long to read (reported with its path by :func:`check_tree`)."""

    def __init__(self, digits: int):
        self.digits = digits


def _int(literal: str) -> Any:
    return int(literal) if len(literal) <= MAX_INT_DIGITS else _LongInt(len(literal))


def parse_json(text: str, where: str) -> Any:
    """The value of a JSON document, within the bounds above."""
    try:
        data = json.loads(text, object_pairs_hook=_pairs, parse_int=_int)
    except RecursionError:
        raise SpecError(where, f"nested deeper than {MAX_DEPTH} levels") from None
    check_tree(data, where)
    return _plain(data)


def _plain(value: Any) -> Any:
    """JSON's objects as plain dicts (after :func:`check_tree`, so the depth is bounded)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def check_tree(data: Any, where: str = "") -> None:
    """Refuse a value nested deeper than :data:`MAX_DEPTH`, holding more than :data:`MAX_VALUES`
    values, a key given twice (JSON) or an integer too long to read. Iterative: no recursion."""
    stack: list[tuple[Any, tuple]] = [(data, ())]
    values = 0
    while stack:
        node, path = stack.pop()
        values += 1
        if values > MAX_VALUES:
            raise SpecError(where, f"the spec holds more than {MAX_VALUES:,} values")
        if isinstance(node, _LongInt):
            raise SpecError(dotted(path) or where, f"an integer of {node.digits:,} digits is too large (at most {MAX_INT_DIGITS})")
        if len(path) > MAX_DEPTH:
            raise SpecError(dotted(path), f"nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, (dict, list)):
            if getattr(node, "duplicates", ()):
                raise SpecError(dotted([*path, node.duplicates[0]]), "duplicate key")
            items = node.items() if isinstance(node, dict) else enumerate(node)
            stack.extend((value, (*path, key)) for key, value in items)
