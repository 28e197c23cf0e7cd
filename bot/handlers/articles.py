"""Articles in Telegram: /news, /article, /search, inline mode, deep links, /reload.

Callback data (all ≤ 64 bytes; ids are ≤ 48 ASCII characters):
  ar:o:<id>  open the card        ar:f:<id>  full text       ar:s:<id>  all figures
  ar:n:<page>  news page          ar:q:<page>:<folded words joined by +>  search page
  ar:k:<page>:<key>  search page for a long query kept in chat_data
  yk:<id>  the feedback button (handled by the feedback feature)
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import math
import re
from typing import Any

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InlineQueryResultsButton,
    InputTextMessageContent,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import BadRequest
from telegram.ext import CallbackQueryHandler, CommandHandler, InlineQueryHandler

from bot.domain import clock
from bot.domain.articles import SLUG
from bot.domain.figures import Figure, card_figures
from bot.domain.text import (
    escape,
    pack_html_lines,
    parse_number,
    quote,
    shorten,
    split_for_telegram,
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
from bot.services import CommandInfo, Services
from bot.store import articles as store
from bot.store.staff import record_audit

log = logging.getLogger(__name__)

PAGE_SIZE = 5
INLINE_LIMIT = 10
MAX_QUERY_CHARS = 200
CARD_FIGURES = 6
_FULLTEXT_LIMIT = 4000  # leaves room for the "(1/3)" marker under 4096

USAGE_ARTICLE = (
    "Cách dùng: /bai &lt;mã bài&gt;, ví dụ /bai 2022-04-08-giao-ban-tuyen-giao-quy-i.\n"
    "Xem danh sách bài mới bằng /tin."
)
USAGE_SEARCH = "Gõ từ khóa sau lệnh, ví dụ: /timkiem tuyên giáo (có dấu hay không dấu đều được)."
NO_ARTICLES = "Chưa có bài viết nào. Vui lòng quay lại sau."
WITHDRAWN = "🚫 Bài viết này đã được gỡ. Xem các bài mới bằng /tin."
SEARCH_HINTS = (
    "🔎 <b>Cách tìm bài</b>\n"
    "• Trong tin nhắn riêng: /timkiem &lt;từ khóa&gt;, ví dụ /timkiem giao ban.\n"
    "• Trong mọi cuộc trò chuyện: gõ @{bot} rồi từ khóa, ví dụ @{bot} tuyen giao.\n"
    "Có dấu hay không dấu đều được; dùng ít từ, là những từ chính của bài. "
    "Xem tin mới nhất: /tin."
)


def _not_found(article_id: str) -> str:
    return (
        f"❓ Không tìm thấy bài viết «{quote(article_id, 60)}». "
        "Bài có thể đã bị gỡ hoặc mã bài không đúng. Xem các bài mới bằng /tin."
    )


def _date_vi(iso: str) -> str:
    try:
        return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")
    except ValueError:
        return iso


def _today(svc: Services) -> str:
    return dt.datetime.fromtimestamp(clock.now(), svc.settings.tz).date().isoformat()


# ---------------------------------------------------------------- rendering


def card_text(article: store.StoredArticle) -> str:
    """The article card (HTML): title, date, author, summary, up to 6 key figures."""
    # Budgets on the plain text (escape before joining, never cut HTML): title ≤ 300,
    # author ≤ 100, summary ≤ 2,100, 6 figures ≤ 200 each — under 4096 after parsing.
    head = f"📰 <b>{escape(_cut(article.title, 300))}</b>\n🗓 {_date_vi(article.date)}"
    if article.author:
        head += f" · ✍️ {escape(_cut(article.author, 100))}"
    summary = _cut(" ".join(_cut(s, 700) for s in article.summary), 2100)
    text = f"{head}\n\n{escape(summary)}"
    figures = card_figures(list(article.figures), CARD_FIGURES)
    if figures:
        lines = "\n".join(f"• {escape(_cut(f.render(), 200))}" for f in figures)
        text += f"\n\n📊 <b>Số liệu chính</b>\n{lines}"
    return text


def _cut(text: str, limit: int) -> str:
    """Plain text cut to `limit` characters at a space, with "…"."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    space = head.rfind(" ")
    return (head[:space] if space > limit // 2 else head).rstrip(" ,;:") + "…"


class CardCache:
    """Card texts and keyboards built once per article (issue 17: every card open and
    button press rebuilt them). A text is rebuilt when the store hands out a new article
    object, i.e. after the index changed; keyboards are immutable Telegram objects, kept
    per (article, comment count)."""

    MAX_KEYBOARDS = 4096

    def __init__(self) -> None:
        self._texts: dict[str, tuple[store.StoredArticle, str]] = {}
        self._keyboards: dict[tuple[str, int], InlineKeyboardMarkup] = {}

    def text(self, article: store.StoredArticle) -> str:
        """card_text(article), from memory while the article is unchanged."""
        hit = self._texts.get(article.id)
        if hit is not None and hit[0] is article:
            return hit[1]
        text = card_text(article)
        self._texts[article.id] = (article, text)
        return text

    def keyboard(self, article_id: str, count: int) -> InlineKeyboardMarkup:
        """The card's buttons for this comment count."""
        key = (article_id, count)
        markup = self._keyboards.get(key)
        if markup is None:
            if len(self._keyboards) >= self.MAX_KEYBOARDS:
                self._keyboards.clear()
            markup = self._keyboards[key] = _card_keyboard(article_id, count)
        return markup


def _cards(svc: Services) -> CardCache:
    cache: CardCache = svc.features.setdefault("article_cards", CardCache())
    return cache


def _card_keyboard(article_id: str, count: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton("📄 Toàn văn", callback_data=f"ar:f:{article_id}"),
                InlineKeyboardButton("📊 Số liệu", callback_data=f"ar:s:{article_id}"),
            ],
            [InlineKeyboardButton(f"💬 Ý kiến ({count})", callback_data=f"yk:{article_id}")],
        ]
    )


