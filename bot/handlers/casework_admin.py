"""Casework, the admins' commands (issue 15): /giaoviec (reassign), /chuyen (transfer to
another body), /phancong (named moderators per category), /mautraloi (answer
templates), /xuathoso (.xlsx/CSV export); and the helpers the case buttons share.
"""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.error import TelegramError

from bot.actions import casework as actions
from bot.domain import casework as rules
from bot.domain import clock
from bot.domain import feedback as feedback_rules
from bot.domain.errors import InvalidInput
from bot.domain.periods import parse_period
from bot.domain.text import clean, escape, fold
from bot.handlers.base import Context, command_text, reply, requires, services, user_errors
from bot.handlers.feedback_state import _reply_blocks, _short, _staff_chat
from bot.services import Services
from bot.store import case_office, cases, reports

log = logging.getLogger(__name__)


async def staff_name(svc: Services, user_id: int | None) -> str:
    """A staff member's display name (their id when unknown)."""
    if user_id is None:
        return "—"
    names = await reports.user_names(svc.db, [user_id])
    return names.get(user_id) or str(user_id)


async def tell_citizen(context: Context, case: cases.Case, note: str | None) -> None:
    """The citizen is told of a state change (nothing when they erased their data)."""
    text = rules.citizen_notice(case.id, case.state, note)
    if text is None or case.chat_id is None:
        return
    try:
        await context.bot.send_message(case.chat_id, escape(text))
    except TelegramError as exc:
        log.info("could not tell the sender of case %s: %s", case.id, exc)


# --------------------------------------------------------------------------- admin commands


def _split_id(text: str) -> tuple[int | None, str]:
    head, _, rest = text.strip().partition(" ")
    return feedback_rules.parse_id(head.lstrip("#")), rest.strip()


@requires("admin")
@user_errors
async def assign_command(update: Update, context: Context) -> None:
    """/giaoviec <số> <user_id>: an admin gives a case to a moderator."""
    svc = services(context)
    user = update.effective_user
    assert user is not None
    case_id, rest = _split_id(command_text(update))
    holder = feedback_rules.parse_id(rest) if rest else None
    if case_id is None or holder is None:
        await reply(update, "Cú pháp: /giaoviec &lt;số ý kiến&gt; &lt;mã người dùng&gt;")
        return
    before = await cases.get(svc.db, case_id)
    case = await actions.assign(svc, case_id, holder, actor_id=user.id, now=clock.now())
    if case.state != before.state:
        await tell_citizen(context, case, None)
    await reply(
        update,
        f"Đã giao ý kiến #{case.id} cho {escape(await staff_name(svc, holder))}"
        f" (trạng thái: {escape(case.state_vi)}).",
    )
    with contextlib.suppress(TelegramError):
        await context.bot.send_message(
            holder, f"📌 Bạn được giao xử lý ý kiến <b>#{case.id}</b>. Xem: /hoso {case.id}"
        )


@requires("moderate")
@user_errors
async def transfer_command(update: Update, context: Context) -> None:
    """/chuyen <số> <cơ quan>: the case goes to another body (named)."""
    svc = services(context)
    user = update.effective_user
    assert user is not None
    if not _staff_chat(svc, update):
        await reply(update, "Dùng lệnh này trong nhóm quản trị hoặc tin nhắn riêng với Loa.")
        return
    case_id, body = _split_id(command_text(update))
    if case_id is None:
        await reply(update, "Cú pháp: /chuyen &lt;số ý kiến&gt; &lt;tên cơ quan nhận&gt;")
        return
    case, changed = await actions.change_state(
        svc, case_id, rules.TRANSFERRED, actor_id=user.id, now=clock.now(), note=body
    )
    if changed:
        await tell_citizen(context, case, case.transferred_to)
    await reply(
        update,
        f"Ý kiến #{case.id}: {escape(case.state_vi)} — {escape(case.transferred_to or '')}.",
    )


def _parse_route(text: str, categories: tuple[str, ...]) -> tuple[str, int, str | None, bool]:
    """ "<lĩnh vực> [-]<user_id> [đơn vị]" → (category, moderator, unit, remove)."""
    key = fold(text)
    for name in sorted(categories, key=len, reverse=True):
        if key.startswith(fold(name) + " "):
            words = text.split()[len(name.split()) :]
            if words:
                remove = words[0].startswith("-")
                moderator = feedback_rules.parse_id(words[0].lstrip("-"))
                if moderator is not None:
                    unit = " ".join(words[1:]) or None
                    return name, moderator, unit, remove
    raise InvalidInput(
        "Cú pháp: /phancong &lt;lĩnh vực&gt; &lt;mã người dùng&gt; [đơn vị]"
        " (thêm dấu - trước mã để bỏ). Lĩnh vực: " + escape(", ".join(categories))
    )


