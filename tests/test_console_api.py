"""The console's HTTP API: Telegram's initData check, sessions from `loa console-link`,
the role matrix over the whole route table, hostile requests, /quantri and menu buttons."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.cli import main as loa_main
from bot.domain.roles import Role, allows
from bot.store import web_sessions
from bot.web.auth import AuthError, sign_init_data, validate_init_data
from bot.web.routes import ROUTES
from bot.web.server import INIT_DATA_HEADER, PUBLIC, SIGNED_IN
from tests.conftest import ADMIN_ID
from tests.console_support import (
    CITIZEN_ID,
    EDITOR_ID,
    MODERATOR_ID,
    STAFF_ADMIN_ID,
    console_url,
    init_data,
    staff_bot,
)
from tests.fakegram import FakeTelegram
from tests.harness import TEST_TOKEN, RunningBot

CONTENT = Path(__file__).resolve().parent.parent / "content"
ROLES = {
    "owner": (ADMIN_ID, Role.OWNER),
    "admin": (STAFF_ADMIN_ID, Role.ADMIN),
    "editor": (EDITOR_ID, Role.EDITOR),
    "moderator": (MODERATOR_ID, Role.MODERATOR),
    "citizen": (CITIZEN_ID, None),
}


# --- initData, as Telegram documents it ------------------------------------------------------


def test_signed_init_data_is_accepted_and_names_the_user() -> None:
    user = validate_init_data(init_data(42), TEST_TOKEN, max_age=60, now=time.time())
    assert user.id == 42 and user.first_name == "Hạnh"


def test_the_hash_covers_every_field_including_signature() -> None:
    good = init_data(42)
    for forged in (
        good.replace("%22id%22%3A42", "%22id%22%3A43"),  # another user
        good.replace("signature=c2lnbmF0dXJl", "signature=eA"),
        good + "&extra=1",
        re.sub(r"hash=[0-9a-f]+", "hash=" + "0" * 64, good),
        re.sub(r"&?hash=[0-9a-f]+", "", good),
    ):
        with pytest.raises(AuthError):
            validate_init_data(forged, TEST_TOKEN, max_age=60, now=time.time())


def test_wrong_token_expired_and_garbage_are_refused() -> None:
    now = time.time()
    with pytest.raises(AuthError):
        validate_init_data(init_data(42, token="654321:OTHER"), TEST_TOKEN, max_age=60, now=now)
    with pytest.raises(AuthError):
        validate_init_data(init_data(42, age=120), TEST_TOKEN, max_age=60, now=now)
    for garbage in ("", "x", "hash=", "a=1&a=2", "é" * 10, "user=%7B&hash=zz", "q" * 9000):
        with pytest.raises(AuthError):
            validate_init_data(garbage, TEST_TOKEN, max_age=60, now=now)


def test_telegram_documented_example_shape() -> None:
    """Sorted key=value lines joined by \\n, HMAC key = HMAC("WebAppData", token)."""
    import hashlib
    import hmac
    from urllib.parse import parse_qsl

    data = sign_init_data(TEST_TOKEN, {"id": 7, "first_name": "A"}, 1_700_000_000)
    fields = dict(parse_qsl(data))
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields) if k != "hash")
    secret = hmac.new(b"WebAppData", TEST_TOKEN.encode(), hashlib.sha256).digest()
    assert fields["hash"] == hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()


# --- over HTTP ---------------------------------------------------------------------------------


async def _get(url: str, headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        await resp.read()
        return resp


async def test_api_answers_200_signed_and_401_otherwise(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await staff_bot(bot_factory, ADMIN_ID)
    url = console_url(bot) + "/api/me"
    ok = await _get(url, {INIT_DATA_HEADER: init_data(ADMIN_ID)})
    assert ok.status == 200
    tampered = init_data(ADMIN_ID).replace("H%E1%BA%A1nh", "Hanh")
    for headers in (
        {INIT_DATA_HEADER: tampered},
        {INIT_DATA_HEADER: init_data(ADMIN_ID, token="654321:OTHER")},
        {INIT_DATA_HEADER: init_data(ADMIN_ID, age=2 * 86400)},
        {},
    ):
        resp = await _get(url, headers)
        assert resp.status == 401, headers
    headers = {INIT_DATA_HEADER: init_data(ADMIN_ID)}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as resp:
        me = await resp.json()
    assert me["role"] == "owner"
    assert [p["title"] for p in me["pages"]] == [
        "Tổng quan",
        "Ý kiến",
        "Thông báo",
        "Chỉ đạo",
        "Bài viết",
        "Nhóm và đơn vị",
        "Thống kê",
        "Nhật ký",
    ]


def _concrete(path: str) -> str:
    """A route's path with its parameters filled in ({id} → 1, {x:a|b} → a)."""

    def fill(match: re.Match[str]) -> str:
        _name, _, pattern = match[1].partition(":")
        return pattern.split("|")[0] if pattern else "1"

    return re.sub(r"\{([^}]+)\}", fill, path)


