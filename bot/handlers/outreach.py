"""Registers the outreach feature (issue 16): the units directory (/donvi), polls
(/khaosat, /ketqua), session reports (/baocao, /baocaocuatoi, /tonghop), the reminders
worker (directives not acknowledged, units that reported nothing) and the quarterly
briefing (/baocaoquy)."""

from __future__ import annotations

from typing import Any

from bot.handlers import briefing, followup, polls, sessions, units
from bot.services import Services


def register(app: Any, svc: Services, start_payloads: dict[str, Any]) -> None:
    """Every outreach handler and worker, in order (the /baocao form before /start: its
    deep link opens the form)."""
    units.register(app, svc)
    polls.register(app, svc)
    sessions.register(app, svc)
    followup.register(app, svc)
    briefing.register(app, svc)
