"""Checks of data content that every data plugin makes the same way: finite numbers, class labels.

A data plugin calls them as it reads a file, so bad content is a one-line
``DataError`` naming the file before anything trains, instead of a ``null``
loss, a one-class model at accuracy 1.0, or a stray label 99 that silently
makes a 100-class model. numpy only (no TensorFlow).
"""

from __future__ import annotations

import logging
from typing import Any, Optional, Sequence

import numpy as np

from ._errors import DataError

__all__ = ["check_finite", "class_indices", "warn_rare_classes"]

_SHOWN = 5
"""How many distinct offending labels a message lists."""


def check_finite(values: Any, what: str, source: Any, where: str) -> None:
    """Refuse NaN and infinities in ``values`` (features or regression targets):
    ``where: source: 12 non-finite values (NaN/inf) in 'x'``."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.inexact):
        return  # integers and booleans are always finite
    bad = int(values.size - np.count_nonzero(np.isfinite(values)))
    if bad:
        raise DataError(where, f"{source}: {bad} non-finite value{'s' if bad != 1 else ''} (NaN/inf) in {what}")


def _examples(n: int) -> str:
    return f"{n} example{'s' if n != 1 else ''}"


def _counted(values: np.ndarray, counts: np.ndarray) -> str:
    """``99 (1 example), 100 (3 examples)``, the first few."""
    shown = [f"{int(v)} ({_examples(int(c))})" for v, c in zip(values[:_SHOWN], counts[:_SHOWN])]
    more = len(values) - _SHOWN
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _ranges(values: Sequence[int]) -> str:
    """``3, 10..98``: consecutive runs joined."""
    runs: list[list[int]] = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1][1] = v
        else:
            runs.append([v, v])
    text = [str(a) if a == b else (f"{a}, {b}" if b == a + 1 else f"{a}..{b}") for a, b in runs[:_SHOWN]]
    return ", ".join(text) + (" ..." if len(runs) > _SHOWN else "")


def _is(values: np.ndarray) -> str:
    return "label {} is" if len(values) == 1 else "labels {} are"


def class_indices(
    y: Any, class_names: Optional[list[str]], source: Any, where: str, names_where: Optional[str] = None
) -> tuple[np.ndarray, list[str]]:
    """Integer class labels as int32, and the class names; one-line ``DataError`` s otherwise.

    - labels must be whole numbers (floats such as ``2.0`` are accepted) and 0 or more (at ``where``);
    - with ``class_names`` (K names), every label must be below K (at ``names_where``); classes
      without an example are fine (a test set may lack some);
    - without, the classes are ``0..max``: every one of them must have an example, so a stray
      label (one 99 among 0..9) is refused, naming the labels above the gap and their counts
      (declare ``class_names`` to mean the classes without examples), and one class alone is
      refused (a classifier needs two; as the text and image plugins do).

    ``source`` (the file) starts every message.
    """
    y = np.asarray(y)
    names_where = names_where or where
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]  # (N, 1), as keras.datasets gives CIFAR's labels
    if y.ndim != 1:
        raise DataError(where, f"{source}: class labels must be one integer per example, got shape {y.shape}")
    if not (np.issubdtype(y.dtype, np.integer) or np.issubdtype(y.dtype, np.bool_)):
        whole = np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y))
        if not whole:
            if np.issubdtype(y.dtype, np.floating):
                bad = y[~(np.isfinite(y) & (y == np.round(y)))]
                raise DataError(
                    where, f"{source}: class labels must be integers, got {y.dtype} with {len(bad)} that are not (e.g. {bad[0]!r})"
                )
            raise DataError(where, f"{source}: class labels must be integers, got {y.dtype}")
    y = y.astype("int64")
    values, counts = np.unique(y, return_counts=True)
    negative = values < 0
    if negative.any():
        raise DataError(where, f"{source}: class labels must be 0 or more; " + _is(values[negative]).format(_counted(values[negative], counts[negative])) + " not")
    if class_names is not None:
        outside = values >= len(class_names)
        if outside.any():
            raise DataError(
                names_where,
                f"{source}: " + _is(values[outside]).format(_counted(values[outside], counts[outside]))
                + f" outside the {len(class_names)} classes of class_names",
            )
        return y.astype("int32"), list(class_names)
    k = int(values[-1]) + 1
    if len(values) < k:
        missing = sorted(set(range(k)) - set(int(v) for v in values))
        stray = values > missing[0]
        raise DataError(
            where,
            f"{source}: " + _is(values[stray]).format(_counted(values[stray], counts[stray]))
            + f" above classes with no example ({_ranges(missing)}): class labels must be 0..K-1 with an example of each; "
            "fix the stray labels, or name every class in class_names",
        )
    if k < 2:
        raise DataError(where, f"{source}: only one class ({int(values[0])}, {_examples(int(counts[0]))}): a classifier needs at least two")
    return y.astype("int32"), [str(v) for v in range(k)]


def warn_rare_classes(names: Sequence[str], counts: Sequence[int], source: Any, log: logging.Logger) -> None:
    """Warn about classes with at most 1% of the largest class's examples: a typo in a label
    column (``postive``) or a stray value makes a class of its own."""
    largest = max(counts, default=0)
    for name, n in zip(names, counts):
        if 0 < n and n * 100 <= largest:
            log.warning(
                "%s: class %r has %s against %d in the largest class: a stray label? (class_names refuses labels outside them)",
                source, name, _examples(int(n)), largest,
            )
