"""Ý kiến as casework end to end (issue 15): the real Application against the fake Bot
API (forum topics, message_thread_id), real SQLite, a controlled clock for reminders."""

from __future__ import annotations

import csv
import io
import time
from datetime import date, datetime, timedelta
from typing import Any

from openpyxl import load_workbook

from bot.domain import casework as rules
from bot.domain.roles import Role
from bot.handlers.base import NO_PERMISSION
from bot.store import reports
from bot.store import subscriptions as subs
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeChat, FakeTelegram, FakeUser, StoredMessage
from tests.harness import RunningBot, eventually

ADMIN_CHAT = -100777
CHANNEL = -100999
MOD_ID = 900002
MOD2_ID = 900003
CITIZEN_ID = 5001


def _after(chat: FakeChat | int, fake: FakeTelegram) -> int:
    msgs = fake.messages(chat)
    return msgs[-1].message_id if msgs else 0


async def _say(
    fake: FakeTelegram, chat: FakeChat | int, user: FakeUser, text: str, contains: str
) -> StoredMessage:
    last = _after(chat, fake)
    fake.send_text(chat, user, text)
    return await fake.wait_for_message(chat, contains=contains, after=last)


def _data(message: StoredMessage, label: str) -> str:
    """The callback data of the button whose text contains `label`."""
    for b in message.buttons:
        if label in b["text"]:
            return str(b["callback_data"])
    raise AssertionError(f"no button {label!r} in {[b['text'] for b in message.buttons]}")


async def _press(
    fake: FakeTelegram, chat: FakeChat | int, user: FakeUser, message: StoredMessage, label: str
) -> dict:
    qid = fake.press_button(chat, user, message.message_id, _data(message, label))
    await eventually(lambda: qid in fake.callback_answers)
    return fake.callback_answers[qid]


async def _start(bot_factory: Any, fake: FakeTelegram, **overrides: Any) -> RunningBot:
    admin = fake.user(ADMIN_ID, "Hạnh")
    mod = fake.user(MOD_ID, "Tuấn")
    mod2 = fake.user(MOD2_ID, "Mai")
    fake.group(
        ADMIN_CHAT,
        "Kiểm duyệt ý kiến",
        supergroup=True,
        forum=True,
        admins=[admin],
        members=[mod, mod2],
        bot_status="administrator",
    )
    channel = fake.chats[CHANNEL] = FakeChat(CHANNEL, "channel", title="Hỏi đáp Ban Tuyên giáo")
    channel.bot_status = "administrator"
    for user in (admin, mod, mod2):
        fake.private_chat(user)
    overrides.setdefault("admin_chat_id", ADMIN_CHAT)
    overrides.setdefault("public_channel_id", str(CHANNEL))
    overrides.setdefault("chat_rate", 100)
    overrides.setdefault("group_rate", 1000)
    overrides.setdefault("global_rate", 1000)
    bot = await bot_factory(**overrides)
    for uid in (MOD_ID, MOD2_ID):
        await reports.set_role(
            bot.svc.db,
            user_id=uid,
            role=Role.MODERATOR,
            actor_id=ADMIN_ID,
            actor_role=Role.OWNER,
            at=int(time.time()),
        )
    return bot


async def _unit(bot: RunningBot, fake: FakeTelegram, unit: str) -> None:
    """An approved cadre group labelled with a unit: the unit becomes a place to pick."""
    group = fake.group(-100400, "Chi bộ phường Chi Lăng", supergroup=True)
    admin = fake.users[ADMIN_ID]
    await _say(fake, group, admin, "/help", "Các lệnh")
    now = int(time.time())
    db = bot.svc.db
    await subs.subscribe(db, group.id, ADMIN_ID, [], now)
    await subs.set_approval(
        db, group.id, "approved", actor_id=ADMIN_ID, actor_role="owner", now=now
    )
    await subs.set_unit(db, group.id, unit, actor_id=ADMIN_ID, actor_role="owner", now=now)


async def _case(bot: RunningBot, case_id: int) -> Any:
    return await bot.svc.db.fetch_one("SELECT * FROM comments WHERE id = ?", (case_id,))


