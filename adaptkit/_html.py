"""report.html: one self-contained page per run directory (or repeated-seeds parent), drawn from its files.

The page holds the verdict with its test and warnings, the metrics per split
and per task (with the intervals the run has: the one-seed bootstrap interval
of the verdict, or the aggregate's over seeds), the data sizes, the learning
curves per stage, the confusion matrices or regression summary of the test
predictions, early stopping, and the resolved spec. Inline CSS, figures as
base64 PNG, no script and no external URL, so it opens anywhere, offline;
every text that comes from the spec or the data is HTML-escaped.
No TensorFlow: everything is read back from the run's files (:mod:`._rundata`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

from ._htmladaptation import adaptation_section
from ._htmlparts import _is_number, e, figure, interval, num, page, png_image, section, shown, table, td, verdict_class
from ._rundata import RunFiles, read_run
from ._rundir import atomic_write_text

__all__ = ["write_report", "render_report", "REPORT"]

REPORT = "report.html"
MAX_CLASSES = 40
"""Confusion matrices of more classes are left in metrics.json, not drawn."""


def _folder_name(path: Path) -> str:
    """The run directory's name, also while it is still written as ``.<name>.partial``."""
    name = path.name
    return name[1 : -len(".partial")] if name.startswith(".") and name.endswith(".partial") else name


def _header(files: RunFiles, extra: str) -> str:
    description = files.spec.get("description") or ""
    out = f"<header><h1>{e(files.name)}</h1>"
    out += f'<p class="meta">{e(extra)}</p>'
    if description:
        out += f'<p class="desc">{e(description)}</p>'
    return out + "</header>"


def _spec_section(files: RunFiles) -> str:
    if not files.spec_text:
        return section("spec", "Spec", '<p class="note">no spec.yaml in this folder</p>')
    body = f"<details><summary>resolved spec (spec.yaml, every default filled in)</summary><pre>{e(files.spec_text)}</pre></details>"
    return section("spec", "Spec", body)


def _tasks_of(transfer: Any) -> list[tuple[str, dict]]:
    """``[(task, verdict)]``: one unnamed entry for a one-task verdict, one per task otherwise."""
    if not isinstance(transfer, dict) or not transfer:
        return []
    if "verdict" in transfer or "no_verdict" in transfer:
        return [("", transfer)]
    return [(task, v) for task, v in transfer.items() if isinstance(v, dict)]


def _warnings(verdict: dict) -> str:
    warnings = verdict.get("warnings") or []
    if not warnings:
        return ""
    return '<ul class="warnings">' + "".join(f"<li>warning: {e(w)}</li>" for w in warnings) + "</ul>"


# -- one run -------------------------------------------------------------------------------


def _split_key(key: str) -> tuple[Optional[str], Optional[str], str]:
    """``test/accuracy`` -> (test, None, accuracy); ``test/digit/accuracy`` -> (test, digit, accuracy);
    a key that does not start with a split -> (None, None, key)."""
    parts = key.split("/")
    if parts[0].split("@")[0] not in ("train", "validation", "test", "target_test") or len(parts) not in (2, 3):
        return None, None, key
    return parts[0], (parts[1] if len(parts) == 3 else None), parts[-1]


def verdict_head(task: str, verdict: dict) -> tuple[str, bool]:
    """The task's title and the verdict's line; ``True`` when there is no verdict (nothing more to show)."""
    from ._verdict import verdict_line

    title = f"<h3>{e(task)}</h3>" if task else ""
    if "no_verdict" in verdict:
        return title + f'<p class="verdict neutral">no verdict: {e(verdict["no_verdict"])}</p>', True
    line = f'<p class="verdict {verdict_class(verdict.get("verdict"))}" data-verdict="{e(verdict.get("verdict"))}">{e(verdict_line(verdict))}</p>'
    return title + line, False


