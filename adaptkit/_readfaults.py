"""Reading faults: a ``tf.data`` error met while training or evaluating, traced to the bad example.

TensorFlow's error names the op that failed (``DecodeImage``), not the file
it was reading. Each data source may bring a :attr:`DataSource.diagnose`
that finds the culprit (a scan that runs only after a failure, so reading
stays as fast as before); without one, the error keeps TensorFlow's reason.
TensorFlow is imported only when an error is looked at.
"""

from __future__ import annotations

import logging
import re
from typing import Optional

from ._errors import DataError
from ._types import DataSource

__all__ = ["is_read_error", "tf_reason", "read_fault"]

log = logging.getLogger("adaptkit")


def is_read_error(exc: BaseException) -> bool:
    """Whether ``exc`` is how ``tf.data`` reports an element it could not read or decode."""
    import tensorflow as tf

    return isinstance(exc, (tf.errors.InvalidArgumentError, tf.errors.DataLossError, tf.errors.NotFoundError))


def tf_reason(exc: BaseException) -> str:
    """The line of a TensorFlow error that says what went wrong, without the node, op and stack
    lines around it (Keras' ``fit`` puts ``Graph execution error:`` and a traceback first)."""
    text = getattr(exc, "message", None) or str(exc)
    lines = []
    for line in text.splitlines():
        line = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", line).strip()
        line = re.sub(r"\s*\[Op:[^\]]*\].*$", "", line)
        line = re.sub(r"^Error in user-defined function passed to \S+ transformation with iterator: \S+: ", "", line)
        if not line or line.startswith(("[[", "Detected at node", "Graph execution error", "File ")):
            continue
        lines.append(line)
    return lines[-1] if lines else type(exc).__name__


def read_fault(loaded: dict[str, DataSource], exc: BaseException) -> DataError:
    """The ``DataError`` for a failed read: the bad example as a source's ``diagnose`` names it,
    else ``data: reading the data failed: <TensorFlow's reason>``."""
    found = _diagnosed(loaded)
    if found is not None:
        return found
    return DataError("data", f"reading the data failed: {tf_reason(exc)}")


def _diagnosed(loaded: dict[str, DataSource]) -> Optional[DataError]:
    for where, source in loaded.items():
        if source.diagnose is None:
            continue
        log.info("reading the data failed: looking for the bad example in %s (%d examples)", where, source.size)
        try:
            source.diagnose()
        except DataError as found:
            return found
    return None
