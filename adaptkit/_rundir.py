"""The run directory: written in a hidden ``.partial`` folder, renamed when complete.

A crash or a kill leaves only ``.<name>.partial-*`` behind, never a folder
that looks finished; every file inside is written to a temporary name and
renamed, so no file is ever half-written either.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import shutil
import time
from pathlib import Path
from typing import Any, Iterable, Optional

__all__ = ["RunDir", "Checkpoints", "atomic_write_text", "resolved_yaml", "spec_digest"]


def resolved_yaml(spec: Any) -> str:
    """The validated spec with every default filled in, as ``spec.yaml`` and ``adaptkit render`` write it."""
    import yaml

    return yaml.safe_dump(spec.model_dump(mode="json"), sort_keys=False)


def spec_digest(resolved_yaml: str) -> str:
    import hashlib

    return hashlib.sha256(resolved_yaml.encode("utf-8")).hexdigest()[:16]


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


class RunDir:
    """One run's folder. Use :meth:`path` for files, :meth:`commit` at the end."""

    @classmethod
    def resume(cls, output_dir: Path, name: str, digest: str, stamped: bool = True) -> Optional["RunDir"]:
        """The newest interrupted run of this spec (same resolved spec), if any."""
        pattern = f".{name}-*.partial" if stamped else f".{name}.partial"
        candidates = sorted(output_dir.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        for partial in candidates:
            state = Checkpoints(partial).state
            if state.get("digest") == digest:
                self = cls.__new__(cls)
                if not self._lock(partial):
                    continue  # a run still in progress in another process: not interrupted
                self.name, self.stamped = name, stamped
                self.partial = partial
                self.final = output_dir / partial.name[1 : -len(".partial")]
                return self
        return None

    def _lock(self, partial: Path) -> bool:
        """Hold an exclusive lock on ``partial`` while this process lives (False: another holds it)."""
        try:
            import fcntl
        except ImportError:  # no POSIX locks (Windows): concurrent resumes are not guarded
            return True
        fh = open(partial / ".lock", "a")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            return False
        self._lock_file = fh  # released when the process ends (or the run commits)
        return True

    def __init__(self, output_dir: Path, name: str, stamped: bool = True) -> None:
        """``stamped``: ``<name>-<timestamp>`` with a ``<name>-latest`` link; else exactly ``<name>``
        (one run of a group, e.g. ``seed3`` of repeated seeds)."""
        self.name, self.stamped = name, stamped
        stamp = time.strftime("%Y%m%d-%H%M%S")
        self.created_parent = not output_dir.exists()
        output_dir.mkdir(parents=True, exist_ok=True)
        # Claim a name with an atomic mkdir of its .partial folder: runs of the same spec
        # started in the same second (other processes included) each get their own.
        n = 1
        while True:
            if not stamped:
                final = output_dir / name
                if final.exists() or (output_dir / f".{name}.partial").exists():
                    raise FileExistsError(f"{final} exists")
            else:
                final = output_dir / (f"{name}-{stamp}" if n == 1 else f"{name}-{stamp}-{n}")
            partial = output_dir / f".{final.name}.partial"
            if not final.exists() and not final.is_symlink():
                try:
                    partial.mkdir()
                    self._lock(partial)
                    break
                except FileExistsError:
                    pass
            n += 1
        self.final = final
        self.partial = partial

    def path(self, name: str) -> Path:
        return self.partial / name

    def write_text(self, name: str, text: str) -> Path:
        atomic_write_text(self.path(name), text)
        return self.final / name

    def write_json(self, name: str, data: Any) -> Path:
        """Strict JSON: NaN and infinities (a diverged loss, say) are written as null."""
        return self.write_text(name, json.dumps(_finite(data), indent=2, sort_keys=True, allow_nan=False) + "\n")

    def write_csv(self, name: str, rows: Iterable[dict[str, Any]]) -> Path:
        rows = list(rows)
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
        return self.write_text(name, buf.getvalue())

    def save_model(self, name: str, model: Any) -> Path:
        """Save the model *uncompiled*: it then loads with plain ``keras.saving.load_model``
        (no optimizer or custom learning-rate schedule inside)."""
        import keras

        tmp = self.path(f".tmp-{name}")
        one = lambda xs: xs[0] if len(xs) == 1 else xs  # noqa: E731  (keep single tensors single)
        # ``output`` keeps the outputs' structure: one tensor, or a dict by task (multi-task)
        keras.Model(one(model.inputs), model.output, name=model.name).save(tmp)
        os.replace(tmp, self.path(name))
        return self.final / name

    def commit(self) -> Path:
        for leftover in self.partial.glob(".tmp-*"):
            leftover.unlink()
        self._unlock()
        shutil.rmtree(self.partial / Checkpoints.FOLDER, ignore_errors=True)
        os.replace(self.partial, self.final)
        if getattr(self, "stamped", True):
            self._link_latest()
        return self.final

    def _link_latest(self) -> None:
        """``<output_dir>/<name>-latest`` -> this run (a later pipeline can name a stable path)."""
        link = self.final.parent / f"{self.name}-latest"
        tmp = self.final.parent / f".{self.name}-latest.tmp-{os.getpid()}"
        if link.exists() and not link.is_symlink():  # the user's own file or folder: never replaced
            import logging

            logging.getLogger("adaptkit").warning(
                "%s: not a link adaptkit made, left as it is (no -latest link to this run)", link
            )
            return
        try:
            if tmp.is_symlink():
                tmp.unlink()
            os.symlink(self.final.name, tmp)
            os.replace(tmp, link)
        except OSError:  # no symlinks on this file system: the run itself is complete
            pass

    def release(self) -> None:
        """Give up the lock on an interrupted run (kept for ``--resume``) before the process ends."""
        self._unlock()

    def _unlock(self) -> None:
        fh = getattr(self, "_lock_file", None)
        if fh is not None:
            fh.close()
            self._lock_file = None
        (self.partial / ".lock").unlink(missing_ok=True)

    def discard(self) -> None:
        self._unlock()
        shutil.rmtree(self.partial, ignore_errors=True)
        parent = self.partial.parent
        if getattr(self, "created_parent", False) and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()  # a failed first run leaves no empty output folder either


class Checkpoints:
    """What an interrupted run needs to go on: stages done, history so far, weights.

    ``checkpoints/state.json`` holds the spec digest, the number of completed
    stages and the history rows; ``stage{i}.weights.h5`` the model after stage
    i; ``backup/stage{i}`` is Keras' ``BackupAndRestore`` folder of the stage
    in progress (weights, optimizer and epoch, saved at every epoch end).
    """

    FOLDER = "checkpoints"

    def __init__(self, run_root: Path) -> None:
        self.dir = run_root / self.FOLDER
        self._state_path = self.dir / "state.json"

    @property
    def state(self) -> dict[str, Any]:
        try:
            return json.loads(self._state_path.read_text())
        except (OSError, ValueError):
            return {}

    def save_state(self, digest: str, completed: int, history: list) -> None:
        self.dir.mkdir(exist_ok=True)
        atomic_write_text(self._state_path, json.dumps({"digest": digest, "completed": completed, "history": history}))

    def weights(self, stage: int) -> Path:
        self.dir.mkdir(exist_ok=True)
        return self.dir / f"stage{stage}.weights.h5"

    def backup(self, stage: int) -> Path:
        return self.dir / "backup" / f"stage{stage}"
