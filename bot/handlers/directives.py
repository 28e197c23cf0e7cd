"""Quarterly directives and acknowledgements: /directive (preview a directive file as a
draft), /chidao, the [✅ Đã nhận] button, /acks and [Nhắc lại].

Directive files with publish_at are scheduled by bot.actions.directives (no telegram
objects there: the dispatcher and /reload call it too).
"""

from __future__ import annotations

import asyncio
import html
import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import TelegramError

from bot.actions.directives import _audience_of, _directives, remind_missing
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.broadcasts import parse_id
from bot.domain.directives import (
    Directive,
)
from bot.domain.errors import InvalidInput, NotFound
from bot.domain.text import pack_html_lines, quote
from bot.handlers.announcements import (
    _button,
    _current,
    _dispatcher,
    _id_from,
    send_preview,
)
from bot.handlers.base import (
    Context,
    answer_query,
    command_text,
    reply,
    requires,
    services,
    user_errors,
)
from bot.store import directives, drafts, units
from bot.store import subscriptions as subs
from bot.workers.dispatcher import ack_markup

log = logging.getLogger(__name__)
USAGE_ACKS = "Cú pháp: /xacnhan &lt;số bản tin&gt;"
USAGE_DIRECTIVE = "Cú pháp: /guichidao 2022-Q2 [đơn vị]"
CHIDAO_INTERNAL = (
    "🔒 Chỉ đạo là tài liệu nội bộ, chỉ xem được trong nhóm cán bộ đã được Ban Tuyên giáo"
    " duyệt. Nhóm của đồng chí có thể đăng ký bằng /dangky rồi chờ duyệt."
)


# --- directives ------------------------------------------------------------------------------


@requires("broadcast")
@user_errors
async def directive_command(update: Update, context: Context) -> None:
    """/directive <quarter> [unit]: preview a directive file for approved cadre chats."""
    svc = services(context)
    args = command_text(update).split()
    if not args:
        raise InvalidInput(USAGE_DIRECTIVE)
    unit_arg = None
    if len(args) >= 2 and not args[-1].startswith("20") and "/" not in args[-1]:
        unit_arg = rules.normalize_label(args[-1])
        args = args[:-1]
    quarter = rules.parse_quarter(" ".join(args))
    directive = _directives(svc).get(quarter)
    if directive is None:
        raise NotFound(f"Chưa có tệp chỉ đạo cho {rules.quarter_label_vi(quarter)}.")
    audience = rules.Audience("unit", unit_arg) if unit_arg else _audience_of(directive)
    body = directive.message_html()
    parts = rules.split_html(body)
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    bid = await drafts.create_draft(
        svc.db,
        kind="directive",
        body=body,
        parts=parts,
        audience=audience,
        created_by=user.id if user else None,
        now=clock.now(),
        title=directive.title,
        with_ack=True,
        directive_key=quarter,
        report_chat_id=chat.id,
    )
    await send_preview(context, chat.id, await drafts.get_broadcast(svc.db, bid))


async def chidao_command(update: Update, context: Context) -> None:
    """/chidao: in an approved cadre chat, the newest directive actually sent to it (with
    its [✅ Đã nhận]); to staff in private, the latest published directive file."""
    svc = services(context)
    chat, user = update.effective_chat, update.effective_user
    if chat is None:
        return
    allowed = False
    unit: str | None = None
    if chat.type == ChatType.PRIVATE:
        # Admins and editors (who send directives) read it in private; citizens and
        # moderators are told it is internal.
        allowed = await svc.may(user.id if user else None, "broadcast")
        in_group = False
    else:
        sub = await subs.get_subscription(svc.db, chat.id)
        allowed = sub is not None and sub.active and sub.is_cadre
        unit = sub.unit if sub is not None else None
        in_group = True
    if not allowed:
        await reply(update, CHIDAO_INTERNAL)
        return
    if in_group:
        # A group sees only what was actually sent to it (issue 10): a file alone, or a
        # unit chosen at send time, decides nothing here.
        await _sent_copy(update, context, chat.id)
        return
    now = clock.now()
    current = rules.quarter_of(now, svc.settings.tz)

    def meant_here(d: Directive) -> bool:
        if d.publish_at is not None and d.publish_at > now:
            return False
        return not (in_group and d.units and unit not in d.units)

    found = _directives(svc)
    candidates = sorted(q for q, d in found.items() if q <= current and meant_here(d))
    if not candidates:
        await reply(update, f"Chưa có chỉ đạo cho {rules.quarter_label_vi(current)}.")
        return
    directive = found[candidates[-1]]
    note = (
        ""
        if directive.quarter == current
        else (
            f"\n\n<i>(Chưa có chỉ đạo {rules.quarter_label_vi(current)};"
            " đây là chỉ đạo gần nhất.)</i>"
        )
    )
    for part in rules.split_html(directive.message_html() + note):
        await reply(update, part)


