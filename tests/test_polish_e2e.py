"""Rough edges in Telegram (issue 11): Vietnamese-first menus and /help by chat and role,
/start buttons, the group introduction, inline hints, the [Gửi ngay] summary and the
final progress state, the sender line, topic names, the owners' count."""

from __future__ import annotations

import re
from typing import Any

from bot.domain.text import shorten
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import RunningBot, eventually

CITIZEN = 710001
GROUP = -1007100
# English command names and words that must not appear in what a citizen reads.
ENGLISH = re.compile(r"/(news|article|search|subscribe|feedback|topics|cancel)\b|\breply\b")


def _commands(text: str) -> set[str]:
    return set(re.findall(r"^/(\w+)", text, re.M))


async def test_citizen_help_and_menus_are_vietnamese_first(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    chat = fake.private_chat(fake.user(CITIZEN, "Dân"))
    fake.send_text(chat, CITIZEN, "/help")
    text = (await fake.wait_for_message(chat, "Các lệnh của Loa")).content
    shown = _commands(text)
    assert {"tin", "bai", "timkiem", "dangky", "ykien"} <= shown
    assert "chidao" not in shown  # answers only in cadre groups
    assert not shown & {"news", "article", "search", "subscribe", "capquyen", "thongbao"}
    assert not ENGLISH.search(text), text

    private_menu = {c["command"] for c in fake.my_commands({"type": "all_private_chats"})}
    group_menu = {c["command"] for c in fake.my_commands({"type": "all_group_chats"})}
    assert {"tin", "timkiem", "ykien"} <= private_menu and "chidao" not in private_menu
    assert "chidao" in group_menu and "ykiencuatoi" not in group_menu
    assert not (private_menu | group_menu) & {"news", "search", "grant", "export"}

    # English names keep working as aliases.
    fake.send_text(chat, CITIZEN, "/news")
    await fake.wait_for_message(chat, predicate=lambda m: "Tin" in m.content or "bài" in m.content)


async def test_group_help_lists_what_works_there(bot: RunningBot, fake: FakeTelegram) -> None:
    fake.user(ADMIN_ID, "Chủ")
    fake.group(GROUP, "Chi bộ khu 1", admins=[ADMIN_ID])
    fake.send_text(GROUP, ADMIN_ID, "/help")
    text = (await fake.wait_for_message(GROUP, "dùng được trong nhóm")).content
    shown = _commands(text)
    assert "chidao" in shown and "dangky" in shown
    assert "ykiencuatoi" not in shown and "capquyen" not in shown  # staff: private only
    assert "tin nhắn riêng" in text


async def test_group_introduction_when_added(bot: RunningBot, fake: FakeTelegram) -> None:
    fake.user(CITIZEN, "Trưởng nhóm")
    fake.group(GROUP, "Tổ dân phố 3", admins=[CITIZEN])
    fake.bot_added(GROUP, CITIZEN)
    intro = await fake.wait_for_message(GROUP, "Xin chào cả nhóm")
    assert "/dangky" in intro.content and "quản trị viên của nhóm" in intro.content


async def test_start_offers_buttons_that_work(bot: RunningBot, fake: FakeTelegram) -> None:
    chat = fake.private_chat(fake.user(CITIZEN, "Dân"))
    fake.send_text(chat, CITIZEN, "/start")
    welcome = await fake.wait_for_message(chat, "Xin chào")
    data = {b.get("callback_data") for b in welcome.buttons}
    assert {"st:tin", "st:dangky", "st:ykien", "st:help"} <= data
    assert any("switch_inline_query_current_chat" in b for b in welcome.buttons)
    fake.press_button(chat, CITIZEN, welcome.message_id, "st:dangky")
    await fake.wait_for_message(chat, "Đã đăng ký", after=welcome.message_id)
    fake.press_button(chat, CITIZEN, welcome.message_id, "st:ykien")
    await fake.wait_for_message(chat, "Mời bạn nhập ý kiến", after=welcome.message_id)


async def test_inline_query_without_results_explains_search(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    fake.user(CITIZEN, "Dân")
    qid = fake.inline_query(CITIZEN, "zzzkhongcobainao")
    await eventually(lambda: qid in fake.inline_answers)
    answer: dict[str, Any] = fake.inline_answers[qid]
    assert answer["results"] == [] and answer["button"]["start_parameter"] == "tim"
    chat = fake.private_chat(CITIZEN)
    fake.send_text(chat, CITIZEN, "/start tim")
    hint = await fake.wait_for_message(chat, "Cách tìm bài")
    assert "@loa_test_bot" in hint.content


async def test_owner_count_and_vietnamese_roles(bot: RunningBot, fake: FakeTelegram) -> None:
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    fake.user(CITIZEN, "Lan")
    fake.private_chat(CITIZEN)
    fake.send_text(owner, ADMIN_ID, f"/capquyen {CITIZEN} biên tập")
    await fake.wait_for_message(owner, "Đã cấp vai trò")
    fake.send_text(owner, ADMIN_ID, "/canbo")
    text = (await fake.wait_for_message(owner, "Cán bộ quản trị Loa")).content
    assert "Chủ sở hữu (1):" in text and "Biên tập viên (1):" in text
    fake.send_text(owner, ADMIN_ID, "/capquyen")
    usage = (await fake.wait_for_message(owner, "Cách dùng")).content
    assert "user_id" not in usage and "mã người dùng" in usage and "admin|" not in usage


async def test_send_now_leaves_a_summary_and_a_final_state(
    bot_factory: Any, fake: FakeTelegram
) -> None:
    bot = await bot_factory(sender_line="📢 Ban Tuyên giáo Thành ủy Lạng Sơn", progress_interval=1)
    citizen = fake.private_chat(fake.user(CITIZEN, "Dân"))
    fake.send_text(citizen, CITIZEN, "/dangky")
    await fake.wait_for_message(citizen, "Đã đăng ký")
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    fake.send_text(owner, ADMIN_ID, "/thongbao Họp tổ dân phố lúc 19 giờ")
    control = await fake.wait_for_message(owner, "Số cuộc trò chuyện sẽ nhận")
    bid = re.search(r"#(\d+)", control.content)
    assert bid is not None
    go = next(
        b["callback_data"] for b in control.buttons if b["callback_data"].startswith("bc:go:")
    )
    fake.press_button(owner, ADMIN_ID, control.message_id, go)  # carries the version (issue 10)
    got = await fake.wait_for_message(citizen, "Họp tổ dân phố")
    assert got.content.startswith("📢 Ban Tuyên giáo Thành ủy Lạng Sơn\n")
    await eventually(lambda: "Đã bắt đầu gửi" in fake.message(owner, control.message_id).content)
    assert fake.message(owner, control.message_id).buttons == []  # no stale buttons
    await fake.wait_for_message(owner, "Đã gửi xong bản tin", timeout=10)
    assert not any(m.content.startswith("📤 Đang gửi") for m in fake.bot_messages(owner)[1:])
    assert bot.settings.topic_name("quoc-phong-an-ninh") == "Quốc phòng – An ninh"


def test_shorten_cuts_between_words() -> None:
    title = "Giao ban công tác tuyên giáo quý I/2022 của Thành ủy Lạng Sơn"
    cut = shorten(title, 30)
    assert len(cut) <= 30 and cut.endswith("…")
    assert title.startswith(cut[:-1]) and title[len(cut) - 1] == " "
    assert shorten("ngắn", 30) == "ngắn"


async def test_drafts_survive_a_restart(bot_factory: Any, fake: FakeTelegram) -> None:
    """A citizen's comment (typed, or waiting for [Gửi]) and an admin's announcement
    being written are still there after the Application stops and starts again."""
    from tests.harness import stop_bot

    first = await bot_factory()
    writer = fake.private_chat(fake.user(CITIZEN, "Dân"))
    confirmer = fake.private_chat(fake.user(CITIZEN + 1, "Hoa"))
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    fake.send_text(writer, CITIZEN, "/ykien")
    await fake.wait_for_message(writer, "Mời bạn nhập ý kiến")
    fake.send_text(confirmer, CITIZEN + 1, "/ykien Đường ở tổ 5 bị ngập khi trời mưa to")
    review = await fake.wait_for_message(confirmer, "Xem lại ý kiến của bạn")
    fake.send_text(owner, ADMIN_ID, "/thongbao")
    await fake.wait_for_message(owner, "Gửi nội dung")
    await stop_bot(first)

    second = await bot_factory()
    assert second.app is not first.app
    last = fake.messages(writer)[-1].message_id
    fake.send_text(writer, CITIZEN, "Đề nghị sửa đèn chiếu sáng ở ngõ 12 phường Chi Lăng")
    await fake.wait_for_message(writer, "Xem lại ý kiến của bạn", after=last)
    fake.press_button(confirmer, CITIZEN + 1, review.message_id, "ykc:s")
    await fake.wait_for_message(confirmer, "Đã nhận ý kiến", after=review.message_id - 1)
    last = fake.messages(owner)[-1].message_id
    fake.send_text(owner, ADMIN_ID, "Lịch tiếp công dân tháng này")
    await fake.wait_for_message(owner, "Số cuộc trò chuyện sẽ nhận", after=last)
    rows = await second.svc.db.fetch_all("SELECT text_masked FROM comments")
    assert [r[0] for r in rows] == ["Đường ở tổ 5 bị ngập khi trời mưa to"]


def test_saved_drafts_round_trip_through_json() -> None:
    """Drafts come back as the same dataclass (tuples too); what JSON cannot hold is
    left out instead of breaking the save."""
    from bot.handlers.feedback_state import Draft
    from bot.handlers.persistence import dumps, loads

    draft = Draft("confirm", 5, "bai-1", "Nội dung", units=("phuong-a", "phuong-b"))
    data = loads(dumps({"feedback_draft": draft, "bc_at": 7, "odd": object()}))
    assert data == {"feedback_draft": draft, "bc_at": 7}
    assert isinstance(data["feedback_draft"].units, tuple)
