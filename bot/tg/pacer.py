"""The rate limiter every Bot API call goes through: Telegram's limits, 429 pauses, priority.

python-telegram-bot's AIORateLimiter lets bursts through, has no per-private-chat
limit and reportedly exceeds the group limit (PTB #3772; the limits: Bot API FAQ, "My bot
is hitting limits"). This one holds windows for the
global, per-chat and per-group limits (bot.domain.pacing), pauses everything on a 429
and serves interactive replies before bulk broadcast traffic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from telegram.error import ChatMigrated, Forbidden, RetryAfter
from telegram.ext import BaseRateLimiter

from bot.domain.pacing import Window, window_for_rate

log = logging.getLogger(__name__)

# Methods that put (or change) a message in a chat; the others (getChatMember,
# answerCallbackQuery, sendChatAction, …) are not subject to the message limits.
_NOT_PACED = frozenset({"sendchataction"})
_PACED_PREFIXES = ("send", "edit", "copymessage", "forwardmessage", "deletemessage", "stoppoll")

# Idle per-chat windows are dropped when the tables have doubled since the last sweep:
# the sweep costs O(tables) but runs once per O(tables) new chats, so O(1) per send.
_SWEEP_MIN = 4096

# How many times an interactive request is retried after a short 429.
_INTERACTIVE_RETRIES = 5


class Withdrawn(Exception):
    """A bulk request was not sent: after waiting for its slot, RECHECK said no."""


# Set by the outbox worker around one delivery's requests (bot.workers.dispatcher): a
# context variable, so every kind of delivery (text, polls) is covered without passing
# it through PTB's methods.
RECHECK: ContextVar[Callable[[], Awaitable[bool]] | None] = ContextVar("loa_recheck", default=None)


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after is an int or (PTB >= 22.2 with PTB_TIMEDELTA) a timedelta."""
    value: Any = exc.retry_after
    if isinstance(value, timedelta):
        return value.total_seconds()
    return float(value)


