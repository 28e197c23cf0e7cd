"""The units directory in Telegram (issue 16): /donvi lists units by name; admins add,
rename, re-code, merge, import (CSV pasted or sent as a file) and export them."""

from __future__ import annotations

import html
from typing import Any

from telegram import Update
from telegram.ext import CommandHandler, MessageHandler, filters

from bot.domain import clock, spreadsheets
from bot.domain import units as rules
from bot.domain.errors import InvalidInput
from bot.domain.text import pack_html_lines
from bot.handlers.base import Context, command_text, reply, requires, services, user_errors
from bot.services import CommandInfo, Services
from bot.store import units as store

USAGE = (
    "<b>Danh mục đơn vị</b> — quản trị viên dùng:\n"
    "/donvi them &lt;mã&gt; &lt;tên&gt; [| &lt;mã cấp trên&gt;] — thêm đơn vị\n"
    "/donvi ten &lt;mã&gt; &lt;tên mới&gt; — đổi tên\n"
    "/donvi ma &lt;mã&gt; &lt;mã mới&gt; — đổi mã (mã cũ vẫn dùng được)\n"
    "/donvi gop &lt;mã đơn vị bị gộp&gt; &lt;mã đơn vị nhận&gt; — sáp nhập"
    " (nhóm, báo cáo đi theo)\n"
    "/donvi xuat [xlsx] — xuất danh mục (CSV mặc định)\n"
    "/donvi nhap — rồi dán nội dung CSV (cột: Mã, Tên đơn vị, Mã đơn vị cấp trên)"
    " ngay sau lệnh, hoặc gửi tệp .csv với chú thích /donvi nhap"
)
MAX_CSV_BYTES = 1_000_000


async def _actor(update: Update, context: Context) -> tuple[int | None, str | None]:
    user = update.effective_user
    role = await services(context).role_of(user.id if user else None)
    return (user.id if user else None), (str(role) if role else None)


async def directory_lines(svc: Services, *, with_codes: bool) -> list[str]:
    """The directory as a tree of names (codes only for staff, who type them)."""
    units = await store.all_units(svc.db)
    groups = await store.groups_per_unit(svc.db)
    children: dict[int | None, list[store.Unit]] = {}
    ids = {u.id for u in units}
    for u in units:
        children.setdefault(u.parent_id if u.parent_id in ids else None, []).append(u)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for u in children.get(parent, []):
            code = f" · <code>{html.escape(u.code)}</code>" if with_codes else ""
            n = groups.get(u.id, 0)
            extra = f" — {n} nhóm cán bộ" if n else ""
            lines.append(f"{'  ' * depth}• {html.escape(u.name)}{code}{extra}")
            walk(u.id, depth + 1)

    walk(None, 0)
    return lines


async def _list(update: Update, context: Context) -> None:
    svc = services(context)
    user = update.effective_user
    staff = await svc.may(user.id if user else None, "staff")
    lines = await directory_lines(svc, with_codes=staff)
    head = f"🏛 <b>Danh mục đơn vị</b> ({len(lines)} đơn vị)"
    if not lines:
        lines = ["Chưa có đơn vị nào."]
    if staff:
        lines += ["", USAGE]
    for part in pack_html_lines([head, *lines]):
        await reply(update, part)


@user_errors
async def units_command(update: Update, context: Context) -> None:
    """/donvi [action …]: everyone sees the names; actions are for admins."""
    text = command_text(update)
    if not text:
        await _list(update, context)
        return
    await manage_command(update, context)


