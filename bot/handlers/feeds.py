"""/nguontin (/feeds): admins add, list, pause, resume and remove RSS/Atom feeds.

/nguontin                                   list
/nguontin them <url> [chủ đề] [duyet|tudong]  add (duyet = drafts for review, default)
/nguontin tam <số> · tiep <số> · xoa <số>    pause, resume, remove
"""

from __future__ import annotations

import html
from typing import Any

from telegram import Update
from telegram.ext import CommandHandler

from bot.actions.newsroom import check_address, fit_lines
from bot.config import Settings
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.errors import InvalidInput
from bot.handlers.base import Context, command_text, reply, requires, services, user_errors
from bot.services import CommandInfo, Services
from bot.store import feeds as store

USAGE = (
    "Cú pháp:\n"
    "/nguontin — danh sách nguồn tin\n"
    "/nguontin them &lt;url&gt; [chủ đề] [duyet|tudong] — thêm (duyet: chờ duyệt, mặc định;"
    " tudong: đăng ngay)\n"
    "/nguontin tam &lt;số&gt; · /nguontin tiep &lt;số&gt; · /nguontin xoa &lt;số&gt;"
)
MODES = ("duyet", "tudong")
STATE_LABELS = {"active": "đang theo dõi", "paused": "tạm dừng"}


def parse_add(args: list[str], settings: Settings) -> tuple[str, str | None, str]:
    """(url, topic, mode) from the words after `them`; InvalidInput (Vietnamese) if wrong.
    The URL is checked by the fetch rules now, not only at the first poll."""
    if not args:
        raise InvalidInput(USAGE)
    url, rest = args[0], args[1:]
    if not url.lower().startswith(("http://", "https://")):
        raise InvalidInput("Địa chỉ nguồn tin phải bắt đầu bằng http:// hoặc https://.")
    check_address(settings, url)
    topics = settings.topics
    mode = "duyet"
    if rest and rest[-1].lower() in MODES:
        mode = rest.pop().lower()
    topic = None
    if rest:
        if len(rest) > 1:
            raise InvalidInput(USAGE)
        topic = rules.normalize_label(rest[0])
        if topic not in topics:
            raise InvalidInput(
                f"Chủ đề «{html.escape(rest[0])}» không có. Các chủ đề: {', '.join(topics)}."
            )
    return url, topic, mode


def _feed_id(args: list[str]) -> int:
    if len(args) != 1:
        raise InvalidInput(USAGE)
    raw = args[0].lstrip("#")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 9):
        raise InvalidInput(
            f"Số nguồn tin «{html.escape(args[0][:40])}» không hợp lệ (xem /nguontin)."
        )
    return int(raw)


def feed_lines(feeds: list[store.Feed]) -> list[str]:
    """The list as shown."""
    if not feeds:
        return ["Chưa có nguồn tin nào. Thêm: /nguontin them &lt;url&gt; [chủ đề] [duyet|tudong]"]
    lines = ["📡 <b>Nguồn tin</b>"]
    for f in feeds:
        line = (
            f"#{f.id} {html.escape(f.url)} — {STATE_LABELS.get(f.state, f.state)}, {f.mode}"
            f"{', chủ đề ' + html.escape(f.topic) if f.topic else ''}"
        )
        if f.failures:
            line += f"\n   ⚠️ lỗi {f.failures} lần: {html.escape((f.last_error or '')[:120])}"
        lines.append(line)
    return lines


@requires("admin")
@user_errors
async def feeds_command(update: Update, context: Context) -> None:
    """/nguontin [them|tam|tiep|xoa …]."""
    svc = services(context)
    words = command_text(update).split()
    user = update.effective_user
    role = await svc.role_of(user.id if user else None)
    actor_id, actor_role = (user.id if user else None), (str(role) if role else None)
    worker = svc.features.get("feeds")
    if not words:
        await reply(update, fit_lines(feed_lines(await store.list_feeds(svc.db))))
        return
    verb, args = words[0].lower(), words[1:]
    if verb in ("them", "add"):
        url, topic, mode = parse_add(args, svc.settings)
        feed_id = await store.add_feed(
            svc.db,
            url,
            topic=topic,
            mode=mode,
            now=clock.now(),
            actor_id=actor_id,
            actor_role=actor_role,
        )
        if worker is not None:
            worker.wake()
        await reply(
            update,
            f"📡 Đã thêm nguồn tin #{feed_id} ({mode}"
            f"{', chủ đề ' + topic if topic else ''}); sẽ đọc ngay và sau đó mỗi"
            f" {svc.settings.feed_interval:g} giây.",
        )
    elif verb in ("tam", "pause"):
        feed_id = _feed_id(args)
        await store.set_feed_state(
            svc.db, feed_id, "paused", now=clock.now(), actor_id=actor_id, actor_role=actor_role
        )
        await reply(update, f"⏸ Đã tạm dừng nguồn tin #{feed_id}.")
    elif verb in ("tiep", "resume"):
        feed_id = _feed_id(args)
        await store.set_feed_state(
            svc.db, feed_id, "active", now=clock.now(), actor_id=actor_id, actor_role=actor_role
        )
        if worker is not None:
            worker.wake()
        await reply(update, f"▶️ Đã bật lại nguồn tin #{feed_id}.")
    elif verb in ("xoa", "remove"):
        feed_id = _feed_id(args)
        await store.remove_feed(
            svc.db, feed_id, now=clock.now(), actor_id=actor_id, actor_role=actor_role
        )
        await reply(update, f"🗑 Đã xóa nguồn tin #{feed_id} (bài đã đăng vẫn giữ).")
    else:
        raise InvalidInput(USAGE)


def register(app: Any, svc: Services) -> None:
    """The /nguontin command and the feeds worker."""
    from bot.workers.feeds import FeedWorker

    svc.commands.append(
        CommandInfo(
            "nguontin",
            "Nguồn tin RSS/Atom: /nguontin them <url>",
            aliases=("feeds",),
            permission="admin",
        )
    )
    app.add_handler(CommandHandler(["nguontin", "feeds"], feeds_command))
    worker = FeedWorker(svc)
    svc.features["feeds"] = worker
    svc.starters.append(worker.start)
    svc.stoppers.append(worker.stop)
