"""Which loss terms of a training step reach no trainable variable: the health signal the trainer finds as it traces its step.

TensorFlow-free itself: it only calls the tape it is given.
"""

from __future__ import annotations

from typing import Any

__all__ = ["unreached_terms"]


def unreached_terms(tape: Any, terms: list, values: dict, variables: dict) -> list[str]:
    """The names of the terms whose gradient reaches none of their player's trainable variables
    (known when the step is traced: every gradient is ``None``)."""
    out = []
    for term in terms:
        if term.name not in values:
            continue
        pvars = variables.get(term.player, [])
        grads = tape.gradient(values[term.name], pvars) if pvars else []
        if all(g is None for g in grads):
            out.append(term.name)
    return out
