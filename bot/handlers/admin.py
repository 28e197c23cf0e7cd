"""Staff administration: /admins, /grant, /revoke_role, /audit and /stats (/thongke)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.constants import ChatAction
from telegram.error import TelegramError
from telegram.ext import Application, CommandHandler

from bot.actions.staff import change_role
from bot.domain import clock
from bot.domain.audit import detail_text
from bot.domain.errors import InvalidInput, PermissionDenied
from bot.domain.periods import parse_period
from bot.domain.roles import ROLE_LABELS_VI, Role
from bot.domain.stats import render_telegram
from bot.domain.text import escape, fold, pack_html_lines, parse_number, quote
from bot.handlers import menus
from bot.handlers.base import Context, command_text, reply, requires, services, user_errors
from bot.services import CommandInfo, Services
from bot.store import reports, staff
from bot.workers import health

log = logging.getLogger(__name__)

COMMANDS = [
    CommandInfo(
        "canbo", "Danh sách cán bộ quản trị và vai trò", aliases=("admins",), permission="staff"
    ),
    CommandInfo(
        "capquyen",
        "Cấp vai trò: /capquyen <mã người dùng> <quản trị|biên tập|kiểm duyệt>",
        aliases=("grant",),
        permission="admin",
    ),
    CommandInfo(
        "thuhoiquyen",
        "Thu hồi vai trò: /thuhoiquyen <mã người dùng>",
        aliases=("revoke_role",),
        permission="admin",
    ),
    CommandInfo(
        "nhatky",
        "Nhật ký thao tác quản trị: /nhatky [số dòng]",
        aliases=("audit",),
        permission="admin",
    ),
    CommandInfo(
        "thongke",
        "Thống kê theo quý hoặc khoảng ngày, kèm biểu đồ",
        aliases=("stats",),
        permission="admin",
    ),
]

# Role names accepted by /grant (folded: no diacritics, lower case, no spaces).
_ROLE_WORDS: dict[str, Role] = {
    "admin": Role.ADMIN,
    "quantri": Role.ADMIN,
    "quantrivien": Role.ADMIN,
    "editor": Role.EDITOR,
    "bientap": Role.EDITOR,
    "bientapvien": Role.EDITOR,
    "moderator": Role.MODERATOR,
    "mod": Role.MODERATOR,
    "kiemduyet": Role.MODERATOR,
    "kiemduyetvien": Role.MODERATOR,
}
_OWNER_WORDS = {"owner", "chusohuu", "chu"}

GRANT_USAGE = (
    "Cách dùng: <code>/capquyen &lt;mã người dùng&gt; &lt;vai trò&gt;</code> hoặc trả lời "
    "tin nhắn của người đó bằng <code>/capquyen &lt;vai trò&gt;</code>.\n"
    "Vai trò: <b>quản trị</b> (quản trị viên), <b>biên tập</b> (biên tập viên), "
    "<b>kiểm duyệt</b> (kiểm duyệt viên)."
)
REVOKE_USAGE = (
    "Cách dùng: <code>/thuhoiquyen &lt;mã người dùng&gt;</code> hoặc trả lời tin nhắn của "
    "người đó "
    "bằng <code>/thuhoiquyen</code>."
)
NO_OWNER_GRANT = (
    "⛔ Không thể cấp quyền chủ sở hữu từ Telegram. "
    "Chủ sở hữu được khai báo trong cấu hình LOA_ADMIN_IDS."
)
# Telegram user ids fit in 52 bits (Bot API docs); anything bigger is a typo, and beyond
# 2^63 SQLite could not even store it (OverflowError).
MAX_USER_ID = 2**52

ACTION_LABELS_VI = {
    "role.grant": "cấp vai trò",
    "role.revoke": "thu hồi vai trò",
}


def register(
    app: Application[Any, Any, Any, Any, Any, Any], svc: Services, start_payloads: Any
) -> None:
    """Roles, audit and statistics commands; the health monitor and the backup worker."""
    svc.commands.extend(COMMANDS)
    app.add_handler(CommandHandler(["canbo", "admins"], admins_command))
    app.add_handler(CommandHandler(["capquyen", "grant"], grant_command))
    app.add_handler(CommandHandler(["thuhoiquyen", "revoke_role"], revoke_command))
    app.add_handler(CommandHandler(["nhatky", "audit"], audit_command))
    app.add_handler(CommandHandler(["thongke", "stats"], stats_command))
    health.install(app, svc)


# --- helpers --------------------------------------------------------------------------


async def _label(svc: Services, user_id: int) -> str:
    """'Name (@user) · 12345' when known, else the id (HTML-escaped)."""
    names = await reports.user_names(svc.db, [user_id])
    if user_id in names:
        return f"{escape(names[user_id])} · <code>{user_id}</code>"
    return f"<code>{user_id}</code>"


async def _notify(context: Context, user_id: int, text: str) -> None:
    """Tell the user about their new role in private, if the bot can reach them."""
    try:
        await context.bot.send_message(user_id, text)
    except TelegramError as exc:
        log.info("could not notify user %s of a role change: %s", user_id, exc)


async def _target(update: Update, svc: Services, args: list[str]) -> tuple[int, list[str]]:
    """The user a /grant or /revoke_role is about: the replied-to sender, an id or @username."""
    message = update.effective_message
    replied = message.reply_to_message if message is not None else None
    if (
        replied is not None
        and replied.from_user is not None
        and (not args or not _looks_like_user(args[0]))
    ):
        if replied.from_user.is_bot or replied.sender_chat is not None:
            raise InvalidInput(NOT_A_PERSON)
        return _person(replied.from_user.id), args
    if not args:
        raise InvalidInput()
    first, rest = args[0], args[1:]
    if first.startswith("@"):
        if first.lower().endswith("bot"):  # Telegram reserves the *bot suffix for bots
            raise InvalidInput(NOT_A_PERSON)
        found = await reports.find_user_by_username(svc.db, first)
        if found is None:
            raise InvalidInput(
                f"Không tìm thấy {quote(first, 40)}: người này cần nhắn tin cho bot trước, "
                "hoặc dùng user_id (số)."
            )
        return _person(found), rest
    digits = first.removeprefix("-")
    if not (digits.isascii() and digits.isdigit()):  # "²".isdigit() is true
        raise InvalidInput()
    user_id = int(first)
    if user_id <= 0:
        raise InvalidInput("user_id phải là số dương (id của một người dùng, không phải nhóm).")
    if user_id > MAX_USER_ID:
        raise InvalidInput(
            f"user_id {quote(first, 30)} quá lớn: mã người "
            "dùng Telegram có tối đa 16 chữ số. Hãy kiểm tra lại."
        )
    return _person(user_id), rest


# Telegram's service accounts: the anonymous group admin (GroupAnonymousBot), the channel
# bot that posts as a channel, and the "Telegram" service notifications account.
SERVICE_ACCOUNTS = frozenset({1087968824, 136817688, 777000})
NOT_A_PERSON = (
    "⛔ Không thể cấp hay thu hồi vai trò của một bot hay tài khoản dịch vụ của Telegram "
    "(quản trị viên ẩn danh, kênh)."
)


def _person(user_id: int) -> int:
    """The id, unless it is one of Telegram's service accounts (InvalidInput)."""
    if user_id in SERVICE_ACCOUNTS:
        raise InvalidInput(NOT_A_PERSON)
    return user_id


