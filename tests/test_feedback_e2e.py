"""Feedback end to end: the real Application against the fake Bot API, real SQLite."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest

from bot.handlers.base import NO_PERMISSION
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeChat, FakeTelegram, FakeUser, StoredMessage
from tests.harness import RunningBot, eventually


def _btn(fake: FakeTelegram, chat_id: int, message_id: int, prefix: str) -> str:
    """The callback data (with the version it carries) of the button starting with prefix."""
    for b in fake.message(chat_id, message_id).buttons:
        if b.get("callback_data", "").startswith(prefix):
            return str(b["callback_data"])
    raise AssertionError(f"no {prefix!r} button")


ADMIN_CHAT = -100777
ARTICLE = "giao-ban-quy-i-2022"
TITLE = "Giao ban công tác tuyên giáo quý I/2022"


async def _title(article_id: str) -> str | None:
    return TITLE if article_id == ARTICLE else None


async def _start(bot_factory: Any, fake: FakeTelegram, **overrides: Any) -> RunningBot:
    overrides.setdefault("admin_chat_id", ADMIN_CHAT)
    # Pacing has its own tests; here several replies to one chat need not wait 1 s each.
    overrides.setdefault("chat_rate", 100)
    overrides.setdefault("group_rate", 1000)
    overrides.setdefault("global_rate", 1000)
    admin = fake.user(ADMIN_ID, "Hạnh")
    if overrides["admin_chat_id"] is not None:
        fake.group(ADMIN_CHAT, "Kiểm duyệt ý kiến", supergroup=True, admins=[admin])
    running = await bot_factory(**overrides)
    # Articles may or may not be loaded in this build: a fixed title keeps tests stable.
    running.svc.features["article_title"] = _title
    return running


async def _comments(bot: RunningBot) -> list[Any]:
    return await bot.svc.db.fetch_all("SELECT * FROM comments ORDER BY id")


def _after(chat: FakeChat | int, fake: FakeTelegram) -> int:
    """The id of the last message in a chat (to wait for newer ones)."""
    msgs = fake.messages(chat)
    return msgs[-1].message_id if msgs else 0


async def _say(
    fake: FakeTelegram, chat: FakeChat, user: FakeUser, text: str, contains: str
) -> StoredMessage:
    last = _after(chat, fake)
    fake.send_text(chat, user, text)
    return await fake.wait_for_message(chat, contains=contains, after=last)


async def _submit(
    fake: FakeTelegram, user: FakeUser, text: str, *, article: str | None = None
) -> StoredMessage:
    """Comment through the deep link (article) or /ykien, confirm with [Gửi]; the receipt."""
    chat = fake.private_chat(user)
    if article:
        await _say(fake, chat, user, f"/start yk_{article}", "Mời bạn nhập ý kiến")
        preview = await _say(fake, chat, user, text, "Xem lại ý kiến")
    else:
        preview = await _say(fake, chat, user, f"/ykien {text}", "Xem lại ý kiến")
    fake.press_button(chat, user, preview.message_id, "ykc:s")
    # The preview turns into the receipt.
    return await fake.wait_for_message(
        chat, contains="Đã nhận ý kiến", after=preview.message_id - 1
    )


async def _notice(fake: FakeTelegram, comment_id: int, chat: int = ADMIN_CHAT) -> StoredMessage:
    return await fake.wait_for_message(
        chat,
        contains=f"Ý kiến #{comment_id} ",
        predicate=lambda m: any(
            b.get("callback_data", "").startswith(f"ykm:a:{comment_id}:") for b in m.buttons
        ),
    )


async def test_submit_on_article_approve_count_and_answer(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    bot = await _start(bot_factory, fake)
    lan = fake.user(5001, "Lan")
    chat = fake.private_chat(lan)
    text = (
        "Đề nghị Ban Tuyên giáo tổ chức thêm buổi nói chuyện thời sự ở phường. "
        "Liên hệ tôi: 0912 345 678 hoặc lan.nguyen@gmail.com"
    )
    receipt = await _submit(fake, lan, text, article=ARTICLE)
    assert "#1" in receipt.text and "Tiếp theo" in receipt.text
    assert not receipt.buttons  # the preview became the receipt, buttons gone
    assert "số điện thoại" in receipt.text and "Bản gốc không được lưu" in receipt.text

    rows = await _comments(bot)
    assert len(rows) == 1
    row = rows[0]
    assert row["article_id"] == ARTICLE and row["status"] == "received"
    assert row["user_id"] == 5001 and row["user_name"] == "Lan"
    assert "09xx xxx 678" in row["text_masked"] and "l***@gmail.com" in row["text_masked"]
    assert "0912" not in row["text_masked"] and row["text_original"] is None

    notice = await _notice(fake, 1)
    assert TITLE in notice.text and "09xx xxx 678" in notice.text
    assert "0912 345 678" not in notice.text and "lan.nguyen" not in notice.text
    labels = {b["text"] for b in notice.buttons}
    assert {"✅ Duyệt", "❌ Từ chối", "💬 Trả lời", "🚫 Chặn người gửi"} <= labels
    count = bot.svc.features["feedback_count"]
    assert await count(ARTICLE) == 0

    admin = fake.users[ADMIN_ID]
    qid = fake.press_button(
        ADMIN_CHAT, admin, notice.message_id, _btn(fake, ADMIN_CHAT, notice.message_id, "ykm:a:1:")
    )
    await eventually(lambda: qid in fake.callback_answers)
    assert "Đã duyệt" in fake.callback_answers[qid]["text"]
    assert await count(ARTICLE) == 1
    assert (await _comments(bot))[0]["status"] == "approved"
    await eventually(lambda: "Đã duyệt" in fake.message(ADMIN_CHAT, notice.message_id).text)

    # The moderator answers by replying to the notice (matched by its stored id).
    before = _after(chat, fake)
    fake.send_text(ADMIN_CHAT, admin, "Cảm ơn chị, quý II sẽ có 2 buổi.", reply_to=notice)
    await confirm_answer(fake, ADMIN_CHAT, admin.id)
    answer = await fake.wait_for_message(chat, contains="đã trả lời ý kiến #1", after=before)
    assert "quý II sẽ có 2 buổi" in answer.text
    await fake.wait_for_message(ADMIN_CHAT, contains="Đã gửi câu trả lời")
    row = (await _comments(bot))[0]
    assert row["status"] == "answered" and row["decision"] == "approved"
    assert row["answer"] == "Cảm ơn chị, quý II sẽ có 2 buổi." and row["answered_by"] == ADMIN_ID
    assert await count(ARTICLE) == 1

    audit = await bot.svc.db.fetch_all("SELECT actor_id, action, target FROM audit_log")
    actions = [(r[0], r[1], r[2]) for r in audit]
    assert (ADMIN_ID, "feedback.approve", "comment:1") in actions
    assert (ADMIN_ID, "feedback.answer", "comment:1") in actions

    # [Xem ý kiến] shows the first name, never ids; /ykiencuatoi shows the status.
    await _say(fake, chat, lan, "/start yk_" + ARTICLE, "Mời bạn nhập ý kiến")
    prompt = fake.bot_messages(chat)[-1]
    last = _after(chat, fake)
    fake.press_button(chat, lan, prompt.message_id, f"ykv:{ARTICLE}")
    shown = await fake.wait_for_message(chat, contains="Ý kiến bạn đọc", after=last)
    assert "Lan" in shown.text and "5001" not in shown.text and "quý II" in shown.text
    await _say(fake, chat, lan, "/cancel", "Đã hủy")
    mine = await _say(fake, chat, lan, "/ykiencuatoi", "Ý kiến của bạn")
    assert "#1" in mine.text and "Đã trả lời" in mine.text


async def test_article_button_private_and_group(fake: FakeTelegram, bot_factory: Any) -> None:
    await _start(bot_factory, fake)
    minh = fake.user(5002, "Minh")
    chat = fake.private_chat(minh)
    hello = await _say(fake, chat, minh, "/help", "Các lệnh")
    last = _after(chat, fake)
    fake.press_button(chat, minh, hello.message_id, f"yk:{ARTICLE}", check=False)
    prompt = await fake.wait_for_message(chat, contains="Mời bạn nhập ý kiến", after=last)
    assert TITLE in prompt.text
    # In a group the button opens the private chat through the deep link.
    group = fake.group(-100888, "Phường Chi Lăng", supergroup=True, members=[minh])
    fake.send_text(group, minh, "/help")
    card = await fake.wait_for_message(group, contains="Các lệnh")
    qid = fake.press_button(group, minh, card.message_id, f"yk:{ARTICLE}", check=False)
    await eventually(lambda: qid in fake.callback_answers)
    assert fake.callback_answers[qid]["url"] == f"https://t.me/loa_test_bot?start=yk_{ARTICLE}"


async def test_refusals_store_nothing(fake: FakeTelegram, bot_factory: Any) -> None:
    bot = await _start(bot_factory, fake, feedback_per_hour=2)
    an = fake.user(5003, "An")
    chat = fake.private_chat(an)
    await _submit(fake, an, "Ý kiến thứ nhất về giao thông")
    await _submit(fake, an, "Ý kiến thứ hai về chiếu sáng")
    # Rate limit: refused with a clear message, before and at confirmation.
    refused = await _say(fake, chat, an, "/ykien Ý kiến thứ ba về vệ sinh", "tối đa 2")
    assert "một giờ" in refused.text
    assert len(await _comments(bot)) == 2

    binh = fake.user(5004, "Bình")
    chat_b = fake.private_chat(binh)
    await _submit(fake, binh, "Đề nghị sửa đường Hoà Bình sớm")
    # Same text, other tone style and case: a duplicate.
    dup = await _say(fake, chat_b, binh, "/ykien đề nghị SỬA đường Hòa Bình sớm!", "giống hệt")
    assert "#3" in dup.text
    # Too short, too long, sticker, photo: explained, nothing stored.
    await _say(fake, chat_b, binh, "/ykien ngắn", "quá ngắn")
    await _say(fake, chat_b, binh, "/ykien " + "dài " * 600, "quá dài")
    await _say(fake, chat_b, binh, "/ykien", "Mời bạn nhập ý kiến")
    last = _after(chat_b, fake)
    fake.send_sticker(chat_b, binh)
    await fake.wait_for_message(chat_b, contains="Nhãn dán", after=last)
    last = _after(chat_b, fake)
    fake.send_photo_from_user(chat_b, binh, caption="ảnh ổ gà")
    await fake.wait_for_message(chat_b, contains="chỉ nhận ý kiến bằng", after=last)
    await _say(fake, chat_b, binh, "\u200b\u200b", "trống")
    await _say(fake, chat_b, binh, "/cancel", "Đã hủy")
    assert len(await _comments(bot)) == 3

    # Banned by a moderator: refused politely, nothing stored.
    notice = await _notice(fake, 3)
    qid = fake.press_button(
        ADMIN_CHAT,
        fake.users[ADMIN_ID],
        notice.message_id,
        _btn(fake, ADMIN_CHAT, notice.message_id, "ykm:b:3:"),
    )
    await eventually(lambda: qid in fake.callback_answers)
    banned = await _say(fake, chat_b, binh, "/ykien Một ý kiến hoàn toàn mới", "Rất tiếc")
    assert "không thể gửi ý kiến" in banned.text
    assert len(await _comments(bot)) == 3
    assert (await _comments(bot))[2]["status"] == "rejected"
    ban = await bot.svc.db.fetch_all("SELECT user_id FROM bans")
    assert [r[0] for r in ban] == [5004]


async def test_non_moderator_pressing_approve_is_refused(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    bot = await _start(bot_factory, fake)
    cuong = fake.user(5005, "Cường")
    await _submit(fake, cuong, "Đề nghị tăng cường tuyên truyền về phòng chống ma tuý")
    notice = await _notice(fake, 1)
    fake.set_member_status(ADMIN_CHAT, cuong, "member")
    qid = fake.press_button(
        ADMIN_CHAT, cuong, notice.message_id, _btn(fake, ADMIN_CHAT, notice.message_id, "ykm:a:1:")
    )
    await eventually(lambda: qid in fake.callback_answers)
    assert fake.callback_answers[qid]["text"] == NO_PERMISSION
    assert fake.callback_answers[qid]["show_alert"] is True
    row = (await _comments(bot))[0]
    assert row["status"] == "received" and row["decision"] is None
    assert await bot.svc.db.fetch_value("SELECT COUNT(*) FROM audit_log") == 0
    assert await bot.svc.features["feedback_count"](ARTICLE) == 0


async def test_answer_button_in_private_without_admin_chat(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    bot = await _start(bot_factory, fake, admin_chat_id=None)
    fake.private_chat(ADMIN_ID)  # the owner has started the bot
    dung = fake.user(5006, "Dung")
    chat = fake.private_chat(dung)
    await _submit(fake, dung, "Khi nào có lịch tiêm chủng ở phường?", article=ARTICLE)
    notice = await _notice(fake, 1, chat=ADMIN_ID)  # the owner, privately
    admin = fake.users[ADMIN_ID]
    last = _after(ADMIN_ID, fake)
    fake.press_button(ADMIN_ID, admin, notice.message_id, "ykm:t:1")
    prompt = await fake.wait_for_message(ADMIN_ID, contains="hãy trả lời tin nhắn này", after=last)
    before = _after(chat, fake)
    fake.send_text(ADMIN_ID, admin, "Thứ Bảy tuần này tại trạm y tế.", reply_to=prompt)
    await confirm_answer(fake, ADMIN_ID, admin.id)
    got = await fake.wait_for_message(chat, contains="Thứ Bảy tuần này", after=before)
    assert "#1" in got.text
    row = (await _comments(bot))[0]
    assert row["status"] == "answered" and row["decision"] is None  # answered, not approved
    assert await bot.svc.features["feedback_count"](ARTICLE) == 0


async def test_inbox_pages_oldest_first(fake: FakeTelegram, bot_factory: Any) -> None:
    await _start(bot_factory, fake, feedback_per_hour=0, feedback_per_day=0)
    users = [fake.user(5100 + i, f"Người {i}") for i in range(7)]
    for i, user in enumerate(users):
        await _submit(fake, user, f"Ý kiến số {i + 1} về đời sống văn hoá khu dân cư")
    admin = fake.users[ADMIN_ID]
    page = await _say(fake, fake.private_chat(admin), admin, "/inbox", "chờ duyệt")
    assert "7" in page.text and "1–5" in page.text
    assert page.text.index("#1 ") < page.text.index("#5 ") and "#6 " not in page.text
    qid = fake.press_button(ADMIN_ID, admin, page.message_id, "ykp:5")
    await eventually(lambda: qid in fake.callback_answers)
    await eventually(lambda: "#6 " in fake.message(ADMIN_ID, page.message_id).text)
    # Approving from the inbox refreshes the page.
    qid = fake.press_button(
        ADMIN_ID, admin, page.message_id, _btn(fake, ADMIN_ID, page.message_id, "yki:a:6:5:")
    )
    await eventually(lambda: "#6 " not in fake.message(ADMIN_ID, page.message_id).text)
    assert "#7 " in fake.message(ADMIN_ID, page.message_id).text


async def test_forgetme_leaves_no_personal_data(fake: FakeTelegram, bot_factory: Any) -> None:
    bot = await _start(bot_factory, fake)
    uid, first, last_name, username = 7770123, "Thương", "Vũ Thị", "thuongvu_99"
    user = fake.user(uid, first, last_name=last_name, username=username)
    chat = fake.private_chat(user)
    await _submit(fake, user, "Đề nghị lắp đèn đường ngõ 12 phố Bà Triệu", article=ARTICLE)
    notice = await _notice(fake, 1)
    admin = fake.users[ADMIN_ID]
    fake.press_button(
        ADMIN_CHAT, admin, notice.message_id, _btn(fake, ADMIN_CHAT, notice.message_id, "ykm:a:1:")
    )
    await eventually(lambda: "Đã duyệt" in fake.message(ADMIN_CHAT, notice.message_id).text)
    ask = await _say(fake, chat, user, "/forgetme", "Bạn có chắc chắn")
    last = _after(chat, fake)
    fake.press_button(chat, user, ask.message_id, "ykf:y")
    done = await fake.wait_for_message(chat, contains="Đã xóa dữ liệu", after=last)
    assert "1 ý kiến" in done.text and "hồ sơ người dùng" in done.text

    await _assert_forgotten(bot, uid, {str(uid), first, last_name, username})
    # The comment stays, anonymised, and still counts.
    row = (await _comments(bot))[0]
    assert row["user_id"] is None and row["chat_id"] is None and row["user_name"] is None
    assert await bot.svc.features["feedback_count"](ARTICLE) == 1
    # An answer can no longer reach them, and the moderator is told so.
    fake.send_text(ADMIN_CHAT, admin, "Đã chuyển đề nghị đến phường.", reply_to=notice)
    await fake.wait_for_message(ADMIN_CHAT, contains="đã xóa dữ liệu cá nhân")


async def confirm_answer(fake: FakeTelegram, chat_id: int, user_id: int) -> None:
    """Press [Gửi trả lời] under the preview of an answer (issue 10: nothing reaches a
    citizen without it)."""
    preview = await fake.wait_for_message(chat_id, contains="Xem lại câu trả lời")
    data = next(
        b["callback_data"] for b in preview.buttons if b["callback_data"].startswith("yka:s:")
    )
    fake.press_button(chat_id, user_id, preview.message_id, data)


async def _assert_forgotten(bot: RunningBot, uid: int, needles: set[str]) -> None:
    """No name, username or text id of the user anywhere; their numeric id only where a
    private chat row is kept for true delivery counts: chats.id (the private chat's id
    equals the user id) and columns referencing chats(id), and only once that chat row
    is anonymised (title and username NULL) so the id is linked to no name.

    people.forget_user may delete the chat row (today) or anonymise it (the lead's
    change); both pass. Any other column holding the id fails (comments.user_id,
    answered_in, bans aside: a ban keeps the bare id on purpose and none exists here).
    """
    db = bot.svc.db
    tables = [r[0] for r in await db.fetch_all("SELECT name FROM sqlite_master WHERE type='table'")]
    assert "comments" in tables and "users" in tables
    # erased_users keeps the bare id on purpose (issue 10): `loa restore` erases it again.
    chat_refs: set[tuple[str, str]] = {("chats", "id"), ("erased_users", "user_id")}
    for table in tables:
        for fk in await db.fetch_all(f'PRAGMA foreign_key_list("{table}")'):
            if fk["table"] == "chats" and fk["to"] in (None, "id"):
                chat_refs.add((table, fk["from"]))
    for table in tables:
        columns = [r["name"] for r in await db.fetch_all(f'PRAGMA table_info("{table}")')]
        for row in await db.fetch_all(f'SELECT * FROM "{table}"'):
            for column, value in zip(columns, tuple(row), strict=True):
                if value is None:
                    continue
                if isinstance(value, int) and value == uid:
                    assert (table, column) in chat_refs, f"user id left in {table}.{column}"
                elif isinstance(value, str):
                    for needle in needles:
                        assert needle not in value, f"{needle!r} left in {table}.{column}"
    kept = await db.fetch_one("SELECT type, title, username FROM chats WHERE id = ?", (uid,))
    if kept is not None:
        assert tuple(kept) == ("private", None, None), f"private chat row not anonymised: {kept}"
    assert await db.fetch_value("SELECT COUNT(*) FROM users WHERE id = ?", (uid,)) == 0


async def test_export_excludes_rejected_and_keeps_vietnamese(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    bot = await _start(bot_factory, fake)
    admin = fake.users[ADMIN_ID]
    texts = [
        "Đường Lê Lợi bị ngập khi mưa, đề nghị khơi thông cống",
        "Nội dung không phù hợp, số điện thoại 0987 654 321",
        "Cảm ơn bài viết về hội nghị giao ban quý I/2022",
    ]
    for i, text in enumerate(texts):
        await _submit(fake, fake.user(5200 + i, f"U{i}"), text, article=ARTICLE)
    for cid, action in ((1, "a"), (2, "r")):
        notice = await _notice(fake, cid)
        qid = fake.press_button(
            ADMIN_CHAT,
            admin,
            notice.message_id,
            _btn(fake, ADMIN_CHAT, notice.message_id, f"ykm:{action}:{cid}:"),
        )
        await eventually(lambda q=qid: q in fake.callback_answers)

    def rows_of(message: StoredMessage) -> list[list[str]]:
        assert message.document is not None
        data = message.document.data
        assert data.startswith(b"\xef\xbb\xbf")
        return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))

    admin_chat = fake.private_chat(admin)
    last = _after(admin_chat, fake)
    fake.send_text(admin_chat, admin, "/export csv")
    doc = await fake.wait_for_message(admin_chat, after=last, predicate=lambda m: m.document)
    rows = rows_of(doc)
    assert rows[0] == ["Số", "Thời gian", "Bài viết", "Trạng thái", "Ý kiến", "Trả lời"]
    assert [r[0] for r in rows[1:]] == ["1", "3"]
    assert rows[1][4] == texts[0] and rows[1][3] == "Đã duyệt"
    assert rows[2][4] == texts[2] and rows[2][3] == "Đang chờ duyệt"
    assert TITLE in rows[1][2]

    last = _after(admin_chat, fake)
    fake.send_text(admin_chat, admin, "/export 2000-01-01 31/12/2099 tatca csv")
    doc = await fake.wait_for_message(admin_chat, after=last, predicate=lambda m: m.document)
    rows = rows_of(doc)
    assert [r[0] for r in rows[1:]] == ["1", "2", "3"]
    assert rows[2][4] == "Nội dung không phù hợp, số điện thoại 09xx xxx 321"

    # Outside the period: nothing but the header. Bad dates: a Vietnamese message.
    last = _after(admin_chat, fake)
    fake.send_text(admin_chat, admin, "/xuatykien 01/01/2001 31/12/2001 csv")
    doc = await fake.wait_for_message(admin_chat, after=last, predicate=lambda m: m.document)
    assert len(rows_of(doc)) == 1
    await _say(fake, admin_chat, admin, "/export 31/02/2022", "Ngày không hợp lệ")

    # The default is an .xlsx workbook (Excel on Vietnamese Windows splits CSV on ";").
    last = _after(admin_chat, fake)
    fake.send_text(admin_chat, admin, "/xuatykien")
    doc = await fake.wait_for_message(admin_chat, after=last, predicate=lambda m: m.document)
    assert doc.document is not None and doc.document.file_name.endswith(".xlsx")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(doc.document.data)).active
    assert sheet is not None
    cells = [[c.value for c in row] for row in sheet.iter_rows()]
    assert cells[0] == ["Số", "Thời gian", "Bài viết", "Trạng thái", "Ý kiến", "Trả lời"]
    assert [r[0] for r in cells[1:]] == ["1", "3"]

    # A citizen may not export.
    citizen = fake.users[5200]
    await _say(fake, fake.private_chat(citizen), citizen, "/export", "không có quyền")

    # The CLI gives the same rows from the same database.
    from bot.cli.feedback import export

    data, count = await export(bot.settings, date(2000, 1, 1), date(2099, 12, 31), False)
    assert count == 2
    cli_rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert [r[0] for r in cli_rows[1:]] == ["1", "3"]


def test_cli_export_feedback_writes_csv(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio
    import zoneinfo

    from bot.cli import main
    from bot.store import feedback as store
    from bot.store.db import Database

    db_path = tmp_path / "loa.db"

    async def fill() -> None:
        async with Database(db_path) as db:
            tz = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
            common = dict(keep_original=False, per_hour=0, per_day=0, tz=tz, chat_id=1)
            c1 = await store.submit(
                db, user_id=1, user_name="A", article_id=None,
                text="Ý kiến tháng hai về môi trường", now=1_644_000_000, **common,
            )  # fmt: skip
            c2 = await store.submit(
                db, user_id=2, user_name="B", article_id="x",
                text="Ý kiến bị từ chối vì sai sự thật", now=1_645_000_000, **common,
            )  # fmt: skip
            await store.decide(db, c2.id, "rejected", actor_id=9, actor_role="owner", now=1)
            await store.submit(
                db, user_id=3, user_name="C", article_id=None,
                text="Ý kiến của quý sau, ngoài kỳ", now=1_660_000_000, **common,
            )  # fmt: skip
            assert c1.id == 1

    asyncio.run(fill())
    monkeypatch.setenv("LOA_DB_PATH", str(db_path))
    out = tmp_path / "y-kien.csv"
    args = ["export-feedback", "--from", "2022-01-01", "--to", "31/03/2022", "-o", str(out)]
    assert main(args) == 0
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:]] == ["1"]
    assert rows[1][4] == "Ý kiến tháng hai về môi trường"
    assert main([*args, "--all"]) == 2  # the file exists: one --force policy
    assert main([*args, "--all", "--force"]) == 0
    rows = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"), newline="")))
    assert [r[0] for r in rows[1:]] == ["1", "2"]
    assert main(["export-feedback", "--from", "hôm qua", "-o", str(out)]) == 2


async def test_moderation_button_acts_only_on_the_comment_as_shown(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    """Issue 10: [Duyệt] on a notice made before another moderator rejected the comment
    (from /inbox) is refused with an alert; the rejection stands."""
    bot = await _start(bot_factory, fake)
    admin = fake.users[ADMIN_ID]
    await _submit(fake, fake.user(5301, "Lan"), "Đề nghị sửa đèn chiếu sáng ngõ 5")
    notice = await _notice(fake, 1)
    approve_as_shown = _btn(fake, ADMIN_CHAT, notice.message_id, "ykm:a:1:")
    page = await _say(fake, fake.private_chat(admin), admin, "/inbox", "chờ duyệt")
    qid = fake.press_button(
        ADMIN_ID, admin, page.message_id, _btn(fake, ADMIN_ID, page.message_id, "yki:r:1:0:")
    )
    await eventually(lambda: qid in fake.callback_answers)
    assert (await _comments(bot))[0]["status"] == "rejected"
    qid = fake.press_button(ADMIN_CHAT, admin, notice.message_id, approve_as_shown, check=False)
    await eventually(lambda: qid in fake.callback_answers)
    answer = fake.callback_answers[qid]
    assert "đã thay đổi" in str(answer.get("text")) and answer.get("show_alert")
    assert (await _comments(bot))[0]["status"] == "rejected"
    # A forged press without a version is refused the same way.
    qid = fake.press_button(ADMIN_CHAT, admin, notice.message_id, "ykm:a:1", check=False)
    await eventually(lambda: qid in fake.callback_answers)
    assert "đã thay đổi" in str(fake.callback_answers[qid].get("text"))
    assert (await _comments(bot))[0]["status"] == "rejected"
