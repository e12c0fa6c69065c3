"""Untrusted model files never run code: a SavedModel's graph is inspected before TensorFlow loads it.

A SavedModel is a program (TensorFlow ops in a graph and a library of
functions), not data. :func:`inspect_saved_model` reads ``saved_model.pb``
with TensorFlow's own protobufs, without loading it, and walks every op that
loading or calling the model can run, nested functions included. An op is
refused when it

1. is on the denylist of ops known to reach outside the model (run Python,
   read or write files, talk to other devices or machines, run a ``tf.data``
   pipeline, write summaries or debug dumps) — the list names stateless ones
   too, such as ``PyFuncStateless``, ``ReadFile`` and ``MatchingFiles``;
2. is not an op this TensorFlow knows (a custom op is native code from a
   library adaptkit did not load);
3. is *stateful* (its OpDef says so: it keeps state or has effects) and not
   on the allowlist of stateful ops that stay inside the model (variables and
   resource updates, random numbers, lookup tables, tensor arrays, control
   flow and calls whose bodies are inspected too, asserts, prints to the
   console).

Two exceptions, each confined:

- **The SavedModel's own assets.** ``InitializeTableFromTextFile`` (a vocabulary
  file for a lookup table, as BERT preprocessors have) and ``ReadFile`` are
  allowed when their file is one of the model's assets: the path is traced, through
  ``Identity`` ops and function calls, to an asset the loader binds to the file
  under ``<model>/assets/`` (and every asset must lie inside that folder).
- **TensorFlow's own saver.** Every SavedModel carries save and restore
  functions (``SaveV2``, ``RestoreV2``, ``MergeV2Checkpoints``). A TF2
  SavedModel's loader never runs them — it restores variables with Python
  code from ``variables/`` and calls only the functions of the object graph —
  so the functions that the saver's save and restore ops call (found from
  ``saver_def``, not by elimination) may write and read checkpoints if nothing
  else reaches them; everything the object graph names (``__call__``,
  signatures, resource initialisers, restore functions, gradients) and every
  other function get the full rule. In
  a TF1 SavedModel the loader runs the saver's restore op with the model's own
  ``variables/`` path: what only the restore op reaches may read checkpoints,
  what only the save op reaches may also write them.

:func:`check_saved_model` turns findings into one-line :class:`ModelError`s
that name the op, why, where, and the opt-in (``--trust-code``).

Imports TensorFlow (its protobufs and op registry) only when called.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Optional, Union

from ._errors import ModelError
from ._trust_graph import Scope, ancestors, node_of, object_graph_functions, saver_functions, tensor_key
from ._trust_ops import _ASSET_READERS, _CHECKPOINT_READ, _CHECKPOINT_WRITE, _PASSES_INPUTS, _attr_reason, _contained, _denied

__all__ = ["TRUST_FLAG", "Finding", "inspect_saved_model", "check_saved_model", "untrusted_code"]

TRUST_FLAG = "--trust-code"
"""The command-line opt-in; a spec cannot set it."""

# ---------------------------------------------------------------- findings


@dataclass(frozen=True)
class Finding:
    """One op that would run code or reach outside the model."""

    op: str
    reason: str
    place: str
    """``function <name>`` or ``graph node <name>``."""

    def __str__(self) -> str:
        return f"op {self.op} ({self.reason}) in {self.place}"


def _registry() -> Any:
    """TensorFlow's op registry (OpDefs by name): the one private TensorFlow module used here."""
    from tensorflow.python.framework import op_def_registry

    return op_def_registry


def read_saved_model(directory: Union[str, Path], where: str = "") -> Any:
    """The ``SavedModel`` protobuf of a directory, parsed without loading it (ModelError if unreadable)."""
    from google.protobuf import message, text_format
    from tensorflow.core.protobuf import saved_model_pb2

    directory = Path(directory)
    proto = saved_model_pb2.SavedModel()
    binary, text = directory / "saved_model.pb", directory / "saved_model.pbtxt"
    try:
        if binary.is_file():
            proto.ParseFromString(binary.read_bytes())
        elif text.is_file():
            text_format.Parse(text.read_text(encoding="utf-8"), proto)
        else:
            raise ModelError(where or str(directory), f"{directory} is not a SavedModel: it has no saved_model.pb")
    except (OSError, message.DecodeError, text_format.ParseError, UnicodeDecodeError) as exc:
        raise ModelError(
            where or str(directory),
            f"{directory} is not a valid SavedModel: saved_model.pb does not parse ({type(exc).__name__}: {exc})",
        ) from None
    if not proto.meta_graphs:
        raise ModelError(where or str(directory), f"{directory} is not a valid SavedModel: it has no meta graph")
    return proto


# ---------------------------------------------------------------- tracing inputs

_STRICT, _RESTORE, _SAVE = 0, 1, 2
"""How much a walk allows: the full rule; also checkpoint reads; also checkpoint writes."""


