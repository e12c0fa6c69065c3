"""Where a stage's model can be cut into a frozen, deterministic prefix (computed once) and a trained suffix.

The cut is the deepest one such that everything below it has no trainable
weights and computes the same in training as in inference mode: no Dropout
(rate above 0), GaussianNoise, random augmentation (any layer drawing from a
``keras.random.SeedGenerator``), no BatchNormalization that still learns its
statistics. Two shapes are found:

- the encoder as a whole (frozen base + head: classic feature extraction), the
  suffix being the classifier itself;
- inside the source model, when its top is trainable (fine-tuning the top
  blocks): the boundary is every tensor that the frozen part hands on to the
  trainable part (one tensor in a conv net, the hidden states and the padding
  mask in a transformer). The suffix reuses the same layer objects, so what it
  trains is the whole model's weights.

Anything else gives a reason instead of a cut (the stage then runs uncached).
The two Keras internals used (a functional model's nodes by depth, a layer's
sublayers) are read in :func:`graph_nodes` and :func:`sublayers` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

import keras

__all__ = ["Cut", "find_cut", "graph_nodes", "sublayers", "random_layer"]


@dataclass
class Cut:
    """A stage's model as ``suffix(prefix(x))``."""

    prefix: Any
    """Raw examples (the encoder's input) -> the boundary tensor(s), a list."""
    suffix: Any
    """The boundary tensors (a list) -> the model's outputs; shares the model's layers."""
    key: tuple
    """What the cut is (the boundary tensors): equal keys, same features."""
    where: str
    """In words, for the log."""


def graph_nodes(model: Any) -> list:
    """A functional model's call nodes in execution order (inputs first). Keras internal: ``_nodes_by_depth``."""
    by_depth = model._nodes_by_depth
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


def sublayers(layer: Any) -> list:
    """The layer and every layer inside it, recursively. Keras internal: ``_flatten_layers``."""
    flatten = getattr(layer, "_flatten_layers", None)
    return list(flatten(include_self=True, recursive=True)) if flatten is not None else [layer]


def random_layer(layer: Any) -> Union[str, None]:
    """Why ``layer`` (or a layer inside it) computes differently in training mode; ``None`` when it does not."""
    for sub in sublayers(layer):
        if isinstance(sub, keras.layers.BatchNormalization) and sub.trainable:
            return f"{sub.name} (BatchNormalization learning its statistics)"
        if isinstance(sub, keras.layers.Dropout) and float(sub.rate) == 0.0:
            continue  # rate 0: the identity in training too
        if any(isinstance(v, keras.random.SeedGenerator) for v in vars(sub).values()):
            return f"{sub.name} ({type(sub).__name__} is random in training)"
    return None


def _still(op: Any) -> Union[str, None]:
    """Why a graph operation cannot sit below the cut; ``None`` when it can."""
    if getattr(op, "trainable_weights", None):
        return f"{op.name} trains"
    return random_layer(op) if isinstance(op, keras.layers.Layer) else None


def _cacheable(tensor: Any) -> bool:
    shape = tuple(tensor.shape)[1:]
    return all(isinstance(d, int) for d in shape) and "string" not in str(tensor.dtype)


def _boundary(model: Any) -> Union[list, str]:
    """The tensors the frozen, deterministic part of ``model`` hands to the rest, or why there are none."""
    nodes = graph_nodes(model)
    below: set[int] = set()  # ids of tensors computed below the cut
    producer: dict[int, Any] = {}
    order: dict[int, int] = {}
    stop, weighted = "", False
    for node in nodes:
        for t in node.outputs:
            producer[id(t)], order[id(t)] = node, len(order)
        if node.is_input:
            below.update(id(t) for t in node.outputs)
            continue
        why = _still(node.operation)
        if why is None and all(id(t) in below for t in node.input_tensors):
            below.update(id(t) for t in node.outputs)
            weighted = weighted or bool(getattr(node.operation, "weights", None))
        elif why is not None and not stop:
            stop = why
    crossing: dict[int, Any] = {}  # tensor id -> tensor, in the order the graph computes them
    for node in nodes:
        if node.is_input or all(id(t) in below for t in node.outputs):
            continue
        crossing.update({id(t): t for t in node.input_tensors if id(t) in below})
    crossing.update({id(t): t for t in model.outputs if id(t) in below})
    if not weighted or all(producer[i].is_input for i in crossing):
        return f"nothing below the first training or random layer ({stop or 'the input'}) to compute once"
    bad = [t for t in crossing.values() if not _cacheable(t)]
    if bad:
        return f"the frozen part hands on {bad[0].name} ({bad[0].dtype}, shape {tuple(bad[0].shape)}), which cannot be stored"
    return sorted(crossing.values(), key=lambda t: order[id(t)])


def _made_by(model: Any, tensor: Any) -> str:
    """The name of the layer whose call made ``tensor`` in ``model``'s graph."""
    node = next(n for n in graph_nodes(model) if any(t is tensor for t in n.outputs))
    return node.operation.name


def _inputs_like(tensors: list) -> list:
    return [keras.Input(shape=tuple(t.shape)[1:], dtype=t.dtype, name=f"cached_{i}") for i, t in enumerate(tensors)]


def find_cut(parts: Any) -> Union[Cut, str]:
    """The stage's cut of ``classifier(encoder(x))``, or the reason there is none."""
    encoder, classifier = parts.encoder, parts.classifier
    why = next((w for layer in encoder.layers for w in [_still(layer)] if w), None)
    if why is None:
        if not all(_cacheable(t) for t in encoder.outputs):
            return "the encoder's output cannot be stored"
        inputs = _inputs_like(encoder.outputs)
        suffix = keras.Model(inputs[0], classifier(inputs[0]), name="cached_suffix")
        return Cut(encoder, suffix, ("encoder", id(encoder)), "the encoder's output")
    *front, source = encoder.layers[1:] or [None]
    random_front = next((w for layer in front for w in [random_layer(layer)] if w), None)
    if random_front:
        return f"random augmentation in front of the source: {random_front}"
    if front or not isinstance(source, keras.Model) or not hasattr(source, "_nodes_by_depth") or len(source.outputs) != 1:
        return f"{why}, and the encoder is not one functional source model to cut inside"
    found = _boundary(source)
    if isinstance(found, str):
        return found
    one = (lambda ts: ts[0]) if len(found) == 1 else (lambda ts: ts)
    prefix = keras.Model(source.inputs, one(found), name="cached_prefix")
    inner = keras.Model(one(found), source.outputs[0], name="trained_part")  # Keras clones the nodes from the boundary
    inputs = _inputs_like(found)
    suffix = keras.Model(one(inputs), classifier(inner(one(inputs))), name="cached_suffix")
    names = ", ".join(f"{_made_by(source, t)} {tuple(t.shape)[1:]}" for t in found)
    return Cut(prefix, suffix, ("source", id(source)) + tuple(id(t) for t in found), f"{source.name}: {names}")
