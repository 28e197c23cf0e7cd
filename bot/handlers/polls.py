"""Polls (issue 16): /khaosat (/poll) creates one, sent as native Telegram polls through the
durable outbox like an announcement (preview, audience, schedule, approval, progress,
cancel); `poll_answer`/`poll` updates collect the answers; the closing worker stops the
poll everywhere at its deadline (stopPoll, through the outbox too); /ketqua shows live
results with a chart and exports.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import CallbackQueryHandler, CommandHandler, PollAnswerHandler, PollHandler

from bot.domain import clock, spreadsheets
from bot.domain import polls as rules
from bot.domain.broadcasts import parse_id
from bot.domain.errors import InvalidInput
from bot.domain.stats import format_int
from bot.handlers.announcements import send_preview
from bot.handlers.base import (
    Context,
    answer_query,
    command_text,
    reply,
    requires,
    services,
    user_errors,
)
from bot.services import CommandInfo, Services
from bot.store import drafts
from bot.store import polls as store
from bot.workers.dispatcher import Dispatcher, PartSender
from bot.workers.periodic import Periodic

log = logging.getLogger(__name__)

USAGE_RESULTS = "Cú pháp: /ketqua &lt;số khảo sát&gt;, ví dụ /ketqua 3. Danh sách: /khaosat"


# --- sending and stopping native polls (the dispatcher's per-kind senders) ---------------


def part_sender_resolver(svc: Services) -> Any:
    """The dispatcher's resolver: broadcasts carrying a poll are sent with sendPoll, those
    closing one with stopPoll; other broadcasts are not ours (None)."""

    async def resolve(b: drafts.Broadcast) -> PartSender | None:
        found = await store.poll_of_broadcast(svc.db, b.id)
        if found is None:
            return None
        poll, is_stop = found
        return _stopper(svc, poll) if is_stop else _sender(svc, poll)

    return resolve


def _sender(svc: Services, poll: store.Poll) -> PartSender:
    async def send(bot: Any, b: drafts.Broadcast, chat_id: int, index: int, markup: Any) -> int:
        # PTB applies the default parse mode (HTML) to the question and the options too.
        message = await bot.send_poll(
            chat_id,
            html.escape(poll.question, quote=False),
            [html.escape(o, quote=False) for o in poll.options],
            is_anonymous=poll.anonymous,
            allows_multiple_answers=poll.multiple,
            rate_limit_args={"bulk": True},
        )
        if message.poll is not None:
            await store.record_native(
                svc.db, poll.id, message.poll.id, chat_id, message.message_id, clock.now()
            )
        # Closed while this one was in flight: the stop broadcast did not know this chat.
        if (await store.get_poll(svc.db, poll.id)).closed:
            with contextlib.suppress(TelegramError):
                await bot.stop_poll(chat_id, message.message_id, rate_limit_args={"bulk": True})
                await store.mark_stopped(svc.db, poll.id, chat_id, message.message_id)
        return int(message.message_id)

    return send


def _stopper(svc: Services, poll: store.Poll) -> PartSender:
    async def stop(bot: Any, b: drafts.Broadcast, chat_id: int, index: int, markup: Any) -> int:
        last = 0
        for message_id in await store.native_messages(svc.db, poll.id, chat_id):
            try:
                await bot.stop_poll(chat_id, message_id, rate_limit_args={"bulk": True})
            except BadRequest as exc:
                # Stopped already (a resend after a crash) or deleted by the chat: done.
                text = exc.message.lower()
                if "already been closed" not in text and "not found" not in text:
                    raise
            await store.mark_stopped(svc.db, poll.id, chat_id, message_id)
            last = message_id
        return last

    return stop


# --- the closing worker ---------------------------------------------------------------------


class PollCloser(Periodic):
    """Closes polls at their deadline: queues the stop broadcast, tells the creator."""

    name = "loa-poll-closer"

    def __init__(self, svc: Services, dispatcher: Dispatcher) -> None:
        super().__init__()
        self.svc = svc
        self.dispatcher = dispatcher

    def interval(self) -> float:
        """LOA_POLL_CHECK_INTERVAL."""
        return self.svc.settings.poll_check_interval

    async def tick(self) -> None:
        """Close what is due."""
        await self.close_due()

    async def close_due(self) -> int:
        """Close every poll whose deadline has come; return how many."""
        closed = 0
        for poll in await store.due_to_close(self.svc.db, clock.now()):
            chats = await store.close_poll(self.svc.db, poll, now=clock.now())
            closed += 1
            log.info("poll %s closed; stopping it in %d chats", poll.id, chats)
            self.dispatcher.wake()
            b = await drafts.get_broadcast(self.svc.db, poll.broadcast_id)
            if b.report_chat_id is not None and self.bot is not None:
                results = await store.results(self.svc.db, poll)
                text = "⏹ Khảo sát đã hết hạn.\n" + rules.results_html(
                    poll.id, poll.question, results, closed=True
                )
                try:
                    await self.bot.send_message(
                        b.report_chat_id, text, reply_markup=_results_markup(poll.id, True)
                    )
                except TelegramError as exc:
                    log.warning("could not report poll %s: %s", poll.id, exc)
        return closed


# --- updates from voters ------------------------------------------------------------------


async def on_poll_answer(update: Update, context: Context) -> None:
    """A voter answered (or retracted) in a non-anonymous poll: stored per voter."""
    answer = update.poll_answer
    if answer is None or answer.user is None:
        return  # an anonymous group admin voting "as the chat": no person to count
    await store.record_answer(
        services(context).db, answer.poll_id, answer.user.id, answer.option_ids, clock.now()
    )


async def on_poll(update: Update, context: Context) -> None:
    """Telegram's new totals for one of the bot's native polls."""
    poll = update.poll
    if poll is None:
        return
    await store.record_totals(
        services(context).db,
        poll.id,
        [o.voter_count for o in poll.options],
        poll.total_voter_count,
        clock.now(),
        question=poll.question,
        options=[o.text for o in poll.options],
    )


# --- staff commands -------------------------------------------------------------------------


@requires("broadcast")
@user_errors
async def poll_command(update: Update, context: Context) -> None:
    """/khaosat <question + options>: a draft poll, previewed with the audience buttons;
    bare: how to write one and the recent polls."""
    svc = services(context)
    text = command_text(update)
    if not text:
        lines = [rules.USAGE]
        recent = await store.recent_polls(svc.db, 8)
        if recent:
            lines.append("\n<b>Khảo sát gần đây</b> (xem kết quả: /ketqua &lt;số&gt;)")
            for p in recent:
                state = "đã đóng" if p.closed else "đang mở"
                lines.append(
                    f"#{p.id} · {html.escape(p.question[:60])} · {state},"
                    f" hạn {clock.format_local(p.closes_at, svc.settings.tz)}"
                )
        await reply(update, "\n".join(lines))
        return
    spec = rules.parse_poll(
        text,
        now=clock.now(),
        tz=svc.settings.tz,
        default_hours=svc.settings.poll_default_hours,
    )
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    poll = await store.create_poll(
        svc.db,
        spec,
        preview=rules.preview_html(spec, svc.settings.tz),
        created_by=user.id if user else None,
        report_chat_id=chat.id,
        now=clock.now(),
    )
    await send_preview(context, chat.id, await drafts.get_broadcast(svc.db, poll.broadcast_id))
    await reply(update, f"Khảo sát #{poll.id}: chọn đối tượng rồi bấm «Gửi ngay» hoặc «Hẹn giờ».")


def _results_markup(poll_id: int, closed: bool) -> InlineKeyboardMarkup:
    row = [
        InlineKeyboardButton("🔄 Cập nhật", callback_data=f"pl:r:{poll_id}"),
        InlineKeyboardButton("📈 Biểu đồ", callback_data=f"pl:c:{poll_id}"),
    ]
    rows = [
        row,
        [
            InlineKeyboardButton("⬇️ Excel", callback_data=f"pl:x:{poll_id}"),
            InlineKeyboardButton("⬇️ CSV", callback_data=f"pl:v:{poll_id}"),
        ],
    ]
    if not closed:
        rows.append([InlineKeyboardButton("⏹ Đóng ngay", callback_data=f"pl:s:{poll_id}")])
    return InlineKeyboardMarkup(rows)


async def _results_text(svc: Services, poll_id: int) -> tuple[str, bool]:
    poll = await store.get_poll(svc.db, poll_id)
    results = await store.results(svc.db, poll)
    return rules.results_html(poll.id, poll.question, results, closed=poll.closed), poll.closed


@requires("broadcast")
@user_errors
async def results_command(update: Update, context: Context) -> None:
    """/ketqua <id>: live results across every chat, with chart and export buttons."""
    svc = services(context)
    args = command_text(update).lstrip("#").split()
    if len(args) != 1 or not (args[0].isascii() and args[0].isdigit()) or len(args[0]) > 12:
        raise InvalidInput(USAGE_RESULTS)
    poll_id = int(args[0])
    text, closed = await _results_text(svc, poll_id)
    await reply(update, text, reply_markup=_results_markup(poll_id, closed))


def _poll_chart_png(*args: Any) -> bytes:
    """The results chart, drawn in a worker thread; matplotlib (~50 MB) is imported on
    first use, not when the bot starts (issue 17: idle memory)."""
    from bot.charts import render_poll_chart

    return render_poll_chart(*args)


@requires("broadcast")
@user_errors
async def results_button(update: Update, context: Context) -> None:
    """[Cập nhật] [Biểu đồ] [Excel] [CSV] [Đóng ngay] under the results."""
    svc = services(context)
    query = update.callback_query
    assert query is not None and query.data is not None
    _, action, raw_id = query.data.split(":", 2)
    poll = await store.get_poll(svc.db, parse_id(raw_id))
    chat = update.effective_chat
    assert chat is not None
    if action == "s":
        closer: PollCloser = svc.features["poll_closer"]
        user = update.effective_user
        if poll.closed:
            raise InvalidInput("Khảo sát này đã đóng.")
        chats = await store.close_poll(
            svc.db, poll, now=clock.now(), actor_id=user.id if user else None
        )
        closer.dispatcher.wake()
        await answer_query(update, f"Đã đóng; đang dừng phiếu ở {chats} cuộc trò chuyện.")
        action = "r"
    else:
        await answer_query(update)
    if action == "r":
        text, closed = await _results_text(svc, poll.id)
        with contextlib.suppress(BadRequest):  # "not modified": nothing changed
            await query.edit_message_text(text, reply_markup=_results_markup(poll.id, closed))
        return
    results = await store.results(svc.db, poll)
    if action == "c":
        png = await asyncio.to_thread(
            _poll_chart_png,
            f"Khảo sát #{poll.id}: {poll.question}",
            list(results.options),
            list(results.counts),
            results.voters,
        )
        await context.bot.send_photo(chat.id, png, caption=f"📈 Khảo sát #{poll.id}")
        return
    fmt: spreadsheets.Format = "xlsx" if action == "x" else "csv"
    if poll.anonymous or fmt == "csv":
        table = rules.results_table(poll.question, results)
    else:
        table = rules.voters_table(poll.options, await store.voter_rows(svc.db, poll.id))
    data = spreadsheets.render(table, fmt, tz=svc.settings.tz)
    await context.bot.send_document(
        chat.id,
        document=data,
        filename=f"khao-sat-{poll.id}.{fmt}",
        caption=f"Khảo sát #{poll.id}: {format_int(results.voters)} người trả lời.",
    )


# --- registration ----------------------------------------------------------------------------


def register(app: Any, svc: Services) -> None:
    """Commands, the voters' updates, the dispatcher's poll senders and the closing worker."""
    dispatcher: Dispatcher = svc.features["dispatcher"]
    dispatcher.part_senders.append(part_sender_resolver(svc))
    closer = PollCloser(svc, dispatcher)
    svc.features["poll_closer"] = closer
    svc.starters.append(closer.start)
    svc.stoppers.append(closer.stop)
    svc.forgetters.append(store.forget_voter)
    svc.commands.extend(
        [
            CommandInfo(
                "khaosat",
                "Tạo phiếu lấy ý kiến (khảo sát)",
                aliases=("poll",),
                permission="broadcast",
            ),
            CommandInfo(
                "ketqua",
                "Kết quả khảo sát: /ketqua <số>",
                aliases=("pollresults",),
                permission="broadcast",
            ),
        ]
    )
    app.add_handler(CommandHandler(["khaosat", "poll"], poll_command))
    app.add_handler(CommandHandler(["ketqua", "pollresults"], results_command))
    app.add_handler(CallbackQueryHandler(results_button, pattern=r"^pl:[rcxvs]:\d+$"))
    app.add_handler(PollAnswerHandler(on_poll_answer))
    app.add_handler(PollHandler(on_poll))
