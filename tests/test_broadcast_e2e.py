"""End to end through the fake Bot API: subscribe, announce, directives, errors, approval."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from bot.domain import clock
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, Fault
from tests.harness import RunningBot, eventually

GROUP_ADMIN = 700001
MEMBER = 700002
EDITOR = 700003
ADMIN_CHAT = -100999


async def _subscribe_group(fake: FakeTelegram, chat_id: int, title: str, admin: int) -> None:
    fake.user(admin, "Quản trị")
    fake.group(chat_id, title, admins=[admin])
    fake.send_text(chat_id, admin, "/dangky")
    await fake.wait_for_message(chat_id, "Đã đăng ký")


async def _approve(bot: RunningBot, fake: FakeTelegram, chat_id: int) -> None:
    owner_chat = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    fake.send_text(owner_chat, ADMIN_ID, f"/approve {chat_id}")
    await fake.wait_for_message(owner_chat, "nhóm cán bộ (đã duyệt)")


async def _announce(fake: FakeTelegram, user_id: int, text: str) -> Any:
    chat = fake.private_chat(fake.user(user_id, "Người gửi"))
    before = len(fake.messages(chat))
    fake.send_text(chat, user_id, f"/thongbao {text}")
    control = await fake.wait_for_message(
        chat,
        "Số cuộc trò chuyện sẽ nhận",
        after=max([0, *[m.message_id for m in fake.messages(chat)[:before]]]),
    )
    return chat, control


def _sent_texts(fake: FakeTelegram, chat_id: int) -> list[str]:
    return [m.content for m in fake.bot_messages(chat_id)]


async def _rows(bot: RunningBot, sql: str, params: tuple = ()) -> list[Any]:
    return list(await bot.svc.db.fetch_all(sql, params))


async def test_group_subscribes_admin_announces_group_receives(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    await _subscribe_group(fake, -1001, "Chi bộ phường Chi Lăng", GROUP_ADMIN)
    # a plain member may not subscribe/unsubscribe the group
    fake.user(MEMBER, "Thành viên")
    fake.group(-1001, "Chi bộ phường Chi Lăng", members=[MEMBER])
    fake.send_text(-1001, MEMBER, "/huydangky")
    await fake.wait_for_message(-1001, "Chỉ quản trị viên của nhóm")
    # a citizen subscribes privately
    citizen = fake.private_chat(fake.user(700010, "Dân"))
    fake.send_text(citizen, 700010, "/subscribe")
    await fake.wait_for_message(citizen, "Đã đăng ký")

    chat, control = await _announce(fake, ADMIN_ID, "<b>Lịch họp</b> chi bộ & tổ dân phố")
    assert "Số cuộc trò chuyện sẽ nhận: 2" in control.content
    preview = fake.bot_messages(chat)[-2]
    assert preview.content == "Lịch họp chi bộ & tổ dân phố"
    fake.press_button(
        chat,
        ADMIN_ID,
        control.message_id,
        _cb(fake, chat, control.message_id, f"bc:go:{_bid(control)}"),
    )
    msg = await fake.wait_for_message(-1001, "Lịch họp chi bộ & tổ dân phố")
    assert any(e["type"] == "bold" for e in msg.entities)
    await fake.wait_for_message(citizen, "Lịch họp")
    await fake.wait_for_message(chat, "Báo cáo gửi", timeout=8)
    rows = await _rows(bot, "SELECT chat_id, state, message_ids FROM deliveries ORDER BY chat_id")
    assert [(r[0], r[1]) for r in rows] == [(-1001, "sent"), (700010, "sent")]
    assert json.loads(rows[0][2]) == [msg.message_id]


def _cb(fake: FakeTelegram, chat: Any, message_id: int, plain: str) -> str:
    """The callback data of the button on that message for `plain` ("bc:go:<id>",
    "bc:a:<id>:cadre"), with the version it carries (issue 10); `plain` if none."""
    want = plain.split(":")
    chat_id = chat if isinstance(chat, int) else chat.id
    for b in fake.message(chat_id, message_id).buttons:
        have = b.get("callback_data", "").split(":")
        if len(have) == len(want) + 1 and have[:3] == want[:3] and have[4:] == want[3:]:
            return ":".join(have)
    return plain


async def _confirm_edit(fake: FakeTelegram, chat: Any, user_id: int = ADMIN_ID) -> None:
    """Press [Xác nhận sửa] under the preview of a new text (issue 10: nothing already
    delivered is replaced without it)."""
    preview = await fake.wait_for_message(chat, "Xác nhận để thay")
    data = next(
        b["callback_data"] for b in preview.buttons if b["callback_data"].startswith("bc:ec:")
    )
    fake.press_button(chat, user_id, preview.message_id, data)


def _bid(control: Any) -> int:
    for b in control.buttons:
        data = b.get("callback_data", "")
        if data.startswith("bc:go:"):
            return int(data.split(":")[2])
    raise AssertionError("no send button")


async def test_non_admin_refused(bot: RunningBot, fake: FakeTelegram) -> None:
    stranger = fake.private_chat(fake.user(700020, "Lạ"))
    fake.send_text(stranger, 700020, "/announce Tin giả")
    await fake.wait_for_message(stranger, "không có quyền")
    assert await _rows(bot, "SELECT id FROM broadcasts") == []
    # a non-admin pressing [Gửi ngay] on an admin's draft (forged or forwarded) is refused
    await _subscribe_group(fake, -1002, "Tổ 1", GROUP_ADMIN)
    chat, control = await _announce(fake, ADMIN_ID, "Nội dung")
    bid = _bid(control)
    qid = fake.press_button(
        chat, 700020, control.message_id, _cb(fake, chat, control.message_id, f"bc:go:{bid}")
    )
    await fake.wait_for(lambda: fake.callback_answers.get(qid))
    assert "không có quyền" in fake.callback_answers[qid]["text"]
    rows = await _rows(bot, "SELECT state FROM broadcasts WHERE id = ?", (bid,))
    assert rows[0][0] == "draft"
    assert await _rows(bot, "SELECT * FROM deliveries") == []


async def test_html_validated_before_sending(bot: RunningBot, fake: FakeTelegram) -> None:
    chat = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    fake.send_text(chat, ADMIN_ID, "/announce <b>chưa đóng")
    await fake.wait_for_message(chat, "chưa được đóng")
    fake.send_text(chat, ADMIN_ID, "/announce <script>x</script>")
    await fake.wait_for_message(chat, "không được Telegram hỗ trợ")
    assert await _rows(bot, "SELECT id FROM broadcasts") == []


async def test_conversation_and_long_text_split(bot: RunningBot, fake: FakeTelegram) -> None:
    await _subscribe_group(fake, -1003, "Tổ 2", GROUP_ADMIN)
    chat = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    fake.send_text(chat, ADMIN_ID, "/announce")
    await fake.wait_for_message(chat, "Gửi nội dung thông báo")
    paragraphs = [f"Đoạn {i}: " + "nội dung tuyên truyền " * 60 for i in range(8)]
    fake.send_text(chat, ADMIN_ID, "\n\n".join(paragraphs))
    control = await fake.wait_for_message(chat, "Số cuộc trò chuyện sẽ nhận")
    assert "(3 tin nhắn)" in control.content
    fake.press_button(
        chat,
        ADMIN_ID,
        control.message_id,
        _cb(fake, chat, control.message_id, f"bc:go:{_bid(control)}"),
    )
    await fake.wait_for(lambda: len(fake.bot_messages(-1003)) >= 4, timeout=8)
    texts = _sent_texts(fake, -1003)[-3:]
    assert texts[0].startswith("Đoạn 0") and all(len(t) <= 4096 for t in texts)
    assert all(t.startswith("Đoạn") for t in texts)  # cut at paragraph boundaries
    assert " ".join(" ".join(texts).split()) == " ".join(" ".join(paragraphs).split())
    await eventually(lambda: _one(bot, "SELECT state FROM deliveries", "sent"))
    rows = await _rows(bot, "SELECT message_ids FROM deliveries")
    assert len(json.loads(rows[0][0])) == 3


async def test_schedule_refuses_past_and_waits(bot: RunningBot, fake: FakeTelegram) -> None:
    await _subscribe_group(fake, -1004, "Tổ 3", GROUP_ADMIN)
    chat, control = await _announce(fake, ADMIN_ID, "Hẹn giờ")
    bid = _bid(control)
    fake.press_button(
        chat, ADMIN_ID, control.message_id, _cb(fake, chat, control.message_id, f"bc:at:{bid}")
    )
    await fake.wait_for_message(chat, "Nhập thời gian gửi")
    fake.send_text(chat, ADMIN_ID, "01/01/2020 08:00")
    await fake.wait_for_message(chat, "đã qua")
    later = clock.format_local(clock.now() + 3 * 3600, bot.settings.tz)
    fake.send_text(chat, ADMIN_ID, later)
    await fake.wait_for_message(chat, "Đã hẹn gửi")
    rows = await _rows(
        bot, "SELECT state, next_attempt_at FROM deliveries WHERE broadcast_id = ?", (bid,)
    )
    assert rows[0][0] == "pending" and rows[0][1] > clock.now() + 3 * 3600 - 120
    # Moving the time into the past (as if it came): the dispatcher sends it.
    await bot.svc.db.execute("UPDATE deliveries SET next_attempt_at = 0")
    bot.svc.features["dispatcher"].wake()
    await fake.wait_for_message(-1004, "Hẹn giờ")


async def test_directive_never_reaches_unapproved_group(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    await _subscribe_group(fake, -1005, "Nhóm cán bộ", GROUP_ADMIN)
    await _subscribe_group(fake, -1006, "Nhóm chưa duyệt", GROUP_ADMIN)
    await _approve(bot, fake, -1005)
    _write_directive(bot)
    chat = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    fake.send_text(chat, ADMIN_ID, "/directive quý II/2022")
    control = await fake.wait_for_message(chat, "Số cuộc trò chuyện sẽ nhận: 1")
    fake.press_button(
        chat,
        ADMIN_ID,
        control.message_id,
        _cb(fake, chat, control.message_id, f"bc:go:{_bid(control)}"),
    )
    msg = await fake.wait_for_message(-1005, "CHỈ ĐẠO QUÝ II/2022")
    assert msg.buttons[0]["callback_data"].startswith("ack:")
    assert not any("CHỈ ĐẠO" in t for t in _sent_texts(fake, -1006))
    # acknowledgement and /acks
    fake.press_button(-1005, GROUP_ADMIN, msg.message_id, msg.buttons[0]["callback_data"])
    await fake.wait_for(
        lambda: "(1)" in fake.message(-1005, msg.message_id).buttons[0]["text"], timeout=6
    )
    rows = await _rows(bot, "SELECT chat_id, user_id FROM acks")
    assert [(r[0], r[1]) for r in rows] == [(-1005, GROUP_ADMIN)]
    # /chidao: in the cadre group yes, in the other no
    fake.send_text(-1006, GROUP_ADMIN, "/chidao")
    await fake.wait_for_message(-1006, "nội bộ")


async def test_directive_recheck_at_send_time(bot: RunningBot, fake: FakeTelegram) -> None:
    """Approval revoked after the broadcast was created: skipped, never sent."""
    await _subscribe_group(fake, -1007, "A", GROUP_ADMIN)
    await _subscribe_group(fake, -1008, "B", GROUP_ADMIN)
    await _approve(bot, fake, -1007)
    await _approve(bot, fake, -1008)
    _write_directive(bot)
    chat = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    fake.send_text(chat, ADMIN_ID, "/directive 2022-Q2")
    control = await fake.wait_for_message(chat, "Số cuộc trò chuyện sẽ nhận: 2")
    bid = _bid(control)
    # schedule, then revoke B before the time comes
    fake.press_button(
        chat, ADMIN_ID, control.message_id, _cb(fake, chat, control.message_id, f"bc:at:{bid}")
    )
    await fake.wait_for_message(chat, "Nhập thời gian")
    fake.send_text(chat, ADMIN_ID, clock.format_local(clock.now() + 3600, bot.settings.tz))
    await fake.wait_for_message(chat, "Đã hẹn gửi")
    fake.send_text(chat, ADMIN_ID, "/revoke -1008")
    await fake.wait_for_message(chat, "thu hồi quyền nhóm cán bộ")
    await bot.svc.db.execute("UPDATE deliveries SET next_attempt_at = 0")
    bot.svc.features["dispatcher"].wake()
    await fake.wait_for_message(-1007, "CHỈ ĐẠO")
    await eventually(lambda: _state(bot, bid, -1008), timeout=5)
    assert not any("CHỈ ĐẠO" in t for t in _sent_texts(fake, -1008))


async def _state(bot: RunningBot, bid: int, chat_id: int) -> bool:
    row = await bot.svc.db.fetch_one(
        "SELECT state, last_error FROM deliveries WHERE broadcast_id = ? AND chat_id = ?",
        (bid, chat_id),
    )
    return row is not None and row[0] == "skipped" and "cadre" in row[1]


async def test_editor_needs_admin_approval_for_cadre(bot_factory: Any, fake: FakeTelegram) -> None:
    bot = await bot_factory(admin_chat_id=ADMIN_CHAT)
    await bot.svc.db.execute(
        "INSERT INTO staff_roles (user_id, role, granted_by, granted_at)"
        " VALUES (?, 'editor', ?, 0)",
        (EDITOR, ADMIN_ID),
    )
    fake.user(ADMIN_ID, "Chủ")
    fake.group(ADMIN_CHAT, "Ban Tuyên giáo", admins=[ADMIN_ID])
    await _subscribe_group(fake, -1009, "Cán bộ", GROUP_ADMIN)
    await _approve(bot, fake, -1009)
    chat, control = await _announce(fake, EDITOR, "Nội bộ: họp chi ủy")
    bid = _bid(control)
    fake.press_button(
        chat, EDITOR, control.message_id, _cb(fake, chat, control.message_id, f"bc:a:{bid}:cadre")
    )
    await fake.wait_for(lambda: "✓ Cán bộ" in str(fake.message(chat, control.message_id).buttons))
    fake.press_button(
        chat, EDITOR, control.message_id, _cb(fake, chat, control.message_id, f"bc:go:{bid}")
    )
    await fake.wait_for_message(chat, "quản trị viên duyệt")
    approval = await fake.wait_for_message(ADMIN_CHAT, "Cần một quản trị viên duyệt")
    assert not any("họp chi ủy" in t for t in _sent_texts(fake, -1009))
    # the editor cannot approve their own broadcast
    qid = fake.press_button(
        ADMIN_CHAT,
        EDITOR,
        approval.message_id,
        _cb(fake, ADMIN_CHAT, approval.message_id, f"bc:ok:{bid}"),
    )
    await fake.wait_for(lambda: fake.callback_answers.get(qid))
    rows = await _rows(bot, "SELECT state FROM broadcasts WHERE id = ?", (bid,))
    assert rows[0][0] == "awaiting_approval"
    assert not any("họp chi ủy" in t for t in _sent_texts(fake, -1009))
    fake.press_button(
        ADMIN_CHAT,
        ADMIN_ID,
        approval.message_id,
        _cb(fake, ADMIN_CHAT, approval.message_id, f"bc:ok:{bid}"),
    )
    await fake.wait_for_message(-1009, "Nội bộ: họp chi ủy")


async def test_forbidden_deactivates_and_start_reactivates(
    bot: RunningBot, fake: FakeTelegram
) -> None:
    users = [700030, 700031]
    for uid in users:
        chat = fake.private_chat(fake.user(uid, "Dân"))
        fake.send_text(chat, uid, "/dangky")
        await fake.wait_for_message(chat, "Đã đăng ký")
    fake.add_fault(Fault.forbidden(), method="sendMessage", chat_id=700031)
    chat, control = await _announce(fake, ADMIN_ID, "Thông báo chung")
    fake.press_button(
        chat,
        ADMIN_ID,
        control.message_id,
        _cb(fake, chat, control.message_id, f"bc:go:{_bid(control)}"),
    )
    await fake.wait_for_message(700030, "Thông báo chung")
    await eventually(
        lambda: _one(bot, "SELECT state FROM deliveries WHERE chat_id = 700031", "blocked"),
        timeout=5,
    )
    row = await bot.svc.db.fetch_one(
        "SELECT active, inactive_reason FROM subscriptions WHERE chat_id = 700031"
    )
    assert row[0] == 0 and "forbidden" in row[1]
    # a new /start reactivates
    fake.send_text(700031, 700031, "/start")
    await fake.wait_for_message(700031, "Xin chào")
    row = await bot.svc.db.fetch_one("SELECT active FROM subscriptions WHERE chat_id = 700031")
    assert row[0] == 1
    # my_chat_member removal deactivates with a reason; re-adding reactivates
    await _subscribe_group(fake, -1010, "Tổ 9", GROUP_ADMIN)
    fake.bot_removed(-1010, GROUP_ADMIN)
    await eventually(
        lambda: _one(
            bot, "SELECT inactive_reason FROM subscriptions WHERE chat_id = -1010", "removed"
        )
    )
    fake.bot_added(-1010, GROUP_ADMIN)
    await eventually(lambda: _one(bot, "SELECT active FROM subscriptions WHERE chat_id = -1010", 1))


async def _one(bot: RunningBot, sql: str, expected: Any) -> bool:
    return await bot.svc.db.fetch_value(sql) == expected


async def test_chat_migrated_rewrites_and_resends(bot: RunningBot, fake: FakeTelegram) -> None:
    await _subscribe_group(fake, -1011, "Nhóm cũ", GROUP_ADMIN)
    await _approve(bot, fake, -1011)
    # upgraded without the bot seeing the service message: only the 400 tells us
    fake.add_fault(Fault.migrate(-1009011), method="sendMessage", chat_id=-1011)
    fake.group(-1009011, "Nhóm cũ", supergroup=True, admins=[GROUP_ADMIN])
    chat, control = await _announce(fake, ADMIN_ID, "Sau khi nâng cấp")
    fake.press_button(
        chat,
        ADMIN_ID,
        control.message_id,
        _cb(fake, chat, control.message_id, f"bc:go:{_bid(control)}"),
    )
    await fake.wait_for_message(-1009011, "Sau khi nâng cấp")
    await eventually(lambda: _one(bot, "SELECT state FROM deliveries", "sent"))
    row = await bot.svc.db.fetch_one("SELECT chat_id, state FROM deliveries")
    assert tuple(row) == (-1009011, "sent")
    sub = await bot.svc.db.fetch_one("SELECT approval FROM subscriptions WHERE chat_id = -1009011")
    assert sub[0] == "approved"
    assert (
        await bot.svc.db.fetch_value("SELECT COUNT(*) FROM subscriptions WHERE chat_id = -1011")
        == 0
    )


async def test_429_pauses_and_resumes_no_loss(bot: RunningBot, fake: FakeTelegram) -> None:
    ids = list(range(700100, 700130))
    for uid in ids:
        fake.private_chat(fake.user(uid, "Dân"))
        fake.send_text(uid, uid, "/dangky")
    await eventually(
        lambda: _count(bot, "SELECT COUNT(*) FROM subscriptions", len(ids)), timeout=10
    )
    fake.add_fault(Fault.retry_after(1), method="sendMessage", chat_id=ids[5], times=2)
    fake.add_fault(Fault.server_error(502), method="sendMessage", chat_id=ids[7], times=1)
    chat, control = await _announce(fake, ADMIN_ID, "Không ai bị bỏ sót")
    fake.press_button(
        chat,
        ADMIN_ID,
        control.message_id,
        _cb(fake, chat, control.message_id, f"bc:go:{_bid(control)}"),
    )
    await eventually(
        lambda: _count(bot, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'", len(ids)),
        timeout=15,
    )
    got = Counter(
        uid for uid in ids for m in fake.bot_messages(uid) if "Không ai bị bỏ sót" in m.content
    )
    assert all(got[uid] == 1 for uid in ids), got
    row = await bot.svc.db.fetch_one("SELECT attempts FROM deliveries WHERE chat_id = ?", (ids[5],))
    assert row[0] == 0  # 429 does not use an attempt
    row = await bot.svc.db.fetch_one("SELECT attempts FROM deliveries WHERE chat_id = ?", (ids[7],))
    assert row[0] == 1


async def _count(bot: RunningBot, sql: str, n: int) -> bool:
    return await bot.svc.db.fetch_value(sql) == n


async def test_stop_and_retry_failed(bot: RunningBot, fake: FakeTelegram) -> None:
    for uid in (700200, 700201):
        fake.private_chat(fake.user(uid, "Dân"))
        fake.send_text(uid, uid, "/dangky")
        await fake.wait_for_message(uid, "Đã đăng ký")
    fake.add_fault(Fault.bad_request("chat not found"), method="sendMessage", chat_id=700201)
    chat, control = await _announce(fake, ADMIN_ID, "Thử lại")
    bid = _bid(control)
    fake.press_button(
        chat, ADMIN_ID, control.message_id, _cb(fake, chat, control.message_id, f"bc:go:{bid}")
    )
    await eventually(
        lambda: _one(bot, "SELECT state FROM deliveries WHERE chat_id = 700201", "failed")
    )
    await fake.wait_for_message(chat, "Báo cáo gửi")
    last = fake.bot_messages(chat)[-1].message_id
    fake.send_text(chat, ADMIN_ID, f"/broadcast {bid}")
    view = await fake.wait_for_message(chat, "hat not found", after=last)
    assert "đã gửi: 1" in view.content and "lỗi: 1" in view.content
    fake.press_button(
        chat, ADMIN_ID, view.message_id, _cb(fake, chat, view.message_id, f"bc:retry:{bid}")
    )
    await eventually(
        lambda: _one(bot, "SELECT state FROM deliveries WHERE chat_id = 700201", "sent")
    )
    assert sum("Thử lại" in t for t in _sent_texts(fake, 700200)) == 1


def _write_directive(bot: RunningBot) -> None:
    import shutil
    from pathlib import Path

    folder = bot.settings.content_dir / "directives"
    folder.mkdir(parents=True, exist_ok=True)
    src = Path(__file__).resolve().parent.parent / "content" / "directives" / "2022-Q2.md"
    shutil.copy(src, folder / "2022-Q2.md")