def _looks_like_user(word: str) -> bool:
    digits = word.lstrip("-")
    return word.startswith("@") or (digits.isascii() and digits.isdigit())


def _parse_role(word: str) -> Role:
    key = fold(word).replace(" ", "").replace("_", "").replace("-", "")
    if key in _OWNER_WORDS:
        raise PermissionDenied(NO_OWNER_GRANT)
    if key not in _ROLE_WORDS:
        raise InvalidInput(f"Vai trò «{quote(word, 40)}» không hợp lệ.\n\n{GRANT_USAGE}")
    return _ROLE_WORDS[key]


# --- commands ---------------------------------------------------------------------


@requires("staff")
async def admins_command(update: Update, context: Context) -> None:
    """/admins: owners (from settings) and every stored grant."""
    svc = services(context)
    tz = svc.settings.tz
    owners = sorted(svc.settings.admin_ids)
    lines = ["<b>Cán bộ quản trị Loa</b>", "", f"<b>Chủ sở hữu</b> ({len(owners)}):"]
    names = await reports.user_names(svc.db, owners)
    for owner in owners:
        name = f"{escape(names[owner])} · " if owner in names else ""
        lines.append(f"• {name}<code>{owner}</code>")
    if not owners:
        lines.append("• (chưa khai báo LOA_ADMIN_IDS)")
    members = await reports.list_staff(svc.db)
    known = await reports.user_names(svc.db, [m.user_id for m in members])
    for role in (Role.ADMIN, Role.EDITOR, Role.MODERATOR):
        group = [m for m in members if m.role is role]
        lines.append("")
        lines.append(f"<b>{ROLE_LABELS_VI[role].capitalize()}</b> ({len(group)}):")
        for m in group:
            who = f"{escape(known[m.user_id])} · " if m.user_id in known else ""
            lines.append(
                f"• {who}<code>{m.user_id}</code> — từ {clock.format_date(m.granted_at, tz)}"
            )
        if not group:
            lines.append("• (chưa có)")
    for part in pack_html_lines(lines):  # many grants: several messages, lines whole
        await reply(update, part)