def _one_verdict(task: str, verdict: dict) -> str:
    out, done = verdict_head(task, verdict)
    if done:
        return out
    rows = []
    for what, t_key, b_key, flag in (
        ("start (first epoch)", "start_transfer", "start_baseline", "higher_start"),
        ("slope (first half)", "slope_transfer", "slope_baseline", "steeper_slope"),
        ("asymptote (test)", "asymptote_transfer", "asymptote_baseline", "higher_asymptote"),
    ):
        if t_key in verdict or flag in verdict:
            rows.append([td(what), num(verdict.get(t_key)), num(verdict.get(b_key)), td(shown(verdict.get(flag)))])
    if rows:
        curve = verdict.get("curve", "")
        caption = f"{verdict.get('metric', '')} of the {curve} curve; asymptote: the test metric" if curve else ""
        out += table(["", "transfer", "from scratch", "transfer better"], rows, caption)
    test = verdict.get("test") or {}
    if "difference" in test:
        cells = [
            [td("difference (transfer − from scratch)"), num(test.get("difference"), role="difference")],
            [td("95% interval"), f'<td class="num" data-role="interval">{e(interval(test))}</td>'],
            [td("test examples"), num(test.get("n"))],
        ]
        mc = test.get("mcnemar")
        if mc:
            cells += [
                [td("only transfer right"), num(mc.get("only_transfer_right"))],
                [td("only from scratch right"), num(mc.get("only_baseline_right"))],
                [td("McNemar exact p"), num(mc.get("p_value"), ".3g")],
            ]
        out += table(["test", ""], cells, test.get("method", ""))
    elif test.get("method"):
        out += f'<p class="note">test: {e(test["method"])}</p>'
    return out + _warnings(verdict)


def _verdict_section(files: RunFiles) -> str:
    transfer = files.results.get("transfer")
    entries = _tasks_of(transfer)
    if not entries:
        return section("verdict", "Transfer verdict", '<p class="note">no from-scratch baseline was trained (evaluation.baseline: false): no verdict</p>')
    return section("verdict", "Transfer verdict", "".join(_one_verdict(t, v) for t, v in entries))


def _judged_metric(task: str, verdict: dict) -> Optional[str]:
    """The metric the verdict's test is on (its history column less the task prefix)."""
    column = verdict.get("metric")
    if column and task and str(column).startswith(task + "_"):
        return str(column)[len(task) + 1 :]
    return column


def _metrics_section(files: RunFiles) -> str:
    m = files.results
    metrics = m.get("metrics") or {}
    base = ((m.get("baseline") or {}).get("metrics")) or {}
    tests = {t or None: (_judged_metric(t, v), v.get("test") or {}) for t, v in _tasks_of(m.get("transfer"))}
    by_task: dict[Optional[str], dict[str, dict[str, str]]] = {}
    splits: list[str] = []
    other = []
    for key in metrics:
        split, task, metric = _split_key(key)
        if split is None:
            other.append(key)
            continue
        if metric == "examples":
            continue
        split = split.split("@")[0]
        if split not in splits:
            splits.append(split)
        by_task.setdefault(task, {}).setdefault(metric, {})[split] = key
    order = [s for s in ("train", "validation", "test", "target_test") if s in splits]
    out = []
    for task, rows_by_metric in by_task.items():
        head = ["metric"] + order + [f"from scratch: {s}" for s in order if base] + (["transfer − from scratch (test), 95% interval"] if base else [])
        rows = []
        for metric, keys in rows_by_metric.items():
            row = [td(metric)]
            row += [num(metrics.get(keys[s]), metric=keys[s], model="transfer") if s in keys else td("") for s in order]
            if base:
                row += [num(base.get(keys[s]), metric=keys[s], model="baseline") if s in keys else td("") for s in order]
                judged_metric, test = tests.get(task, (None, {}))
                judged = "difference" in test and metric == judged_metric and "test" in keys
                row.append(f'<td class="num">{e(shown(test["difference"]) + " " + interval(test))}</td>' if judged else td(""))
            rows.append(row)
        counts = ", ".join(
            f"{s}: {metrics[k]:,}"
            for s in order
            for k in [f"{s}/{task}/examples" if task and f"{s}/{task}/examples" in metrics else f"{s}/examples"]
            if k in metrics
        )
        caption = (f"task {task}" if task else "") + (f" ({counts} examples)" if counts else "")
        out.append(table(head, rows, caption.strip()))
    if other:
        rows = [[td(k), num(metrics.get(k), metric=k, model="transfer")] + ([num(base.get(k), metric=k, model="baseline")] if base else []) for k in other]
        out.append(table(["measure", "transfer"] + (["from scratch"] if base else []), rows))
    single = m.get("single_task")
    if single:
        rows = [
            [td(task), td(v.get("metric")), num(v.get("multi_task")), num(v.get("single_task")), num(v.get("relative_percent"))]
            for task, v in (single.get("tasks") or {}).items()
        ]
        out.append("<h3>multi-task vs each task alone</h3>")
        out.append(table(["task", "metric", "multi-task", "single-task", "relative %"], rows, f"Δm% = {shown(single.get('delta_m_percent'))}"))
    if not out:
        out.append('<p class="note">no metrics</p>')
    return section("metrics", "Metrics", "".join(out))


