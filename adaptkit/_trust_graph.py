"""Where a SavedModel's tensors and functions come from: graph scopes, node ancestors, the object graph's
function names and TensorFlow's saver functions (for the inspection in ``_trust``)."""

from __future__ import annotations

from typing import Any, Iterable, Optional

__all__ = ["node_of", "Scope", "tensor_key", "ancestors", "object_graph_functions", "saver_functions"]


def node_of(tensor: str) -> tuple[str, str]:
    """``"name:out:0"`` / ``"name:0"`` / ``"name"`` -> (node or argument name, output part)."""
    name, _, rest = tensor.lstrip("^").partition(":")
    return name, rest or "0"


class Scope:
    """The nodes of one graph body (the meta graph's graph_def, or a FunctionDef)."""

    def __init__(self, nodes: Iterable[Any], args: Iterable[str] = ()) -> None:
        self.nodes = {n.name: n for n in nodes}
        self.args = set(args)

    def origin(self, tensor: str) -> Optional[tuple[str, str]]:
        """Where a tensor comes from, through ``Identity`` ops: ("arg", name) or ("node", "name:out")."""
        seen = set()
        while True:
            name, out = node_of(tensor)
            if name in self.args and name not in self.nodes:
                return ("arg", name)
            node = self.nodes.get(name)
            if node is None or name in seen:
                return None
            seen.add(name)
            if node.op in ("Identity", "IdentityN", "Snapshot") and node.input:
                index = 0
                if node.op == "IdentityN":  # output k is input k
                    index = int(out.rsplit(":", 1)[-1]) if out.rsplit(":", 1)[-1].isdigit() else 0
                data = [i for i in node.input if not i.startswith("^")]
                if index >= len(data):
                    return None
                tensor = data[index]
                continue
            return ("node", f"{name}:{out}")


def tensor_key(tensor: str) -> str:
    name, out = node_of(tensor)
    return f"{name}:{out.rsplit(':', 1)[-1]}"


def ancestors(nodes: dict[str, Any], roots: Iterable[str]) -> set[str]:
    """Every graph node a root depends on (data and control inputs), the roots included."""
    seen: set[str] = set()
    todo = [r for r in roots if r in nodes]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo.extend(n for n in (node_of(i)[0] for i in nodes[name].input) if n in nodes and n not in seen)
    return seen


def object_graph_functions(objects: Any) -> set[str]:
    """Every function name a TF2 object graph mentions: its map, functions, bare functions, captures."""
    names = set(objects.concrete_functions)
    for node in objects.nodes:
        kind = node.WhichOneof("kind")
        if kind == "function":
            names.update(node.function.concrete_functions)
        elif kind == "bare_concrete_function":
            names.add(node.bare_concrete_function.concrete_function_name)
        elif kind == "captured_tensor":
            names.add(node.captured_tensor.concrete_function)
    return names


def saver_functions(walker: Any, meta_graph: Any) -> set[str]:
    """The functions called by the graph nodes behind ``saver_def``'s save tensor and restore op."""
    nodes = {n.name: n for n in meta_graph.graph_def.node}
    saver = meta_graph.saver_def
    roots = [node_of(t)[0] for t in (saver.save_tensor_name, saver.restore_op_name) if t]
    scope = Scope(meta_graph.graph_def.node)
    out: set[str] = set()
    for name in ancestors(nodes, roots):
        out.update(f for f, _ in walker.calls(nodes[name], scope, f"graph node {name}", lambda src: False))
    return out