def _at(day: date, hour: int, bot: RunningBot) -> int:
    return int(datetime(day.year, day.month, day.day, hour, tzinfo=bot.settings.tz).timestamp())


async def test_case_from_comment_to_public_answer(fake: FakeTelegram, bot_factory: Any) -> None:
    bot = await _start(bot_factory, fake)
    await _unit(bot, fake, "phuong-chi-lang")
    admin, mod, mod2 = fake.users[ADMIN_ID], fake.users[MOD_ID], fake.users[MOD2_ID]
    lan = fake.user(CITIZEN_ID, "Lan")
    chat = fake.private_chat(lan)
    # Routing: traffic cases also go to the moderator Tuấn privately.
    routed = await _say(
        fake, admin.id, admin, f"/phancong giao thông {MOD_ID}", "Phân công theo lĩnh vực"
    )
    assert "giao thông" in routed.text and str(MOD_ID) in routed.text

    # --- citizen: text, category and place by button, a photo, consent, receipt.
    preview = await _say(
        fake,
        chat,
        lan,
        "/ykien Đường Lê Lợi có ổ gà rất lớn trước số nhà 25, xe máy đã ngã. SĐT 0912 345 678",
        "Xem lại ý kiến",
    )
    labels = [b["text"] for b in preview.buttons]
    for name in rules.DEFAULT_CATEGORIES:
        assert name in labels, name
    assert "09xx xxx 678" in preview.text and "0912 345 678" not in preview.text
    answer = await _press(fake, chat, lan, preview, "giao thông")
    assert "giao thông" in answer["text"]
    await eventually(
        lambda: (
            "✅ giao thông" in [b["text"] for b in fake.message(chat, preview.message_id).buttons]
        )
    )
    edited = fake.message(chat, preview.message_id)
    await _press(fake, chat, lan, edited, "phuong-chi-lang")
    await eventually(
        lambda: "Địa bàn: phuong-chi-lang" in fake.message(chat, preview.message_id).text
    )
    last = _after(chat, fake)
    fake.send_photo_from_user(chat, lan, caption="Ảnh ổ gà, gọi 0987 654 321")
    with_photo = await fake.wait_for_message(chat, contains="Đã đính kèm 1 ảnh", after=last)
    assert "09xx xxx 321" in with_photo.text and "0987 654 321" not in with_photo.text
    assert not fake.message(chat, preview.message_id).buttons  # the old preview's buttons went
    await _press(fake, chat, lan, with_photo, "Công bố ẩn danh")
    await eventually(
        lambda: "Công bố ẩn danh: Có" in str(fake.message(chat, with_photo.message_id).buttons)
    )
    qid = fake.press_button(chat, lan, with_photo.message_id, "ykc:s")
    await eventually(lambda: qid in fake.callback_answers)
    receipt = await fake.wait_for_message(
        chat, contains="Đã nhận ý kiến", after=with_photo.message_id - 1
    )
    policy = bot.svc.features["case_policy"]
    row = await _case(bot, 1)
    due = policy.due_for(row["created_at"], "giao thông")
    assert due > date.fromtimestamp(row["created_at"])
    assert f"Hạn trả lời: {due:%d/%m/%Y}" in receipt.text and "giao thông" in receipt.text
    assert row["category"] == "giao thông" and row["unit"] == "phuong-chi-lang"
    assert row["photo_file_id"] and "09xx xxx 321" in row["photo_caption"]
    assert row["allow_publish"] == 1 and row["due_date"] == due.isoformat()
    assert row["case_state"] == "moi"

    # --- routed to the category's forum topic (created by the bot) and to Tuấn.
    topic = None

    def find_topic() -> bool:
        nonlocal topic
        topic = fake.topic_by_name(ADMIN_CHAT, "Ý kiến: giao thông")
        return topic is not None and any(
            "Ý kiến #1" in m.content
            for m in fake.topic_messages(ADMIN_CHAT, topic.message_thread_id)
        )

    await eventually(find_topic)
    assert topic is not None
    in_topic = fake.topic_messages(ADMIN_CHAT, topic.message_thread_id)
    notice = next(m for m in in_topic if "Ý kiến #1" in m.content and m.text)
    assert any(m.photo is not None for m in in_topic)  # the photo, in the topic too
    assert "giao thông" in notice.text and "phuong-chi-lang" in notice.text
    assert "0912" not in notice.text and f"{due:%d/%m/%Y}" in notice.text
    assert any("Nhận xử lý" in b["text"] for b in notice.buttons)
    private = await fake.wait_for_message(MOD_ID, contains="Ý kiến #1")
    assert any("Nhận xử lý" in b["text"] for b in private.buttons)
    assert not fake.topic_by_name(ADMIN_CHAT, "Ý kiến: khác")
    created = [c for c in fake.calls_to("createForumTopic") if c.ok]
    assert len(created) == 1 and created[0].params["name"] == "Ý kiến: giao thông"

    # --- a stranger may not claim; Tuấn claims; Mai sees who holds it.
    stranger = fake.user(5999, "Khách")
    fake.set_member_status(ADMIN_CHAT, stranger, "member")
    refused = await _press(fake, ADMIN_CHAT, stranger, notice, "Nhận xử lý")
    assert refused["text"] == NO_PERMISSION
    before = _after(chat, fake)
    claimed = await _press(fake, ADMIN_CHAT, mod, notice, "Nhận xử lý")
    assert "Bạn đã nhận xử lý" in claimed["text"]
    told = await fake.wait_for_message(chat, contains="đang được cán bộ xử lý", after=before)
    assert "#1" in told.text
    row = await _case(bot, 1)
    assert row["holder_id"] == MOD_ID and row["case_state"] == "dang_xu_ly"
    taken = await _press(fake, ADMIN_CHAT, mod2, notice, "Nhận xử lý")
    assert "đang do" in taken["text"] and taken["show_alert"]
    await eventually(lambda: "Người xử lý" in fake.message(ADMIN_CHAT, notice.message_id).text)

    # --- reminders with a controlled clock: once a day, within office hours.
    reminder = bot.svc.features["case_reminder"]
    cal = policy.calendar
    reminder.clock = lambda: _at(due, 20, bot)  # after office hours: nothing
    assert await reminder.tick() == 0
    reminder.clock = lambda: _at(due, 9, bot)
    before_mod = _after(MOD_ID, fake)
    assert await reminder.tick() == 1
    remind = await fake.wait_for_message(MOD_ID, contains="Nhắc hạn", after=before_mod)
    assert "#1" in remind.text and f"{due:%d/%m/%Y}" in remind.text
    await eventually(
        lambda: any(
            "Nhắc hạn" in m.content
            for m in fake.topic_messages(ADMIN_CHAT, topic.message_thread_id)
        )
    )
    assert await reminder.tick() == 0  # the same day: not again
    late_day = due + timedelta(days=1)
    while not cal.is_workday(late_day):
        late_day += timedelta(days=1)
    reminder.clock = lambda: _at(late_day, 10, bot)
    before_admin = _after(ADMIN_CHAT, fake)
    assert await reminder.tick() == 1
    escalation = await fake.wait_for_message(ADMIN_CHAT, contains="Quá hạn", after=before_admin)
    assert escalation.thread_id is None  # to the admins, in the group itself
    assert await reminder.tick() == 0
    history = await bot.svc.db.fetch_all("SELECT event FROM case_history WHERE comment_id = 1")
    events = [r[0] for r in history]
    assert events.count("remind") == 1 and events.count("escalate") == 1 and "claim" in events

    # --- answer from a template: insert, edit, preview, send.
    await _say(
        fake,
        admin.id,
        admin,
        "/mautraloi giao thông: Cảm ơn bạn đã phản ánh (ý kiến #{so}). Phường sẽ sửa trong tuần.",
        "Đã thêm mẫu trả lời",
    )
    card = await _say(fake, MOD_ID, mod, "/hoso 1", "Hồ sơ ý kiến #1")
    assert "Lịch sử" in card.text and "nhận xử lý" in card.text
    last = _after(MOD_ID, fake)
    await _press(fake, MOD_ID, mod, card, "Mẫu trả lời")
    offer = await fake.wait_for_message(MOD_ID, contains="Mẫu trả lời lĩnh vực", after=last)
    last = _after(MOD_ID, fake)
    await _press(fake, MOD_ID, mod, offer, "Cảm ơn bạn")
    draft = await fake.wait_for_message(MOD_ID, contains="Xem trước câu trả lời", after=last)
    assert "(ý kiến #1)" in draft.text
    last = _after(MOD_ID, fake)
    await _press(fake, MOD_ID, mod, draft, "Sửa")
    prompt = await fake.wait_for_message(MOD_ID, contains="nội dung câu trả lời", after=last)
    last = _after(MOD_ID, fake)
    fake.send_text(
        MOD_ID, mod, "Cảm ơn bạn (ý kiến #1). Phường đã vá ổ gà ngày 10/3.", reply_to=prompt
    )
    draft2 = await fake.wait_for_message(MOD_ID, contains="Xem trước câu trả lời", after=last)
    assert "đã vá ổ gà" in draft2.text
    before = _after(chat, fake)
    await _press(fake, MOD_ID, mod, draft2, "Gửi trả lời")
    answered = await fake.wait_for_message(chat, contains="đã trả lời ý kiến #1", after=before)
    assert "đã vá ổ gà" in answered.text
    rating_labels = [b["text"] for b in answered.buttons]
    assert any("Hài lòng" in t for t in rating_labels)
    assert any("Chưa hài lòng" in t for t in rating_labels)
    row = await _case(bot, 1)
    assert row["case_state"] == "da_tra_loi" and row["resolved_at"] is not None

    # --- the citizen rates; a stranger cannot; a follow-up is linked to the first.
    other = fake.user(5998, "Ai đó")
    fake.private_chat(other)
    before = _after(chat, fake)
    rated = await _press(fake, chat, lan, answered, "Chưa hài lòng")
    assert "Cảm ơn" in rated["text"]
    thanks = await fake.wait_for_message(chat, contains="Cảm ơn bạn đã đánh giá", after=before)
    assert (await _case(bot, 1))["rating"] == "chua_hai_long"
    await fake.wait_for_message(ADMIN_CHAT, contains="chưa hài lòng")
    last = _after(chat, fake)
    await _press(fake, chat, lan, thanks, "ý kiến tiếp theo")
    await fake.wait_for_message(chat, contains="ý kiến tiếp theo cho ý kiến", after=last)
    follow = await _say(
        fake, chat, lan, "Ổ gà đã vá nhưng nắp cống bên cạnh vẫn hỏng.", "Xem lại ý kiến"
    )
    assert "Tiếp theo ý kiến #1" in follow.text
    qid = fake.press_button(chat, lan, follow.message_id, "ykc:s")
    await eventually(lambda: qid in fake.callback_answers)
    row2 = await _case(bot, 2)
    assert row2["follow_up_of"] == 1 and row2["category"] == "giao thông"

    # --- published anonymously to the channel and /hoidap; withdrawn.
    card = await _say(fake, MOD_ID, mod, "/hoso 1", "Hồ sơ ý kiến #1")
    published = await _press(fake, MOD_ID, mod, card, "Công bố ẩn danh")
    assert "Đã công bố" in published["text"]
    post = await fake.wait_for_message(CHANNEL, contains="Hỏi")
    assert "đã vá ổ gà" in post.text and "Lê Lợi" in post.text
    assert "Lan" not in post.text and str(CITIZEN_ID) not in post.text and "0912" not in post.text
    listed = await _say(fake, other.id, other, "/hoidap", "Hỏi – đáp")
    assert "đã vá ổ gà" in listed.text and "Lan" not in listed.text
    card = await _say(fake, MOD_ID, mod, "/hoso 1", "Đã công bố")
    await _press(fake, MOD_ID, mod, card, "Gỡ công bố")
    await eventually(lambda: fake.message(CHANNEL, post.message_id).deleted)
    await _say(fake, other.id, other, "/hoidap", "Chưa có câu hỏi")

    audit = [r[0] for r in await bot.svc.db.fetch_all("SELECT action FROM audit_log")]
    for action in ("case.claim", "feedback.answer", "case.publish", "case.withdraw", "case.route"):
        assert action in audit, action


