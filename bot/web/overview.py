"""Tổng quan: this quarter's figures, broadcasts running now, what waits or is overdue."""

from __future__ import annotations

from datetime import datetime

from aiohttp import web

from bot.domain import clock
from bot.domain.periods import parse_period
from bot.store import console as views
from bot.store import reports
from bot.web.server import Call, Route


async def page(call: Call) -> web.StreamResponse:
    """The overview fragment (refreshes itself every few seconds while open)."""
    tz = call.svc.settings.tz
    period = parse_period("", datetime.now(tz).date())
    stats = await reports.gather_stats(call.svc.db, period, tz) if call.may("admin") else None
    data = await views.overview(call.svc.db, clock.now())
    return call.render("overview.html", o=data, stats=stats, period=period)


ROUTES = [Route("GET", "/ui/overview", page, "staff")]
