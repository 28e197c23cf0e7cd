"""The Mini App's page at `/` (a shell the pages load into), sign-in links and /api/me."""

from __future__ import annotations

from aiohttp import web

from bot.domain import clock
from bot.domain.roles import ROLE_LABELS_VI, allows
from bot.store import web_sessions
from bot.web.server import PUBLIC, SESSION_COOKIE, SIGNED_IN, Call, Route

# The pages in the menu: (key, title as shown, permission). Titles are the names.
PAGES = (
    ("overview", "Tổng quan", "staff"),
    ("feedback", "Ý kiến", "moderate"),
    ("broadcasts", "Thông báo", "broadcast"),
    ("directives", "Chỉ đạo", "broadcast"),
    ("articles", "Bài viết", "content"),
    ("groups", "Nhóm và đơn vị", "admin"),
    ("stats", "Thống kê", "admin"),
    ("audit", "Nhật ký", "admin"),
)


async def index(call: Call) -> web.StreamResponse:
    """The shell: vendored telegram-web-app.js reads initData from the URL hash; a browser
    signed in by `loa console-link` gets its CSRF token here instead."""
    csrf = ""
    cookie = call.request.cookies.get(SESSION_COOKIE, "")
    if cookie:
        session = await web_sessions.session(call.db, cookie, clock.now())
        csrf = session.csrf if session else ""
    return call.render("shell.html", csrf=csrf)


async def login(call: Call) -> web.StreamResponse:
    """A one-time sign-in link: a session cookie (SameSite=Strict, HttpOnly), then `/`."""
    redeemed = await web_sessions.redeem_login(call.svc.db, call.query("t"), clock.now())
    if redeemed is None:
        response = call.render("login_failed.html")
        response.set_status(401)
        return response
    token, _session = redeemed
    response = call.render("login_ok.html")
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=web_sessions.SESSION_TTL,
        httponly=True,
        samesite="Strict",
        secure=call.request.secure or bool(call.svc.settings.web_url),
        path="/",
    )
    return response


async def me(call: Call) -> web.StreamResponse:
    """Who is signed in, their role and the pages they may open."""
    pages = [{"key": key, "title": title} for key, title, perm in PAGES if allows(call.role, perm)]
    return web.json_response(
        {
            "user_id": call.user_id,
            "role": call.role.value if call.role else None,
            "role_vi": ROLE_LABELS_VI[call.role] if call.role else None,
            "pages": pages,
        }
    )


ROUTES = [
    Route("GET", "/", index, PUBLIC),
    Route("GET", "/login", login, PUBLIC),
    Route("GET", "/api/me", me, SIGNED_IN),
]
