"""The console's HTTP server: an aiohttp application inside the bot process.

Every route is a `Route` in one table (bot.web.routes.ROUTES) with the permission it
needs; `_guard` signs the caller in on every request (Telegram initData in a header, or a
`loa console-link` session cookie plus its CSRF header) and reads the role from the
database each time (Services.may, like the Telegram handlers).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import escape

from bot.domain import clock
from bot.domain.errors import InvalidInput, LoaError, NotFound, PermissionDenied
from bot.domain.roles import ROLE_LABELS_VI, Role, allows
from bot.domain.spreadsheets import Format, Table, render
from bot.domain.stats import format_int
from bot.services import Services
from bot.store import web_sessions
from bot.store.db import Database
from bot.web.auth import AuthError, validate_init_data

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
MAX_BODY = 64 * 1024  # compose texts are < 4096 characters per message; forms are small
INIT_DATA_HEADER = "X-Telegram-Init-Data"
CSRF_HEADER = "X-Loa-Csrf"
SESSION_COOKIE = "loa_session"
PUBLIC = "public"  # a route anyone may open (the shell page, static files, sign-in)
SIGNED_IN = "signed_in"  # any Telegram user signed in (staff or not)

# Telegram's web clients show Mini Apps in an iframe; everything else is same-origin only.
_CSP = (
    "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self';"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'self' https://web.telegram.org https://*.telegram.org"
)
_SECURITY_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


@dataclass
class Call:
    """One signed-in request: who, with which role (read now), and the services."""

    request: web.Request
    svc: Services
    console: Console
    user_id: int
    role: Role | None

    @property
    def db(self) -> Database:
        """The console's read-only connection: pages read there, so a long page query never
        holds the bot's own connection (SQLite WAL readers do not block the writer)."""
        return self.console.reader or self.svc.db

    def may(self, permission: str) -> bool:
        """The caller's role (read at the start of this request) holds `permission`."""
        return allows(self.role, permission)

    def query(self, name: str, default: str = "") -> str:
        """A query parameter, trimmed, at most 200 characters."""
        return self.request.query.get(name, default).strip()[:200]

    def int_query(self, name: str, default: int = 0, *, maximum: int = 10**9) -> int:
        """A non-negative integer query parameter (bad values fall back to the default)."""
        raw = self.query(name)
        return min(int(raw), maximum) if raw.isascii() and raw.isdigit() else default

    def int_param(self, name: str) -> int:
        """A numeric path parameter (NotFound when it is not one)."""
        raw = self.request.match_info.get(name, "")
        if not (raw.lstrip("-").isascii() and raw.lstrip("-").isdigit()) or len(raw) > 20:
            raise NotFound()
        value = int(raw)
        if abs(value) >= 2**63:
            raise NotFound()
        return value

    async def form(self) -> dict[str, Any]:
        """The JSON object of a POST body (InvalidInput when it is not one)."""
        if self.request.content_type != "application/json":
            raise InvalidInput("Yêu cầu phải gửi dữ liệu dạng JSON.")
        try:
            data = json.loads(await self.request.text())
        except ValueError as exc:
            raise InvalidInput("Dữ liệu gửi lên không hợp lệ.") from exc
        if not isinstance(data, dict):
            raise InvalidInput("Dữ liệu gửi lên không hợp lệ.")
        return data

    def render(self, template: str, **values: Any) -> web.Response:
        """A server-rendered HTML fragment (or page)."""
        return self.console.render(template, call=self, **values)


