"""The broadcast dispatcher: sends due deliveries from the SQLite outbox, crash-safely.

Each delivery goes through three durable steps:

1. fetch (a plain read; nothing is checkpointed on fetch — listmonk's bug was advancing
   its cursor there, losing or repeating recipients after a restart);
2. mark "sending" (= possibly sent) in a transaction committed BEFORE the request goes
   out, re-checking at that moment that the chat may still receive it (cadre approval
   for cadre-only broadcasts, active subscription, broadcast not cancelled);
3. send, then record the outcome (sent with message ids / failed / blocked / retry
   later) in a transaction.

Marks and outcomes from concurrent senders are group-committed (one transaction per
batch). A sender takes its next delivery only after its outcome is committed, so at
any instant at most `concurrency` deliveries can be "sent but not recorded": after a
SIGKILL those rows are found in "sending" at start and sent again. That is the
duplicate bound. It cannot be zero: the Bot API has no idempotency key and no way to
ask whether a message arrived, so "sent, then crashed before recording" and "crashed
before the request left" look the same from here; resending is the choice that never
loses a recipient. A long text split into several messages records its progress after
each part, so a crash repeats at most one part.

Marks and outcomes share one group commit (one transaction, four trips to the database
thread for the whole batch), and each request goes out through bot.tg.raw: still paced
by bot.tg.pacer, but neither built from PTB's parameter objects nor turned into a Message
object the worker would throw away (issue 17: that parsing was ~70 % of the CPU per
delivery, PTB's request layers another sixth). A delivery that had to wait for a
rate-limit slot is re-checked after it got one (issue 10): a broadcast stopped meanwhile
is not sent.

If recording an outcome fails (the database refuses a write) the sender retries it a
few times; a row still left "sending" by a task that is gone is put back to pending by
the housekeeping (`stale_after`), as a restart would, instead of waiting for one.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)

from bot.actions.directives import AutoCheck
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.store import directives, drafts, message_ops, outbox
from bot.store import subscriptions as subs
from bot.store.db import Database
from bot.tg import raw
from bot.tg.pacer import RECHECK, Withdrawn, retry_after_seconds

log = logging.getLogger(__name__)

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Entry:
    """One sender's turn in the group commit: the outcome of its last delivery and/or
    the id of its next one to mark "sending" (one entry, so one batch, for both)."""

    outcome: outbox.Outcome | None = None
    mark: int | None = None


class GroupCommit(Generic[T, R]):
    """Collects items from many tasks and handles all waiting ones in one call.

    With `ready`, a flush waits (at most `max_delay` seconds, like PostgreSQL's
    commit_delay) until ready(number waiting) says the batch is worth it: flushing as
    soon as anything waits makes batches as small as the event loop is busy, and every
    batch costs the same few trips to the database thread whatever its size.
    """

    def __init__(
        self,
        handle: Callable[[list[T]], Awaitable[list[R]]],
        *,
        ready: Callable[[int], bool] | None = None,
        max_delay: float = 0.0,
    ) -> None:
        self._handle = handle
        self._ready = ready
        self._max_delay = max_delay
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the committing task."""
        self._task = asyncio.create_task(self._run(), name="loa-group-commit")

    async def stop(self) -> None:
        """Handle what is waiting, then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._waiting:
            await self._flush()

    async def submit(self, item: T) -> R:
        """Queue one item and wait for its batch to commit."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        self._wake.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._ready is not None:
                deadline = loop.time() + self._max_delay
                while not self._ready(len(self._waiting)):
                    remaining = deadline - loop.time()
                    if remaining <= 0:
                        break
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), remaining)
                    self._wake.clear()
            await self._flush()

    async def _flush(self) -> None:
        batch, self._waiting = self._waiting, []
        if not batch:
            return
        try:
            results = await self._handle([item for item, _ in batch])
        except BaseException as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc if isinstance(exc, Exception) else RuntimeError())
            if not isinstance(exc, Exception):
                raise
            return
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():
                future.set_result(result)


# Sends part `index` of a broadcast to a chat and returns the Telegram message id. Text
# messages are the default; other kinds of delivery (a native poll, stopping one) come
# from Dispatcher.part_senders. Telegram errors propagate: _send turns them into outcomes.
PartSender = Callable[
    [Any, drafts.Broadcast, int, int, InlineKeyboardMarkup | None], Awaitable[int]
]


