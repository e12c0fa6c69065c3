"""Paired, alternating, whole-process timing: run two commands in turn and report the ratio of their wall times.

Each command runs in its own process, timed from start to exit; its peak resident memory is read from
``os.wait4``'s resource usage. Pairs alternate which side goes first, so drift in the load of a shared
machine hits both sides alike; the summary is the median of the per-pair ratios.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Sequence

__all__ = ["Timing", "run_once", "paired", "ratio_line", "cpu_line", "plugin_path"]


@dataclass
class Timing:
    seconds: float
    peak_mb: float
    rc: int
    cpu: float = 0.0
    """User + system CPU seconds of the process (and its waited-for children): on a shared, loaded
    machine it varies much less than the wall time."""


def plugin_path(root: Path) -> str:
    """PYTHONPATH that runs adaptkit (host and built-in plugins) from the checkout at ``root``."""
    return os.pathsep.join([str(root)] + sorted(str(p) for p in (root / "plugins").glob("adaptkit-*") if p.is_dir()))


def run_once(cmd: Sequence[str], env: Optional[dict] = None, cwd: Optional[Path] = None, quiet: bool = True) -> Timing:
    """Run ``cmd`` to its exit: wall seconds, peak RSS in MB, exit status (stderr shown when it fails)."""
    full_env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", **(env or {}))
    started = time.perf_counter()
    proc = subprocess.Popen(list(cmd), env=full_env, cwd=cwd, stdout=subprocess.DEVNULL if quiet else None,
                            stderr=subprocess.PIPE if quiet else None)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - started
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    rc = os.waitstatus_to_exitcode(status)
    if rc != 0:
        print(f"[{rc}] {' '.join(cmd)}\n{err[-2000:]}", file=sys.stderr)
    return Timing(seconds, usage.ru_maxrss / 1024.0, rc, usage.ru_utime + usage.ru_stime)


def paired(a: Sequence[str], b: Sequence[str], pairs: int, env_a: Optional[dict] = None, env_b: Optional[dict] = None,
           cwd: Optional[Path] = None, label: str = "", first: int = 0) -> list[tuple[Timing, Timing]]:
    """``pairs`` runs of each command, alternating which goes first (``a`` in pair 0, unless ``first`` is odd)."""
    out = []
    for i in range(first, first + pairs):
        if i % 2 == 0:
            ta = run_once(a, env_a, cwd)
            tb = run_once(b, env_b, cwd)
        else:
            tb = run_once(b, env_b, cwd)
            ta = run_once(a, env_a, cwd)
        out.append((ta, tb))
        print(f"{label} pair {i + 1 - first} ({'A' if i % 2 == 0 else 'B'} first): A {ta.seconds:.2f} s, B {tb.seconds:.2f} s "
              f"(ratio {ta.seconds / tb.seconds:.2f})",
              file=sys.stderr, flush=True)
    return out


def ratio_line(name: str, rows: list[tuple[Timing, Timing]]) -> str:
    """A Markdown table row: median seconds of each side, median of the paired ratios, peak memory."""
    ratios = [a.seconds / b.seconds for a, b in rows]
    med = statistics.median
    return (f"| {name} | {med(a.seconds for a, _ in rows):.2f} | {med(b.seconds for _, b in rows):.2f} | "
            f"{med(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) | "
            f"{max(a.peak_mb for a, _ in rows):.0f} / {max(b.peak_mb for _, b in rows):.0f} |")


def cpu_line(name: str, rows: list[tuple[Timing, Timing]]) -> str:
    """Like :func:`ratio_line`, for CPU seconds (user + system): median of each side, median of the paired ratios."""
    ratios = [a.cpu / b.cpu for a, b in rows]
    med = statistics.median
    return (f"| {name} (CPU) | {med(a.cpu for a, _ in rows):.2f} | {med(b.cpu for _, b in rows):.2f} | "
            f"{med(ratios):.2f}x ({min(ratios):.2f}-{max(ratios):.2f}) | |")


HEADER = "| job | A: median s | B: median s | A / B: median of paired ratios (range) | peak RSS A / B (MB) |\n|---|---|---|---|---|"