async def card_keyboard(svc: Services, article_id: str) -> InlineKeyboardMarkup:
    """[📄 Toàn văn] [📊 Số liệu] / [💬 Ý kiến (N)]."""
    count = 0
    counter = svc.features.get("feedback_count")
    if counter is not None:
        try:
            count = int(await counter(article_id))
        except Exception:
            log.exception("feedback_count failed for %s", article_id)
    return _cards(svc).keyboard(article_id, count)


async def _record_read(svc: Services, article_id: str, *, fulltext: bool) -> None:
    """Count an open; the counter writes in batches (bot.store.articles.ReadCounter)."""
    reads: store.ReadCounter | None = svc.features.get("article_reads")
    if reads is None:  # not registered (a bare Services): write it now
        await store.record_read(svc.db, article_id, _today(svc), fulltext=fulltext)
    elif reads.add(article_id, _today(svc), fulltext=fulltext):
        await reads.flush(svc.db)


def _kind_icon(f: Figure) -> str:
    return {"period": "🗓", "date": "📅"}.get(f.kind, "•")


def figures_messages(article: store.StoredArticle) -> list[str]:
    """Every figure of an article, as one or more HTML messages under the limit."""
    if not article.figures:
        return [f"📊 Bài «{escape(article.title)}» không có số liệu đáng chú ý."]
    lines = [f"📊 <b>Số liệu — {escape(article.title)}</b>"]
    lines += [f"{_kind_icon(f)} {escape(f.render())}" for f in article.figures]
    messages: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > _FULLTEXT_LIMIT:
            messages.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line[:_FULLTEXT_LIMIT]
    if current:
        messages.append(current)
    return messages