def test_every_served_route_is_in_the_route_table() -> None:
    """The aiohttp app registers exactly the table's routes (plus static files), so the
    matrix below sees every URL a request can reach."""
    from bot.config import load_settings
    from bot.services import Services
    from bot.store.db import Database
    from bot.web.server import Console

    settings = load_settings(bot_token=TEST_TOKEN, _env_file=None)
    app = Console(Services(settings=settings, db=Database(":memory:")), ROUTES).web_app()
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        if "directory" in info or route.method == "HEAD":
            continue
        served.add((route.method, info.get("path") or info.get("formatter")))
    table = {(r.method, re.sub(r"\{(\w+):[^}]+\}", r"{\1}", r.path)) for r in ROUTES}
    assert served == table


async def test_role_matrix_over_every_route(bot_factory: Any, fake: FakeTelegram) -> None:
    bot = await staff_bot(bot_factory, ADMIN_ID)
    base = console_url(bot)
    checked = 0
    async with aiohttp.ClientSession() as session:
        for route in ROUTES:
            if route.permission == PUBLIC:
                continue
            for name, (user_id, role) in ROLES.items():
                headers = {INIT_DATA_HEADER: init_data(user_id)}
                async with session.request(
                    route.method, base + _concrete(route.path), headers=headers, json={}
                ) as resp:
                    await resp.read()
                    status = resp.status
                allowed = route.permission == SIGNED_IN or allows(role, route.permission)
                where = f"{route.method} {route.path} as {name}: {status}"
                if allowed:
                    assert status not in (401, 403) and status < 500, where
                else:
                    assert status == 403, where
                checked += 1
    assert checked >= 5 * 30