class Pacer(BaseRateLimiter[dict[str, Any]]):
    """Strict-window limiter for all outgoing messages; pass rate_limit_args={"bulk": True}.

    A bulk request that had to wait for its slot awaits RECHECK (when set) once it has
    the slot; False: the request is not sent and Withdrawn is raised (a broadcast stopped
    while its deliveries waited, issue 10).
    """

    def __init__(
        self,
        *,
        global_per_second: float = 30.0,
        group_per_minute: float = 20.0,
        chat_per_second: float = 1.0,
        max_retry_after: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.global_per_second = global_per_second
        self.group_per_minute = group_per_minute
        self.chat_per_second = chat_per_second
        self.max_retry_after = max_retry_after
        self._clock = clock
        self._global = window_for_rate(global_per_second, 1.0)
        self._chats: dict[object, Window] = {}
        self._groups: dict[object, Window] = {}
        self._changed = asyncio.Event()
        self._paused_until = 0.0
        self._replies_waiting: set[object] = set()
        self._sweep_at = _SWEEP_MIN  # sweep idle chat windows when the tables reach this size
        self.retry_after_count = 0  # 429s received (should stay 0)
        # Replies (not the dispatcher's bulk sends, which handle these themselves) go
        # through the same rules as broadcasts (issue 10): a group that became a
        # supergroup gets the reply at its new id and its stored rows move; a 403 marks
        # the chat unreachable. Set by bot.app; (old id, new id) and (chat id, reason).
        self.on_migrated: Callable[[int, int], Coroutine[Any, Any, None]] | None = None
        self.on_forbidden: Callable[[int, str], Coroutine[Any, Any, None]] | None = None

    async def initialize(self) -> None:
        """Nothing to allocate."""

    async def shutdown(self) -> None:
        """Nothing to free."""

    @property
    def paused_for(self) -> float:
        """Seconds left in a 429 pause (0 when sending is allowed)."""
        return max(self._paused_until - self._clock(), 0.0)

    def pause(self, seconds: float) -> None:
        """Stop every paced request for `seconds` (a 429's retry_after)."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)
        self._notify()

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    def _windows(self, chat_id: object) -> list[Window]:
        windows = [self._global]
        chat_window = self._chats.get(chat_id)
        if chat_window is None:
            chat_window = self._chats[chat_id] = window_for_rate(self.chat_per_second, 1.0)
        windows.append(chat_window)
        if _is_group(chat_id):
            group_window = self._groups.get(chat_id)
            if group_window is None:
                group_window = window_for_rate(self.group_per_minute, 60.0)
                self._groups[chat_id] = group_window
            windows.append(group_window)
        return windows

    async def acquire(self, chat_id: object, *, bulk: bool) -> list[Any]:
        """Wait until every window admits a request to chat_id; return the held slots."""
        slots, _waited = await self._acquire(chat_id, bulk=bulk)
        return slots

    async def _acquire(self, chat_id: object, *, bulk: bool) -> tuple[list[Any], bool]:
        """The held slots, and whether the request had to wait for them."""
        me = object()
        windows = self._windows(chat_id)
        waited = False
        try:
            while True:
                now = self._clock()
                wait = self._wait_time(windows, now, bulk=bulk, me=me)
                if wait == 0.0:
                    slots = [window.take() for window in windows]
                    self._sweep(now)
                    return slots, waited
                waited = True
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), timeout=wait)
                # A sweep may have dropped this chat's idle window meanwhile.
                windows = self._windows(chat_id)
        finally:
            if me in self._replies_waiting:
                self._replies_waiting.discard(me)
                self._notify()

    def _wait_time(
        self, windows: list[Window], now: float, *, bulk: bool, me: object
    ) -> float | None:
        """Seconds until a request may start (0 = now), or None to wait for a change."""
        if self._paused_until > now:
            return self._paused_until - now
        own = 0.0
        for window in windows[1:]:
            w = window.wait_time(now)
            if w is None:
                return None
            own = max(own, w)
        if bulk and self._replies_waiting:
            return None  # a reply to a person is waiting only for the global window: it goes first
        shared = self._global.wait_time(now)
        if not bulk:
            if own == 0.0 and shared != 0.0:
                self._replies_waiting.add(me)
            else:
                self._replies_waiting.discard(me)
        if shared is None:
            return None
        return max(own, shared)

    def release(self, slots: list[Any]) -> None:
        """Mark the held slots answered now; their hold ends one period later."""
        now = self._clock()
        for slot in slots:
            slot.release(now)
        self._notify()

    def _sweep(self, now: float) -> None:
        """Drop idle per-chat windows now and then so memory stays flat."""
        if len(self._chats) + len(self._groups) < self._sweep_at:
            return
        for table in (self._chats, self._groups):
            for key in [k for k, w in table.items() if w.idle(now)]:
                del table[key]
        self._sweep_at = max(_SWEEP_MIN, 2 * (len(self._chats) + len(self._groups)))

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: dict[str, Any] | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        """Pace message-sending calls; pause all on 429 and retry short ones for replies."""
        bulk = bool(rate_limit_args and rate_limit_args.get("bulk"))
        chat_id = data.get("chat_id")
        method = endpoint.lower()
        paced = (
            chat_id is not None and method not in _NOT_PACED and method.startswith(_PACED_PREFIXES)
        )
        recheck = RECHECK.get() if bulk else None
        attempt = 0
        while True:
            slots, waited = await self._acquire(chat_id, bulk=bulk) if paced else ([], False)
            try:
                if waited and recheck is not None and not await recheck():
                    raise Withdrawn(endpoint)
                return await callback(*args, **kwargs)
            except ChatMigrated as exc:
                if bulk or attempt > 0 or not isinstance(chat_id, int):
                    raise
                attempt += 1
                new_id = int(exc.new_chat_id)
                log.info("chat %s migrated to %s: the reply goes to the new id", chat_id, new_id)
                if self.on_migrated is not None:
                    await self.on_migrated(chat_id, new_id)
                data["chat_id"] = chat_id = new_id
                # The message replied to lives in the old chat's numbering.
                data.pop("reply_parameters", None)
                data.pop("reply_to_message_id", None)
            except Forbidden as exc:
                if not bulk and isinstance(chat_id, int) and self.on_forbidden is not None:
                    await self.on_forbidden(chat_id, exc.message)
                raise
            except RetryAfter as exc:
                self.retry_after_count += 1
                seconds = retry_after_seconds(exc)
                log.warning("429 on %s: pausing all sending for %.0f s", endpoint, seconds)
                self.pause(seconds)
                attempt += 1
                if bulk or seconds > self.max_retry_after or attempt > _INTERACTIVE_RETRIES:
                    raise
            finally:
                if slots:
                    self.release(slots)


def _is_group(chat_id: object) -> bool:
    """Group, supergroup and channel ids are negative; @usernames name channels."""
    if isinstance(chat_id, int):
        return chat_id < 0
    if isinstance(chat_id, str):
        return chat_id.startswith("@") or chat_id.startswith("-")
    return False