class _Walker:
    """Checks every node of the functions (and graph) it walks; collects the findings."""

    def __init__(self, meta_graph: Any) -> None:
        self.registry = _registry()
        self.meta_graph = meta_graph
        self.library = {f.signature.name: f for f in meta_graph.graph_def.library.function}
        self.findings: list[Finding] = []
        self._reported: set[tuple[str, str, str]] = set()
        self._walked: set[tuple[str, frozenset, int]] = set()
        self.visited: set[str] = set()

    def report(self, op: str, reason: str, place: str) -> None:
        key = (op, reason, place)
        if key not in self._reported:
            self._reported.add(key)
            self.findings.append(Finding(op, reason, place))

    # -- one node
    def check_node(self, node: Any, scope: Scope, place: str, is_asset: Any, allowance: int) -> None:
        op = node.op
        if op in self.library:  # a direct call of a library function
            return
        if op in _ASSET_READERS:
            index = _ASSET_READERS[op]
            data = [i for i in node.input if not i.startswith("^")]
            source = scope.origin(data[index]) if index < len(data) else None
            if source is not None and is_asset(source):
                return
            self.report(op, "reads a file that is not one of the SavedModel's own assets", place)
            return
        reason = _denied(op)
        if reason is not None:
            if allowance >= _RESTORE and op in _CHECKPOINT_READ:
                return
            if allowance >= _SAVE and op in _CHECKPOINT_WRITE:
                return
            self.report(op, reason, place)
            return
        reason = _attr_reason(node)
        if reason is not None:
            self.report(op, reason, place)
            return
        op_def = self.registry.get(op)
        if op_def is None:
            self.report(op, "not an op this TensorFlow knows: a custom op is native code from another library", place)
            return
        if op_def.is_stateful and not _contained(op):
            self.report(op, "stateful, with effects adaptkit cannot vouch for", place)

    # -- calls out of one node
    def calls(self, node: Any, scope: Scope, place: str, is_asset: Any) -> Iterable[tuple[str, frozenset]]:
        """(function name, names of its arguments that are asset paths) for every function the node calls."""
        data = [i for i in node.input if not i.startswith("^")]
        targets: list[tuple[str, list[str]]] = []
        if node.op in self.library:  # a direct call
            targets.append((node.op, data))
        skip = _PASSES_INPUTS.get(node.op)
        for value in node.attr.values():
            for name in [value.func.name] if value.HasField("func") else [f.name for f in value.list.func]:
                targets.append((name, data[skip:] if skip is not None else []))
        for name, inputs in targets:
            function = self.library.get(name)
            if function is None:
                if name:
                    self.report(node.op, f"calls {name}, a function the SavedModel does not define", place)
                continue
            args = [a.name for a in function.signature.input_arg]
            asset_args = frozenset(
                arg for arg, tensor in zip(args, inputs) if (src := scope.origin(tensor)) is not None and is_asset(src)
            )
            yield name, asset_args

    # -- a function body, in a context
    def walk_function(self, name: str, asset_args: frozenset, allowance: int) -> None:
        todo = deque([(name, asset_args)])
        while todo:
            fname, assets = todo.popleft()
            key = (fname, assets, allowance)
            if key in self._walked:
                continue
            self._walked.add(key)
            self.visited.add(fname)
            function = self.library[fname]
            scope = Scope(function.node_def, (a.name for a in function.signature.input_arg))
            place = f"function {fname}"
            is_asset = lambda src, assets=assets: src[0] == "arg" and src[1] in assets  # noqa: E731
            for node in function.node_def:
                self.check_node(node, scope, place, is_asset, allowance)
                todo.extend(self.calls(node, scope, place, is_asset))

    # -- the graph_def of a TF1 SavedModel
    def walk_graph(self, allowance_of: dict[str, int], asset_tensors: set[str]) -> None:
        scope = Scope(self.meta_graph.graph_def.node)
        is_asset = lambda src: src[0] == "node" and tensor_key(src[1]) in asset_tensors  # noqa: E731
        for node in self.meta_graph.graph_def.node:
            allowance = allowance_of.get(node.name, _STRICT)
            place = f"graph node {node.name}"
            self.check_node(node, scope, place, is_asset, allowance)
            for fname, assets in self.calls(node, scope, place, is_asset):
                self.walk_function(fname, assets, allowance)


def _asset_defs(meta_graph: Any) -> list[Any]:
    """The meta graph's ``AssetFileDef``s, where TensorFlow's loaders look for them (TF1 builders
    put them in the ``saved_model_assets`` collection)."""
    if meta_graph.asset_file_def:
        return list(meta_graph.asset_file_def)
    from tensorflow.core.protobuf import meta_graph_pb2

    found = []
    if "saved_model_assets" in meta_graph.collection_def:
        for packed in meta_graph.collection_def["saved_model_assets"].any_list.value:
            asset = meta_graph_pb2.AssetFileDef()
            if packed.Unpack(asset):
                found.append(asset)
    return found


