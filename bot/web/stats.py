"""Thống kê: a period's figures (as /thongke) with weekly charts (inline SVG: drawn in
microseconds, unlike the PNG of `loa report`), and the quarterly report (Markdown, as
`loa report`) and figures (.xlsx / CSV) to download."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime

from aiohttp import web

from bot.domain import clock
from bot.domain.periods import Period, parse_period
from bot.domain.spreadsheets import Table
from bot.domain.stats import Stats, render_markdown, report_sections
from bot.store import reports
from bot.web.server import Call, Console, Route, download, export_table

log = logging.getLogger(__name__)

STATS_TTL = 60.0  # seconds a period's figures are reused (they scan every delivery)


async def figures(console: Console, text: str) -> tuple[Period, Stats]:
    """A period's figures (as /thongke), computed at most once a minute per period."""
    tz = console.svc.settings.tz
    period = parse_period(text, datetime.now(tz).date())

    async def compute() -> Stats:
        return await reports.gather_stats(console.reader or console.svc.db, period, tz)

    return period, await console.cached(f"stats:{period.key}", STATS_TTL, compute)


async def period_stats(call: Call, text: str) -> tuple[Period, Stats]:
    """The figures of the period typed in `text` (empty: this quarter)."""
    return await figures(call.console, text)


async def warm_quarter(console: Console) -> None:
    """Compute this quarter's figures when the console starts (the overview shows them)."""
    try:
        await figures(console, "")
    except Exception:
        log.exception("console: this quarter's figures could not be computed")


async def _stats(call: Call) -> tuple[Period, Stats]:
    return await period_stats(call, call.query("period"))


async def page(call: Call) -> web.StreamResponse:
    """The figures by section, weekly bars, acknowledgement by unit, the chart."""
    period, stats = await _stats(call)
    weeks = sorted(set(stats.weekly_deliveries) | set(stats.weekly_comments))
    return call.render(
        "stats.html",
        period=period,
        s=stats,
        sections=report_sections(stats),
        deliveries=bar_chart([(w, stats.weekly_deliveries.get(w, 0)) for w in weeks]),
        comments=bar_chart([(w, stats.weekly_comments.get(w, 0)) for w in weeks]),
        q=call.query("period"),
    )


@dataclass(frozen=True)
class Bar:
    """One bar of an SVG chart (coordinates in a 100-unit-high, 24-unit-per-bar box)."""

    x: int
    height: float
    label: str
    value: int


def bar_chart(points: list[tuple[date, int]]) -> list[Bar]:
    """Weekly values as bars scaled to the largest (drawn as inline SVG by the template)."""
    top = max([1, *(v for _d, v in points)])
    return [
        Bar(i * 24, round(80 * v / top, 1), d.strftime("%d/%m"), v)
        for i, (d, v) in enumerate(points)
    ]


async def report(call: Call) -> web.StreamResponse:
    """The report as Markdown (`loa report`), or its figures as a table."""
    period, stats = await _stats(call)
    if call.query("format") in ("xlsx", "csv"):
        rows = [[title, line] for title, lines in report_sections(stats) for line in lines]
        table = Table(["Mục", "Số liệu"], rows, sheet="Thống kê")
        return await export_table(call, table, f"thong-ke-{period.key}")
    generated = clock.format_local(clock.now(), call.svc.settings.tz)
    text = render_markdown(stats, None, generated)
    return await download(call, text.encode("utf-8"), f"bao-cao-{period.key}.md", "text/markdown")


ROUTES = [
    Route("GET", "/ui/stats", page, "admin"),
    Route("GET", "/api/stats/report", report, "admin"),
]
