"""Builds the python-telegram-bot Application: settings in, a ready bot out."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.config import Settings
from bot.domain import clock
from bot.handlers import (
    admin,
    articles,
    broadcasts,
    casework,
    common,
    console,
    dialogs,
    feedback,
    feeds,
    menus,
    newsroom,
    outreach,
    subscriptions,
)
from bot.handlers.persistence import SqlitePersistence
from bot.services import CommandInfo, Services
from bot.store import people, tg_state
from bot.store import subscriptions as subs_store
from bot.store.db import Database
from bot.tg.pacer import Pacer
from bot.tg.transport import AiohttpRequest, PollingRequest
from bot.tg.updates import PerChatUpdateProcessor

log = logging.getLogger(__name__)

CORE_COMMANDS = [
    CommandInfo("start", "Bắt đầu, lời chào"),
    CommandInfo("help", "Danh sách các lệnh", aliases=("trogiup",)),
]


def build_application(settings: Settings) -> Application[Any, Any, Any, Any, Any, Any]:
    """The Application with every handler registered, in order; nothing runs yet."""
    pacer = Pacer(
        global_per_second=settings.global_rate,
        group_per_minute=settings.group_rate,
        chat_per_second=settings.chat_rate,
        max_retry_after=settings.max_retry_after,
    )
    # Bot API calls go through aiohttp: PTB's httpx transport costs 3-4x the CPU per
    # request (bot.tg.transport; BENCHMARKS.md "Feedback"). getUpdates has its own single
    # connection, whose answers are stamped so the health check sees a stalled poll (issue 6)
    # and arrive without the bot's own keyboards echoed back in button presses (issue 17).
    poll_request = PollingRequest(connection_pool_size=1)
    db = Database(settings.db_path)
    builder = (
        ApplicationBuilder()
        .token(settings.token())
        .request(AiohttpRequest())
        .get_updates_request(poll_request)
        .base_url(settings.bot_api_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.tz))
        .rate_limiter(pacer)
        .concurrent_updates(PerChatUpdateProcessor(settings.update_concurrency))
        # Drafts and conversations survive a restart: PTB persistence on the same SQLite
        # file (bot.handlers.persistence; issue 11).
        .persistence(SqlitePersistence(db))
        .post_init(_post_init)
        .post_stop(_post_stop)
        .post_shutdown(_post_shutdown)
    )
    if settings.bot_api_file_url:
        builder = builder.base_file_url(settings.bot_api_file_url)
    elif settings.bot_api_url.endswith("/bot"):
        # Files (the newsroom's .docx uploads) come from the same server as the API:
        # https://api.telegram.org/bot → https://api.telegram.org/file/bot (Bot API getFile).
        builder = builder.base_file_url(settings.bot_api_url[: -len("bot")] + "file/bot")
    app = builder.build()
    svc = Services(settings=settings, db=db, pacer=pacer)
    app.bot_data["services"] = svc
    svc.features["polling_request"] = poll_request
    _follow_chats(pacer, svc)
    _register(app, svc)
    return app


def _follow_chats(pacer: Pacer, svc: Services) -> None:
    """Replies obey the broadcasts' rules (issue 10): a group that became a supergroup
    has its rows moved (the pacer re-sends to the new id); a 403 marks the chat and its
    subscription inactive, as a broadcast's 403 does."""

    async def migrated(old: int, new: int) -> None:
        await subs_store.migrate_chat(svc.db, old, new, clock.now())

    async def forbidden(chat_id: int, reason: str) -> None:
        why = f"forbidden: {reason[:100]}"
        await subs_store.deactivate(svc.db, chat_id, why, clock.now())
        await people.set_chat_active(svc.db, chat_id, False, why)

    pacer.on_migrated = migrated
    pacer.on_forbidden = forbidden


