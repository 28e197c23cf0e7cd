"""Casework on Telegram's side (issue 15): routing a case to its category's forum topic
of the admin supergroup (created by the bot) and to its named moderators, and the
reminder worker (before the deadline) and escalation (after it), at most once per day
per case, within office hours.

The worker's clock is injectable: tests move it; `tick()` does one pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from telegram import InlineKeyboardMarkup
from telegram.error import BadRequest, TelegramError

from bot.actions import casework as actions
from bot.domain import casework as rules
from bot.domain import clock as clocks
from bot.domain.text import escape
from bot.services import Services
from bot.store import case_office, cases
from bot.tg import raw

log = logging.getLogger(__name__)
# A chat found not to be a forum is asked again after this many seconds: an admin may
# turn topics on while the bot runs.
FORUM_RECHECK = 600.0


class CaseRouter:
    """Where a case's notices go: the category's topic of the admin chat (when it is a
    forum), else the admin chat itself (or the owners privately), plus the category's
    named moderators privately."""

    def __init__(self, app: Any, svc: Services) -> None:
        self.app = app
        self.svc = svc
        self._forum: dict[int, tuple[bool, float]] = {}  # chat → (is forum, recheck at)
        self._lock = asyncio.Lock()

    async def _is_forum(self, chat_id: int) -> bool:
        """Whether a chat is a forum supergroup, asked once per chat (and again at most
        every FORUM_RECHECK seconds after a failed getChat); private chats never are."""
        if chat_id > 0:
            return False
        known = self._forum.get(chat_id)
        if known is not None and (known[0] or time.monotonic() < known[1]):
            return known[0]
        try:
            chat = await self.app.bot.get_chat(chat_id)
            is_forum = bool(getattr(chat, "is_forum", False))
        except TelegramError as exc:
            log.warning("could not read admin chat %s: %s", chat_id, exc)
            is_forum = False
        self._forum[chat_id] = (is_forum, time.monotonic() + FORUM_RECHECK)
        return is_forum

    async def topic(self, chat_id: int, category: str) -> int | None:
        """The category's topic in a forum chat, created on first use (None: no forum,
        or the bot may not manage topics; the caller then posts in the chat itself)."""
        if not await self._is_forum(chat_id):
            return None
        async with self._lock:  # two cases of a new category must not make two topics
            thread = await case_office.topic_of(self.svc.db, chat_id, category)
            if thread is not None:
                return thread
            try:
                created = await self.app.bot.create_forum_topic(chat_id, name=f"Ý kiến: {category}")
            except TelegramError as exc:
                log.warning("could not create a topic for %s in %s: %s", category, chat_id, exc)
                return None
            await case_office.save_topic(self.svc.db, chat_id, category, created.message_thread_id)
            return int(created.message_thread_id)

    def staff_chats(self) -> list[int]:
        """The admin chat, else the owners' private chats."""
        s = self.svc.settings
        return [s.admin_chat_id] if s.admin_chat_id is not None else sorted(s.admin_ids)

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        category: str | None = None,
        markup: InlineKeyboardMarkup | None = None,
        photo: str | None = None,
        caption: str | None = None,
    ) -> int | None:
        """Send to a chat, in the category's topic when the chat is a forum; a topic
        deleted meanwhile is forgotten and created again once. The message's id; None
        when sending failed.

        The text goes out raw (bot.tg.raw): only its id is used, and PTB turning the
        answer — with its keyboard — into a Message cost more than the rest of a
        moderators' notice (issue 17)."""
        for attempt in (1, 2):
            thread = await self.topic(chat_id, category) if category is not None else None
            try:
                if photo:
                    await self.app.bot.send_photo(
                        chat_id, photo, caption=caption, message_thread_id=thread
                    )
                params: dict[str, Any] = {"chat_id": chat_id, "text": text, "parse_mode": raw.HTML}
                if markup is not None:
                    params["reply_markup"] = markup
                if thread is not None:
                    params["message_thread_id"] = thread
                sent = await raw.call(self.app.bot, "sendMessage", params)
                return int(sent["message_id"])
            except BadRequest as exc:
                if thread is not None and attempt == 1 and "thread not found" in str(exc).lower():
                    await case_office.forget_topic(self.svc.db, chat_id, thread)
                    continue
                log.warning("could not send a case notice to %s: %s", chat_id, exc)
                return None
            except TelegramError as exc:
                log.warning("could not send a case notice to %s: %s", chat_id, exc)
                return None
        return None

    async def moderators(self, category: str, unit: str | None) -> list[int]:
        """The category's named moderators who still hold the moderate right."""
        out = []
        for user_id in await case_office.route_moderators(self.svc.db, category, unit):
            if await self.svc.may(user_id, "moderate"):
                out.append(user_id)
        return out