async def send_text_part(
    bot: Any, b: drafts.Broadcast, chat_id: int, index: int, markup: InlineKeyboardMarkup | None
) -> int:
    """The default kind of delivery: one sendMessage per part. The answer stays JSON
    (bot.tg.raw: no Message object built only to read its id)."""
    message = await raw.send_text(
        bot, chat_id, b.parts[index], reply_markup=markup, rate_limit_args={"bulk": True}
    )
    return int(message["message_id"])


def ack_markup(broadcast_id: int, count: int = 0) -> InlineKeyboardMarkup:
    """The [✅ Đã nhận] button under a directive."""
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(rules.ack_label(count), callback_data=f"ack:{broadcast_id}")]]
    )


def summary_text(b: drafts.Broadcast, stats: drafts.BroadcastStats, tz: Any) -> str:
    """The admin's view of one broadcast: state, counts per state, reasons, timing."""
    kind = rules.KIND_LABELS_VI.get(b.kind, b.kind)
    failed = stats.counts.get(rules.FAILED, 0) + stats.counts.get(rules.BLOCKED, 0)
    failures = f" — ⚠️ {failed} cuộc trò chuyện không nhận được" if failed else ""
    lines = [
        f"<b>{kind} #{b.id}</b> — {html.escape(b.state_label)}{failures}",
        f"Đối tượng: {html.escape(rules.parse_audience(b.audience).label_vi())}",
    ]
    if b.title:
        lines.append(f"Tiêu đề: {html.escape(b.title)}")
    if b.cancel_reason:
        lines.append(f"Lý do dừng: {html.escape(b.cancel_reason)}")
    lines.append(f"Tạo lúc: {clock.format_local(b.created_at, tz)}")
    if b.scheduled_at:
        lines.append(f"Hẹn gửi: {clock.format_local(b.scheduled_at, tz)}")
    if b.started_at:
        lines.append(f"Bắt đầu: {clock.format_local(b.started_at, tz)}")
    if b.finished_at and b.started_at:
        lines.append(
            f"Kết thúc: {clock.format_local(b.finished_at, tz)}"
            f" (mất {rules.duration_vi(max(b.finished_at - b.started_at, 0))})"
        )
    total = stats.total or b.total
    lines.append(f"Tổng số: {total} cuộc trò chuyện")
    for state in rules.DELIVERY_STATES:
        n = stats.counts.get(state, 0)
        if n:
            lines.append(f"• {rules.DELIVERY_LABELS_VI[state]}: {n}")
    if stats.reasons:
        lines.append("Lý do lỗi/bỏ qua:")
        lines.extend(f"  – {html.escape(reason[:80])}: {n}" for reason, n in stats.reasons)
    if b.with_ack:
        sent = stats.counts.get(rules.SENT, 0)
        lines.append(f"Đã xác nhận: {stats.acked_chats}/{sent} nhóm")
    return "\n".join(lines)


