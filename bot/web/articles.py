"""Bài viết: list, search (without diacritics, as /timkiem), open an article card, and
withdraw it (as /gobai, through bot.actions.newsroom). Publishing and corrections go
through the newsroom's review in Telegram (/dangbai, /suabai: issue 12)."""

from __future__ import annotations

from aiohttp import web

from bot.actions import newsroom
from bot.actions.broadcasts import actor_of, wake_dispatcher
from bot.domain.errors import NotFound
from bot.store import articles as store
from bot.store import console as views
from bot.web.server import Call, Route, ok

PAGE = 30


async def page(call: Call) -> web.StreamResponse:
    """Newest first, or the search results for ?q=."""
    query = call.query("q")
    offset = call.int_query("offset")
    if query:
        found = await store.search(call.db, query, limit=PAGE, offset=offset, prefix=True)
        lines, total = found.results, found.total
    else:
        lines = await store.latest(call.db, limit=PAGE, offset=offset)
        total = await store.count(call.db)
    return call.render(
        "articles.html", lines=lines, total=total, offset=offset, page_size=PAGE, q=query
    )


async def detail(call: Call) -> web.StreamResponse:
    """One article: the card readers see (summary, key figures) and its comments."""
    article_id = call.request.match_info.get("id", "")[:100]
    article = await store.get(call.db, article_id)
    if article is None:
        raise NotFound("Không tìm thấy bài viết này.")
    comments, comment_total = await views.comments_page(
        call.db, status=None, article_id=article.id, since=None, until=None, limit=10
    )
    return call.render("article.html", a=article, comments=comments, comment_total=comment_total)


async def withdraw(call: Call) -> web.StreamResponse:
    """Withdraw an article (as /gobai), optionally recalling its sent notification."""
    form = await call.form()
    article_id = call.request.match_info.get("id", "")[:100]
    recall = str(form.get("recall", "")) in ("1", "on", "true")
    actor = await actor_of(call.svc, call.user_id)
    result = await newsroom.withdraw(
        call.svc,
        article_id,
        recall=recall,
        actor_id=actor[0],
        actor_role=actor[1],
        report_chat_id=None,
    )
    line = f"🚫 Đã gỡ bài {article_id}: không còn trong danh sách, tìm kiếm và liên kết."
    if recall and result.broadcast_id is not None:
        wake_dispatcher(call.svc)
        line += f" Đang thu hồi {result.messages} tin nhắn thông báo đã gửi."
    return ok(line)


ROUTES = [
    Route("GET", "/ui/articles", page, "content"),
    Route("GET", "/ui/articles/{id}", detail, "content"),
    Route("POST", "/api/articles/{id}/withdraw", withdraw, "content"),
]
