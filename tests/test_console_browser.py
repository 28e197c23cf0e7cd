"""The console in a real headless Chromium (Debian's /usr/bin/chromium driven by Playwright).

The page is opened the way Telegram opens a Mini App: initData signed with the test token
in the URL hash (#tgWebAppData=…), read by the vendored telegram-web-app.js, sent by the
page with every request and checked by the server. Set CONSOLE_SCREENSHOTS=docs/console
to refresh the README's screenshots.
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import quote

import openpyxl
import pytest

from bot.domain import clock
from bot.domain import feedback as feedback_rules
from bot.store import feedback as feedback_store
from bot.store import people, web_sessions
from bot.store import subscriptions as subs
from tests.conftest import ADMIN_ID
from tests.console_support import console_url, init_data, staff_bot
from tests.fakegram import FakeTelegram
from tests.harness import RunningBot, eventually

CHROMIUM = os.environ.get("LOA_CHROMIUM", "/usr/bin/chromium")
try:
    from playwright.async_api import Page, async_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    async_playwright = None  # type: ignore[assignment]

pytestmark = pytest.mark.skipif(
    async_playwright is None or shutil.which(CHROMIUM) is None,
    reason=f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium) and playwright",
)

CONTENT = Path(__file__).resolve().parent.parent / "content"
CITIZENS = [(700101, "Lan"), (700102, "Minh"), (700103, "Tú")]
THEME = {"bg_color": "#ffffff", "text_color": "#000000", "button_color": "#2481cc"}


def mini_app_url(bot: RunningBot, user_id: int) -> str:
    """The console's URL as Telegram opens it: launch data in the hash."""
    data = quote(init_data(user_id), safe="")
    theme = quote(json.dumps(THEME), safe="")
    return (
        f"{console_url(bot)}/#tgWebAppData={data}&tgWebAppVersion=8.0"
        f"&tgWebAppPlatform=android&tgWebAppThemeParams={theme}"
    )


async def _world(bot: RunningBot, fake: FakeTelegram) -> int:
    """Three subscribed citizens and one comment waiting; returns the comment id."""
    now = clock.now()
    for user_id, name in CITIZENS:
        fake.private_chat(fake.user(user_id, name))
        await people.upsert_user(bot.svc.db, user_id, name, None, "vi", now)
        await people.upsert_chat(bot.svc.db, user_id, "private", name, None, now)
        await subs.subscribe(bot.svc.db, user_id, user_id, (), now)
    comment = await feedback_store.submit(
        bot.svc.db,
        user_id=CITIZENS[0][0],
        chat_id=CITIZENS[0][0],
        user_name="Lan",
        article_id=None,
        text="Đề nghị sửa đèn chiếu sáng ở tổ dân phố 5, gọi 0912345678.",
        keep_original=False,
        now=now,
        per_hour=0,
        per_day=0,
        tz=bot.settings.tz,
    )
    return comment.id


@pytest.fixture
async def browser() -> Any:
    assert async_playwright is not None
    async with async_playwright() as p:
        chromium = await p.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield chromium
        finally:
            await chromium.close()


async def _open(browser: Any, url: str, tmp_path: Path) -> Page:
    context = await browser.new_context(
        viewport={"width": 430, "height": 900}, accept_downloads=True, locale="vi-VN"
    )
    page = await context.new_page()
    page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await page.goto(url)
    await page.get_by_role("button", name="Tổng quan").wait_for()
    return page  # type: ignore[no-any-return]


async def _nav(page: Page, title: str) -> None:
    await page.locator("#nav").get_by_role("button", name=title, exact=True).click()
    await page.locator("main h1", has_text=title).wait_for()
    assert await page.title() == f"{title} · Loa"


async def _status(page: Page, text: str) -> None:
    await page.locator("#status", has_text=text).wait_for()


