"""/baocaoquy <quarter> (issue 16): the quarterly briefing draft, written from the data as
a content file and put into the newsroom's review (issue 12) for the editor who asked."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from telegram import Update
from telegram.ext import CommandHandler

from bot.actions import newsroom
from bot.actions.briefing import parse_quarter, write_briefing
from bot.domain.articles import RawParts
from bot.domain.text import pack_html_lines
from bot.handlers.base import Context, command_text, reply, requires, services, user_errors
from bot.handlers.newsroom_review import send_review
from bot.services import CommandInfo, Services

USAGE = "Cú pháp: /baocaoquy &lt;quý&gt;, ví dụ /baocaoquy 2022-Q1 hoặc /baocaoquy quý I/2022."


@requires("content")
@user_errors
async def briefing_command(update: Update, context: Context) -> None:
    """/baocaoquy 2022-Q1: write the draft, show it, send the file."""
    svc = services(context)
    text = command_text(update)
    if not text:
        await reply(update, USAGE)
        return
    period = parse_quarter(text, datetime.now(svc.settings.tz).date())
    written = await write_briefing(svc.db, svc.settings, period)
    body = [f"📰 <b>Bản nháp: {html.escape(written.draft.title)}</b>", ""]
    body += [html.escape(p) + "\n" for p in written.draft.paragraphs]
    for part in pack_html_lines(body):
        await reply(update, part)
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    # The newsroom's review (issue 12): the draft waits there to be edited and published.
    draft_id = await newsroom.draft_from_parts(
        svc,
        RawParts(written.draft.title, None, list(written.draft.paragraphs), "Loa"),
        source_kind="text",
        created_by=user.id if user else None,
    )
    await send_review(context, chat.id, draft_id)
    await context.bot.send_document(
        chat.id,
        document=written.path.read_bytes(),
        filename=written.path.name,
        caption=f"Tệp bản nháp: {html.escape(str(written.path))}.",
    )


def register(app: Any, svc: Services) -> None:
    """/baocaoquy."""
    svc.commands.append(
        CommandInfo(
            "baocaoquy",
            "Viết bản nháp báo cáo quý: /baocaoquy 2022-Q1",
            aliases=("briefing",),
            permission="content",
        )
    )
    app.add_handler(CommandHandler(["baocaoquy", "briefing"], briefing_command))
