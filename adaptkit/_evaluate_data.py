"""``adaptkit evaluate``: a finished run's metrics on new labeled data, from the same evaluation plugins the run used.

The data is read by the run's own data plugin (``data.train``'s kind with the
user's path, or a YAML data section), its labels given to the run's tasks as in
training (``_splits``), checked against the classes the run learnt, and fed as
the ``test`` split to every ``adaptkit_evaluate`` implementation
(:func:`adaptkit._evaluation.all_metrics`: the spec's ``evaluation.metrics`` and the plugins'). The result names the metrics as
``metrics.json`` does without the split (``accuracy``, ``<task>/accuracy``),
next to the run's own test value.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from ._afterrun import FinishedRun, check_shape, load_run_model, open_run, read_new_data
from ._errors import AdaptkitError, SpecError
from ._types import RunContext

__all__ = ["evaluate_run", "default_output"]

SPLIT = "test"


def _labeled_for_run(run: FinishedRun, source: Any, given: str) -> Any:
    """The source with the labels as the run's tasks read them, its classes checked against the run's."""
    from ._splits import _for_tasks
    from ._tasks import spec_tasks

    tasks = [t for t in spec_tasks(run.spec) if t.data is None]
    if not tasks:
        raise SpecError("DATA", "every task of this run has its own data: name the data of one task in a YAML data section")
    shaped = _for_tasks(source, tasks, given, as_dict=run.multitask)
    have = shaped.label_infos() if run.multitask else {None: shaped.label_infos()["label"]}
    for name, info in run.tasks.items():
        mine = have.get(name)
        if mine is not None and info.class_names is not None and mine.class_names != info.class_names:
            task = f" (task {name})" if name else ""
            raise SpecError(given, f"classes {mine.class_names}{task} differ from the run's {info.class_names}")
    return shaped


def evaluate_run(run_dir: Path, given: str, trust_code: bool = False) -> tuple[dict[str, Any], list[AdaptkitError]]:
    """What ``adaptkit evaluate RUN DATA`` reports and writes (the metrics, the run's own test
    values), and the errors of the evaluation plugins that failed (their metrics are missing)."""
    from ._evaluation import all_metrics
    from ._metrics import build_metrics
    from ._splits import batched

    run = open_run(run_dir)
    source = read_new_data(run, given, labeled=True, where="DATA")
    model = load_run_model(run, trust_code)
    check_shape(source, model, given)
    shaped = _labeled_for_run(run, source, given)
    sets = {SPLIT: batched(shaped.dataset, run.spec.data.batch_size, cache=False)}
    ctx = RunContext(seed=run.spec.seed, spec_dir=Path.cwd())
    built = build_metrics(run.spec, run.host, ctx, model.parts.tasks or {"": model.parts.task})
    metrics, errors = all_metrics(run.host, run.spec, built, model.parts, sets, ctx)
    own = run.files.results.get("metrics") or {}
    prefix = SPLIT + "/"
    rows = {k[len(prefix):]: v for k, v in metrics.items() if k.startswith(prefix)}
    report = {
        "run": str(run.path),
        "data": str(given),
        "examples": int(shaped.size),
        "metrics": rows,
        "run_test": {k: own.get(prefix + k) for k in rows},
        "other": {k: v for k, v in metrics.items() if not k.startswith(prefix)},
        "errors": [str(e) for e in errors],
        "evaluated_at": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }
    return report, errors


def default_output(run_dir: Path, given: str) -> Path:
    """``<run>/evaluate-<data name>-<timestamp>.json``: beside the run's files, never over one."""
    stem = Path(given).stem or "data"
    base = Path(run_dir) / f"evaluate-{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base.with_suffix(".json"), 2
    while path.exists():
        path, n = Path(f"{base}-{n}.json"), n + 1
    return path
