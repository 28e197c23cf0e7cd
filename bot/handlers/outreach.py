"""Registers the outreach feature (issue 16): the units directory (/donvi), polls
(/khaosat, /ketqua), session reports (/baocao), directive reminders and the quarterly
briefing (/baocaoquy)."""

from __future__ import annotations

from typing import Any

from bot.handlers import polls
from bot.services import Services


def register(app: Any, svc: Services, start_payloads: dict[str, Any]) -> None:
    """Every outreach handler and worker, in order."""
    polls.register(app, svc)