@requires("admin")
@user_errors
async def route_command(update: Update, context: Context) -> None:
    """/phancong [<lĩnh vực> <user_id> [đơn vị]]: named moderators per category."""
    svc = services(context)
    user = update.effective_user
    assert user is not None
    text = command_text(update)
    if text:
        category, moderator, unit, remove = _parse_route(text, svc.settings.feedback_categories)
        if not remove and not await svc.may(moderator, "moderate"):
            raise InvalidInput(
                f"Người dùng <code>{moderator}</code> chưa có vai trò kiểm duyệt"
                " (cấp bằng /capquyen … kiểm duyệt)."
            )
        role = await svc.role_of(user.id)
        await case_office.set_route(
            svc.db,
            category,
            unit,
            moderator,
            actor_id=user.id,
            actor_role=str(role) if role else None,
            now=clock.now(),
            remove=remove,
        )
    found = await case_office.routes(svc.db)
    lines = ["🧭 <b>Phân công theo lĩnh vực</b>"]
    if not found:
        lines.append("Chưa phân công ai; ý kiến chỉ gửi vào nhóm quản trị (theo chủ đề).")
    for r in found:
        where = f" · {escape(r.unit)}" if r.unit else ""
        name = escape(await staff_name(svc, r.moderator_id))
        lines.append(f"• {escape(r.category)}{where}: {name} (<code>{r.moderator_id}</code>)")
    await reply(update, "\n".join(lines))


@requires("moderate")
@user_errors
async def templates_command(update: Update, context: Context) -> None:
    """/mautraloi: list; admins add "<lĩnh vực>: <nội dung>" or "xoa <số>"."""
    svc = services(context)
    user = update.effective_user
    assert user is not None
    text = command_text(update)
    now = clock.now()
    if text:
        if not await svc.may(user.id, "admin"):
            await reply(update, "⛔ Chỉ quản trị viên mới thêm hoặc xóa mẫu trả lời.")
            return
        role = await svc.role_of(user.id)
        words = text.split()
        if fold(words[0]) in ("xoa", "delete") and len(words) == 2:
            template_id = feedback_rules.parse_id(words[1])
            if template_id is None or not await case_office.delete_template(
                svc.db, template_id, actor_id=user.id, actor_role=str(role), now=now
            ):
                raise InvalidInput("Không tìm thấy mẫu trả lời này.")
            await reply(update, f"Đã xóa mẫu trả lời số {template_id}.")
            return
        name, sep, body = text.partition(":")
        category = rules.find_category(svc.settings.feedback_categories, name)
        if not sep or category is None or not clean(body):
            raise InvalidInput(
                "Cú pháp: /mautraloi &lt;lĩnh vực&gt;: &lt;nội dung&gt; (dùng {so} cho số ý kiến),"
                " hoặc /mautraloi xoa &lt;số mẫu&gt;. Lĩnh vực: "
                + escape(", ".join(svc.settings.feedback_categories))
            )
        created = await case_office.add_template(
            svc.db, category, clean(body), actor_id=user.id, actor_role=str(role), now=now
        )
        await reply(update, f"Đã thêm mẫu trả lời số {created.id} cho lĩnh vực {escape(category)}.")
        return
    found = await case_office.templates(svc.db)
    if not found:
        await reply(
            update, "Chưa có mẫu trả lời. Thêm: /mautraloi &lt;lĩnh vực&gt;: &lt;nội dung&gt;"
        )
        return
    blocks = ["📝 <b>Mẫu trả lời</b>"] + [
        f"\n<b>{t.id}</b> · {escape(t.category)}\n{escape(_short(t.body, 500))}" for t in found
    ]
    await _reply_blocks(update, blocks)


@requires("admin")
@user_errors
async def export_cases_command(update: Update, context: Context) -> None:
    """/xuathoso [kỳ] [csv]: the period's cases as .xlsx (or CSV), masked."""
    svc = services(context)
    if not _staff_chat(svc, update):
        await reply(update, "Dùng lệnh này trong nhóm quản trị hoặc tin nhắn riêng với Loa.")
        return
    text = command_text(update)
    words = text.split()
    fmt: Any = "xlsx"
    if words and fold(words[-1]) in ("csv", "xlsx"):
        fmt = fold(words.pop())
    policy = actions.policy(svc)
    today = datetime.now(policy.tz).date()
    period = parse_period(" ".join(words), today)
    data = await actions.export(svc.db, period, policy, fmt)
    chat = update.effective_chat
    assert chat is not None
    await context.bot.send_document(
        chat.id,
        document=data,
        filename=f"ho-so-y-kien_{period.key}.{fmt}",
        caption=f"🗂 Hồ sơ ý kiến {escape(period.label)}. Thông tin cá nhân đã được che.",
    )
