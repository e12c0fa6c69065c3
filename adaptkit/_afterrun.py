"""A finished run opened for the verbs that use it afterwards (predict, evaluate, export): its spec, model and tasks, and new data read by its own loader.

:func:`open_run` reads files only (no TensorFlow). :func:`load_run_model` loads
``model.keras`` through :func:`adaptkit.load_model` (safe mode unless
``--trust-code``) and takes it apart as the run built it::

    model.keras = classifier(encoder(preprocessing(raw)))

so new data read by the run's data plugin (which yields *loaded* examples, as
in training) goes through ``classifier(encoder(.))``: the very computation
``model.keras`` does on the raw examples. :func:`read_new_data` reads a path
with ``data.train``'s kind (:meth:`adaptkit.DataSourceSection.reading`), or a
YAML file holding a data section of any installed kind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from ._errors import DataError, ModelError, SpecError
from ._plugins import PluginHost, get_host
from ._rundata import RunFiles, read_run
from ._types import DataSource, ModelParts, RunContext, TaskInfo

__all__ = ["FinishedRun", "RunModel", "open_run", "load_run_model", "read_new_data", "YAML_SUFFIXES"]

YAML_SUFFIXES = (".yaml", ".yml")


@dataclass
class FinishedRun:
    """A finished run directory: its files, its validated spec, what each model output predicts."""

    path: Path
    files: RunFiles
    spec: Any
    tasks: dict[Optional[str], TaskInfo]
    """By task name; one key, ``None``, for a one-task run (its output is not a dict)."""
    host: PluginHost

    @property
    def multitask(self) -> bool:
        return None not in self.tasks

    @property
    def model_path(self) -> Path:
        return self.path / "model.keras"


@dataclass
class RunModel:
    """``model.keras`` (raw examples in) and the same model behind its preprocessing (loaded examples in)."""

    raw: Any
    loaded: Any
    parts: ModelParts

    @property
    def loaded_shape(self) -> tuple:
        return tuple(self.loaded.inputs[0].shape[1:])


def _tasks(files: RunFiles) -> dict[Optional[str], TaskInfo]:
    """``metrics.json``'s ``tasks``; a run written before they were kept: the class names its test
    predictions list (else the outputs are shown as numbers)."""
    listed = files.results.get("tasks")
    if isinstance(listed, list) and listed:
        return {t.get("name"): TaskInfo(t.get("class_names"), tuple(t.get("target_shape") or ())) for t in listed}
    entries = files.results.get("test_predictions") or []
    return {e.get("task"): TaskInfo(e.get("class_names")) for e in entries if isinstance(e, dict)} or {None: TaskInfo(None)}


def open_run(path: Path, host: Optional[PluginHost] = None) -> FinishedRun:
    """The finished run at ``path``; a folder that is not one (or has no model) is a one-line DataError."""
    from ._specfile import load_spec
    from ._specerrors import SpecErrors

    files = read_run(Path(path), histories=False)
    if files.kind == "seeds":
        seeds = [str(r.path) for r in files.seed_runs]
        raise DataError(str(path), f"a repeated-seeds run: name one seed's run directory ({seeds[0] if seeds else 'seed<k>/'})")
    if not (files.path / "model.keras").is_file():
        raise ModelError(str(files.path / "model.keras"), "no such file: the run directory has no saved model")
    if not files.spec:
        raise DataError(str(files.path / "spec.yaml"), "no such file (or not a mapping): the run's resolved spec is needed")
    host = host or get_host()
    try:
        spec = load_spec(files.spec, host)
    except SpecErrors as exc:
        first = exc.errors[0]
        raise SpecError(f"{files.path / 'spec.yaml'}: {first.where}", f"{first.message} (is every plugin the run used installed?)") from None
    return FinishedRun(files.path, files, spec, _tasks(files), host)


def load_run_model(run: FinishedRun, trust_code: bool = False) -> RunModel:
    """Load ``model.keras`` and take off its preprocessing front (see the module's docstring)."""
    import keras

    from ._models import load_model

    raw = load_model(run.model_path, trust_code=trust_code)
    layers = {layer.name: layer for layer in raw.layers if not isinstance(layer, keras.layers.InputLayer)}
    if "preprocessing" not in layers:
        loaded = raw
    else:
        front = layers.pop("preprocessing")
        x = keras.Input(shape=tuple(front.output.shape[1:]), dtype=front.output.dtype, name="inputs")
        if set(layers) == {"encoder", "classifier"}:
            loaded = keras.Model(x, layers["classifier"](layers["encoder"](x)), name=raw.name)
        elif len(layers) == 1:
            loaded = keras.Model(x, next(iter(layers.values()))(x), name=raw.name)
        else:
            raise ModelError(str(run.model_path), f"not shaped as adaptkit saves models (layers: {', '.join(layers)})")
    encoder = layers.get("encoder", loaded)
    classifier = layers.get("classifier", loaded)
    tasks = None if not run.multitask else {str(k): v for k, v in run.tasks.items()}
    first = next(iter(run.tasks.values()))
    return RunModel(raw, loaded, ModelParts(encoder, classifier, loaded, first, tasks))


def _yaml_section(path: Path, host: PluginHost) -> Any:
    """The data section a YAML file holds: the mapping itself (with ``kind``) or its ``data`` key."""
    from pydantic import ValidationError

    from ._families import _adapter
    from ._paths import SPEC_DIR
    from ._specerrors import SpecErrors, spec_errors
    from ._specfile import read_spec_file

    data = read_spec_file(path)
    where = str(path)
    if "kind" not in data and isinstance(data.get("data"), dict):
        data, where = data["data"], f"{path}: data"
    if "kind" not in data:
        raise SpecError(where, "needs a data section: a mapping with a 'kind' (or a 'data' key holding one)")
    try:
        return _adapter(host, "data").validate_python(data, context={"host": host, SPEC_DIR: path.resolve().parent})
    except ValidationError as exc:
        raise SpecErrors([SpecError(f"{where}.{e.where}".rstrip("."), e.message) for e in spec_errors(exc, data, host)]) from None


def _with_run_classes(run: FinishedRun, section: Any) -> Any:
    """A one-label section that would read its class names from the data reads the run's instead,
    so that class indices mean the run's classes (a new file may lack a class)."""
    names = None if run.multitask else run.tasks[None].class_names
    if names is None or getattr(section, "class_names", "absent") is not None or getattr(section, "labels", None) is not None:
        return section
    return section.with_fields(class_names=list(names))


def read_new_data(run: FinishedRun, given: str, labeled: bool, where: str) -> DataSource:
    """New data for ``run``: ``given`` is a file or folder read with ``data.train``'s kind, or a YAML
    file holding a data section; ``labeled`` False drops the labels. ``where``: the argument's
    name in messages (``INPUT``, ``DATA``)."""
    path = Path(given).expanduser()
    if not path.exists():
        raise DataError(given, "no such file or folder")
    if path.suffix.lower() in YAML_SUFFIXES and path.is_file():
        section, spec_dir = _yaml_section(path, run.host), path.resolve().parent
    else:
        try:
            section = run.spec.data.train.reading(os.path.abspath(path))
        except ValueError as exc:
            raise SpecError(where, f"cannot read {given} as the run's data ({run.spec.data.train.kind}): {exc}") from None
        spec_dir = Path.cwd()
    try:
        section = section.unlabeled() if not labeled else _with_run_classes(run, section)
    except ValueError as exc:
        raise SpecError(where, f"cannot read {given} {'without' if not labeled else 'with'} labels ({section.kind}): {exc}") from None
    ctx = RunContext(seed=run.spec.seed, spec_dir=spec_dir, where=where)
    source = run.host.call_first("adaptkit_load_data", where, section, context=ctx)
    if source.size < 1:
        raise DataError(given, "no examples")
    if labeled and not source.labeled:
        raise DataError(given, "has no labels (evaluate needs labeled data)")
    return source


def check_shape(source: DataSource, model: RunModel, given: str) -> None:
    """The examples must be what the model takes (None: any size)."""
    got, want = tuple(source.input_shape), model.loaded_shape
    if len(got) != len(want) or any(w is not None and int(g) != int(w) for g, w in zip(got, want)):
        raise DataError(given, f"examples of shape {got}, but the run's model takes {want}")
