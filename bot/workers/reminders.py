"""Outreach reminders (issue 16), checked every minute, only within LOA_OFFICE_HOURS on
working days:

- directives not acknowledged: a reminder (through the outbox, as the [Nhắc lại] button
  does) after LOA_ACK_REMINDER_HOURS, at most LOA_ACK_REMINDER_MAX per directive;
- units that reported no outreach session this quarter: one message to their cadre
  groups in the last LOA_REPORT_REMINDER_DAYS days of the quarter.
"""

from __future__ import annotations

import html
import logging
import time
from datetime import datetime, timedelta
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import TelegramError

from bot.actions.outreach import in_office_hours
from bot.domain import broadcasts as rules
from bot.domain.periods import quarter_of
from bot.domain.sessions import report_link
from bot.services import Services
from bot.store import directives, followup, sessions, units
from bot.workers.periodic import Periodic

log = logging.getLogger(__name__)

CHECK_EVERY = 60.0


class Reminders(Periodic):
    """The reminders worker: started after the DB opens, stopped before it closes."""

    name = "loa-reminders"

    def __init__(self, svc: Services, wake_dispatcher: Any) -> None:
        super().__init__()
        self.svc = svc
        self.wake_dispatcher = wake_dispatcher

    def interval(self) -> float:
        """Every minute."""
        return CHECK_EVERY

    async def tick(self) -> None:
        """Check now."""
        await self.run_once(time.time())

    async def run_once(self, now: float) -> tuple[int, int]:
        """One check at `now`: (directive reminders queued, units reminded)."""
        settings = self.svc.settings
        if not in_office_hours(now, settings):
            return 0, 0
        return await self._directives(now), await self._silent_units(now)

    async def _directives(self, now: float) -> int:
        settings = self.svc.settings
        due = await followup.due_for_reminder(
            self.svc.db,
            now,
            delay_seconds=settings.ack_reminder_hours * 3600,
            max_reminders=settings.ack_reminder_max,
        )
        for parent in due:
            body = rules.reminder_body(parent.title, parent.id)
            await directives.queue_reminder(
                self.svc.db,
                parent,
                body=body,
                parts=[body],
                actor_id=None,
                actor_role=None,
                now=int(now),
                report_chat_id=None,
            )
            log.info("directive %s: automatic reminder queued", parent.id)
        if due:
            self.wake_dispatcher()
        return len(due)

    async def _silent_units(self, now: float) -> int:
        settings = self.svc.settings
        today = datetime.fromtimestamp(now, settings.tz).date()
        quarter = quarter_of(today)
        if today < quarter.last_day - timedelta(days=settings.report_reminder_days - 1):
            return 0
        reminded = 0
        silent = await sessions.silent_units(self.svc.db, quarter.start, quarter.end, quarter.key)
        for unit_id, code, name in silent:
            if not await sessions.claim_reminder(self.svc.db, unit_id, quarter.key, int(now)):
                continue
            text = (
                f"📝 Đơn vị {html.escape(name)} chưa báo cáo buổi tuyên truyền nào trong"
                f" {quarter.label}. Đề nghị các đồng chí báo cáo trước ngày"
                f" {quarter.last_day:%d/%m/%Y} bằng nút bên dưới (hoặc nhắn /baocao cho bot)."
            )
            for chat_id in await units.unit_groups(self.svc.db, code):
                markup = None
                if self.bot is not None and self.bot.username:
                    url = report_link(self.bot.username, chat_id)
                    markup = InlineKeyboardMarkup(
                        [[InlineKeyboardButton("📝 Báo cáo buổi tuyên truyền", url=url)]]
                    )
                try:
                    await self.bot.send_message(
                        chat_id, text, reply_markup=markup, rate_limit_args={"bulk": True}
                    )
                except TelegramError as exc:
                    log.warning("unit reminder to %s failed: %s", chat_id, exc)
            reminded += 1
        return reminded