def fulltext_messages(article: store.StoredArticle) -> list[str]:
    """The full text split at paragraph boundaries into HTML messages under 4096."""
    plain = f"{article.title}\n\n" + "\n\n".join(article.paragraphs)
    if article.author:
        plain += f"\n\n{article.author}"
    parts = split_for_telegram(plain, _FULLTEXT_LIMIT)
    messages: list[str] = []
    for i, part in enumerate(parts):
        html = escape(part)
        if i == 0 and part.startswith(article.title):
            html = f"<b>{escape(article.title)}</b>{escape(part[len(article.title) :])}"
        if len(parts) > 1:
            html += f"\n\n<i>({i + 1}/{len(parts)})</i>"
        messages.append(html)
    return messages


def _list_text(header: str, items: list[store.ArticleHeader], first_number: int) -> str:
    lines = [header]
    for n, item in enumerate(items, start=first_number):
        lines.append(f"{n}. <b>{escape(item.title)}</b> — {_date_vi(item.date)}")
    return "\n".join(lines)


def _list_keyboard(
    items: list[store.ArticleHeader],
    first_number: int,
    page: int,
    pages: int,
    nav: Any,
) -> InlineKeyboardMarkup:
    rows = []
    for n, item in enumerate(items, start=first_number):
        label = shorten(item.title, 45)
        rows.append([InlineKeyboardButton(f"{n}. {label}", callback_data=f"ar:o:{item.id}")])
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton("◀️ Trang trước", callback_data=nav(page - 1)))
    if page + 1 < pages:
        buttons.append(InlineKeyboardButton("Trang sau ▶️", callback_data=nav(page + 1)))
    if buttons:
        rows.append(buttons)
    return InlineKeyboardMarkup(rows)


# ---------------------------------------------------------------- showing things


async def show_card(update: Update, context: Context, article_id: str) -> None:
    """Send the card of an article (or a clear reply when it does not exist)."""
    svc = services(context)
    article_id = article_id.strip().lower()
    article = await store.get(svc.db, article_id) if SLUG.match(article_id) else None
    if article is None:
        if SLUG.match(article_id) and await store.is_withdrawn(svc.db, article_id):
            await reply(update, WITHDRAWN)
            return
        await reply(update, _not_found(article_id))
        return
    text = _cards(svc).text(article)
    await reply(update, text, reply_markup=await card_keyboard(svc, article.id))
    await _record_read(svc, article.id, fulltext=False)