async def test_late_case_in_report_and_exports(fake: FakeTelegram, bot_factory: Any) -> None:
    bot = await _start(bot_factory, fake, feedback_per_hour=0, feedback_per_day=0)
    from bot.store import feedback as store

    tz = bot.settings.tz
    policy = bot.svc.features["case_policy"]
    # A comment received 40 days ago, never answered: past its deadline.
    old = int(time.time()) - 40 * 86400
    await store.submit(
        bot.svc.db,
        user_id=7001,
        chat_id=7001,
        user_name="Hoa",
        article_id=None,
        text="Bãi rác ở tổ 5 không được thu gom, số tài khoản 0123456789012 =SUM(A1)",
        keep_original=False,
        now=old,
        per_hour=0,
        per_day=0,
        tz=tz,
        intake=rules.Intake(category="môi trường", due=policy.due_for(old, "môi trường")),
    )
    admin = fake.users[ADMIN_ID]
    old_day = datetime.fromtimestamp(old, tz).date()
    quarter = f"{old_day.year}-Q{(old_day.month - 1) // 3 + 1}"
    stats = await _say(fake, admin.id, admin, f"/thongke {quarter}", "Giải quyết ý kiến")
    assert "môi trường: nhận 1; đúng hạn 0; trễ hạn 1; chưa xong 1" in stats.text
    chart = await fake.wait_for_message(admin.id, predicate=lambda m: m.photo is not None)
    assert chart.photo is not None

    last = _after(admin.id, fake)
    fake.send_text(admin.id, admin, f"/xuathoso {quarter}")
    doc = await fake.wait_for_message(admin.id, after=last, predicate=lambda m: m.document)
    assert doc.document is not None and doc.document.file_name.endswith(".xlsx")
    sheet = load_workbook(io.BytesIO(doc.document.data)).active
    header = [c.value for c in sheet[1]]
    assert header[:4] == ["Số", "Ngày nhận", "Lĩnh vực", "Địa bàn"]
    values = [c.value for c in sheet[2]]
    assert values[0] == 1 and isinstance(values[1], datetime)
    assert values[header.index("Đúng hạn")] == "Quá hạn"
    text = values[header.index("Ý kiến")]
    assert "0123456789012" not in text and "xxx" in text
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref

    last = _after(admin.id, fake)
    fake.send_text(admin.id, admin, f"/xuathoso {quarter} csv")
    doc = await fake.wait_for_message(admin.id, after=last, predicate=lambda m: m.document)
    rows = list(csv.reader(io.StringIO(doc.document.data.decode("utf-8-sig"), newline="")))
    assert rows[0][2] == "Lĩnh vực" and rows[1][2] == "môi trường"
    assert "0123456789012" not in rows[1][12] and "xxx" in rows[1][12]

    # A moderator may not export; a citizen may not open a case.
    citizen = fake.user(7002, "Dân")
    fake.private_chat(citizen)
    await _say(fake, citizen.id, citizen, "/hoso 1", "không có quyền")
    await _say(fake, citizen.id, citizen, "/xuathoso", "không có quyền")


