"""``adaptkit runs``: the run directories in a folder, newest first, read from their files (no TensorFlow).

Each entry is a finished run (``metrics.json``), a repeated-seeds parent
(``aggregate.json``), or an unfinished ``.<name>.partial`` folder: *running*
while its process holds the lock that :class:`adaptkit._rundir.RunDir` takes,
else *interrupted* (``adaptkit run SPEC --resume`` goes on with it when it has
finished a stage or an epoch; one killed before that has nothing to resume).
The ``<name>-latest`` links are skipped: they name runs listed anyway.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Optional

from ._errors import AdaptkitError, DataError
from ._rundata import read_run

__all__ = ["list_runs", "lock_held"]


def lock_held(partial: Path) -> bool:
    """Whether a live process holds ``partial/.lock`` (the lock is only tried, never kept)."""
    lock = partial / ".lock"
    if not lock.is_file():
        return False
    try:
        import fcntl
    except ImportError:  # pragma: no cover - no POSIX locks: a lock file is taken as a live run
        return True
    with open(lock, "r") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def _stamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _finished(folder: Path) -> Optional[dict[str, Any]]:
    try:
        files = read_run(folder, histories=False)
    except AdaptkitError:
        return None
    results = files.results
    head = results.get("headline") or {}
    value = head.get("value", head.get("mean"))
    written = folder / ("aggregate.json" if files.kind == "seeds" else "metrics.json")
    return {
        "run": str(folder),
        "name": files.name,
        "status": "finished" if not results.get("errors") else "finished with errors",
        "seeds": len(results.get("seeds") or []) or 1,
        "headline": {"metric": head.get("metric"), "value": value},
        "wall_time_s": results.get("wall_time_s"),
        "time": written.stat().st_mtime,
    }


def _spec_name(folder: Path) -> Optional[str]:
    """The ``name`` of the resolved spec a run writes first, if it is there yet."""
    import yaml

    try:
        spec = yaml.safe_load((folder / "spec.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return None
    return str(spec["name"]) if isinstance(spec, dict) and spec.get("name") is not None else None


def _partial(folder: Path) -> dict[str, Any]:
    name = _spec_name(folder) or folder.name[1 : -len(".partial")]
    state_file = folder / "checkpoints" / "state.json"
    try:
        state = json.loads(state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        state = {}
    if lock_held(folder):
        status = "running"
    elif state or (folder / "checkpoints" / "backup").is_dir():
        status = "interrupted (resumable: adaptkit run SPEC --resume)"
    else:
        status = "interrupted (nothing to resume)"
    epochs = len(state.get("history") or [])
    return {
        "run": str(folder),
        "name": name,
        "status": status,
        "seeds": 1,
        "headline": {"metric": None, "value": None},
        "wall_time_s": None,
        "stages_done": state.get("completed", 0),
        "epochs_done": epochs,
        "time": max((p.stat().st_mtime for p in (folder, state_file) if p.exists()), default=0.0),
    }


def list_runs(folder: Path) -> list[dict[str, Any]]:
    """Every run in ``folder``, newest first (by the time its results, or its progress, were written)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(str(folder), "no such folder" if not folder.exists() else "not a folder")
    rows = []
    for entry in sorted(folder.iterdir()):
        if entry.is_symlink() or not entry.is_dir():
            continue
        if entry.name.startswith(".") and entry.name.endswith(".partial"):
            rows.append(_partial(entry))
            continue
        row = _finished(entry)
        if row is not None:
            rows.append(row)
    rows.sort(key=lambda r: r["time"], reverse=True)
    for row in rows:
        row["time"] = _stamp(row["time"])
    return rows