async def _sent_copy(update: Update, context: Context, chat_id: int) -> None:
    """The newest directive delivered to this chat, again, with its [✅ Đã nhận]."""
    svc = services(context)
    bid = await directives.latest_directive_sent_to(svc.db, chat_id)
    if bid is None:
        await reply(update, "Nhóm chưa nhận chỉ đạo nào qua Loa.")
        return
    b = await drafts.get_broadcast(svc.db, bid)
    for i, part in enumerate(b.parts):
        last = i == len(b.parts) - 1
        message = await context.bot.send_message(
            chat_id, part, reply_markup=ack_markup(b.id) if last and b.with_ack else None
        )
        if last and b.with_ack:
            await directives.record_copy(svc.db, b.id, chat_id, message.message_id)


# --- acknowledgements ------------------------------------------------------------------------


async def ack_button(update: Update, context: Context) -> None:
    """[✅ Đã nhận]: record who acknowledged, update the count on the button (debounced)."""
    svc = services(context)
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    if query is None or chat is None or user is None:
        return
    try:
        bid = _id_from(update, 1)
    except NotFound:
        await answer_query(update, "Nút này không hợp lệ.", alert=True)
        return
    pressed = query.message.message_id if query.message is not None else None
    if not await directives.ack_allowed(svc.db, bid, chat.id, pressed):
        # A preview, or a forged button naming another broadcast than the message shows.
        await answer_query(update, "Nút xác nhận này không thuộc tin nhắn đã gửi tới nhóm.")
        return
    try:
        new, _count = await directives.record_ack(svc.db, bid, chat.id, user.id, clock.now())
    except NotFound as exc:
        await answer_query(update, exc.user_message, alert=True)
        return
    await answer_query(update, "Cảm ơn, đã ghi nhận." if new else "Đồng chí đã xác nhận trước đó.")
    if new and query.message is not None:
        _schedule_count_edit(context, bid, chat.id, query.message.message_id)


def _schedule_count_edit(context: Context, bid: int, chat_id: int, message_id: int) -> None:
    pending: set[tuple[int, int]] = context.application.bot_data.setdefault("ack_edits", set())
    key = (chat_id, message_id)
    if key in pending:
        return
    pending.add(key)

    async def later() -> None:
        try:
            # Many presses → one edit; in a group at most ~17 edits/min (limit 20/min).
            await asyncio.sleep(3.5 if chat_id < 0 else 1.0)
            count = await directives.ack_count(services(context).db, bid, chat_id)
            pending.discard(key)
            await context.bot.edit_message_reply_markup(
                chat_id, message_id, reply_markup=ack_markup(bid, count)
            )
        except TelegramError as exc:
            log.info("ack count edit failed: %s", exc)
        finally:
            pending.discard(key)

    context.application.create_task(later())


@requires("broadcast")
@user_errors
async def acks_command(update: Update, context: Context) -> None:
    """/acks <id>: chats that received the directive and have not acknowledged it.

    Every chat is listed, in as many messages as needed (whole lines, under 4096).
    """
    svc = services(context)
    arg = command_text(update).lstrip("#")
    if not (arg.isascii() and arg.isdigit()):
        raise InvalidInput(USAGE_ACKS)
    b = await drafts.get_broadcast(svc.db, parse_id(arg))
    if not b.with_ack:
        raise InvalidInput("Bản tin này không có nút xác nhận.")
    missing = await directives.unacked_chats(svc.db, b.id)
    stats = await drafts.broadcast_stats(svc.db, b.id)
    lines = [
        f"<b>Xác nhận bản tin #{b.id}</b>: {stats.acked_chats}/"
        f"{stats.counts.get(rules.SENT, 0)} nhóm đã xác nhận."
    ]
    if missing:
        names = await units.names_by_code(svc.db)  # units by name (issue 16)
        lines.append(f"Chưa xác nhận ({len(missing)} nhóm):")
        lines += [
            f"• {quote(c.title or str(c.chat_id), 128)}"
            + (f" ({html.escape(names.get(c.unit, c.unit))})" if c.unit else "")
            for c in missing
        ]
    markup = InlineKeyboardMarkup([[_button("🔔 Nhắc lại", "remind", b)]]) if missing else None
    messages = pack_html_lines(lines)
    for i, text in enumerate(messages):
        await reply(update, text, reply_markup=markup if i == len(messages) - 1 else None)


@requires("admin")
@user_errors
async def remind_button(update: Update, context: Context) -> None:
    """[Nhắc lại]: a reminder only to the chats that have not acknowledged."""
    svc = services(context)
    parent, _rest = await _current(svc, update)
    user, chat = update.effective_user, update.effective_chat
    b = await remind_missing(
        svc,
        parent.id,
        actor_id=user.id if user else None,
        report_chat_id=chat.id if chat else None,
    )
    _dispatcher(context).wake()
    await answer_query(update, f"Đã gửi nhắc lại tới {b.total} nhóm.", alert=True)
