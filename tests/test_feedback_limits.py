"""Message size and forged button data in the feedback feature; the shared packer."""

from __future__ import annotations

import html
from html.parser import HTMLParser
from typing import Any

import pytest

from bot.domain.text import TELEGRAM_TEXT_LIMIT, html_visible_len, pack_html_lines, utf16_len
from bot.handlers.base import EXPIRED_BUTTON
from bot.store import feedback as store
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import eventually
from tests.test_feedback_e2e import ADMIN_CHAT, ARTICLE, _after, _notice, _start, _submit


class _Balanced(HTMLParser):
    """Fails on a tag closed out of order or left open (what Telegram refuses)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack.pop() == tag, f"</{tag}> out of order"


def _assert_parses(markup: str) -> None:
    parser = _Balanced()
    parser.feed(markup)
    parser.close()
    assert not parser.stack, f"unclosed {parser.stack}"
    # A cut entity ("&am") would survive unescaping as a bare "&" followed by letters.
    assert "&" not in markup.replace("&amp;", "").replace("&lt;", "").replace("&gt;", "")


def test_pack_keeps_lines_whole_and_under_the_limit() -> None:
    lines = [f"<code>tệp-{i}-&amp;-{'x' * 280}.md:1: thiếu &lt;date&gt;</code>" for i in range(40)]
    parts = pack_html_lines(["<b>Tiêu đề</b>", *lines])
    assert len(parts) > 1
    for part in parts:
        assert html_visible_len(part) <= TELEGRAM_TEXT_LIMIT
        _assert_parses(part)
    # Nothing lost, nothing reordered: the parts are the lines, regrouped.
    assert "\n".join(parts) == "\n".join(["<b>Tiêu đề</b>", *lines])
    # Measured after entity parsing: "&amp;" is one character, tags none.
    assert html_visible_len("<b>a&amp;b</b>") == 3
    assert pack_html_lines([]) == [] and pack_html_lines(["", "\n"]) == []


def test_pack_a_single_huge_line_becomes_plain_parts() -> None:
    huge = "<i>" + "lời &amp; đáp " * 800 + "</i>"
    parts = pack_html_lines(["đầu", huge, "cuối"], limit=1000)
    assert parts[0].startswith("đầu") and parts[-1].endswith("cuối")
    for part in parts:
        assert html_visible_len(part) <= 1000
        _assert_parses(part)
    plain = html.unescape("".join(parts))
    assert plain.count("lời & đáp") == 800


async def test_my_feedback_with_ten_long_answered_comments_is_split(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    bot = await _start(bot_factory, fake, feedback_per_hour=0, feedback_per_day=0)
    hoa = fake.user(6100, "Hoa")
    chat = fake.private_chat(hoa)
    for i in range(10):
        comment = await store.submit(
            bot.svc.db, user_id=6100, chat_id=6100, user_name="Hoa", article_id=ARTICLE,
            text=f"Ý kiến số {i + 1} & <đề nghị> " + "nội dung rất dài " * 100,
            keep_original=False, now=1_650_000_000 + i, per_hour=0, per_day=0,
            tz=bot.settings.tz,
        )  # fmt: skip
        await store.set_answer(
            bot.svc.db, comment.id, "Trả lời & <giải đáp> " + "chi tiết cụ thể " * 200,
            actor_id=ADMIN_ID, actor_role="owner", now=1_650_001_000,
        )  # fmt: skip
    before = _after(chat, fake)
    fake.send_text(chat, hoa, "/ykiencuatoi")
    # Newest first: #1 comes last.
    await fake.wait_for_message(chat, contains="#1 ·", after=before)
    replies = [m for m in fake.bot_messages(chat) if m.message_id > before]
    assert len(replies) >= 2
    for m in replies:
        assert m.text is not None and utf16_len(m.text) <= TELEGRAM_TEXT_LIMIT
    shown = "\n".join(m.text or "" for m in replies)
    for n in range(1, 11):
        assert shown.count(f"#{n} ·") == 1
    assert shown.count("↳ Trả lời: Trả lời & <giải đáp>") == 10


@pytest.mark.parametrize(
    "data",
    [
        "ykm:a:99999999999999999999",  # > 2^63: OverflowError in SQLite before the fix
        "ykm:t:18446744073709551616",
        "yki:a:1:99999999999999999999",
        "yki:r:99999999999999999999:0",
        "ykm:a:-1",
        "ykm:a",
    ],
)
async def test_forged_moderation_buttons_say_expired(
    fake: FakeTelegram, bot_factory: Any, data: str
) -> None:
    bot = await _start(bot_factory, fake)
    await _submit(fake, fake.user(6200, "Bình"), "Đề nghị sửa mái nhà văn hoá thôn")
    notice = await _notice(fake, 1)
    admin = fake.users[ADMIN_ID]
    qid = fake.press_button(ADMIN_CHAT, admin, notice.message_id, data, check=False)
    await eventually(lambda: qid in fake.callback_answers)
    assert fake.callback_answers[qid]["text"] == EXPIRED_BUTTON
    assert fake.callback_answers[qid]["show_alert"] is True
    row = await bot.svc.db.fetch_one("SELECT status, decision FROM comments WHERE id = 1")
    assert row is not None and tuple(row) == ("received", None)


async def test_forged_inbox_page_says_expired(fake: FakeTelegram, bot_factory: Any) -> None:
    await _start(bot_factory, fake)
    admin = fake.users[ADMIN_ID]
    chat = fake.private_chat(admin)
    before = _after(chat, fake)
    fake.send_text(chat, admin, "/inbox")
    page = await fake.wait_for_message(chat, after=before)
    qid = fake.press_button(chat, admin, page.message_id, "ykp:99999999999999999999", check=False)
    await eventually(lambda: qid in fake.callback_answers)
    assert fake.callback_answers[qid]["text"] == EXPIRED_BUTTON
    # A large but storable offset is simply past the end: the last page (here: empty).
    qid = fake.press_button(chat, admin, page.message_id, "ykp:9223372036854775807", check=False)
    await eventually(lambda: qid in fake.callback_answers)
    assert fake.callback_answers[qid].get("text") in (None, "")