@requires("admin")
@user_errors
async def manage_command(update: Update, context: Context) -> None:
    """/donvi <action> …: the admins' actions (role checked at every call)."""
    text = command_text(update)
    head, _, tail = text.partition("\n")
    action, _, rest = head.partition(" ")
    action = action.strip().lower()
    rest = (rest.strip() + ("\n" + tail if tail else "")).strip()
    svc = services(context)
    actor = await _actor(update, context)
    now = clock.now()
    args = rest.split()
    if action in ("them", "thêm", "add"):
        main, _, parent = rest.partition("|")
        code, _, name = main.strip().partition(" ")
        if not code or not name.strip():
            raise InvalidInput(USAGE)
        unit = await store.create_unit(
            svc.db, code, name, parent.strip() or None, actor=actor, now=now
        )
        await reply(update, f"✅ Đã thêm đơn vị {html.escape(unit.name)}.")
    elif action in ("ten", "tên", "rename"):
        code, _, name = rest.partition(" ")
        if not code or not name.strip():
            raise InvalidInput(USAGE)
        old = await store.get_unit(svc.db, code)
        unit = await store.rename_unit(svc.db, code, name=name, actor=actor, now=now)
        await reply(
            update, f"✅ Đã đổi tên {html.escape(old.name)} thành {html.escape(unit.name)}."
        )
    elif action in ("ma", "mã", "code"):
        if len(args) != 2:
            raise InvalidInput(USAGE)
        unit = await store.rename_unit(svc.db, args[0], code=args[1], actor=actor, now=now)
        await reply(
            update,
            f"✅ {html.escape(unit.name)} nay có mã <code>{html.escape(unit.code)}</code>"
            f" (mã cũ <code>{html.escape(args[0].lower())}</code> vẫn dùng được).",
        )
    elif action in ("gop", "gộp", "merge"):
        if len(args) != 2:
            raise InvalidInput(USAGE)
        result = await store.merge_units(svc.db, args[0], args[1], actor=actor, now=now)
        await reply(
            update,
            f"✅ Đã sáp nhập {html.escape(result.source.name)} vào"
            f" {html.escape(result.target.name)}: chuyển {result.groups} nhóm và"
            f" {result.reports} báo cáo; mã cũ vẫn dẫn đến đơn vị mới.",
        )
    elif action in ("xuat", "xuất", "export"):
        fmt: spreadsheets.Format = "xlsx" if args[:1] == ["xlsx"] else "csv"
        table = rules.units_table(await store.directory_rows(svc.db))
        chat = update.effective_chat
        assert chat is not None
        await context.bot.send_document(
            chat.id,
            document=spreadsheets.render(table, fmt, tz=svc.settings.tz),
            filename=f"don-vi.{fmt}",
            caption=f"🏛 Danh mục {len(table.rows)} đơn vị.",
        )
    elif action in ("nhap", "nhập", "import"):
        if not rest:
            raise InvalidInput(USAGE)
        await _import(update, context, rest.encode("utf-8"))
    else:
        raise InvalidInput(USAGE)


async def _import(update: Update, context: Context, data: bytes) -> None:
    svc = services(context)
    rows = rules.parse_units_csv(data)
    added, updated = await store.import_units(
        svc.db, rows, actor=await _actor(update, context), now=clock.now()
    )
    await reply(update, f"✅ Đã nhập danh mục: thêm {added} đơn vị, đổi tên {updated} đơn vị.")


@requires("admin")
@user_errors
async def import_file(update: Update, context: Context) -> None:
    """A .csv sent with the caption /donvi nhap."""
    message = update.effective_message
    if message is None or message.document is None:
        return
    if (message.document.file_size or 0) > MAX_CSV_BYTES:
        raise InvalidInput("Tệp quá lớn (tối đa 1 MB).")
    file = await message.document.get_file()
    data = bytes(await file.download_as_bytearray())
    await _import(update, context, data)


def register(app: Any, svc: Services) -> None:
    """/donvi and the CSV file import."""
    svc.commands.append(CommandInfo("donvi", "Danh mục đơn vị (phường, xã)", aliases=("units",)))
    app.add_handler(CommandHandler(["donvi", "units"], units_command))
    app.add_handler(
        MessageHandler(
            filters.Document.ALL
            & filters.CaptionRegex(r"^/(donvi|units)(@\w+)?\s+(nhap|nhập|import)"),
            import_file,
        )
    )
