"""Issue 10, item 11 end to end: hostile input never reaches Telegram unescaped,
unbounded or unnormalised; replies follow the broadcasts' migration and 403 rules."""

from __future__ import annotations

import logging
import unicodedata
from typing import Any

import pytest

from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, Fault
from tests.harness import RunningBot, eventually

GROUP_ADMIN = 7101


def _last(fake: FakeTelegram, chat_id: int) -> int:
    return max([0, *[m.message_id for m in fake.messages(chat_id)]])


async def _ask(fake: FakeTelegram, chat_id: int, user_id: int, text: str) -> str:
    after = _last(fake, chat_id)
    fake.send_text(chat_id, user_id, text)
    return (await fake.wait_for_message(chat_id, after=after)).content


def _errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.fixture(autouse=True)
def _capture(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)


async def test_unicode_digits_and_calendar_edges_get_vietnamese_replies(
    bot: RunningBot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    for command, expected in (
        ("/audit ²", "Cách dùng: /nhatky"),
        ("/audit ١٢", "Cách dùng: /nhatky"),
        ("/stats ²", "Kỳ báo cáo không hợp lệ"),
        ("/thongke 9999-Q4", "Kỳ báo cáo không hợp lệ"),
        ("/thongke 0001-Q1", "Kỳ báo cáo không hợp lệ"),
        ("/export 31/12/9999", ""),
        ("/export 31/02/2022<b>", "Ngày không hợp lệ"),
        ("/grant ١٢٣ editor", "Cách dùng"),
    ):
        text = await _ask(fake, owner.id, ADMIN_ID, command)
        assert expected in text, (command, text)
    qid = fake.inline_query(ADMIN_ID, "tin", offset="²")
    await fake.wait_for(lambda: fake.inline_queries[qid]["answered"])
    assert fake.bad_requests == []
    assert _errors(caplog) == []


async def test_long_and_html_arguments_are_quoted_and_bounded(
    bot: RunningBot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    citizen = fake.private_chat(fake.user(7102, "Dân"))
    text = await _ask(fake, citizen.id, 7102, "/dangky " + "<b>chu-de-la&" * 500)
    assert "Chủ đề không có" in text and len(text) <= 4096 and text.endswith("để xem danh sách.")
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    text = await _ask(fake, owner.id, ADMIN_ID, "/grant 123 " + "<i>vai-tro" * 800)
    assert "không hợp lệ" in text and len(text) <= 4096
    text = await _ask(fake, owner.id, ADMIN_ID, "/bai " + "<x>" * 3000)
    assert "Không tìm thấy" in text or "không" in text
    assert fake.bad_requests == []
    assert _errors(caplog) == []


async def test_decomposed_names_and_titles_reach_messages_in_nfc(
    bot_factory: Any, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    await bot_factory(admin_chat_id=-1007100)
    fake.user(ADMIN_ID, "Chủ")
    fake.group(-1007100, "Ban Tuyên giáo", admins=[ADMIN_ID])
    nfd_title = unicodedata.normalize("NFD", "Chi bộ Phường Điện Biên")
    nfd_name = unicodedata.normalize("NFD", "Nguyễn Thị Hồng")
    fake.user(GROUP_ADMIN, nfd_name)
    fake.group(-1007101, nfd_title, admins=[GROUP_ADMIN])
    fake.send_text(-1007101, GROUP_ADMIN, "/dangky")
    await fake.wait_for_message(-1007101, "Đã đăng ký")
    notice = await fake.wait_for_message(-1007100, "vừa đăng ký")
    assert "Chi bộ Phường Điện Biên" in notice.content
    owner = fake.private_chat(ADMIN_ID)
    listing = await _ask(fake, owner.id, ADMIN_ID, "/subscribers")
    assert "Chi bộ Phường Điện Biên" in listing
    fake.private_chat(GROUP_ADMIN)
    await _ask(fake, GROUP_ADMIN, GROUP_ADMIN, "/start")
    assert fake.non_nfc_texts == []
    assert _errors(caplog) == []


async def test_reply_to_a_migrated_group_goes_to_the_new_id(
    bot: RunningBot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    fake.user(GROUP_ADMIN, "Trưởng nhóm")
    fake.group(-7200, "Tổ 5", admins=[GROUP_ADMIN])
    fake.send_text(-7200, GROUP_ADMIN, "/dangky")
    await fake.wait_for_message(-7200, "Đã đăng ký")
    # The group became a supergroup; the bot did not see the service message, so only
    # the 400 on its next reply says so.
    fake.add_fault(Fault.migrate(-1007200), method="sendMessage", chat_id=-7200)
    fake.group(-1007200, "Tổ 5", supergroup=True, admins=[GROUP_ADMIN])
    fake.send_text(-7200, GROUP_ADMIN, "/help")
    await fake.wait_for_message(-1007200, "Các lệnh của Loa")
    moved = await bot.svc.db.fetch_value(
        "SELECT COUNT(*) FROM subscriptions WHERE chat_id = -1007200"
    )
    assert moved == 1
    assert _errors(caplog) == []


async def test_403_on_a_reply_is_not_an_unhandled_error(
    bot: RunningBot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    fake.user(GROUP_ADMIN, "Trưởng nhóm")
    fake.group(-7300, "Tổ 6", admins=[GROUP_ADMIN])
    fake.send_text(-7300, GROUP_ADMIN, "/dangky")
    await fake.wait_for_message(-7300, "Đã đăng ký")
    # Kicked while Telegram still delivers a command from before (no my_chat_member yet).
    fake.add_fault(
        Fault.forbidden("Forbidden: bot was kicked from the group chat"),
        method="sendMessage",
        chat_id=-7300,
    )
    fake.send_text(-7300, GROUP_ADMIN, "/help")
    await fake.wait_for(
        lambda: any(c.method == "sendMessage" and c.status == 403 for c in fake.calls)
    )

    async def inactive() -> bool:
        value = await bot.svc.db.fetch_value(
            "SELECT active FROM subscriptions WHERE chat_id = -7300"
        )
        return value == 0

    await eventually(inactive)
    assert _errors(caplog) == []


async def test_domain_errors_quote_what_the_user_typed(
    bot: RunningBot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    """Unit codes, unit names and HTML mistakes echoed in an error never break the reply
    (found by the fuzz run: /setunit with "<i>" lost the reply to a 400)."""
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    fake.user(7101, "Trưởng nhóm")
    fake.group(-1007200, "Phường <Mới>", admins=[7101])
    for command, expected in (
        ("/setunit -1007200 <i>", "không hợp lệ"),
        ("/donvi gop <b>ma&cu</b> phuong-moi", "Không có đơn vị"),
        ("/thongbao Xin chào <b oops", "Thẻ HTML không đúng"),
    ):
        text = await _ask(fake, owner.id, ADMIN_ID, command)
        assert expected in text, (command, text)
    assert fake.bad_requests == []
    assert _errors(caplog) == []
