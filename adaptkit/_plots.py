"""Learning-curve figures from history rows: per stage (boundaries and names marked), transfer vs from scratch.

matplotlib only (the Agg backend, no display, no TensorFlow). ``curves.png``
and the figures inside ``report.html`` are drawn here. Every text that comes
from a spec (stage names) is drawn literally, never as matplotlib mathtext.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path
from typing import Any, Iterable, Optional

__all__ = ["META_COLUMNS", "metric_columns", "learning_curves", "seed_curves", "png_bytes", "save_png"]

META_COLUMNS = ("epoch", "stage", "stage_name", "stage_epoch", "learning_rate", "seconds")
"""history.csv columns that are not a Keras log."""

TRANSFER, BASELINE = "C0", "C1"
PANEL = (4.6, 3.0)
"""Inches of one panel."""
LEGEND = 0.3
"""Inches under the panels for the shared legend."""


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _literal(text: str) -> str:
    """``text`` as matplotlib draws it literally: a ``$`` would start mathtext."""
    return str(text).replace("$", r"\$")


def _value(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def metric_columns(rows: list[dict]) -> list[str]:
    """The logged quantities of ``rows`` (``val_x`` and ``x`` are one), ``loss`` first."""
    seen: list[str] = []
    for row in rows:
        for key in row:
            if key in META_COLUMNS:
                continue
            base = key[4:] if key.startswith("val_") else key
            if base not in seen:
                seen.append(base)
    return sorted(seen, key=lambda k: (k != "loss", seen.index(k)))


def _stage_spans(rows: list[dict]) -> list[tuple[float, float, str]]:
    """``(first epoch, last epoch, label)`` of each stage in ``rows``."""
    spans: list[list[Any]] = []
    for row in rows:
        label = str(row.get("stage_name") or f"stage {row.get('stage')}")
        key = (row.get("stage"), label)
        if spans and spans[-1][3] == key:
            spans[-1][1] = row["epoch"]
        else:
            spans.append([row["epoch"], row["epoch"], label, key])
    return [(float(a), float(b), label) for a, b, label, _ in spans]


def _mark_stages(ax: Any, rows: list[dict]) -> None:
    spans = _stage_spans(rows)
    for (_, end, _), _next in zip(spans, spans[1:]):
        ax.axvline(end + 0.5, color="grey", lw=0.8, ls=":")
    if len(spans) > 1 or (spans and spans[0][2] not in ("stage1", "stage 1")):
        low, high = ax.get_ylim()
        ax.set_ylim(low, high + 0.12 * (high - low))  # room for the names above the curves
        for start, end, label in spans:
            short = label if len(label) <= 28 else label[:27] + "…"
            ax.text((start + end) / 2, 0.98, _literal(short), transform=ax.get_xaxis_transform(),
                    ha="center", va="top", fontsize=7, color="dimgrey", clip_on=True)


def _plot(ax: Any, rows: list[dict], key: str, label: str, color: str) -> bool:
    drawn = False
    for prefix, style, split in (("", "--", "train"), ("val_", "-", "validation")):
        points = [(r["epoch"], _value(r[prefix + key])) for r in rows if prefix + key in r]
        if points:
            ax.plot([e for e, _ in points], [v for _, v in points], style, color=color, marker=".", ms=3,
                    label=f"{label}, {split}")
            drawn = True
    return drawn


def learning_curves(transfer_rows: list[dict], baseline_rows: list[dict], keys: Optional[Iterable[str]] = None) -> Any:
    """One panel per logged quantity (``keys``; default every one, and the learning rate),
    transfer and from-scratch curves, train dashed and validation solid, stages marked."""
    plt = _pyplot()
    keys = list(keys) if keys is not None else metric_columns(transfer_rows + baseline_rows) + ["learning_rate"]
    cols = min(3, len(keys)) or 1
    rows_n = math.ceil(len(keys) / cols) or 1
    fig, axes = plt.subplots(rows_n, cols, figsize=(PANEL[0] * cols, PANEL[1] * rows_n + LEGEND), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        if key == "learning_rate":
            for rows, label, color in ((transfer_rows, "transfer", TRANSFER), (baseline_rows, "from scratch", BASELINE)):
                points = [(r["epoch"], _value(r.get("learning_rate"))) for r in rows if "learning_rate" in r]
                if points:
                    ax.plot([e for e, _ in points], [v for _, v in points], "-", color=color, marker=".", ms=3, label=label)
            ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
        else:
            _plot(ax, transfer_rows, key, "transfer", TRANSFER)
            _plot(ax, baseline_rows, key, "from scratch", BASELINE)
        if transfer_rows:
            _mark_stages(ax, transfer_rows)
        ax.set_title(_literal(key), fontsize=10)
        _epochs_axis(ax)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    _shared_legend(fig, axes.flat)
    return fig


def _epochs_axis(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _shared_legend(fig: Any, axes: Iterable[Any]) -> None:
    """One legend under the panels (from the panel with the most lines), out of the curves' way;
    fixed margins in inches (tight_layout would measure every tick label: slow)."""
    best: tuple[list, list] = ([], [])
    for ax in axes:
        handles, labels = ax.get_legend_handles_labels()
        if len(labels) > len(best[1]):
            best = (handles, labels)
    if best[1]:
        fig.legend(*best, loc="lower center", ncol=min(4, len(best[1])), fontsize=8, frameon=False)
    width, height = fig.get_size_inches()
    left, right, top, bottom, wspace, hspace = 0.65, 0.2, 0.35, 0.5 + LEGEND, 0.7, 0.8
    gs = fig.axes[0].get_subplotspec().get_gridspec()
    rows, cols = gs.get_geometry()
    fig.subplots_adjust(
        left=left / width,
        right=1 - right / width,
        top=1 - top / height,
        bottom=bottom / height,
        wspace=wspace / ((width - left - right - (cols - 1) * wspace) / cols),
        hspace=hspace / ((height - top - bottom - (rows - 1) * hspace) / rows),
    )


def seed_curves(histories: list[tuple[str, list[dict], list[dict]]], keys: list[str]) -> Any:
    """One panel per key, one line per seed ``(label, transfer rows, baseline rows)``: the validation
    curve where there is one, transfer and from scratch in their own colours, stages marked."""
    plt = _pyplot()
    cols = min(3, len(keys)) or 1
    rows_n = math.ceil(len(keys) / cols) or 1
    fig, axes = plt.subplots(rows_n, cols, figsize=(PANEL[0] * cols, PANEL[1] * rows_n + LEGEND), squeeze=False)
    for ax, key in zip(axes.flat, keys):
        for i, (label, transfer, baseline) in enumerate(histories):
            for rows, who, color in ((transfer, "transfer", TRANSFER), (baseline, "from scratch", BASELINE)):
                column = "val_" + key if rows and "val_" + key in rows[0] else key
                points = [(r["epoch"], _value(r[column])) for r in rows if column in r]
                if points:
                    ax.plot([e for e, _ in points], [v for _, v in points], "-", color=color, alpha=0.7, lw=1, marker=".", ms=3,
                            label=who if i == 0 else None)
        if histories and histories[0][1]:
            _mark_stages(ax, histories[0][1])
        ax.set_title(_literal(key) + " per seed", fontsize=10)
        _epochs_axis(ax)
    for ax in list(axes.flat)[len(keys):]:
        ax.set_visible(False)
    _shared_legend(fig, axes.flat)
    return fig


def png_bytes(fig: Any, dpi: int = 100) -> bytes:
    """The figure as PNG bytes; the figure is closed."""
    plt = _pyplot()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


def save_png(fig: Any, path: Path, dpi: int = 100) -> None:
    """Write the figure to ``path`` through a temporary name (never half a file); the figure is closed."""
    data = png_bytes(fig, dpi)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_bytes(data)
    os.replace(tmp, path)