async def _news_page(svc: Services, page: int) -> tuple[str, InlineKeyboardMarkup | None]:
    total = await store.count(svc.db)
    if total == 0:
        return NO_ARTICLES, None
    pages = math.ceil(total / PAGE_SIZE)
    page = max(0, min(page, pages - 1))
    items = await store.latest(svc.db, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
    first = page * PAGE_SIZE + 1
    header = f"📰 <b>Tin mới</b> — trang {page + 1}/{pages} ({total} bài)"
    keyboard = _list_keyboard(items, first, page, pages, lambda p: f"ar:n:{p}")
    return _list_text(header, items, first), keyboard


def _search_nav(context: Context, tokens: list[str]) -> Any:
    joined = "+".join(tokens)
    if len(f"ar:q:999:{joined}".encode()) <= 64:
        return lambda p: f"ar:q:{p}:{joined}"
    chat_data = context.chat_data
    assert chat_data is not None  # /timkiem and its ar: buttons come from a chat, never inline
    saved: dict[str, str] = chat_data.setdefault("article_searches", {})
    key = str(len(saved) % 1000)
    saved[key] = " ".join(tokens)
    return lambda p: f"ar:k:{p}:{key}"


async def _search_page(
    context: Context, query: str, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    svc = services(context)
    tokens = store.query_tokens(query)
    if not tokens:
        return (
            "🔎 Từ khóa cần có ít nhất một chữ hoặc số, ví dụ: /timkiem tuyên giáo.",
            None,
        )
    result = await store.search(svc.db, query, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
    shown = quote(query, 60)
    if result.total == 0:
        return (
            f"🔎 Không tìm thấy bài viết nào cho «{shown}».\n"
            "Hãy thử từ khóa ngắn hơn hoặc khác đi (có dấu hay không dấu đều được), "
            "hoặc xem bài mới bằng /tin.",
            None,
        )
    pages = math.ceil(result.total / PAGE_SIZE)
    if page >= pages:
        page = pages - 1
        result = await store.search(svc.db, query, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
    first = page * PAGE_SIZE + 1
    header = f"🔎 Kết quả cho «{shown}» — trang {page + 1}/{pages} ({result.total} bài)"
    if result.approximate:
        header += "\n<i>Không bài nào có đủ mọi từ; đây là các bài có một phần từ khóa.</i>"
    keyboard = _list_keyboard(result.results, first, page, pages, _search_nav(context, tokens))
    return _list_text(header, result.results, first), keyboard


# ---------------------------------------------------------------- handlers


@user_errors
async def news(update: Update, context: Context) -> None:
    """/news (/tin): the latest articles, 5 per page."""
    text, keyboard = await _news_page(services(context), 0)
    await reply(update, text, reply_markup=keyboard)


@user_errors
async def article_command(update: Update, context: Context) -> None:
    """/article <id> (/bai): the card of one article."""
    args = command_text(update).split()
    if len(args) != 1:
        await reply(update, USAGE_ARTICLE)
        return
    await show_card(update, context, args[0])


@user_errors
async def search_command(update: Update, context: Context) -> None:
    """/search <words> (/timkiem): ranked full-text search, 5 per page."""
    query = command_text(update)
    if not query:
        await reply(update, USAGE_SEARCH)
        return
    if len(query) > MAX_QUERY_CHARS:
        await reply(
            update,
            f"🔎 Từ khóa quá dài ({len(query)} ký tự). Hãy nhập tối đa {MAX_QUERY_CHARS} "
            "ký tự, chỉ gồm những từ chính, ví dụ: /timkiem giao ban tuyên giáo.",
        )
        return
    text, keyboard = await _search_page(context, query, 0)
    await reply(update, text, reply_markup=keyboard)


async def _edit(update: Update, text: str, keyboard: InlineKeyboardMarkup | None) -> None:
    query = update.callback_query
    assert query is not None
    try:
        await query.edit_message_text(text, reply_markup=keyboard, parse_mode=ParseMode.HTML)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return
        # The pressed message cannot take this text (a photo, too old, a forged button
        # on another message): the page comes as a new message instead.
        log.info("page sent anew, the pressed message cannot be edited: %s", exc)
        await reply(update, text, reply_markup=keyboard)


_BUTTON = re.compile(r"^ar:(o|f|s|n|q|k):(.{1,60})$")
# Page numbers and inline offsets from clients: longer ones are forged (SQLite's
# integers are 64-bit; page * size must stay far below that).
MAX_PAGE_DIGITS = 6


@user_errors
async def on_button(update: Update, context: Context) -> None:
    """Every ar:… button."""
    query = update.callback_query
    assert query is not None
    svc = services(context)
    match = _BUTTON.match(query.data or "")
    if not match:
        await answer_query(update, "Nút này đã hết hạn hoặc không hợp lệ.", alert=True)
        return
    action, rest = match.groups()
    if action == "n":
        await answer_query(update)
        page = parse_number(rest, maximum=10**MAX_PAGE_DIGITS - 1) or 0
        text, keyboard = await _news_page(svc, page)
        await _edit(update, text, keyboard)
        return
    if action in ("q", "k"):
        page_text, _, words = rest.partition(":")
        if action == "k":
            saved = (context.chat_data or {}).get("article_searches", {})
            words = saved.get(words, "")
        else:
            words = words.replace("+", " ")
        page_number = parse_number(page_text, maximum=10**MAX_PAGE_DIGITS - 1)
        if not words or page_number is None:
            await answer_query(update, "Kết quả tìm kiếm đã hết hạn, vui lòng tìm lại.", alert=True)
            return
        await answer_query(update)
        text, keyboard = await _search_page(context, words, page_number)
        await _edit(update, text, keyboard)
        return
    article = await store.get(svc.db, rest) if SLUG.match(rest) else None
    if article is None:
        withdrawn = SLUG.match(rest) and await store.is_withdrawn(svc.db, rest)
        await answer_query(
            update,
            "Bài viết này đã được gỡ." if withdrawn else "Bài viết này không còn nữa.",
            alert=True,
        )
        return
    await answer_query(update)
    if action == "o":
        text = _cards(svc).text(article)
        await reply(update, text, reply_markup=await card_keyboard(svc, article.id))
        await _record_read(svc, article.id, fulltext=False)
    elif action == "f":
        for part in fulltext_messages(article):
            await reply(update, part)
        await _record_read(svc, article.id, fulltext=True)
    else:
        for part in figures_messages(article):
            await reply(update, part)


async def open_from_link(update: Update, context: Context, payload: str) -> None:
    """Deep link t.me/<bot>?start=a_<id>."""
    await show_card(update, context, payload)


async def inline(update: Update, context: Context) -> None:
    """Inline mode: @bot words → matching articles; choosing one posts its card."""
    query = update.inline_query
    if query is None:
        return
    svc = services(context)
    text = query.query.strip()[:MAX_QUERY_CHARS]
    # The offset comes back from the client: a forged huge one must not reach SQLite.
    offset = parse_number(query.offset, maximum=10**MAX_PAGE_DIGITS - 1) or 0
    if store.query_tokens(text):
        page = await store.search(svc.db, text, limit=INLINE_LIMIT, offset=offset, prefix=True)
        headers, total = page.results, page.total
    else:
        headers = await store.latest(svc.db, limit=INLINE_LIMIT, offset=offset)
        total = await store.count(svc.db)
    username = context.bot.username
    results = []
    for header in headers:
        article = await store.get(svc.db, header.id)
        if article is None:
            continue
        link = f"https://t.me/{username}?start=a_{article.id}"
        description = article.summary[0] if article.summary else _date_vi(article.date)
        results.append(
            InlineQueryResultArticle(
                id=article.id,
                title=article.title[:200],
                description=f"{_date_vi(article.date)} · {description[:150]}",
                input_message_content=InputTextMessageContent(
                    _cards(svc).text(article), parse_mode=ParseMode.HTML
                ),
                reply_markup=InlineKeyboardMarkup(
                    [[InlineKeyboardButton("📖 Đọc toàn văn trong Loa", url=link)]]
                ),
            )
        )
    next_offset = str(offset + INLINE_LIMIT) if offset + INLINE_LIMIT < total else ""
    # Nothing found: a button above the (empty) list opens the private chat with the
    # search hints (Bot API answerInlineQuery.button, start_parameter 1-64 of A-Za-z0-9_-).
    button = (
        InlineQueryResultsButton(text="Không thấy bài nào — xem cách tìm", start_parameter="tim")
        if not results and offset == 0
        else None
    )
    await query.answer(results, cache_time=30, next_offset=next_offset, button=button)


async def search_hints(update: Update, context: Context, _rest: str) -> None:
    """Deep link ?start=tim (the inline "nothing found" button): how to search."""
    await reply(update, SEARCH_HINTS.format(bot=context.bot.username))


RELOAD_ERRORS = 50  # broken files listed by /reload (the rest are counted)
READS_FLUSH_INTERVAL = 1.0  # seconds between batched writes of article reads


def _short(text: str, limit: int) -> str:
    return shorten(text, limit)


def make_reload(lock: asyncio.Lock) -> Any:
    """/reload: re-index the article files (added, changed, removed)."""

    @requires("content")
    @user_errors
    async def reload(update: Update, context: Context) -> None:
        svc = services(context)
        async with lock:
            result = await reindex(svc)
        user = update.effective_user
        role = await svc.role_of(user.id if user else None)
        async with svc.db.transaction() as conn:
            await record_audit(
                conn,
                at=clock.now(),
                actor_id=user.id if user else None,
                actor_role=str(role) if role else None,
                action="articles.reload",
                target=None,
                detail={
                    "added": len(result.added),
                    "changed": len(result.changed),
                    "removed": len(result.removed),
                    "errors": len(result.errors),
                },
            )
        lines = [
            f"🔄 Đã nạp lại bài viết: {result.total} bài.",
            f"• Mới: {len(result.added)} · Sửa: {len(result.changed)} · "
            f"Gỡ: {len(result.removed)} · Không đổi: {result.unchanged}",
        ]
        if result.errors:
            lines.append(f"⚠️ {len(result.errors)} tệp lỗi bị bỏ qua:")
            # Whole escaped lines, split into several messages: a cut can never fall
            # inside <code> or an entity such as &amp; (Telegram would refuse to parse).
            shown = result.errors[:RELOAD_ERRORS]
            lines += [f"<code>{escape(_short(e, 300))}</code>" for e in shown]
            if len(result.errors) > RELOAD_ERRORS:
                lines.append(
                    f"… và {len(result.errors) - RELOAD_ERRORS} tệp lỗi khác "
                    "(xem tất cả bằng lệnh <code>loa check</code>)."
                )
        # Other content reloads with the articles (directive files with publish_at).
        for hook in svc.features.get("reload_hooks", []):
            lines += await hook(svc)
        for part in pack_html_lines(lines):
            await reply(update, part)

    return reload


async def reindex(svc: Services) -> store.SyncResult:
    """Sync the articles tables with LOA_CONTENT_DIR/articles."""
    result = await store.sync(
        svc.db,
        store.articles_dir(svc.settings.content_dir),
        summary_sentences=svc.settings.summary_sentences,
        now=clock.now(),
    )
    log.info(
        "articles indexed: %d (added %d, changed %d, removed %d, broken %d)",
        result.total,
        len(result.added),
        len(result.changed),
        len(result.removed),
        len(result.errors),
    )
    return result


def register(app: Any, svc: Services, start_payloads: dict[str, Any]) -> None:
    """Commands, buttons, inline mode, the a_ deep link, indexing at start."""
    lock = asyncio.Lock()
    svc.commands.extend(
        [
            CommandInfo("tin", "Tin bài mới nhất", aliases=("news",)),
            CommandInfo("bai", "Đọc một bài: /bai <mã bài>", aliases=("article",)),
            CommandInfo("timkiem", "Tìm bài viết: /timkiem <từ khóa>", aliases=("search",)),
            CommandInfo(
                "napbai",
                "Nạp lại bài viết từ thư mục nội dung",
                aliases=("reload",),
                permission="content",
            ),
        ]
    )
    app.add_handler(CommandHandler(["news", "tin"], news))
    app.add_handler(CommandHandler(["article", "bai"], article_command))
    app.add_handler(CommandHandler(["search", "timkiem"], search_command))
    app.add_handler(CommandHandler(["napbai", "reload"], make_reload(lock)))
    app.add_handler(CallbackQueryHandler(on_button, pattern=r"^ar:"))
    app.add_handler(InlineQueryHandler(inline))
    start_payloads["a_"] = open_from_link
    start_payloads["tim"] = search_hints

    async def title(article_id: str) -> str | None:
        return await store.title_of(svc.db, article_id)

    svc.features["article_title"] = title

    async def index_at_start(_app: Any) -> None:
        async with lock:
            await reindex(svc)

    svc.starters.append(index_at_start)

    # Reads are counted in memory and written once a second (and at stop).
    reads = svc.features["article_reads"] = store.ReadCounter()
    flusher: list[asyncio.Task[None]] = []

    async def flush_reads_every_second() -> None:
        while True:
            await asyncio.sleep(READS_FLUSH_INTERVAL)
            try:
                await reads.flush(svc.db)
            except Exception:
                log.exception("could not write article reads; retrying")

    async def start_reads(_app: Any) -> None:
        flusher.append(asyncio.create_task(flush_reads_every_second(), name="loa-reads"))

    async def stop_reads() -> None:
        for task in flusher:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        flusher.clear()
        await reads.flush(svc.db)

    svc.starters.append(start_reads)
    svc.stoppers.append(stop_reads)