def _data_section(files: RunFiles) -> str:
    m = files.results
    sizes = m.get("data") or {}
    order = {"train": 0, "validation": 1, "test": 2, "target": 3, "target_test": 4}
    named = sorted(sizes.items(), key=lambda kv: (kv[0].split("@")[0] not in order, kv[0].count("@"), order.get(kv[0].split("@")[0], 9), kv[0]))
    rows = [[td(split), num(n)] for split, n in named]
    out = table(["split", "examples"], rows)
    params = m.get("parameters") or {}
    if params:
        out += table(["parameters", ""], [[td("total"), num(params.get("total"))], [td("trainable in the last stage"), num(params.get("trainable_last_stage"))]])
    return section("data", "Data", out)


def _stages_table(history: list[dict]) -> str:
    stages: dict[Any, dict[str, Any]] = {}
    for row in history:
        s = stages.setdefault(row.get("stage"), {"name": row.get("stage_name"), "epochs": 0, "seconds": 0.0})
        s["epochs"] += 1
        s["seconds"] += float(row.get("seconds") or 0.0)
        s["lr"] = row.get("learning_rate")
    rows = [[td(k), td(v["name"]), num(v["epochs"]), num(v.get("lr"), ".3g"), num(v["seconds"], ".1f")] for k, v in stages.items()]
    return table(["stage", "name", "epochs", "last learning rate", "seconds"], rows)


def _curves_section(files: RunFiles) -> str:
    from ._plots import learning_curves

    if not files.history:
        return section("curves", "Learning curves", '<p class="note">no history.csv</p>')
    alt = "learning curves per stage, transfer vs from scratch"
    drawn = files.path / "curves.png"  # the run drew this figure already (evaluation.plots)
    note = '<p class="note">dashed: train, solid: validation; dotted lines: stage boundaries</p>'
    if drawn.is_file():
        out = png_image(drawn.read_bytes(), alt) + note
    elif (files.spec.get("evaluation") or {}).get("plots", True) is False:  # no plots asked for: no matplotlib
        out = '<p class="note">no figure (evaluation.plots: false)</p>'
    else:
        out = figure(learning_curves(files.history, files.baseline_history), alt) + note
    out += _stages_table(files.history)
    stopping = files.results.get("early_stopping") or {}
    if stopping:
        rows = [
            [td(stage), td(r.get("monitor")), td(shown(r.get("stopped_early"))), num(r.get("epochs_run")), num(r.get("best_epoch")), num(r.get("best")), td(shown(r.get("restored_best_weights")))]
            for stage, r in stopping.items()
        ]
        out += "<h3>early stopping</h3>" + table(["stage", "monitor", "stopped early", "epochs run", "best epoch", "best", "kept the best epoch's weights"], rows)
    return section("curves", "Learning curves", out)