class CaseReminder:
    """Reminds holders and topics of cases near their deadline; escalates overdue ones."""

    def __init__(
        self,
        router: CaseRouter,
        *,
        clock: Callable[[], int] = clocks.now,
        interval: float = 300.0,
    ) -> None:
        self.router = router
        self.svc = router.svc
        self.clock = clock
        self.interval = interval
        self.task: asyncio.Task[None] | None = None

    async def tick(self) -> int:
        """One pass: returns how many reminders and escalations were sent."""
        policy = actions.policy(self.svc)
        hours = actions.office_hours_of(self.svc.settings)
        now = self.clock()
        moment = datetime.fromtimestamp(now, policy.tz)
        if not hours.contains(moment, policy.calendar):
            return 0
        today = moment.date()
        sent = 0
        for case in await cases.open_cases(self.svc.db):
            due = case.due or policy.due_for(case.created_at, case.category)
            kind = rules.alert_for(due, today, policy.calendar, policy.remind_days)
            if kind is None or case.alerted(kind, today):
                continue
            # take_alert re-checks in the database: two passes never send the same alert.
            if not await cases.take_alert(self.svc.db, case.id, kind, today, now):
                continue
            if kind == rules.REMIND:
                await self._remind(case, due)
            else:
                await self._escalate(case, due)
            sent += 1
        return sent

    async def _remind(self, case: cases.OpenCase, due: Any) -> None:
        text = (
            f"⏰ <b>Nhắc hạn:</b> ý kiến <b>#{case.id}</b> (lĩnh vực {escape(case.category)})"
            f" phải được trả lời trước hết ngày <b>{rules.format_day(due)}</b>."
            f" Xem: /hoso {case.id}"
        )
        if case.holder_id is not None:
            await self.router.send(case.holder_id, text)
        for chat_id in self.router.staff_chats():
            await self.router.send(chat_id, text, category=case.category)

    async def _escalate(self, case: cases.OpenCase, due: Any) -> None:
        holder = f" (người xử lý: <code>{case.holder_id}</code>)" if case.holder_id else ""
        text = (
            f"🚨 <b>Quá hạn:</b> ý kiến <b>#{case.id}</b> (lĩnh vực {escape(case.category)})"
            f" đã quá hạn trả lời ngày <b>{rules.format_day(due)}</b>{holder}."
            f" Đề nghị quản trị viên đôn đốc hoặc giao lại: /hoso {case.id}"
        )
        # To the admins: the admin chat itself (not a topic), else the owners privately.
        for chat_id in self.router.staff_chats():
            await self.router.send(chat_id, text)

    async def _run(self) -> None:
        # Sleep first: a pass right at start would race tests that set the clock.
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.tick()
            except Exception:
                log.exception("case reminder pass failed")

    async def start(self, app: Any) -> None:
        """Starter hook: load this year's holidays (the lunar maths takes ~0.5 s: not on
        a citizen's first preview), backfill due days of older comments, run passes."""
        policy = actions.policy(self.svc)
        today = datetime.fromtimestamp(self.clock(), policy.tz).date()
        await asyncio.to_thread(policy.calendar.add_workdays, today, 40)
        await cases.backfill_due_dates(self.svc.db, policy)
        self.task = asyncio.create_task(self._run(), name="case-reminders")

    async def stop(self) -> None:
        """Stopper hook."""
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
            self.task = None
