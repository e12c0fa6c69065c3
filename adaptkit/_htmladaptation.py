"""The report's adapted-vs-source-only section (``evaluation.source_only``), for one run and over seeds."""

from __future__ import annotations

from typing import Any, Optional

from ._htmlparts import e, interval, num, section, table, td, verdict_class

__all__ = ["adaptation_section"]

_CLASS = {"adaptation helps": "positive transfer", "adaptation hurts": "negative transfer"}


def _value(v: Any) -> Any:
    return v.get("mean") if isinstance(v, dict) else v  # over seeds: the mean


def adaptation_section(results: dict[str, Any]) -> str:
    """Both values on the target test metric, the difference with its interval, the verdict, the warnings."""
    a: Optional[dict] = results.get("adaptation")
    if not a:
        return ""
    verdict = str(a.get("verdict", "inconclusive"))
    metric = str(a.get("metric", ""))
    test = a.get("test") or {}
    out = f'<p class="verdict {verdict_class(_CLASS.get(verdict, verdict))}" data-verdict="{e(verdict)}">{e(verdict)} on {e(metric)}</p>'
    rows = [
        [td("adapted"), num(_value(a.get("adapted")), role="adapted")],
        [td("source-only (no alignment losses)"), num(_value(a.get("source_only")), role="source-only")],
    ]
    if "difference" in test:
        rows += [
            [td("difference (adapted − source-only)"), num(test.get("difference"), role="adaptation-difference")],
            [td("95% interval"), f'<td class="num">{e(interval(test))}</td>'],
        ]
        if test.get("p_value") is not None:
            rows.append([td("p"), num(test.get("p_value"), ".3g")])
    out += table(["", metric], rows, str(test.get("method", "")))
    warnings = a.get("warnings") or []
    if warnings:
        out += '<ul class="warnings">' + "".join(f"<li>warning: {e(w)}</li>" for w in warnings) + "</ul>"
    return section("adaptation", "Adapted vs source-only", out)