def _confusion(matrix: list[list[int]], names: list[str], caption: str, model: str) -> str:
    head = ["true \\ predicted"] + [str(n) for n in names] + ["recall"]
    rows = []
    for i, counts in enumerate(matrix):
        total = sum(counts)
        cells = [f"<th>{e(names[i])}</th>"]
        for j, c in enumerate(counts):
            alpha = 0.0 if not total else round(0.85 * c / total, 3)
            cls = "num diag" if i == j else "num"
            cells.append(f'<td class="{cls}" data-model="{model}" style="background:rgba(31,119,180,{alpha})">{c}</td>')
        cells.append(num(None if not total else counts[i] / total))
        rows.append(cells)
    return table(head, rows, caption, cls="confusion")


def _predictions_section(files: RunFiles) -> str:
    entries = files.results.get("test_predictions") or []
    if not entries:
        return ""
    metrics = files.results.get("metrics") or {}
    base = ((files.results.get("baseline") or {}).get("metrics")) or {}
    out = []
    for entry in entries:
        task = entry.get("task")
        where = f"{entry.get('split')} split" + (f", {entry['examples']:,} examples" if entry.get("examples") is not None else "")
        out.append(f"<h3>{e(f'task {task}: ' if task else '')}{e(where)}</h3>")
        if "confusion_matrix" in entry:
            names = [str(n) for n in entry.get("class_names") or range(len(entry["confusion_matrix"]))]
            if len(names) > MAX_CLASSES:
                out.append(f'<p class="note">{len(names)} classes: the confusion matrices are in metrics.json (test_predictions)</p>')
                continue
            pair = [_confusion(entry["confusion_matrix"], names, "transfer", "transfer")]
            if entry.get("baseline_confusion_matrix"):
                pair.append(_confusion(entry["baseline_confusion_matrix"], names, "from scratch", "baseline"))
            out.append('<div class="pair">' + "".join(f"<div>{p}</div>" for p in pair) + "</div>")
            continue
        prefix = f"{entry.get('split', 'test').split('@')[0]}/" + (f"{task}/" if task else "")
        mean = entry.get("mean_predictor") or {}
        has_base = "baseline_r2" in entry
        rows = [[td("R²"), num(entry.get("r2"), role="r2")] + ([num(entry.get("baseline_r2"))] if has_base else []) + [td("")]]
        for metric in ("mae", "mse"):
            rows.append(
                [td(metric.upper()), num(metrics.get(prefix + metric))]
                + ([num(base.get(prefix + metric))] if has_base else [])
                + [num(mean.get(metric), role=f"mean-{metric}")]
            )
        value = mean.get("value")
        caption = "predict the mean: always the training targets' mean" + (f" ({shown(value)})" if _is_number(value) else "")
        out.append(table(["", "transfer"] + (["from scratch"] if has_base else []) + ["predict the mean"], rows, caption))
    return section("predictions", "Test predictions", "".join(out))


def _run_page(files: RunFiles) -> str:
    m = files.results
    headline = m.get("headline") or {}
    facts = [f"run directory {_folder_name(files.path)}", f"headline {headline.get('metric')} = {shown(headline.get('value'))}"]
    if m.get("wall_time_s") is not None:
        facts.append(f"{float(m['wall_time_s']):.1f} s")
    if files.spec.get("seed") is not None:
        facts.append(f"seed {files.spec['seed']}")
    body = (
        _header(files, " · ".join(facts))
        + _verdict_section(files)
        + adaptation_section(m)
        + _metrics_section(files)
        + _data_section(files)
        + _curves_section(files)
        + _predictions_section(files)
        + _spec_section(files)
    )
    return page(f"adaptkit run: {files.name}", body)


# -- entry points --------------------------------------------------------------------------


def render_report(files: RunFiles) -> str:
    """The page for a run directory or a repeated-seeds parent, as read by :func:`read_run`."""
    if files.kind == "seeds":
        from ._htmlseeds import seeds_page  # it builds on this module's pieces

        return seeds_page(files)
    return _run_page(files)


def write_report(folder: Path) -> Path:
    """Write ``report.html`` into ``folder`` (a run directory or repeated-seeds parent, finished or
    still ``.partial``) from the files already there."""
    path = Path(folder) / REPORT
    atomic_write_text(path, render_report(read_run(Path(folder))))
    return path