async def test_hostile_buttons_commands_and_fallbacks(fake: FakeTelegram, bot_factory: Any) -> None:
    """Forged or stale case buttons, wrong roles, wrong arguments: a clear Vietnamese
    answer, nothing changed; a forum where the bot may not create topics still gets the
    notice in the group itself; /forgetme drops the photo."""
    bot = await _start(bot_factory, fake)
    # The bot lost its admin rights: topics cannot be created, notices go to the group.
    fake.group(ADMIN_CHAT, "Kiểm duyệt ý kiến", supergroup=True, forum=True, bot_status="member")
    admin, mod = fake.users[ADMIN_ID], fake.users[MOD_ID]
    lan = fake.user(CITIZEN_ID, "Lan")
    chat = fake.private_chat(lan)
    preview = await _say(fake, chat, lan, "/ykien Cống thoát nước ở ngõ 7 bị tắc", "Xem lại ý kiến")
    fake.send_photo_from_user(chat, lan, caption="ảnh cống")
    with_photo = await fake.wait_for_message(
        chat, contains="Đã đính kèm 1 ảnh", after=preview.message_id
    )
    qid = fake.press_button(chat, lan, with_photo.message_id, "ykc:s")
    await eventually(lambda: qid in fake.callback_answers)
    notice = await fake.wait_for_message(
        ADMIN_CHAT, contains="Ý kiến #1", predicate=lambda m: bool(m.buttons)
    )
    assert notice.thread_id is None and "khác" in notice.text  # no category chosen: khác
    assert not [c for c in fake.calls_to("createForumTopic") if c.ok]

    for data in ("cw:s:1:bogus", "cw:k:abc", "cw:k:99999999999999999999", "cw:z:1", "cw:u:1:x"):
        qid = fake.press_button(ADMIN_CHAT, mod, notice.message_id, data, check=False)
        await eventually(lambda q=qid: q in fake.callback_answers)
        assert fake.callback_answers[qid]["show_alert"], data
    qid = fake.press_button(ADMIN_CHAT, mod, notice.message_id, "cw:k:424242", check=False)
    await eventually(lambda: qid in fake.callback_answers)
    assert "Không tìm thấy" in fake.callback_answers[qid]["text"]
    # A case button pressed in some other group is refused.
    other_group = fake.group(-100401, "Nhóm khác", supergroup=True, members=[mod])
    posted = await _say(fake, other_group, mod, "/help", "Các lệnh")
    qid = fake.press_button(other_group, mod, posted.message_id, "cw:k:1", check=False)
    await eventually(lambda: qid in fake.callback_answers)
    assert "nhóm quản trị" in fake.callback_answers[qid]["text"]
    row = await _case(bot, 1)
    assert row["holder_id"] is None and row["case_state"] == "moi"

    # Commands with wrong roles and arguments.
    await _say(fake, MOD_ID, mod, f"/giaoviec 1 {MOD_ID}", "không có quyền")
    await _say(fake, MOD_ID, mod, "/mautraloi khác: Nội dung", "Chỉ quản trị viên")
    await _say(fake, ADMIN_ID, admin, "/giaoviec 1 5998", "không phải kiểm duyệt viên")
    await _say(fake, ADMIN_ID, admin, "/giaoviec một hai", "Cú pháp")
    await _say(fake, ADMIN_ID, admin, "/chuyen 1", "tên cơ quan")
    await _say(fake, ADMIN_ID, admin, "/phancong thể thao 5", "Cú pháp")
    await _say(fake, ADMIN_ID, admin, "/mautraloi vô định: abc", "Cú pháp")
    await _say(fake, ADMIN_ID, admin, "/hoso 77", "Không tìm thấy")
    assert (await _case(bot, 1))["case_state"] == "moi"
    before = _after(chat, fake)
    await _say(fake, ADMIN_ID, admin, f"/giaoviec 1 {MOD_ID}", "Đã giao ý kiến #1")
    await fake.wait_for_message(MOD_ID, contains="Bạn được giao xử lý ý kiến")
    await fake.wait_for_message(chat, contains="đang được cán bộ xử lý", after=before)
    await _say(fake, ADMIN_ID, admin, "/chuyen 1 UBND phường Chi Lăng", "Chuyển cơ quan khác")
    told = await fake.wait_for_message(chat, contains="đã được chuyển đến")
    assert "UBND phường Chi Lăng" in told.text
    mine = await _say(fake, chat, lan, "/ykiencuatoi", "Ý kiến của bạn")
    assert "Chuyển cơ quan khác" in mine.text and "Hạn:" in mine.text

    # /forgetme: the citizen's photo goes with their ids; the case stays.
    ask = await _say(fake, chat, lan, "/forgetme", "Bạn có chắc chắn")
    last = _after(chat, fake)
    fake.press_button(chat, lan, ask.message_id, "ykf:y")
    await fake.wait_for_message(chat, contains="Đã xóa dữ liệu", after=last)
    row = await _case(bot, 1)
    assert row["user_id"] is None and row["photo_file_id"] is None
    assert row["case_state"] == "chuyen" and row["category"] == "khác"