class Dispatcher:
    """The outbox worker: started after the DB opens, stopped before it closes."""

    def __init__(
        self,
        db: Database,
        *,
        concurrency: int = 8,
        max_attempts: int = 5,
        batch_size: int = 200,
        progress_interval: float = 5.0,
        poll_interval: float = 1.0,
        tz: Any = None,
        stop_timeout: float = 20.0,
        stale_after: float = 120.0,
    ) -> None:
        self.db = db
        self.concurrency = concurrency
        self.max_attempts = max_attempts
        self.batch_size = batch_size
        self.progress_interval = progress_interval
        self.poll_interval = poll_interval
        self.tz = tz
        self.stop_timeout = stop_timeout
        self.stale_after = stale_after
        # Re-reads an automatic directive's file when its publish time comes (set by the
        # broadcasts handlers, which know the content folder); None: send it as stored.
        self.refresh_auto: Callable[[drafts.Broadcast], Awaitable[AutoCheck]] | None = None
        # Re-checks an admin-approved broadcast's authority when it is about to start
        # (issue 10, item 8): True when it was held (set by the broadcasts handlers).
        self.hold_lapsed: Callable[[drafts.Broadcast], Awaitable[bool]] | None = None
        self.bot: Any = None
        # Other kinds of delivery: each resolver returns the PartSender for broadcasts of
        # its kind, None for the others (polls: bot.handlers.polls). Resolved once per
        # broadcast and cached with it.
        self.part_senders: list[Callable[[drafts.Broadcast], Awaitable[PartSender | None]]] = []
        self._senders: dict[int, PartSender] = {}
        self._wake = asyncio.Event()
        self._stopping = False
        self._loop_task: asyncio.Task[None] | None = None
        self._progress_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._inflight: set[int] = set()
        self._inflight_ops: set[int] = set()
        self._slots = asyncio.Semaphore(concurrency)
        # Senders wait for each other (≤ 20 ms) until half of them have an entry waiting:
        # batches of tens, ≤ 0.2 database trips per delivery (issue 17), while the other
        # half is sending (no lock-step on the slowest request).
        self._journal: GroupCommit[Entry, int | None] = GroupCommit(
            self._commit,
            ready=lambda waiting: self._stopping or 2 * waiting >= self._running,
            max_delay=0.02,
        )
        self._running = 0  # delivery tasks (senders) running
        self._backlog: deque[outbox.Due] = deque()  # fetched, not taken by a sender yet
        self._loading = asyncio.Lock()
        self._broadcasts: dict[int, drafts.Broadcast] = {}
        self._markups: dict[int, InlineKeyboardMarkup] = {}
        self._last_progress: dict[int, tuple[float, str]] = {}
        self._last_chat_edit: dict[int, float] = {}
        self.sent_count = 0
        self.on_finished: list[Callable[[int], Awaitable[None]]] = []
        self.heartbeat = time.time()

    # --- life cycle ------------------------------------------------------------------

    async def start(self, app: Any) -> None:
        """Re-arm after a crash (rows left "sending" go back to pending) and start."""
        self.bot = app.bot
        reset = await outbox.reset_in_flight(self.db, time.time())
        if reset:
            log.warning(
                "dispatcher: %d deliveries were in flight at the last stop; resending", reset
            )
        self._stopping = False
        self._journal.start()
        self._loop_task = asyncio.create_task(self._loop(), name="loa-dispatcher")
        self._progress_task = asyncio.create_task(self._progress_loop(), name="loa-progress")

    async def stop(self) -> None:
        """Graceful: take nothing new, finish in-flight sends, leave the rest pending."""
        self._stopping = True
        self._wake.set()
        if self._loop_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
        if self._tasks:
            _done, pending = await asyncio.wait(self._tasks, timeout=self.stop_timeout)
            for task in pending:  # left "sending": resent at the next start
                task.cancel()
        if self._progress_task is not None:
            self._progress_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._progress_task
        await self._journal.stop()
        log.info("dispatcher stopped")

    def wake(self) -> None:
        """Look for due deliveries now (after a broadcast was queued)."""
        self._wake.set()

    def forget(self, broadcast_id: int) -> None:
        """Drop a cached broadcast (its text was edited)."""
        self._broadcasts.pop(broadcast_id, None)
        self._markups.pop(broadcast_id, None)

    # --- main loop -------------------------------------------------------------------

    async def _loop(self) -> None:
        last_housekeeping = 0.0
        while not self._stopping:
            try:
                now = time.time()
                self.heartbeat = now
                if now - last_housekeeping >= self.poll_interval:
                    last_housekeeping = now
                    await self._publish_due_auto(int(now))
                    await self._recover_orphans(now)
                    for bid in await outbox.finish_idle_broadcasts(self.db, now):
                        await self._finished(bid)
                if not self._backlog:
                    unchecked = await self._hold_lapsed(now)
                    due = await outbox.fetch_due(
                        self.db, now, self.batch_size + len(self._inflight)
                    )
                    self._backlog.extend(
                        d
                        for d in due
                        if d.id not in self._inflight and d.broadcast_id not in unchecked
                    )
                ops = await message_ops.fetch_due_ops(self.db, now, self.batch_size)
                ops = [o for o in ops if o.id not in self._inflight_ops]
                if not self._backlog and not ops:
                    await self._idle(now)
                    continue
                for op in ops:
                    await self._slots.acquire()
                    if self._stopping:
                        self._slots.release()
                        break
                    self._inflight_ops.add(op.id)
                    task = asyncio.create_task(self._do_op(op))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                # Senders take their next delivery from the backlog themselves; a new
                # sender starts when a slot is free and the backlog is not empty.
                while self._backlog and not self._stopping:
                    await self._slots.acquire()
                    delivery = self._take_next()
                    if delivery is None:
                        self._slots.release()
                        break
                    self._running += 1
                    task = asyncio.create_task(self._deliver(delivery))
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher loop error; retrying in a second")
                await asyncio.sleep(1.0)

    async def _publish_due_auto(self, now: int) -> None:
        """Automatic directives whose publish time came: re-check the file, then queue."""
        for b in await directives.waiting_auto_directives(self.db, now):
            check = AutoCheck(send=True)
            if self.refresh_auto is not None:
                try:
                    check = await self.refresh_auto(b)
                except Exception:
                    log.exception("directive %s: the file check failed; trying later", b.id)
                    continue
            if check.send and await directives.queue_auto_directive(self.db, b.id, now) is None:
                continue
            if check.note and b.report_chat_id is not None and self.bot is not None:
                try:
                    await self.bot.send_message(b.report_chat_id, check.note)
                except TelegramError as exc:
                    log.warning("could not report directive %s: %s", b.id, exc)

    async def _hold_lapsed(self, now: float) -> set[int]:
        """Re-check admin-approved broadcasts about to start; the ids not to send now
        (held, or the check failed: tried again at the next round)."""
        if self.hold_lapsed is None:
            return set()
        unchecked: set[int] = set()
        for b in await drafts.starting_approved(self.db, now):
            try:
                if await self.hold_lapsed(b):
                    self.forget(b.id)
                    unchecked.add(b.id)
            except Exception:
                log.exception("broadcast %s: the authority check failed; not sent yet", b.id)
                unchecked.add(b.id)
        return unchecked

    async def _recover_orphans(self, now: float) -> None:
        deliveries, ops = await outbox.recover_orphans(
            self.db,
            in_flight=set(self._inflight),
            ops_in_flight=set(self._inflight_ops),
            older_than=now - self.stale_after,
            now=now,
        )
        if deliveries or ops:
            log.warning(
                "dispatcher: %d deliveries and %d edits/deletions were left in flight by a"
                " failed task; they go out again",
                deliveries,
                ops,
            )
            self._wake.set()

    async def _idle(self, now: float) -> None:
        nxt = await outbox.next_due_time(self.db)
        timeout = self.poll_interval
        if nxt is not None and nxt > now:
            timeout = min(timeout, nxt - now)
        if (self._inflight or self._inflight_ops) and nxt is not None and nxt <= now:
            timeout = min(timeout, 0.05)  # only in-flight rows are due: check again soon
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout=max(timeout, 0.01))
        self._wake.clear()

    # --- one delivery ----------------------------------------------------------------

    def _take_next(self) -> outbox.Due | None:
        """The next fetched delivery for a sender (None when stopping or none is left)."""
        if self._stopping or not self._backlog:
            return None
        delivery = self._backlog.popleft()
        self._inflight.add(delivery.id)
        return delivery

    async def _deliver(self, first: outbox.Due) -> None:
        """One sender: deliveries one after another while the backlog has some.

        The outcome of each delivery is committed in the same transaction as the mark of
        the sender's next one, and the next request starts only after that commit: so a
        sender has at most one delivery "sent but not recorded" (the duplicate bound).
        """
        d: outbox.Due | None = first
        done: outbox.Outcome | None = None  # the last delivery's outcome, not recorded yet
        try:
            while d is not None or done is not None:
                try:
                    chat_id = await self._journal.submit(
                        Entry(done, d.id if d is not None else None)
                    )
                except Exception:
                    if done is None:
                        raise
                    log.warning("recording delivery %s failed; retrying", done.delivery_id)
                    if d is not None:  # its mark was rolled back too: it is fetched again
                        self._inflight.discard(d.id)
                        d = None
                    await self._record_alone(done)
                    chat_id = None
                if done is not None:
                    self._inflight.discard(done.delivery_id)
                    done = None
                if d is None:
                    break
                if chat_id is not None:
                    done = await self._send(d, chat_id)
                if done is None:  # skipped, or back in the queue after a group migration
                    self._inflight.discard(d.id)
                d = self._take_next()
        except Exception:
            failed = done.delivery_id if done is not None else d.id if d is not None else None
            log.exception(
                "delivery %s failed unexpectedly; it is resent after %.0f s",
                failed,
                self.stale_after,
            )
        finally:
            for held in (d, done):
                if held is not None:
                    self._inflight.discard(
                        held.delivery_id if isinstance(held, outbox.Outcome) else held.id
                    )
            self._running -= 1
            self._slots.release()
            if self._backlog and not self._stopping:
                self._wake.set()

    async def _record_alone(self, outcome: outbox.Outcome) -> None:
        """Record an outcome whose batch failed: alone (isolating a bad row), a few times.

        Still failing: the row stays "sending" and the housekeeping resends it later.
        """
        delays = (0.1, 0.5, 2.0)
        for i, delay in enumerate(delays):
            await asyncio.sleep(delay)
            try:
                await self._commit([Entry(outcome)])
                return
            except Exception:
                if i == len(delays) - 1:
                    raise

    async def _commit(self, entries: list[Entry]) -> list[int | None]:
        """One transaction for what waits; for each entry the chat id its mark may send
        to (None: nothing to send, skipped or no longer pending)."""
        ids = [e.mark for e in entries if e.mark is not None]
        outcomes = [e.outcome for e in entries if e.outcome is not None]
        go, skipped, finished = await outbox.commit_batch(self.db, ids, outcomes, time.time())
        if skipped:
            log.info("skipped %d deliveries at send time: %s", len(skipped), set(skipped.values()))
        self.sent_count += sum(1 for o in outcomes if o.state == rules.SENT)
        for bid in finished:
            asyncio.create_task(self._finished(bid))  # noqa: RUF006 - fire and log
        return [None if e.mark is None else go.get(e.mark) for e in entries]

    async def _broadcast(self, broadcast_id: int) -> drafts.Broadcast:
        b = self._broadcasts.get(broadcast_id)
        if b is None:
            async with self._loading:  # concurrent senders of a new broadcast read it once
                b = self._broadcasts.get(broadcast_id)
                if b is None:
                    b = await drafts.get_broadcast(self.db, broadcast_id)
                    self._broadcasts[broadcast_id] = b
        return b

    async def _sender(self, b: drafts.Broadcast) -> PartSender:
        sender = self._senders.get(b.id)
        if sender is None:
            sender = send_text_part
            for resolve in self.part_senders:
                found = await resolve(b)
                if found is not None:
                    sender = found
                    break
            self._senders[b.id] = sender
        return sender

    def _ack_markup(self, b: drafts.Broadcast) -> InlineKeyboardMarkup | None:
        """[✅ Đã nhận] under the last part of a directive (built once per broadcast)."""
        if not b.with_ack:
            return None
        target = b.parent_id if b.kind == "reminder" and b.parent_id else b.id
        markup = self._markups.get(target)
        if markup is None:
            markup = self._markups[target] = ack_markup(target)
        return markup

    async def _send(self, d: outbox.Due, chat_id: int) -> outbox.Outcome | None:
        """Send the parts not sent yet with the sender of the broadcast's kind."""
        b = await self._broadcast(d.broadcast_id)
        send_part = await self._sender(b)
        ids = list(d.message_ids)
        parts: Sequence[str] = b.parts
        markup = self._ack_markup(b)

        def outcome(state: str, **kw: Any) -> outbox.Outcome:
            return outbox.Outcome(
                d.id, d.broadcast_id, chat_id, state, tuple(ids), text_rev=b.text_rev, **kw
            )

        async def still_wanted() -> bool:
            return await outbox.still_sending(self.db, d.id)

        # Every bulk request of this delivery that waits for a rate-limit slot is re-checked
        # when it gets one (bot.tg.pacer.RECHECK), whatever the kind of message.
        token = RECHECK.set(still_wanted)
        try:
            while len(ids) < len(parts):
                index = len(ids)
                last = index == len(parts) - 1
                try:
                    message_id = await send_part(
                        self.bot, b, chat_id, index, markup if last else None
                    )
                except (TelegramError, Withdrawn) as exc:
                    return await self._failure(d, chat_id, exc, outcome)
                ids.append(message_id)
                if len(ids) < len(parts):
                    # Record each part of a split text so a crash repeats at most one part.
                    await self._journal.submit(Entry(outcome(rules.SENDING)))
        finally:
            RECHECK.reset(token)
        return outcome(rules.SENT)

    async def _failure(
        self,
        d: outbox.Due,
        chat_id: int,
        exc: TelegramError | Withdrawn,
        outcome: Callable[..., outbox.Outcome],
    ) -> outbox.Outcome | None:
        """The outcome of a request that failed (any kind of delivery)."""
        if isinstance(exc, Withdrawn):
            return outcome(rules.CANCELLED, error="stopped before sending")
        if isinstance(exc, RetryAfter):
            # The pacer already paused every sender; this is not a failure.
            wait = retry_after_seconds(exc)
            return outcome(
                rules.PENDING, error="429 retry_after", next_attempt_at=time.time() + wait
            )
        if isinstance(exc, ChatMigrated):
            new_id = int(exc.new_chat_id)
            log.info("chat %s migrated to %s; the delivery goes back to the queue", chat_id, new_id)
            await subs.migrate_chat(self.db, chat_id, new_id, clock.now())
            if d.attempts + 1 >= self.max_attempts:
                return outcome(rules.FAILED, error="group migrated repeatedly", used_attempt=True)
            # Back to pending for the new id: the next attempt is marked like any other,
            # so it is sent only if the new chat may receive it (issue 4's re-check).
            await outbox.requeue_after_migration(self.db, d.id, time.time())
            self._wake.set()
            return None
        if isinstance(exc, Forbidden):
            return outcome(
                rules.BLOCKED,
                error=exc.message[:200],
                deactivate_reason=f"forbidden: {exc.message[:100]}",
            )
        if isinstance(exc, BadRequest):  # before NetworkError: BadRequest is a subclass
            return outcome(rules.FAILED, error=exc.message[:200], used_attempt=True)
        if isinstance(exc, (TimedOut, NetworkError)):
            attempts = d.attempts + 1
            if attempts >= self.max_attempts:
                return outcome(
                    rules.FAILED, error=f"network: {exc.message[:150]}", used_attempt=True
                )
            return outcome(
                rules.PENDING,
                error=f"network: {exc.message[:150]}",
                used_attempt=True,
                next_attempt_at=time.time() + rules.backoff_seconds(attempts),
            )
        return outcome(rules.FAILED, error=str(exc)[:200], used_attempt=True)

    # --- progress and reports ----------------------------------------------------------

    async def _progress_loop(self) -> None:
        while True:
            try:
                await asyncio.sleep(min(1.0, self.progress_interval or 1.0))
                if self.progress_interval > 0:
                    for b in await outbox.running_broadcasts(self.db):
                        await self._progress(b)
                for bid in await outbox.unreported_done(self.db):
                    await self._report(bid)
                for action in await message_ops.finished_actions(self.db):
                    await self._report_action(action)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("progress update failed")

    async def _progress(self, b: drafts.Broadcast) -> None:
        if b.report_chat_id is None or b.report_message_id is None:
            return
        last_at, last_text = self._last_progress.get(b.id, (0.0, ""))
        now = time.time()
        # At most one progress edit per report chat per interval, whatever the number of
        # broadcasts running (a group admin chat also has Telegram's 20/min limit).
        interval = max(self.progress_interval, 3.0 if b.report_chat_id < 0 else 0.0)
        if now - max(last_at, self._last_chat_edit.get(b.report_chat_id, 0.0)) < interval:
            return
        stats = await drafts.broadcast_stats(self.db, b.id)
        text = rules.progress_text(
            b.id,
            stats.counts.get(rules.SENT, 0),
            stats.done,
            stats.total,
            now - (b.started_at or now),
            finished=False,
        )
        if text == last_text:
            return
        self._last_progress[b.id] = (now, text)
        self._last_chat_edit[b.report_chat_id] = now
        with contextlib.suppress(TelegramError):
            await self.bot.edit_message_text(
                text, chat_id=b.report_chat_id, message_id=b.report_message_id
            )

    async def _finished(self, broadcast_id: int) -> None:
        log.info("broadcast %s finished", broadcast_id)
        self._broadcasts.pop(broadcast_id, None)
        self._senders.pop(broadcast_id, None)
        self._last_progress.pop(broadcast_id, None)  # bounded: nothing kept per finished one
        for hook in self.on_finished:
            try:
                await hook(broadcast_id)
            except Exception:
                log.exception("finish hook failed")

    async def _report(self, broadcast_id: int) -> None:
        """Final report to the admin (once: `reported` is stored)."""
        b = await drafts.get_broadcast(self.db, broadcast_id)
        if b.report_chat_id is None:
            await outbox.mark_reported(self.db, broadcast_id)
            return
        stats = await drafts.broadcast_stats(self.db, broadcast_id)
        elapsed = (b.finished_at or time.time()) - (b.started_at or time.time())
        if b.report_message_id is not None:
            with contextlib.suppress(TelegramError):
                await self.bot.edit_message_text(
                    rules.progress_text(
                        b.id,
                        stats.counts.get(rules.SENT, 0),
                        stats.done,
                        stats.total,
                        elapsed,
                        finished=True,
                        stopped=b.state == rules.B_CANCELLED,
                    ),
                    chat_id=b.report_chat_id,
                    message_id=b.report_message_id,
                )
        try:
            await self.bot.send_message(
                b.report_chat_id, "📊 <b>Báo cáo gửi</b>\n" + summary_text(b, stats, self.tz)
            )
        except TelegramError as exc:
            log.warning("could not send the final report of %s: %s", broadcast_id, exc)
        await outbox.mark_reported(self.db, broadcast_id)

    # --- edits and deletions of sent messages ([Sửa], [Thu hồi]) ----------------------

    async def _do_op(self, op: message_ops.MessageOp) -> None:
        try:
            chat_id = await message_ops.mark_op_sending(self.db, op.id, time.time())
            if chat_id is None:
                return
            state, kw = await self._run_op(op, chat_id)
            for delay in (0.1, 0.5, 2.0, None):
                try:
                    await message_ops.record_op(self.db, op.id, state, now=time.time(), **kw)
                    break
                except Exception:
                    if delay is None:
                        raise
                    await asyncio.sleep(delay)
        except Exception:
            log.exception(
                "message op %s failed unexpectedly; it is retried after %.0f s",
                op.id,
                self.stale_after,
            )
        finally:
            self._inflight_ops.discard(op.id)
            self._slots.release()

    async def _run_op(self, op: message_ops.MessageOp, chat_id: int) -> tuple[str, dict[str, Any]]:
        """One editMessageText/deleteMessage; (state, record_op keywords)."""
        try:
            if op.op == "delete":
                await self.bot.delete_message(
                    chat_id, op.message_id, rate_limit_args={"bulk": True}
                )
            else:
                b = await drafts.get_broadcast(self.db, op.broadcast_id)
                if op.part_index >= len(b.parts):
                    return rules.FAILED, {"error": "part no longer exists"}
                markup = None
                if b.with_ack and op.is_last:
                    target = b.parent_id if b.kind == "reminder" and b.parent_id else b.id
                    count = await directives.ack_count(self.db, target, chat_id)
                    markup = ack_markup(target, count)
                await self.bot.edit_message_text(
                    b.parts[op.part_index],
                    chat_id=chat_id,
                    message_id=op.message_id,
                    reply_markup=markup,
                    rate_limit_args={"bulk": True},
                )
        except RetryAfter as exc:
            return rules.PENDING, {
                "error": "429 retry_after",
                "next_attempt_at": time.time() + retry_after_seconds(exc),
            }
        except ChatMigrated as exc:
            await subs.migrate_chat(self.db, chat_id, int(exc.new_chat_id), clock.now())
            return rules.FAILED, {"error": "group migrated to a supergroup", "used_attempt": True}
        except Forbidden as exc:
            return rules.FAILED, {"error": f"forbidden: {exc.message[:150]}", "used_attempt": True}
        except BadRequest as exc:
            text = exc.message.lower()
            if "not modified" in text:
                return "done", {}
            if op.op == "delete" and "not found" in text:
                return "done", {"error": "already deleted"}
            return rules.FAILED, {"error": exc.message[:200], "used_attempt": True}
        except (TimedOut, NetworkError) as exc:
            if op.attempts + 1 >= self.max_attempts:
                return rules.FAILED, {
                    "error": f"network: {exc.message[:150]}",
                    "used_attempt": True,
                }
            return rules.PENDING, {
                "error": f"network: {exc.message[:150]}",
                "used_attempt": True,
                "next_attempt_at": time.time() + rules.backoff_seconds(op.attempts + 1),
            }
        except TelegramError as exc:
            return rules.FAILED, {"error": str(exc)[:200], "used_attempt": True}
        return "done", {}

    async def _report_action(self, action: message_ops.ActionReport) -> None:
        """Tell the admin how an edit/deletion request went (once)."""
        if action.report_chat_id is not None:
            text = rules.action_report_vi(
                action.broadcast_id, action.op, action.counts, action.reasons
            )
            try:
                await self.bot.send_message(action.report_chat_id, text)
            except TelegramError as exc:
                log.warning("could not report action %s: %s", action.id, exc)
        await message_ops.mark_action_reported(self.db, action.id, time.time())