async def test_moderate_compose_send_table_export_stop(
    bot_factory: Any, fake: FakeTelegram, browser: Any, tmp_path: Path
) -> None:
    bot = await staff_bot(bot_factory, ADMIN_ID, chat_rate=100, global_rate=1000)
    comment_id = await _world(bot, fake)
    fake.private_chat(fake.user(ADMIN_ID, "Chủ"))  # where the Mini App's exports go
    page = await _open(browser, mini_app_url(bot, ADMIN_ID), tmp_path)

    # Ý kiến: approve the waiting comment (masked phone number shown, audit written).
    await _nav(page, "Ý kiến")
    item = page.locator(f"#comment-{comment_id}")
    assert "0912345678" not in await item.inner_text()
    await item.get_by_role("button", name="✅ Duyệt").click()
    await _status(page, f"Đã duyệt ý kiến #{comment_id}")
    stored = await feedback_store.get(bot.svc.db, comment_id)
    assert stored.status == feedback_rules.APPROVED
    audit = await bot.svc.db.fetch_all(
        "SELECT actor_id, action FROM audit_log WHERE target = ?", (f"comment:{comment_id}",)
    )
    assert [tuple(r) for r in audit] == [(ADMIN_ID, "feedback.approve")]

    # Thông báo: compose with a live preview and count, then send.
    await _nav(page, "Thông báo")
    await page.locator("#compose-count", has_text="3").wait_for()
    await page.get_by_label("Nội dung").fill("<b>Họp khẩn</b> lúc 14 giờ tại hội trường.")
    await page.locator("#compose-preview b", has_text="Họp khẩn").wait_for()
    await page.get_by_role("button", name="📤 Gửi thông báo").click()
    await _status(page, "Đang gửi bản tin #")

    def received() -> list[int]:
        return [sum("Họp khẩn" in m.content for m in fake.bot_messages(uid)) for uid, _ in CITIZENS]

    await eventually(lambda: received() == [1, 1, 1], timeout=10)
    bid = int(await bot.svc.db.fetch_value("SELECT MAX(id) FROM broadcasts"))
    await eventually(
        lambda: bot.svc.db.fetch_value("SELECT state FROM broadcasts WHERE id = ?", (bid,)),
        timeout=10,
    )
    await eventually(
        _state_is(bot, bid, "done"),
        timeout=10,
    )
    await asyncio.sleep(0.3)
    assert received() == [1, 1, 1]  # exactly once each

    # The per-recipient delivery table, then its .xlsx export read back.
    await page.get_by_role("link", name=f"#{bid}", exact=True).click()
    await page.locator("main h1", has_text=f"Bản tin #{bid}").wait_for()
    rows = page.locator("#deliveries tbody tr")
    await rows.nth(2).wait_for()
    assert await rows.count() == 3
    assert (
        "Đã gửi" in await rows.first.inner_text()
        or "đã gửi" in (await rows.first.inner_text()).lower()
    )
    # Inside Telegram the bot sends the export to the owner's private chat (in-app browsers
    # do not all save blob downloads).
    await page.get_by_role("button", name="⬇ Xuất .xlsx").click()
    await _status(page, f"Đã gửi tệp ban-tin-{bid}-nguoi-nhan.xlsx vào cuộc trò chuyện riêng")
    [sent] = [m for m in fake.bot_messages(ADMIN_ID) if m.document is not None]
    assert sent.document is not None
    assert sent.document.file_name == f"ban-tin-{bid}-nguoi-nhan.xlsx"
    # In an ordinary browser (signed in by `loa console-link`) it is a download.
    link = await web_sessions.create_login(bot.svc.db, ADMIN_ID, clock.now())
    desk = await _open(browser, f"{console_url(bot)}/login?t={link}", tmp_path)
    await _nav(desk, "Thông báo")
    await desk.get_by_role("link", name=f"#{bid}", exact=True).click()
    await desk.locator("main h1", has_text=f"Bản tin #{bid}").wait_for()
    async with desk.expect_download() as info:
        await desk.get_by_role("button", name="⬇ Xuất .xlsx").click()
    download = await info.value
    path = tmp_path / download.suggested_filename
    await download.save_as(path)
    assert path.name == f"ban-tin-{bid}-nguoi-nhan.xlsx"
    sheet = openpyxl.load_workbook(path).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][0] == "Mã nhóm/người" and len(values) == 4
    assert sorted(v[0] for v in values[1:]) == [uid for uid, _ in CITIZENS]
    in_chat = openpyxl.load_workbook(io.BytesIO(sent.document.data)).active
    assert in_chat is not None and list(in_chat.iter_rows(values_only=True)) == values
    assert all(isinstance(v[7], __import__("datetime").datetime) for v in values[1:])
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref

    # Stop a scheduled broadcast: nobody receives it.
    await _nav(page, "Thông báo")
    later = clock.format_local(clock.now() + 3 * 3600, bot.settings.tz)
    await page.get_by_label("Nội dung").fill("Thông báo hẹn giờ sẽ bị dừng.")
    await page.get_by_label("Hẹn giờ gửi").fill(later)
    await page.get_by_role("button", name="📤 Gửi thông báo").click()
    await _status(page, "Đã hẹn gửi bản tin #")
    scheduled = int(await bot.svc.db.fetch_value("SELECT MAX(id) FROM broadcasts"))
    await page.get_by_role("link", name=f"#{scheduled}", exact=True).click()
    await page.get_by_role("button", name="⏹ Dừng").click()
    await _status(page, "Đã dừng; 3 người nhận chưa gửi đã được hủy")
    await _state_is(bot, scheduled, "cancelled")()
    assert not any("bị dừng" in m.content for uid, _ in CITIZENS for m in fake.bot_messages(uid))


def _state_is(bot: RunningBot, bid: int, state: str) -> Any:
    async def check() -> bool:
        value = await bot.svc.db.fetch_value("SELECT state FROM broadcasts WHERE id = ?", (bid,))
        return bool(value == state)

    return check


