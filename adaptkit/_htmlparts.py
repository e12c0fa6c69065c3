"""HTML building blocks of the run report: escaping, numbers with their exact values, tables, sections, images, the page.

Used by :mod:`adaptkit._html`, which lays out the run's and the repeated
seeds' pages. Every text goes through :func:`e` (``html.escape``).
"""

from __future__ import annotations

import base64
import html
import math
from typing import Any, Iterable, Optional

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d1d1f;margin:0;background:#f6f7f9}
main{max-width:1100px;margin:0 auto;padding:24px 28px 48px;background:#fff;min-height:100vh}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 10px;border-bottom:1px solid #e2e4e8;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}.meta{color:#5b616b;margin:2px 0}.desc{margin:6px 0 0;white-space:pre-wrap}
table{border-collapse:collapse;margin:6px 0 12px;font-variant-numeric:tabular-nums}
th,td{border:1px solid #dfe2e6;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f0f2f5;font-weight:600}
td.num{text-align:right;font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
td.diag{font-weight:700}caption{text-align:left;color:#5b616b;padding:2px 0}
.verdict{display:inline-block;padding:4px 10px;border-radius:4px;font-weight:600;margin:4px 0}
.good{background:#e3f4e7;color:#14532d}.bad{background:#fde7e7;color:#7f1d1d}.neutral{background:#eceef1;color:#333}
ul.warnings{background:#fff7e0;border:1px solid #f0d78c;padding:8px 8px 8px 28px;margin:8px 0}
img{max-width:100%;height:auto;border:1px solid #eceef1}pre{background:#f6f8fa;padding:10px;overflow:auto;font-size:12px}
.pair{display:flex;flex-wrap:wrap;gap:28px}.note{color:#5b616b}
summary{cursor:pointer;font-weight:600}footer{margin-top:36px;color:#8a9099;font-size:12px}
"""


# -- small pieces --------------------------------------------------------------------------


def e(value: Any) -> str:
    """Escaped text (quotes too: safe inside attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def shown(value: Any) -> str:
    """A number as the page shows it: floats to four decimals, ``n/a`` for none."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}" if abs(value) < 1e5 else f"{value:.4g}"
    return str(value)


def num(value: Any, fmt: str = "", **data: Any) -> str:
    """A right-aligned number cell (``fmt``: a format spec, else :func:`shown`); ``data`` become
    ``data-*`` attributes, the exact value ``data-value``."""
    attrs = "".join(f' data-{k}="{e(v)}"' for k, v in data.items() if v is not None)
    text = shown(value)
    if _is_number(value):
        attrs += f' data-value="{e(repr(value))}"'
        if fmt and math.isfinite(value):
            text = format(value, fmt)
    return f'<td class="num"{attrs}>{e(text)}</td>'


def interval(test: Optional[dict], signed: bool = True) -> str:
    """``[low, high]`` of a 95% interval (``signed``: with + and −, for differences)."""
    if not test or test.get("ci_low") is None or test.get("ci_high") is None:
        return "n/a"
    f = "+.4f" if signed else ".4f"
    return f"[{test['ci_low']:{f}}, {test['ci_high']:{f}}]"


def table(head: Iterable[str], rows: Iterable[Iterable[str]], caption: str = "", cls: str = "") -> str:
    """A table from header texts (escaped here) and rows of ready ``<td>`` cells."""
    out = [f'<table{f" class={e(cls)!r}" if cls else ""}>']
    if caption:
        out.append(f"<caption>{e(caption)}</caption>")
    out.append("<tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>")
    out += ["<tr>" + "".join(row) + "</tr>" for row in rows]
    out.append("</table>")
    return "".join(out)


def td(text: Any) -> str:
    return f"<td>{e(text)}</td>"


def section(ident: str, title: str, body: str) -> str:
    return f'<section id="{ident}"><h2>{e(title)}</h2>{body}</section>'


def png_image(png: bytes, alt: str) -> str:
    """An ``<img>`` holding the PNG itself (a data URI): the page needs no other file."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{e(alt)}" src="data:image/png;base64,{data}">'


def figure(fig: Any, alt: str) -> str:
    from ._plots import png_bytes

    return png_image(png_bytes(fig), alt)


def verdict_class(verdict: Optional[str]) -> str:
    return {"positive transfer": "good", "negative transfer": "bad"}.get(verdict or "", "neutral")


def page(title: str, body: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        made_by = f"adaptkit {version('adaptkit')}"
    except PackageNotFoundError:  # pragma: no cover - a source tree without installation
        made_by = "adaptkit"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(title)}</title><style>{_CSS}</style></head>"
        f"<body><main>{body}<footer>{e(made_by)}: report.html, drawn from the files of this folder</footer></main></body></html>\n"
    )