Handler = Callable[[Call], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Route:
    """One URL of the console and the permission it needs (a key of bot.domain.roles,
    SIGNED_IN or PUBLIC)."""

    method: str
    path: str
    handler: Handler
    permission: str


def ok(message: str, **extra: Any) -> web.Response:
    """A JSON success with a Vietnamese message for the page's status line."""
    return web.json_response({"ok": True, "message": message, **extra})


# Bot API: bots send files of up to 50 MB (sendDocument).
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024
NOT_STARTED = (
    "Loa chưa gửi được tệp cho bạn: hãy mở cuộc trò chuyện riêng với Loa, bấm /start rồi thử lại."
)


async def download(call: Call, data: bytes, filename: str, content_type: str) -> web.Response:
    """A file download (exports); the name is ASCII so every browser keeps it.

    Inside Telegram (?deliver=chat, set by console.js when it runs as a Mini App) the file
    is sent to the caller's private chat with the bot instead: Telegram's in-app browsers
    do not save blob downloads on every platform, and the chat keeps the file with the
    staff member only."""
    if call.query("deliver") == "chat":
        if len(data) > MAX_DOCUMENT_BYTES:
            raise InvalidInput("Tệp lớn hơn 50 MB, Telegram không gửi được: hãy lọc bớt dữ liệu.")
        send_file = call.svc.features["send_file_to_user"]
        if not await send_file(call.user_id, data, filename):
            raise InvalidInput(NOT_STARTED)
        return ok(f"Đã gửi tệp {filename} vào cuộc trò chuyện riêng của bạn với Loa.")
    return web.Response(
        body=data,
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv"


async def export_table(call: Call, table: Table, basename: str) -> web.Response:
    """A table as the download asked for (?format=xlsx, else CSV), written by
    bot.domain.spreadsheets in a thread: openpyxl is CPU-bound and the bot keeps replying."""
    fmt: Format = "xlsx" if call.query("format") == "xlsx" else "csv"
    data = await asyncio.to_thread(render, table, fmt, tz=call.svc.settings.tz)
    return await download(call, data, f"{basename}.{fmt}", XLSX if fmt == "xlsx" else CSV)


def _error(request: web.Request, status: int, message: str) -> web.Response:
    if request.path.startswith("/ui/"):
        return web.Response(
            status=status,
            text=f'<p class="error" role="alert">{escape(message)}</p>',
            content_type="text/html",
        )
    return web.json_response({"ok": False, "error": message}, status=status)


@web.middleware
async def _headers(request: web.Request, handler: Any) -> web.StreamResponse:
    """Security headers on every answer, errors included; no caching of signed-in data."""
    try:
        response: web.StreamResponse = await handler(request)
    except web.HTTPException as exc:  # 404, 405, 413…: raised, not returned (aiohttp)
        _secure(request, exc)
        raise
    _secure(request, response)
    return response


def _secure(request: web.Request, response: web.StreamResponse) -> None:
    response.headers.update(_SECURITY_HEADERS)
    if not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"


class Console:
    """The console server: routes, templates, start and stop with the bot."""

    def __init__(self, svc: Services, routes: list[Route]) -> None:
        self.svc = svc
        self.routes = routes
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self.reader: Database | None = None
        self._cache: dict[str, tuple[float, Any]] = {}
        self._refreshing: dict[str, asyncio.Task[Any]] = {}
        # Filled by pages (bot.web.routes): run in the background once the server is up.
        self.warmups: list[Callable[[Console], Coroutine[Any, Any, Any]]] = []
        self._warming: list[asyncio.Task[Any]] = []
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(HERE / "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        tz = svc.settings.tz
        self.templates.filters["dt"] = lambda ts: clock.format_local(int(ts), tz) if ts else ""
        self.templates.filters["num"] = lambda n: format_int(int(n or 0))
        self.templates.filters["role_vi"] = lambda r: (
            ROLE_LABELS_VI[Role(r)] if r in {x.value for x in Role} else (r or "")
        )

    def render(self, template: str, **values: Any) -> web.Response:
        """Render a template to an HTML response."""
        html = self.templates.get_template(template).render(**values)
        return web.Response(text=html, content_type="text/html", charset="utf-8")

    async def cached(self, key: str, ttl: float, compute: Callable[[], Awaitable[Any]]) -> Any:
        """`compute()` at most once per `ttl` seconds per key (a quarter's figures scan every
        delivery, and the overview asks for them at each refresh). A stale value is served
        at once while a background task refreshes it."""
        now = time.monotonic()
        hit = self._cache.get(key)
        running = self._refreshing.get(key)
        if hit is None and running is not None:
            return await asyncio.shield(running)  # being computed (at start-up): share it
        if running is None and (hit is None or now - hit[0] >= ttl):
            running = asyncio.create_task(self._refresh(key, compute))
            self._refreshing[key] = running
        if hit is not None:
            return hit[1]
        assert running is not None
        return await asyncio.shield(running)

    def invalidate(self) -> None:
        """Forget cached figures (after a change made through the console)."""
        self._cache.clear()

    async def warmed(self) -> None:
        """Wait until the start-up computations are done (benchmarks measure steady state)."""
        await asyncio.gather(*self._warming, return_exceptions=True)

    async def _refresh(self, key: str, compute: Callable[[], Awaitable[Any]]) -> Any:
        try:
            value = await compute()
        finally:
            self._refreshing.pop(key, None)
        if len(self._cache) > 256:  # keys come from query strings: keep it bounded
            self._cache.clear()
        self._cache[key] = (time.monotonic(), value)
        return value

    def web_app(self) -> web.Application:
        """The aiohttp application with every route guarded."""
        app = web.Application(client_max_size=MAX_BODY, middlewares=[_headers])
        for route in self.routes:
            app.router.add_route(route.method, route.path, self._guard(route))
        app.router.add_static("/static/", HERE / "static", append_version=False)
        return app

    async def _who(self, request: web.Request) -> int:
        """The signed-in user's id: Telegram initData, else a session cookie + CSRF header."""
        settings = self.svc.settings
        init_data = request.headers.get(INIT_DATA_HEADER)
        if init_data:
            user = validate_init_data(
                init_data, settings.token(), max_age=settings.web_auth_max_age, now=time.time()
            )
            return user.id
        cookie = request.cookies.get(SESSION_COOKIE, "")
        csrf = request.headers.get(CSRF_HEADER, "")
        if cookie and csrf:
            session = await web_sessions.session(self.svc.db, cookie, clock.now())
            if session is not None and _same(session.csrf, csrf):
                return session.user_id
        raise AuthError(detail="no credentials")

    def _guard(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                if route.permission == PUBLIC:
                    return await route.handler(Call(request, self.svc, self, 0, None))
                user_id = await self._who(request)
                role = await self.svc.role_of(user_id)  # from the database, every request
                if route.permission != SIGNED_IN and not allows(role, route.permission):
                    log.info(
                        "console: refused %s %s to user %s", request.method, route.path, user_id
                    )
                    raise PermissionDenied()
                response = await route.handler(Call(request, self.svc, self, user_id, role))
                if request.method == "POST":
                    self.invalidate()  # figures shown next reflect the change just made
                return response
            except AuthError as exc:
                return _error(request, 401, exc.user_message)
            except PermissionDenied as exc:
                return _error(request, 403, exc.user_message)
            except NotFound as exc:
                return _error(request, 404, exc.user_message)
            except LoaError as exc:
                return _error(request, 400, exc.user_message)
            except web.HTTPException:
                raise
            except Exception:
                log.exception("console: %s %s failed", request.method, route.path)
                return _error(request, 500, "Đã có lỗi xảy ra. Vui lòng thử lại sau.")

        return handle

    async def start(self, _app: Any = None) -> None:
        """Open the read-only connection and listen on LOA_WEB_LISTEN:LOA_WEB_PORT."""
        reader = Database(self.svc.db.path)
        await reader.open(migrate=False)  # the bot's connection migrated it already
        await reader.conn.execute("PRAGMA query_only=ON")
        # Same file, same process: the reader shares the bot's in-memory copies (parsed
        # articles, search answers), which every write clears (bot.store.articles), so
        # the console never shows an article or result a sync or withdrawal changed.
        reader.memo = self.svc.db.memo
        self.reader = reader
        runner = web.AppRunner(self.web_app(), access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.svc.settings.web_listen, self.svc.settings.web_bind_port)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            await self._close_reader()
            raise
        self._runner = runner
        # The bound address tells the port chosen for LOA_WEB_PORT=0.
        self.port = int(runner.addresses[0][1]) if runner.addresses else None
        log.info("console listening on %s:%s", self.svc.settings.web_listen, self.port)
        self._warming = [asyncio.create_task(warm(self)) for warm in self.warmups]

    async def stop(self) -> None:
        """Stop serving (a bot stopper); requests in flight get a moment to finish."""
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await asyncio.wait_for(runner.cleanup(), timeout=10)
        tasks = [*self._refreshing.values(), *self._warming]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._refreshing.clear()
        await self._close_reader()

    async def _close_reader(self) -> None:
        if self.reader is not None:
            reader, self.reader = self.reader, None
            await reader.close()


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