def _check_assets(meta_graph: Any, directory: Path) -> list[Finding]:
    """Every asset must be a file inside ``<directory>/assets`` (the loader joins its name to that folder)."""
    found = []
    root = directory.resolve() / "assets"  # not resolved itself: an assets/ symlinked elsewhere is outside
    for asset in _asset_defs(meta_graph):
        path = Path(os.path.join(directory, "assets", asset.filename)).resolve()
        if root != path and root not in path.parents:
            found.append(Finding("asset", f"its file {asset.filename!r} lies outside the SavedModel's assets/ folder", "the asset list"))
    return found


def _inspect_meta_graph(meta_graph: Any, directory: Path) -> list[Finding]:
    walker = _Walker(meta_graph)
    findings = _check_assets(meta_graph, directory)
    library = meta_graph.graph_def.library
    gradients = [g.gradient_func for g in library.gradient] + [g.gradient_func for g in library.registered_gradients]
    objects = meta_graph.object_graph_def
    if objects.nodes:  # TF2: the loader calls the object graph's functions, and nothing else
        for name, concrete in objects.concrete_functions.items():
            if name not in walker.library:
                continue
            args = [a.name for a in walker.library[name].signature.input_arg]
            bound = list(concrete.bound_inputs)
            captured = args[len(args) - len(bound):] if bound else []
            assets = frozenset(
                arg for arg, node_id in zip(captured, bound)
                if 0 <= node_id < len(objects.nodes) and objects.nodes[node_id].WhichOneof("kind") == "asset"
            )
            walker.walk_function(name, assets, _STRICT)
        for name in gradients:
            if name in walker.library:
                walker.walk_function(name, frozenset(), _STRICT)
        for name in sorted(object_graph_functions(objects)):  # named by an object but not in the map
            if name in walker.library and name not in walker.visited:
                walker.walk_function(name, frozenset(), _STRICT)
        # TensorFlow's saver, identified positively: the functions that the TF1-compatible graph's save
        # and restore ops call, reached from nothing else (this loader never runs them)
        for name in sorted(saver_functions(walker, meta_graph)):
            if name not in walker.visited:
                walker.walk_function(name, frozenset(), _SAVE)
        for name in walker.library:  # anything else: the full rule
            if name not in walker.visited:
                walker.walk_function(name, frozenset(), _STRICT)
    else:  # TF1: the loader runs the saver's restore op, the init op and the signatures' fetches
        nodes = {n.name: n for n in meta_graph.graph_def.node}
        saver = meta_graph.saver_def
        restore = ancestors(nodes, [node_of(saver.restore_op_name)[0]] if saver.restore_op_name else [])
        save = ancestors(nodes, [node_of(saver.save_tensor_name)[0]] if saver.save_tensor_name else [])
        others = set(nodes) - restore - save
        strict = ancestors(nodes, others)
        allowance_of = {n: (_RESTORE if n in restore else _SAVE) for n in (restore | save) - strict}
        asset_tensors = {tensor_key(a.tensor_info.name) for a in _asset_defs(meta_graph)}
        walker.walk_graph(allowance_of, asset_tensors)
        for name in gradients:
            if name in walker.library:
                walker.walk_function(name, frozenset(), _STRICT)
        for name in walker.library:
            if name not in walker.visited:
                walker.walk_function(name, frozenset(), _STRICT)
    return findings + walker.findings


def inspect_saved_model(directory: Union[str, Path], where: str = "") -> list[Finding]:
    """Every op of the SavedModel in ``directory`` that could run code or reach outside the model.

    Reads ``saved_model.pb`` without loading it; an empty list means nothing
    found. Raises :class:`ModelError` (``where``) when the file does not parse.
    """
    directory = Path(directory)
    proto = read_saved_model(directory, where)
    findings: list[Finding] = []
    for meta_graph in proto.meta_graphs:
        for finding in _inspect_meta_graph(meta_graph, directory):
            if finding not in findings:
                findings.append(finding)
    return findings


def untrusted_code(where: str, what: str, reason: str) -> ModelError:
    """The one-line refusal: ``where: refused to <what>: <reason>; pass --trust-code to <verb> it anyway``
    (``what`` starts with its verb: ``run SavedModel /x``, ``load /y.keras``)."""
    verb = what.split(" ", 1)[0]
    return ModelError(where, f"refused to {what}: {reason}; pass {TRUST_FLAG} to {verb} it anyway")


def check_saved_model(
    directory: Union[str, Path],
    where: str,
    trust_code: bool = False,
    log: Optional[logging.Logger] = None,
) -> None:
    """Refuse (``ModelError`` at ``where``) a SavedModel whose graph could run code or reach outside the model.

    With ``trust_code`` (the user's ``--trust-code``) nothing is refused; what
    would have been is logged as a warning.
    """
    if trust_code:
        try:
            findings = inspect_saved_model(directory, where)
        except ModelError:
            return  # TensorFlow's own loader will say what is wrong with it
        if findings and log is not None:
            log.warning("trusting SavedModel %s (--trust-code) although it has %s", directory, _summary(findings))
        return
    findings = inspect_saved_model(directory, where)
    if findings:
        raise untrusted_code(where, f"run SavedModel {directory}", _summary(findings))


def _summary(findings: list[Finding]) -> str:
    more = len(findings) - 1
    return str(findings[0]) + (f" (and {more} more)" if more else "")
