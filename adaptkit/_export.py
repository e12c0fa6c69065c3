"""``adaptkit export``: a finished run's ``model.keras`` written for serving by Keras' own exporters (``model.export``).

The exported model is ``model.keras`` itself, so it takes raw examples (the
data plugin's preprocessing is inside it, see docs/spec.md "The saved model"):

- ``saved_model``: a TensorFlow SavedModel folder (``tf.saved_model.load``;
  the endpoint ``serve``), through Keras' ``ExportArchive``;
- ``tflite``: a LiteRT (TensorFlow Lite) flat buffer (``tf.lite.Interpreter``),
  Keras' ``litert`` format;
- ``onnx``: an ONNX graph (``onnxruntime``), Keras' ``onnx`` format, which
  needs the ``tf2onnx`` and ``onnx`` packages.

A model that takes strings (text) exports as a SavedModel only: TensorFlow
Lite and ONNX have no string tensors for the tokenizer. The export is written
beside the run's files under a new name, or where ``--output`` says, never
over an existing file; a failed export leaves nothing behind.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Optional

from ._afterrun import load_run_model, open_run
from ._errors import ModelError, SpecError

__all__ = ["FORMATS", "export_run", "default_output"]

FORMATS = {"saved_model": "tf_saved_model", "tflite": "litert", "onnx": "onnx"}
"""The verb's format names and Keras' own."""
_NEEDS = {"onnx": ("tf2onnx", "onnx")}
_NAMES = {"saved_model": "saved_model", "tflite": "model.tflite", "onnx": "model.onnx"}


def default_output(run_dir: Path, fmt: str) -> Path:
    """``<run>/export/saved_model``, ``<run>/export/model.tflite``, ``<run>/export/model.onnx``."""
    return Path(run_dir) / "export" / _NAMES[fmt]


def _check_packages(fmt: str) -> None:
    missing = [p for p in _NEEDS.get(fmt, ()) if importlib.util.find_spec(p) is None]
    if missing:
        raise SpecError("--format", f"{fmt} export needs {' and '.join(missing)}: pip install {' '.join(missing)}")


def _check_inputs(model: object, fmt: str) -> None:
    import keras

    dtypes = {keras.backend.standardize_dtype(t.dtype) for t in model.inputs}
    if fmt != "saved_model" and "string" in dtypes:
        raise SpecError("--format", f"the model takes strings (text): {fmt} has no string tensors; export --format saved_model")


def _call_once(model: object, fmt: str) -> None:
    """Keras' ONNX exporter refuses a model that was never called, as one fresh from a file is
    (the other exporters trace it themselves; a model taking strings exports only as a SavedModel)."""
    import numpy as np

    if fmt != "onnx":
        return
    shaped = [np.zeros((1, *[d or 1 for d in t.shape[1:]]), dtype=t.dtype) for t in model.inputs]
    model(shaped[0] if len(shaped) == 1 else shaped, training=False)


def export_run(run_dir: Path, fmt: str, output: Optional[Path] = None, trust_code: bool = False) -> Path:
    """Export the run's model in ``fmt`` (a key of :data:`FORMATS`) to ``output`` (default:
    :func:`default_output`); the path written."""
    if fmt not in FORMATS:
        raise SpecError("--format", f"unknown format {fmt!r} (formats: {', '.join(FORMATS)})")
    run = open_run(run_dir)
    target = Path(output) if output is not None else default_output(run.path, fmt)
    if target.exists() or target.is_symlink():
        raise SpecError("--output", f"{target} exists: remove it, or name another path with --output")
    if fmt != "saved_model" and target.suffix != Path(_NAMES[fmt]).suffix:
        raise SpecError("--output", f"a {fmt} file is named *{Path(_NAMES[fmt]).suffix}, not {target.name}")
    _check_packages(fmt)
    model = load_run_model(run, trust_code).raw
    _check_inputs(model, fmt)
    _call_once(model, fmt)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SpecError("--output", f"cannot write {target}: {exc.strerror or exc}") from exc
    tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")  # the suffix kept: LiteRT wants .tflite
    try:
        model.export(str(tmp), format=FORMATS[fmt], verbose=False)
        os.replace(tmp, target)
    except Exception as exc:
        detail = " ".join(str(exc).split())[:300]
        raise ModelError(str(target), f"the {fmt} export failed ({type(exc).__name__}: {detail})") from exc
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
        elif tmp.exists():
            tmp.unlink()
    return target
