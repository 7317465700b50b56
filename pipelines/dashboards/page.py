"""Shared page shell and helpers of the dashboards: one self-contained HTML file per page.

Each page inlines plotly.js once in its ``<head>`` (no CDN, no fonts, no network) and embeds its
figures as ``<div>`` + ``<script>`` built with ``include_plotlyjs=False``. Everything here is
pure: values in, HTML text out. Plotly is imported inside the functions.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import polars as pl

PAGES: dict[str, str] = {
    "index.html": "Summary",
    "model.html": "Media mix model",
    "geo_tests.html": "Geo tests",
    "data_privacy.html": "Data & privacy",
}
"""File name -> navigation label, in navigation order."""

CHANNEL_PALETTE = (
    "#4e79a7",
    "#f28e2b",
    "#59a14f",
    "#e15759",
    "#b07aa1",
    "#76b7b2",
    "#edc948",
    "#9c755f",
    "#ff9da7",
    "#17becf",
)
"""Channel colours (Tableau 10 without its grey, which marks last touch), in channel order."""

ACRONYMS = frozenset({"tv", "ctv", "ooh", "dooh", "sem", "seo", "sms", "ppc", "cpc", "ott"})
"""Channel-name words shown in capitals (``ctv`` -> ``CTV``)."""

COLORS = {
    "mmm": "#1f5fa8",
    "last_touch": "#9a9a9a",
    "geo": "#d9822b",
    "baseline": "#b8c4d6",
    "band": "rgba(31,95,168,0.18)",
    "actual": "#222222",
}

CSS = """
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       margin: 0; color: #1d2430; background: #f6f7f9; }
header { background: #13294b; color: #fff; padding: 14px 28px; }
header h1 { margin: 0 0 4px 0; font-size: 22px; }
header .meta { font-size: 13px; opacity: 0.9; }
nav { background: #0d1e38; padding: 0 28px; }
nav a { color: #cfd8e6; text-decoration: none; display: inline-block; padding: 10px 14px;
        font-size: 14px; }
nav a.active { color: #fff; border-bottom: 3px solid #d9822b; }
main { padding: 18px 28px 40px 28px; max-width: 1400px; }
section { background: #fff; border: 1px solid #e1e5eb; border-radius: 6px; padding: 14px 18px;
          margin-bottom: 18px; }
section h2 { margin: 0 0 10px 0; font-size: 17px; }
p.note { color: #566072; font-size: 13px; margin: 6px 0; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { border-bottom: 1px solid #e6e9ee; padding: 6px 8px; text-align: right; }
th { background: #f0f2f5; font-weight: 600; }
th:first-child, td:first-child, td.text, th.text { text-align: left; }
.badge { display: inline-block; border-radius: 3px; padding: 1px 7px; font-size: 12px;
         font-weight: 600; }
.ok { background: #dff3e4; color: #1b6b34; }
.bad { background: #fbe3e3; color: #9b1c1c; }
.warn { background: #fff4d6; color: #7a5300; }
ul.headlines li { margin-bottom: 6px; }
.kpis { display: flex; gap: 14px; flex-wrap: wrap; }
.kpi { background: #f0f4fa; border-radius: 6px; padding: 10px 14px; min-width: 180px; }
.kpi .v { font-size: 22px; font-weight: 700; }
.kpi .l { font-size: 12px; color: #566072; }
.answer-grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 18px;
               align-items: start; }
#recommendation { font-size: 19px; font-weight: 600; line-height: 1.35; margin: 4px 0 10px 0; }
ul.facts { padding-left: 18px; margin: 0; font-size: 13.5px; line-height: 1.45; }
ul.facts li { margin-bottom: 7px; }
#model-status { margin: 0 0 6px 0; font-size: 13px; }
.status-inconclusive { background: #eceff3; color: #3d4654; }
dl.glossary dt { font-weight: 600; margin-top: 8px; }
dl.glossary dd { margin: 2px 0 0 0; color: #3d4654; font-size: 13.5px; }
.next { border-left: 4px solid #d9822b; }
"""


@dataclass(frozen=True)
class PageContext:
    """What every page states: when the data was refreshed and which weeks it covers.

    Attributes:
        refreshed_at: time of the refresh that produced the marts (UTC), or None if unknown.
        window_start, window_end: first and last Monday of the reporting window.
        data_start, data_end: first and last Monday of the weekly panel.
        min_cell: published counts from 1 to ``min_cell - 1`` are suppressed.
        channels: every paid channel of the refresh, sorted (fixes each channel's colour).
    """

    refreshed_at: datetime | None
    window_start: date | None
    window_end: date | None
    data_start: date | None
    data_end: date | None
    min_cell: int
    channels: tuple[str, ...] = ()

    def color(self, channel: str) -> str:
        """The channel's colour, the same on every chart of every page.

        Channels are coloured in the sorted order of every paid channel of the refresh
        (``channels``); one not among them (e.g. only in an old table) comes after them.
        """
        order = list(self.channels)
        if channel not in order:
            order = sorted({*order, channel})
        return CHANNEL_PALETTE[order.index(channel) % len(CHANNEL_PALETTE)]


def esc(value: Any) -> str:
    """HTML-escaped text of ``value``."""
    return html.escape("" if value is None else str(value))


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def label(channel: str | None) -> str:
    """A channel slug as people write it: ``direct_mail`` -> ``Direct mail``, ``ctv`` -> ``CTV``."""
    if not channel:
        return "–"
    words = [w.upper() if w in ACRONYMS else w for w in str(channel).split("_")]
    first = words[0] if words[0].isupper() else words[0].capitalize()
    return " ".join([first, *words[1:]])


def usd(value: float | None, decimals: int = 0) -> str:
    """``$1,234`` (or an en dash when missing)."""
    return "–" if _missing(value) else f"${value:,.{decimals}f}"


def usd_short(value: float | None) -> str:
    """``$7.8M``, ``$640k``, ``$950`` (or an en dash when missing): for totals in prose."""
    if _missing(value):
        return "–"
    size = abs(value)
    if size >= 1e6:
        return f"${value / 1e6:,.1f}M"
    if size >= 1e4:
        return f"${value / 1e3:,.0f}k"
    return f"${value:,.0f}"


def count(value: float | None) -> str:
    """A count rounded to a whole number, or "suppressed" / en dash when missing."""
    return "–" if _missing(value) else f"{value:,.0f}"


def pct(value: float | None, decimals: int = 0) -> str:
    """``12%`` from a fraction ``0.12``."""
    return "–" if _missing(value) else f"{100 * value:.{decimals}f}%"


def share(prob: float | None) -> str:
    """A probability over posterior draws as people read it: never "100%" or "0%"."""
    if _missing(prob):
        return "–"
    if prob > 0.99:
        return "over 99%"
    if prob < 0.01:
        return "under 1%"
    return pct(prob)


def interval(lo: float | None, hi: float | None, fmt: Callable[[Any], str]) -> str:
    """``lo – hi`` with ``fmt``; one en dash when both are missing; "lo or more" when the upper
    end is unbounded (e.g. a PAC whose effect interval reaches zero)."""
    if _missing(lo) and _missing(hi):
        return "–"
    if _missing(hi):
        return f"{fmt(lo)} or more"
    return f"{fmt(lo)} – {fmt(hi)}"


def log_ticks(lo: float, hi: float) -> list[float]:
    """Tick values 1, 2, 5 x 10^k between ``lo`` and ``hi`` (> 0), for a log axis; thinned to
    1 and 5 x 10^k, then 1 x 10^k, when there would be more than eight."""
    import math

    ticks = [
        m * 10.0**k
        for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
        for m in (1, 2, 5)
        if lo <= m * 10.0**k <= hi
    ]
    for keep in ((1, 5), (1,)):
        if len(ticks) <= 8:
            break
        ticks = [t for t in ticks if round(t / 10.0 ** math.floor(math.log10(t))) in keep]
    return ticks


def num(value: float | None, decimals: int = 2) -> str:
    return "–" if _missing(value) else f"{value:,.{decimals}f}"


def day(value: date | datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d")


def stamp(value: datetime | None) -> str:
    return "unknown" if value is None else value.strftime("%Y-%m-%d %H:%M UTC")


@cache
def plotly_js() -> str:
    """The plotly.js bundle, inlined in every page (about 4.8 MB)."""
    from plotly.offline import get_plotlyjs

    return get_plotlyjs()


def figure_html(fig: Any, div_id: str) -> str:
    """A figure as a ``<div>`` with its script; plotly.js itself is in the page head."""
    fig.update_layout(
        font={"family": "system-ui, Helvetica, Arial, sans-serif", "size": 12},
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        plot_bgcolor="#fff",
        paper_bgcolor="#fff",
    )
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def table_html(
    frame: pl.DataFrame,
    columns: Sequence[tuple[str, str, Callable[[Any], str]]],
    table_id: str | None = None,
    row_attr: str | None = None,
) -> str:
    """An HTML table.

    Args:
        frame: the rows.
        columns: (column, header, formatter) triples; text columns use ``esc``.
        table_id: optional ``id`` of the table.
        row_attr: column whose value becomes each row's ``data-key`` attribute.
    """
    head = "".join(
        f'<th class="text">{esc(h)}</th>' if f is esc else f"<th>{esc(h)}</th>"
        for _, h, f in columns
    )
    rows = []
    for r in frame.iter_rows(named=True):
        key = f' data-key="{esc(r[row_attr])}"' if row_attr else ""
        cells = "".join(
            f'<td class="text" data-col="{esc(c)}">{f(r[c])}</td>'
            if f is esc
            else f'<td data-col="{esc(c)}">{f(r[c])}</td>'
            for c, _, f in columns
        )
        rows.append(f"<tr{key}>{cells}</tr>")
    if not rows:
        rows.append(f'<tr><td class="text" colspan="{len(columns)}">no rows</td></tr>')
    tid = f' id="{esc(table_id)}"' if table_id else ""
    return f"<table{tid}><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def section(title: str, body: str, section_id: str | None = None) -> str:
    sid = f' id="{esc(section_id)}"' if section_id else ""
    return f"<section{sid}><h2>{esc(title)}</h2>{body}</section>"


def page(file_name: str, title: str, ctx: PageContext, body: str) -> str:
    """A whole self-contained page: head with CSS and plotly.js, header, navigation, body."""
    nav = "".join(
        f'<a href="{name}" class="{"active" if name == file_name else ""}">{esc(label)}</a>'
        for name, label in PAGES.items()
    )
    meta = (
        f'Refreshed <span id="refreshed-at">{esc(stamp(ctx.refreshed_at))}</span> · '
        f'reporting window <span id="window">{esc(day(ctx.window_start))} to '
        f"{esc(day(ctx.window_end))}</span> · data "
        f"{esc(day(ctx.data_start))} to {esc(day(ctx.data_end))} · "
        f"counts below {ctx.min_cell} suppressed"
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>clearcount · {esc(title)}</title>"
        f"<style>{CSS}</style>"
        f'<script type="text/javascript">{plotly_js()}</script>'
        "</head><body>"
        f'<header><h1>{esc(title)}</h1><div class="meta">{meta}</div></header>'
        f"<nav>{nav}</nav><main>{body}</main></body></html>\n"
    )


def empty_note(what: str) -> str:
    return f'<p class="note">{esc(what)}</p>'
