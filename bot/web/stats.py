"""Thống kê: a period's figures (as /thongke) with the chart, and the quarterly report
(Markdown, as `loa report`) and figures (.xlsx / CSV) to download."""

from __future__ import annotations

import asyncio
from datetime import datetime

from aiohttp import web

from bot.charts import render_stats_chart
from bot.domain import clock
from bot.domain.periods import Period, parse_period
from bot.domain.spreadsheets import Table
from bot.domain.stats import Stats, render_markdown, report_sections
from bot.store import reports
from bot.web.server import Call, Route, download, export_table


async def _stats(call: Call) -> tuple[Period, Stats]:
    tz = call.svc.settings.tz
    period = parse_period(call.query("period"), datetime.now(tz).date())
    return period, await reports.gather_stats(call.svc.db, period, tz)


async def page(call: Call) -> web.StreamResponse:
    """The figures by section, weekly bars, acknowledgement by unit, the chart."""
    period, stats = await _stats(call)
    weeks = sorted(set(stats.weekly_deliveries) | set(stats.weekly_comments))
    top = max(
        [1, *stats.weekly_deliveries.values(), *stats.weekly_comments.values()],
    )
    return call.render(
        "stats.html",
        period=period,
        s=stats,
        sections=report_sections(stats),
        weeks=weeks,
        top=top,
        q=call.query("period"),
    )


async def chart(call: Call) -> web.StreamResponse:
    """The report's PNG chart (matplotlib in a thread: it is CPU-bound)."""
    _period, stats = await _stats(call)
    png = await asyncio.to_thread(render_stats_chart, stats)
    return web.Response(body=png, content_type="image/png")


async def report(call: Call) -> web.StreamResponse:
    """The report as Markdown (`loa report`), or its figures as a table."""
    period, stats = await _stats(call)
    if call.query("format") in ("xlsx", "csv"):
        rows = [[title, line] for title, lines in report_sections(stats) for line in lines]
        table = Table(["Mục", "Số liệu"], rows, sheet="Thống kê")
        return await export_table(call, table, f"thong-ke-{period.key}")
    generated = clock.format_local(clock.now(), call.svc.settings.tz)
    text = render_markdown(stats, None, generated)
    return download(text.encode("utf-8"), f"bao-cao-{period.key}.md", "text/markdown")


ROUTES = [
    Route("GET", "/ui/stats", page, "admin"),
    Route("GET", "/api/stats/chart.png", chart, "admin"),
    Route("GET", "/api/stats/report", report, "admin"),
]
