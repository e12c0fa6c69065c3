"""The report page of a repeated-seeds parent: the verdict paired over seeds, metrics over seeds, a row per seed.

Built from the parent's ``aggregate.json`` and ``seeds.csv`` and each seed's own run directory
(:func:`adaptkit._rundata.read_run`); the pieces shared with a run's page come from :mod:`adaptkit._html`.
"""

from __future__ import annotations

from typing import Optional

from ._html import REPORT, _header, _spec_section, _tasks_of, _warnings, verdict_head
from ._htmladaptation import adaptation_section
from ._htmlparts import e, figure, interval, num, page, section, shown, table, td
from ._rundata import RunFiles

__all__ = ["seeds_page"]


def _over_seeds_verdict(task: str, verdict: dict) -> str:
    out, done = verdict_head(task, verdict)
    if done:
        return out
    rows = []
    for what in ("start", "slope", "asymptote"):
        t = verdict.get(what)
        if isinstance(t, dict):
            rows.append([td(what), num(t.get("difference"), role=f"{what}-difference"), num(t.get("sd")), f'<td class="num">{e(interval(t))}</td>', num(t.get("p_value"), ".3g"), num(t.get("n"))])
    if rows:
        out += table(["transfer − from scratch", "mean difference", "sd", "95% interval", "p", "seeds"], rows, verdict.get("method", ""))
    return out + _warnings(verdict)


def _stats_cells(s: Optional[dict], model: str, key: str) -> list[str]:
    if not s:
        return [td("")] * 3
    return [num(s.get("mean"), metric=key, model=model, stat="mean"), num(s.get("sd")), f'<td class="num">{e(interval(s, signed=False))}</td>']


def seeds_page(files: RunFiles) -> str:
    a = files.results
    headline = a.get("headline") or {}
    seeds = a.get("seeds") or []
    split = "each seed its own split" if a.get("vary_split") else f"one split (split seed {a.get('split_seed')})"
    facts = [f"{len(seeds)} seeds ({', '.join(str(s) for s in seeds)}) on {split}", f"headline {headline.get('metric')} = {shown(headline.get('mean'))} ± {shown(headline.get('sd'))}"]
    if a.get("wall_time_s") is not None:
        facts.append(f"{float(a['wall_time_s']):.1f} s")
    entries = _tasks_of(a.get("transfer"))
    verdict = "".join(_over_seeds_verdict(t, v) for t, v in entries) or '<p class="note">no from-scratch baseline was trained: no verdict</p>'
    base = a.get("baseline") or {}
    rows = [[td(k), *_stats_cells(s, "transfer", k), num(s.get("n"))] + (_stats_cells(base.get(k), "baseline", k) if base else []) for k, s in sorted((a.get("metrics") or {}).items())]
    head = ["metric", "mean", "sd", "95% interval", "seeds"] + (["from scratch: mean", "sd", "95% interval"] if base else [])
    metrics = table(head, rows, "every metric over seeds: mean, sd and the 95% t interval of the mean")
    seed_rows = []
    for r in files.seed_rows:
        run = str(r.get("run", ""))
        link = f'<td><a href="{e(run)}/{REPORT}">{e(run)}</a></td>' if (files.path / run / REPORT).is_file() else td(run)
        seed_rows.append([td(r.get("seed")), link, num(r.get("headline")), num(r.get("baseline")), td(r.get("verdict", "")), num(r.get("wall_time_s"), ".1f")])
    per_seed = table(["seed", "run", f"headline {headline.get('metric', '')}", "from scratch", "the seed's own verdict", "seconds"], seed_rows)
    body = (
        _header(files, " · ".join(facts))
        + section("verdict", "Transfer verdict, paired over seeds", verdict)
        + adaptation_section(a)
        + section("metrics", "Metrics over seeds", metrics)
        + section("seeds", "Seeds", per_seed)
        + _seed_curves_section(files)
        + _spec_section(files)
    )
    return page(f"adaptkit run: {files.name} ({len(seeds)} seeds)", body)


def _seed_curves_section(files: RunFiles) -> str:
    from ._plots import seed_curves

    histories = [(r.path.name, r.history, r.baseline_history) for r in files.seed_runs if r.history]
    if not histories:
        return ""
    monitors = []
    for _, verdict in _tasks_of(files.seed_runs[0].results.get("transfer")):
        if verdict.get("metric") and verdict["metric"] not in monitors:
            monitors.append(verdict["metric"])
    drawn = figure(seed_curves(histories, ["loss", *monitors]), "learning curves per seed, transfer vs from scratch")
    return section("curves", "Learning curves", drawn + '<p class="note">validation curves (train where there is no validation split), one line per seed</p>')