async def _office(bot: RunningBot, fake: FakeTelegram) -> None:
    """Groups in units, a sent announcement with a failure, a directive half acknowledged:
    enough for every page to show what it is for."""
    now = clock.now()
    db = bot.svc.db
    groups = [
        (-100201, "Chi bộ khu phố 1", "phuong-chi-lang"),
        (-100202, "Chi bộ khu phố 2", "phuong-chi-lang"),
        (-100203, "Đoàn thanh niên phường", "phuong-tan-thanh"),
        (-100204, "Hội Cựu chiến binh", None),
    ]
    for cid, title, unit in groups:
        await people.upsert_chat(db, cid, "supergroup", title, None, now)
        await subs.subscribe(db, cid, ADMIN_ID, (), now)
        approval = "approved" if unit else "pending"
        await db.execute(
            "UPDATE subscriptions SET approval = ?, audience = ?, unit = ? WHERE chat_id = ?",
            (approval, "cadre" if unit else "public", unit, cid),
        )
    await db.execute(
        "INSERT INTO broadcasts (id, kind, state, title, body, parts, audience, cadre_only,"
        " cadre_ok, with_ack, directive_key, created_at, started_at, finished_at, total)"
        " VALUES (50, 'directive', 'done', 'Chỉ đạo quý IV/2026: tuyên truyền bầu cử',"
        " 'x', '[\"<b>Chỉ đạo</b>\"]', 'cadre', 1, 1, 1, '2026-Q4', ?, ?, ?, 3)",
        (now - 7200, now - 7200, now - 7000),
    )
    await db.execute(
        "INSERT INTO broadcasts (id, kind, state, body, parts, audience, created_at, started_at,"
        " finished_at, total) VALUES (51, 'announcement', 'done',"
        " 'Lịch tiếp công dân tháng 12', '[\"Lịch tiếp công dân tháng 12\"]', 'all', ?, ?, ?, 7)",
        (now - 3600, now - 3600, now - 3500),
    )
    rows = [(50, cid, "sent", None) for cid, _t, unit in groups if unit]
    rows += [(51, cid, "sent", None) for cid, _t, _u in groups]
    rows += [(51, uid, "sent", None) for uid, _n in CITIZENS[:2]]
    rows.append((51, CITIZENS[2][0], "blocked", "bot was blocked by the user"))
    await db.executemany(
        "INSERT INTO deliveries (broadcast_id, chat_id, state, last_error, sent_at, updated_at)"
        f" VALUES (?, ?, ?, ?, {now - 3500}, {now - 3500})",
        rows,
    )
    await db.execute(
        "INSERT INTO acks (broadcast_id, chat_id, user_id, at) VALUES (50, -100201, ?, ?)",
        (CITIZENS[1][0], now - 6000),
    )


async def test_every_page_renders_and_is_screenshotted(
    bot_factory: Any, fake: FakeTelegram, browser: Any, tmp_path: Path
) -> None:
    content = CONTENT
    bot = await staff_bot(
        bot_factory, ADMIN_ID, chat_rate=100, global_rate=1000, content_dir=content
    )
    await _world(bot, fake)
    await _office(bot, fake)
    console = bot.svc.features["console"]
    await console.warmed()
    console.invalidate()  # the figures computed at start-up predate _office
    folder = Path(os.environ.get("CONSOLE_SCREENSHOTS") or tmp_path)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    page = await _open(browser, mini_app_url(bot, ADMIN_ID), tmp_path)
    titles = await page.locator("#nav button").all_inner_texts()
    assert titles == [
        "Tổng quan",
        "Ý kiến",
        "Thông báo",
        "Chỉ đạo",
        "Bài viết",
        "Nhóm và đơn vị",
        "Thống kê",
        "Nhật ký",
    ]
    names = [
        "overview",
        "feedback",
        "broadcasts",
        "directives",
        "articles",
        "groups",
        "stats",
        "audit",
    ]
    for title, name in zip(titles, names, strict=True):
        await _nav(page, title)
        assert await page.locator("main .error").count() == 0, title
        await page.screenshot(path=str(folder / f"{name}.png"), full_page=True)
        assert (folder / f"{name}.png").stat().st_size > 5000


async def test_a_citizen_sees_no_pages_and_a_stranger_is_not_signed_in(
    bot_factory: Any, fake: FakeTelegram, browser: Any, tmp_path: Path
) -> None:
    bot = await staff_bot(bot_factory, ADMIN_ID)
    context = await browser.new_context()
    page = await context.new_page()
    await page.goto(mini_app_url(bot, 700555))
    await page.locator("main .error", has_text="không có quyền").wait_for()
    assert await page.locator("#nav button").count() == 0
    stranger = await browser.new_context()
    page = await stranger.new_page()
    await page.goto(console_url(bot) + "/")
    await page.locator("main .error", has_text="Chưa đăng nhập").wait_for()
