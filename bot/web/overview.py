"""Tổng quan: this quarter's figures, broadcasts running now, what waits or is overdue."""

from __future__ import annotations

from aiohttp import web

from bot.domain import clock
from bot.store import console as views
from bot.web.server import Call, Route
from bot.web.stats import period_stats


async def page(call: Call) -> web.StreamResponse:
    """The overview fragment (refreshes itself every few seconds while open)."""
    period, stats = await period_stats(call, "") if call.may("admin") else (None, None)
    data = await views.overview(call.db, clock.now())
    return call.render("overview.html", o=data, stats=stats, period=period)


ROUTES = [Route("GET", "/ui/overview", page, "staff")]
