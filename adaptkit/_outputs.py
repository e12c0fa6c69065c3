"""A classifier's outputs as class probabilities inside a training step, for loss terms that act on predictions.

Heads end in a softmax (probabilities), one sigmoid unit (binary), or raw logits; terms such
as CDAN's conditioning, MCC or information maximisation need ``(N, C >= 2)`` probabilities
either way. ``keras.ops`` only; Keras is imported inside the functions.
"""

from __future__ import annotations

from typing import Any, Callable, Literal

__all__ = ["class_probabilities", "tempered"]

OutputKind = Literal["auto", "probabilities", "logits"]


def _output_kind(parts: Any, kind: OutputKind) -> str:
    if kind != "auto":
        return kind
    act = getattr(getattr(parts.classifier.layers[-1], "activation", None), "__name__", "linear")
    return "probabilities" if act in ("softmax", "sigmoid") else "logits"


def class_probabilities(parts: Any, kind: OutputKind = "auto") -> Callable[[Any], Any]:
    """``outputs -> (N, C)`` float32 class probabilities of the head of ``parts`` (gradients flow).

    ``kind``: what the head's last layer outputs; ``auto`` reads its activation (softmax or
    sigmoid: probabilities, anything else: logits). One output unit is a binary classifier:
    its probability ``p`` becomes the two columns ``[1 - p, p]``.
    """
    from keras import ops

    kind = _output_kind(parts, kind)
    binary = int(parts.classifier.output.shape[-1]) == 1

    def probs(outputs: Any) -> Any:
        o = ops.cast(outputs, "float32")
        if binary:
            p = ops.sigmoid(o) if kind == "logits" else o
            return ops.concatenate([1.0 - p, p], axis=-1)
        return ops.softmax(o, axis=-1) if kind == "logits" else o

    return probs


def tempered(probabilities: Any, temperature: float) -> Any:
    """``softmax(logits / T)`` from probabilities (their logs are the logits up to a constant)."""
    from keras import ops

    logits = ops.log(ops.clip(probabilities, 1e-12, 1.0))
    return ops.softmax(logits / temperature, axis=-1)
