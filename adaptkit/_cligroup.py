"""The CLI's click group: Ctrl-C ends with one line, and a finished command that loaded TensorFlow exits at once.

No TensorFlow import here.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import click

__all__ = ["EXIT_INTERRUPTED", "Group"]

EXIT_INTERRUPTED = 130


def _leave(code: Any) -> NoReturn:
    """End the process now: everything is written and flushed, and TensorFlow's interpreter
    teardown (seconds after a run) does nothing a finished command needs."""
    import logging

    if code is not None and not isinstance(code, int):  # sys.exit("message") prints it, status 1
        print(code, file=sys.stderr)
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code if isinstance(code, int) else (0 if code is None else 1))


class Group(click.Group):
    """Ctrl-C anywhere (TensorFlow's start-up included) ends with one line and exit 130, not click's ``Aborted!``."""

    def main(self, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        try:
            return super().main(args, *rest, **kwargs)
        except SystemExit as exc:
            if args is None and "tensorflow" in sys.modules:  # the program itself, not a caller in Python
                _leave(exc.code)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            click.echo("error: interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