async def test_role_is_read_from_the_database_on_every_request(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await staff_bot(bot_factory, ADMIN_ID)
    url = console_url(bot) + "/ui/feedback"
    headers = {INIT_DATA_HEADER: init_data(MODERATOR_ID)}
    assert (await _get(url, headers)).status == 200
    await bot.svc.db.execute("DELETE FROM staff_roles WHERE user_id = ?", (MODERATOR_ID,))
    assert (await _get(url, headers)).status == 403  # same initData, role gone


async def test_console_link_session_needs_its_csrf_header(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await staff_bot(bot_factory, ADMIN_ID)
    base = console_url(bot)
    token = await web_sessions.create_login(bot.svc.db, ADMIN_ID, int(time.time()))
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar) as session:
        async with session.get(f"{base}/login?t={token}", allow_redirects=False) as resp:
            assert resp.status == 200
            cookie = resp.headers["Set-Cookie"]
        assert "SameSite=Strict" in cookie and "HttpOnly" in cookie
        async with session.get(f"{base}/login?t={token}") as again:
            assert again.status == 401  # single use
        async with session.get(f"{base}/api/me") as resp:
            assert resp.status == 401  # the cookie alone is not enough (CSRF)
        async with session.get(f"{base}/") as resp:
            shell = await resp.text()
        csrf = re.search(r'name="loa-csrf" content="([^"]+)"', shell)
        assert csrf is not None
        async with session.get(f"{base}/api/me", headers={"X-Loa-Csrf": csrf[1]}) as resp:
            assert resp.status == 200
        async with session.get(f"{base}/api/me", headers={"X-Loa-Csrf": "nope"}) as resp:
            assert resp.status == 401


async def test_expired_link_is_refused(bot_factory: Any, fake: FakeTelegram) -> None:
    bot = await staff_bot(bot_factory, ADMIN_ID)
    token = await web_sessions.create_login(
        bot.svc.db, ADMIN_ID, int(time.time()) - web_sessions.LINK_TTL - 1
    )
    assert (await _get(f"{console_url(bot)}/login?t={token}")).status == 401


async def test_hostile_requests(bot_factory: Any, fake: FakeTelegram) -> None:
    bot = await staff_bot(bot_factory, ADMIN_ID)
    base = console_url(bot)
    headers = {INIT_DATA_HEADER: init_data(ADMIN_ID)}
    async with aiohttp.ClientSession() as session:
        big = "x" * (200 * 1024)
        async with session.post(
            f"{base}/api/broadcasts/preview", headers=headers, json={"text": big}
        ) as resp:
            assert resp.status == 413
        async with session.post(
            f"{base}/api/broadcasts/preview", headers=headers, data="text=<b>x</b>"
        ) as resp:
            assert resp.status == 400  # only JSON bodies (no cross-site form posts)
        async with session.post(
            f"{base}/api/broadcasts", headers=headers, json={"text": "<script>x</script>"}
        ) as resp:
            body = await resp.json()
            assert resp.status == 400 and "script" in body["error"]
        huge = f"{base}/ui/broadcasts/99999999999999999999999"
        async with session.get(huge, headers=headers) as resp:
            assert resp.status == 404
        async with session.get(f"{base}/ui/feedback?from=31/02/2022", headers=headers) as resp:
            assert resp.status == 400
        async with session.get(f"{base}/api/me", headers=headers) as resp:
            assert "frame-ancestors" in resp.headers["Content-Security-Policy"]
            assert resp.headers["X-Content-Type-Options"] == "nosniff"
            assert resp.headers["Cache-Control"] == "no-store"
    rows = await bot.svc.db.fetch_all("SELECT id FROM broadcasts")
    assert rows == []


async def test_quantri_and_menu_buttons(bot_factory: Any, fake: FakeTelegram) -> None:
    url = "https://loa.example.gov.vn"
    owner = fake.user(ADMIN_ID, "Hạnh")
    citizen = fake.user(CITIZEN_ID, "Lan")
    chat = fake.private_chat(owner)
    fake.private_chat(citizen)
    bot: RunningBot = await staff_bot(bot_factory, ADMIN_ID, web_url=url)
    assert fake.menu_buttons[ADMIN_ID] == {
        "type": "web_app",
        "text": "Quản trị",
        "web_app": {"url": url + "/"},
    }
    assert CITIZEN_ID not in fake.menu_buttons
    fake.send_text(chat, owner, "/quantri")
    msg = await fake.wait_for_message(chat, contains="Bảng quản trị Loa")
    assert msg.buttons[0]["web_app"] == {"url": url + "/"}
    citizen_chat = fake.private_chat(citizen)
    fake.send_text(citizen_chat, citizen, "/quantri")
    await fake.wait_for_message(citizen_chat, contains="không có quyền")
    assert bot.svc.features["console"].port


def test_console_link_prints_a_single_use_url(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LOA_DB_PATH", str(tmp_path / "loa.db"))
    monkeypatch.setenv("LOA_ADMIN_IDS", str(ADMIN_ID))
    monkeypatch.setenv("LOA_WEB_URL", "https://loa.example.gov.vn")
    monkeypatch.chdir(tmp_path)
    assert loa_main(["migrate"]) == 0
    assert loa_main(["console-link"]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert re.fullmatch(r"https://loa\.example\.gov\.vn/login\?t=[A-Za-z0-9_-]{40,}", out)
    assert loa_main(["console-link", "--user", str(CITIZEN_ID)]) == 1


async def test_comment_page_shows_its_case_and_cases_export(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    import io

    import openpyxl

    from bot.store import feedback as feedback_store

    bot = await staff_bot(bot_factory, ADMIN_ID)
    comment = await feedback_store.submit(
        bot.svc.db,
        user_id=CITIZEN_ID,
        chat_id=CITIZEN_ID,
        user_name="Lan",
        article_id=None,
        text="Đề nghị sửa cống thoát nước ở ngõ 12.",
        keep_original=False,
        now=int(time.time()),
        per_hour=0,
        per_day=0,
        tz=bot.settings.tz,
    )
    base = console_url(bot)
    headers = {INIT_DATA_HEADER: init_data(MODERATOR_ID)}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/ui/feedback/{comment.id}", headers=headers) as resp:
            page = await resp.text()
        assert resp.status == 200
        assert "Hồ sơ" in page and "Hạn xử lý" in page and "Mới" in page
        owner = {INIT_DATA_HEADER: init_data(ADMIN_ID)}
        async with session.get(f"{base}/api/cases/export?format=xlsx", headers=owner) as resp:
            data = await resp.read()
        assert resp.status == 200
        assert "ho-so-y-kien-" in resp.headers["Content-Disposition"]
        sheet = openpyxl.load_workbook(io.BytesIO(data)).active
        assert sheet is not None and sheet.max_row == 2


async def test_withdrawing_an_article_follows_the_newsroom_rule(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    """An editor who did not publish it is refused (the newsroom's rule); an admin may."""
    bot = await staff_bot(bot_factory, ADMIN_ID, content_dir=CONTENT)
    article = "2022-04-08-giao-ban-tuyen-giao-quy-i"
    base = console_url(bot)
    editor = {INIT_DATA_HEADER: init_data(EDITOR_ID)}
    admin = {INIT_DATA_HEADER: init_data(STAFF_ADMIN_ID)}
    url = f"{base}/api/articles/{article}/withdraw"
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{base}/ui/articles", headers=editor) as resp:
            assert article in await resp.text()
        async with session.get(f"{base}/ui/articles/{article}", headers=editor) as resp:
            assert resp.status == 200 and "Gỡ bài" in await resp.text()
        search = "giao ban tuyen giao quy I"
        async with session.get(f"{base}/ui/articles?q={search}", headers=editor) as resp:
            assert article in await resp.text()
        async with session.post(url, headers=editor, json={}) as resp:
            body = await resp.json()
        assert resp.status == 403 and "người đăng" in body["error"]
        async with session.post(url, headers=admin, json={}) as resp:
            body = await resp.json()
        assert resp.status == 200, body
        async with session.get(f"{base}/ui/articles", headers=editor) as resp:
            assert article not in await resp.text()
        # the console's reader shares the bot's article and search memory, cleared by
        # the withdrawal: neither the card nor a repeated search still shows the article
        async with session.get(f"{base}/ui/articles/{article}", headers=editor) as resp:
            assert resp.status == 404
        async with session.get(f"{base}/ui/articles?q={search}", headers=editor) as resp:
            assert article not in await resp.text()
    audit = await bot.svc.db.fetch_all(
        "SELECT actor_id FROM audit_log WHERE action LIKE '%withdraw%'"
    )
    assert [r[0] for r in audit] == [STAFF_ADMIN_ID]


async def test_quantri_explains_a_plain_http_address(bot_factory: Any, fake: FakeTelegram) -> None:
    owner = fake.user(ADMIN_ID, "Hạnh")
    chat = fake.private_chat(owner)
    await staff_bot(bot_factory, ADMIN_ID, web_url="http://127.0.0.1:8080")
    assert ADMIN_ID not in fake.menu_buttons  # Telegram refused it (HTTPS only); no crash
    fake.send_text(chat, owner, "/quantri")
    msg = await fake.wait_for_message(chat, contains="HTTPS")
    assert "127.0.0.1:8080" in msg.content and not msg.buttons


async def test_inside_telegram_an_export_is_sent_to_the_private_chat(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    import io

    import openpyxl

    bot = await staff_bot(bot_factory, ADMIN_ID)
    base = console_url(bot)
    url = f"{base}/api/stats/report?format=xlsx&deliver=chat"
    owner = {INIT_DATA_HEADER: init_data(ADMIN_ID)}
    async with aiohttp.ClientSession() as session:
        # Never started the bot: Telegram refuses (403); the console says what to do.
        async with session.get(url, headers=owner) as resp:
            refused = await resp.json()
        assert resp.status == 400 and "/start" in refused["error"]
        dm = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
        async with session.get(url, headers=owner) as resp:
            sent = await resp.json()
        assert resp.status == 200 and sent["ok"], sent
        assert "thong-ke-" in sent["message"] and "cuộc trò chuyện riêng" in sent["message"]
        # Without ?deliver=chat (a browser signed in by console-link) the file is the answer.
        async with session.get(url.replace("&deliver=chat", ""), headers=owner) as resp:
            direct = await resp.read()
        assert "attachment" in resp.headers["Content-Disposition"]
    [doc] = [m for m in fake.bot_messages(dm) if m.document is not None]
    assert doc.document is not None and doc.document.file_name.startswith("thong-ke-")
    assert doc.document.file_name.endswith(".xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(doc.document.data)).active
    assert sheet is not None and sheet["A1"].value == "Mục"
    assert openpyxl.load_workbook(io.BytesIO(direct)).active["A1"].value == "Mục"