def _register(app: Application[Any, Any, Any, Any, Any, Any], svc: Services) -> None:
    """Register every handler, in the order Telegram updates should meet them."""
    start_payloads: dict[str, common.StartPayloadHandler] = {}
    svc.commands.extend(CORE_COMMANDS)

    # Group -1 runs before everything: keep chats/users tables current; drop edited
    # messages (PTB would otherwise run an edited command or answer a second time).
    app.add_handler(TypeHandler(Update, common.first_look), group=-1)
    # The bot joined, left, was blocked or unblocked somewhere.
    app.add_handler(ChatMemberHandler(common.on_my_chat_member, ChatMemberHandler.MY_CHAT_MEMBER))

    # Conversations (issue 10): one registry, timeout and /cancel for every feature's
    # multi-step flow; before the features so /cancel always reaches it.
    dialogs.install(app, svc)

    # --- features register here, each in its own block (conversations before commands) ---

    # Articles (issue 3): /news, /article, /search, inline mode, a_ deep links, /reload.
    articles.register(app, svc, start_payloads)

    # Feedback (issue 5): /ykien flow, moderation, answers, /inbox, /export, /forgetme.
    feedback.register(app, svc, start_payloads)

    # Casework (issue 15): categories, routing to forum topics, claims, states, deadlines
    # on working days with reminders, answer templates, ratings, public answers, exports.
    casework.register(app, svc)

    # Reports and operations (issue 6): roles, audit, /stats; health monitor, daily backups.
    admin.register(app, svc, start_payloads)

    # Broadcasts (issue 4): subscriptions, announcements, directives, acks; the dispatcher.
    broadcasts.register(app, svc, start_payloads)

    # Web console (issue 14): /quantri, staff menu buttons; the Mini App server (bot.web)
    # runs in this process when LOA_WEB_PORT or LOA_WEB_URL is set.
    console.register(app, svc)
    if svc.settings.web_enabled:
        # Imported only when the console runs: aiohttp's server, jinja2 and the pages
        # are ~3 MB of an idle bot that serves no console (issue 17: idle memory).
        from bot.web import routes as web_routes

        web_routes.install(svc)

    # Newsroom (issue 12): /dangbai drafts (text, .docx/.txt in private, URLs), review,
    # publish + notify through the broadcast outbox, /suabai, /gobai; /nguontin + feeds worker.
    newsroom.register(app, svc)
    feeds.register(app, svc)

    # Outreach (issue 16): units directory, polls, session reports, directive reminders,
    # the quarterly briefing (after broadcasts: polls ride on its dispatcher).
    outreach.register(app, svc, start_payloads)

    # /forgetme: the users and private-chat rows go last, after every feature's data
    # (keep this after the last feature block).
    svc.forgetters.append(tg_state.forget_user)  # saved drafts (issue 11)
    svc.forgetters.append(people.forget_user)

    # /start last among commands so deep-link prefixes registered above are known.
    app.add_handler(CommandHandler("start", common.make_start(start_payloads)))
    app.add_handler(CommandHandler(["help", "trogiup"], common.help_command))
    # Rough edges (issue 11): /start's buttons run these commands' handlers.
    start_buttons = {
        "tin": articles.news,
        "dangky": subscriptions.subscribe_command,
        "ykien": feedback.ykien_command,
        "help": common.help_command,
    }
    app.add_handler(CallbackQueryHandler(common.make_start_button(start_buttons), pattern=r"^st:"))

    # Fallbacks: unknown commands, stray private messages, buttons nobody knows.
    # /cancel that no feature's own conversation answered (the dialogs already ended).
    dialogs.register_cancel(app)
    app.add_handler(MessageHandler(filters.COMMAND, common.unknown_command))
    app.add_handler(
        MessageHandler(
            filters.ChatType.PRIVATE & ~filters.COMMAND & ~filters.StatusUpdate.ALL,
            common.private_text_fallback,
        )
    )
    app.add_handler(CallbackQueryHandler(common.unknown_callback))
    app.add_error_handler(common.on_error)


async def _post_init(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Open the database (migrating it), publish the command menus, start workers."""
    svc: Services = app.bot_data["services"]
    # Persistence may have opened (and migrated) the database during initialize().
    version = await svc.db.schema_version() if svc.db.is_open else await svc.db.open()
    log.info("database %s at schema version %d", svc.db.path, version)
    await menus.publish_commands(app.bot, svc)
    for start in svc.starters:
        await start(app)


async def _post_stop(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Stop workers (they finish what is in flight) while the database is still open."""
    svc: Services = app.bot_data["services"]
    for stop in reversed(svc.stoppers):
        try:
            await stop()
        except Exception:
            log.exception("a worker failed to stop cleanly")


async def _post_shutdown(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Close the database last."""
    svc: Services = app.bot_data["services"]
    await svc.db.close()


def new_event_loop() -> asyncio.AbstractEventLoop:
    """The event loop of the long-running bot (`loa run`; the benchmarks use it too).

    uvloop (libuv) where it is installed — Linux and macOS, a dependency there: its
    sockets, timers and callbacks cost less CPU than asyncio's pure-Python selector loop,
    about 8 % of a reader's update on the 2-core machine (issue 17, BENCHMARKS.md).
    Elsewhere asyncio's own loop; the bot behaves the same on both."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def tune_collector() -> None:
    """Garbage-collector settings for the long-running bot process (`loa run`; the
    benchmarks call it too). Issue 17, BENCHMARKS.md "Performance": the collector took
    ~11 % of the CPU of a bulk delivery.

    Everything alive once the Application is built (imported modules, PTB's and aiohttp's
    classes: ~100,000 objects) lives as long as the process: frozen, the collector's full
    passes stop walking it (about 60 ms each, every ~1,500 deliveries). And the youngest
    generation is collected every 5,000 allocations instead of 700: a Bot API request
    allocates a few hundred objects, most freed by reference counting anyway; each young
    collection walks the requests in flight. Not for test processes: objects frozen there
    (one test's Application) would never be collected if they ended up in a cycle."""
    import gc

    gc.collect()
    gc.freeze()
    _gen0, gen1, gen2 = gc.get_threshold()
    gc.set_threshold(5000, gen1, gen2)