async def _change_role(update: Update, context: Context, *, grant: bool) -> None:
    svc = services(context)
    actor = update.effective_user
    assert actor is not None
    args = list(context.args or [])
    usage = GRANT_USAGE if grant else REVOKE_USAGE
    try:
        target, rest = await _target(update, svc, args)
    except InvalidInput as exc:
        text = exc.user_message if exc.user_message != InvalidInput.user_message else usage
        await reply(update, text)
        return
    role: Role | None = None
    if grant:
        if not rest:
            await reply(update, usage)
            return
        role = _parse_role(" ".join(rest))  # "quản trị" is two words
    elif rest:
        await reply(update, usage)
        return
    label = await _label(svc, target)
    try:
        previous = await change_role(svc, actor_id=actor.id, target=target, role=role, label=label)
    except InvalidInput as exc:
        await reply(update, exc.user_message)
        return
    if previous == role:
        if role is None:
            await reply(update, f"{label} không có vai trò nào để thu hồi.")
        else:
            await reply(update, f"{label} đã là {ROLE_LABELS_VI[role]}; không có gì thay đổi.")
        return
    await menus.refresh_staff_menu(context.bot, svc, target)
    before = ROLE_LABELS_VI[previous] if previous else "không có"
    if role is not None:
        await reply(
            update,
            f"✅ Đã cấp vai trò <b>{ROLE_LABELS_VI[role]}</b> cho {label} (trước đó: {before}).",
        )
        await _notify(
            context,
            target,
            f"🔑 Bạn vừa được cấp vai trò <b>{ROLE_LABELS_VI[role]}</b> trong Loa. "
            "Gõ /help để xem các lệnh dành cho bạn.",
        )
    else:
        await reply(update, f"✅ Đã thu hồi vai trò <b>{before}</b> của {label}.")
        await _notify(
            context, target, f"Vai trò <b>{before}</b> của bạn trong Loa đã được thu hồi."
        )


@requires("admin")
@user_errors
async def grant_command(update: Update, context: Context) -> None:
    """/grant <user_id|@username> <role>, or as a reply: /grant <role>."""
    await _change_role(update, context, grant=True)


@requires("admin")
@user_errors
async def revoke_command(update: Update, context: Context) -> None:
    """/revoke_role <user_id|@username>, or as a reply: /revoke_role."""
    await _change_role(update, context, grant=False)


@requires("admin")
@user_errors
async def audit_command(update: Update, context: Context) -> None:
    """/audit [n]: the latest n (default 20, at most 200) audit entries, newest first."""
    svc = services(context)
    arg = command_text(update)
    limit = 20
    if arg:
        parsed = parse_number(arg, minimum=1, maximum=200)
        if parsed is None:
            raise InvalidInput("Cách dùng: /nhatky [số dòng từ 1 đến 200], ví dụ /nhatky 50.")
        limit = parsed
    entries = await staff.latest_audit(svc.db, limit=limit)
    if not entries:
        await reply(update, "Nhật ký thao tác quản trị đang trống.")
        return
    ids = sorted({e.actor_id for e in entries if e.actor_id is not None})
    names = await reports.user_names(svc.db, ids)
    lines: list[str] = []
    for e in entries:
        who = "hệ thống" if e.actor_id is None else names.get(e.actor_id, str(e.actor_id))
        known_role = e.actor_role in {r.value for r in Role}
        role = ROLE_LABELS_VI[Role(str(e.actor_role))] if known_role else (e.actor_role or "")
        action = ACTION_LABELS_VI.get(e.action, e.action)
        parts = [
            clock.format_local(e.at, svc.settings.tz),
            f"{who} ({role})" if role else who,
            action,
        ]
        if e.target:
            parts.append(f"→ {e.target}")
        detail = detail_text(e.detail)
        if detail:
            parts.append(f"[{detail}]")
        lines.append(escape(" · ".join(parts)))
    header = f"<b>Nhật ký thao tác quản trị ({len(entries)} mục mới nhất):</b>"
    for part in pack_html_lines([header, "", *lines]):
        await reply(update, part)


def _chart_png(stats: Any) -> bytes:
    """The chart, drawn in a worker thread; matplotlib and numpy (~50 MB) are imported on
    the first /stats, not when the bot starts (issue 17: idle memory)."""
    from bot.charts import render_stats_chart

    return render_stats_chart(stats)


@requires("admin")
@user_errors
async def stats_command(update: Update, context: Context) -> None:
    """/stats [quý I/2022 | 2022-Q1 | from to]: figures as text plus a PNG chart."""
    svc = services(context)
    tz = svc.settings.tz
    period = parse_period(command_text(update), datetime.now(tz).date())
    chat = update.effective_chat
    if chat is None:
        return
    with contextlib.suppress(TelegramError):
        await context.bot.send_chat_action(chat.id, ChatAction.UPLOAD_PHOTO)
    stats = await reports.gather_stats(svc.db, period, tz, policy=svc.features.get("case_policy"))
    log.info(
        "stats for %s requested by user %s",
        period.key,
        update.effective_user.id if update.effective_user else None,
    )
    await reply(update, render_telegram(stats))
    png = await asyncio.to_thread(_chart_png, stats)
    await context.bot.send_photo(
        chat.id,
        photo=png,
        caption=f"Biểu đồ thống kê {escape(period.label)}",
        filename=f"loa-{period.key}.png",
    )
