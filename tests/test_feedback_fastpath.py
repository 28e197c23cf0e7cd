"""The feedback fast path (issue 17): one guarded INSERT per comment that still refuses
what changed after the preview, and moderators' notices shown in batches."""

from __future__ import annotations

import zoneinfo
from pathlib import Path
from typing import Any

import pytest

from bench.broadcast import CallCounter
from bot.domain import feedback as rules
from bot.store import feedback as store
from bot.store.db import Database
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import eventually
from tests.test_feedback_e2e import ADMIN_CHAT, _notice, _start, confirm_answer

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
NOW = 1_700_000_000
TEXT = "Đề nghị sửa đường liên thôn trước mùa mưa"


async def _submit(db: Database, user_id: int, text: str, now: int, **kw: Any) -> store.Comment:
    kw.setdefault("per_hour", 2)
    kw.setdefault("per_day", 0)
    return await store.submit(
        db, user_id=user_id, chat_id=user_id, user_name="Dân", article_id=None, text=text,
        keep_original=False, now=now, tz=TZ, **kw,
    )  # fmt: skip


async def _preview_checks(db: Database, user_id: int, text: str, now: int) -> rules.Sender:
    """What the preview reads and checks before the citizen presses [Gửi]."""
    facts = await store.sender(db, user_id, await store.dup_key(db, text), now=now)
    rules.check_sender(facts, now, 2, 0, TZ)
    return facts


async def test_what_changed_after_the_preview_is_refused(tmp_path: Path) -> None:
    async with Database(tmp_path / "loa.db") as db:
        # A comment from another chat of the same user after the preview: over the limit.
        await _submit(db, 1, "Ý kiến thứ nhất về chợ", NOW - 100)
        facts = await _preview_checks(db, 1, TEXT, NOW)
        await _submit(db, 1, "Ý kiến thứ hai về chợ", NOW + 1)
        with pytest.raises(rules.FeedbackRefused, match="tối đa 2"):
            await _submit(db, 1, TEXT, NOW + 2, checked=(NOW, facts.recent))

        # The same text stored after the preview: a duplicate.
        facts = await _preview_checks(db, 2, TEXT, NOW)
        first = await _submit(db, 2, TEXT, NOW + 1)
        with pytest.raises(rules.FeedbackRefused, match=f"#{first.id}"):
            await _submit(db, 2, TEXT, NOW + 2, checked=(NOW, facts.recent))

        # Banned after the preview.
        facts = await _preview_checks(db, 3, TEXT, NOW)
        await db.execute(
            "INSERT INTO bans (user_id, banned_by, banned_at) VALUES (3, ?, ?)", (ADMIN_ID, NOW)
        )
        with pytest.raises(rules.FeedbackRefused, match="không thể gửi ý kiến"):
            await _submit(db, 3, TEXT, NOW + 2, checked=(NOW, facts.recent))

        # Changed but still allowed: stored (checked again inside one transaction).
        facts = await _preview_checks(db, 4, TEXT, NOW)
        await _submit(db, 4, "Một ý kiến khác hẳn", NOW + 1)
        stored = await _submit(db, 4, TEXT, NOW + 2, checked=(NOW, facts.recent))
        assert stored.text == TEXT and stored.user_id == 4
        rows = await db.fetch_all("SELECT user_id, COUNT(*) FROM comments GROUP BY user_id")
        assert {int(r[0]): int(r[1]) for r in rows} == {1: 2, 2: 1, 4: 2}


async def test_a_comment_costs_one_trip_when_nothing_changed(tmp_path: Path) -> None:
    async with Database(tmp_path / "loa.db") as db:
        facts = await _preview_checks(db, 7, TEXT, NOW)
        with CallCounter() as counter:
            comment = await _submit(db, 7, TEXT, NOW + 5, checked=(NOW, facts.recent))
        assert counter.calls == 1  # the guarded INSERT … RETURNING, nothing else
        assert comment.id == 1 and comment.status == "received"
        with CallCounter() as counter:  # without the preview's facts: read them first
            await _submit(db, 7, "Ý kiến khác về đèn đường", NOW + 6)
        assert counter.calls == 2
        with pytest.raises(rules.FeedbackRefused):  # and the limit still holds
            await _submit(db, 7, "Ý kiến thứ ba về cây xanh", NOW + 7)


async def test_a_burst_of_comments_gets_one_notice_each(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    bot = await _start(bot_factory, fake, feedback_per_hour=0, feedback_per_day=0)
    users = [fake.user(7100 + i, f"Dân {i}") for i in range(6)]
    previews = []
    for i, user in enumerate(users):
        fake.send_text(fake.private_chat(user), user, f"/ykien Đề nghị số {i}: sửa cống thoát nước")
    for user in users:
        previews.append(await fake.wait_for_message(user.id, contains="Xem lại ý kiến"))
    for user, preview in zip(users, previews, strict=True):  # all at once
        fake.press_button(user.id, user, preview.message_id, "ykc:s")
    for user in users:
        await fake.wait_for_message(user.id, contains="Đã nhận ý kiến")
    notices = [await _notice(fake, comment_id) for comment_id in range(1, 7)]
    assert len({n.message_id for n in notices}) == 6
    await eventually(_all_notified(bot))
    for comment_id, notice in enumerate(notices, start=1):
        # Each notice is recorded for its own comment and shows that comment's text.
        rows = await bot.svc.db.fetch_all(
            "SELECT c.id, c.text_masked, c.user_id FROM comment_notices n"
            " JOIN comments c ON c.id = n.comment_id WHERE n.chat_id = ? AND n.message_id = ?",
            (ADMIN_CHAT, notice.message_id),
        )
        assert len(rows) == 1 and rows[0][0] == comment_id
        assert rows[0][1] in notice.text
    # A reply to the fourth notice answers the fourth comment, to whoever sent it.
    sender = await bot.svc.db.fetch_value("SELECT user_id FROM comments WHERE id = 4")
    admin = fake.users[ADMIN_ID]
    fake.send_text(ADMIN_CHAT, admin, "Phường sẽ nạo vét trong tuần.", reply_to=notices[3])
    await confirm_answer(fake, ADMIN_CHAT, admin.id)
    answer = await fake.wait_for_message(sender, contains="đã trả lời ý kiến #4")
    assert "nạo vét" in answer.text


def _all_notified(bot: Any) -> Any:
    async def check() -> bool:
        left = await bot.svc.db.fetch_value(
            "SELECT COUNT(*) FROM comments WHERE notified_at IS NULL"
        )
        return left == 0

    return check


async def test_notices_of_a_batch_go_on_after_one_fails(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    """A comment whose notice cannot be built is left unnotified; the others are shown."""
    bot = await _start(bot_factory, fake, feedback_per_hour=0, feedback_per_day=0)
    db = bot.svc.db
    for i in range(3):
        await _submit(db, 7200 + i, f"Đề nghị số {i} về chiếu sáng công cộng", NOW + i, per_hour=0)
    # Comment 2's case read fails (as a deleted case would): only its notice is skipped.
    await db.execute("UPDATE comments SET status = 'deleted' WHERE id = 2")
    from bot.handlers.moderation import notify_moderators

    await notify_moderators(bot.app, [1, 2, 3])
    for comment_id in (1, 3):
        await _notice(fake, comment_id)
    rows = await db.fetch_all("SELECT id FROM comments WHERE notified_at IS NULL ORDER BY id")
    assert [int(r[0]) for r in rows] == [2]


def test_a_draft_survives_persistence_and_copies_cheaply() -> None:
    """Draft.__deepcopy__ is a shallow copy: right only while every field is immutable."""
    import copy
    import dataclasses

    from bot.handlers.feedback_state import Draft
    from bot.handlers.persistence import dumps, loads

    for f in dataclasses.fields(Draft):
        assert not any(kind in str(f.type) for kind in ("list", "dict", "set")), f.name
    draft = Draft("confirm", 5, text="Đề nghị sửa đèn", units=("Phường 1",), recent=(1, 2))
    draft.checked_at = NOW
    twin = copy.deepcopy({"feedback_draft": draft})["feedback_draft"]
    assert twin == draft and twin is not draft
    assert loads(dumps({"feedback_draft": draft}))["feedback_draft"] == draft


async def test_a_pass_past_the_digest_threshold_sends_one_digest(
    fake: FakeTelegram, bot_factory: Any
) -> None:
    """More than DIGEST_OVER new comments for the admin chat in one pass: one digest
    (the first DIGEST_LINES listed, the rest counted) whose button opens the pending list;
    every comment counts as notified. A pass at the threshold still gets one notice each."""
    from bot.handlers.moderation import notify_moderators
    from bot.handlers.notice_digest import DIGEST_LINES, DIGEST_OVER

    bot = await _start(bot_factory, fake, feedback_per_hour=0, feedback_per_day=0)
    db = bot.svc.db
    many = DIGEST_LINES + 2
    for i in range(many):
        text = f"Đề nghị số {i} <về> chiếu sáng & cây xanh " + "rất dài " * 30
        await _submit(db, 7300 + i, text, NOW + i, per_hour=0)
    before = len(fake.messages(ADMIN_CHAT))
    await notify_moderators(bot.app, list(range(1, many + 1)))
    new = fake.messages(ADMIN_CHAT)[before:]
    assert len(new) == 1
    digest = new[0]
    assert f"{many} ý kiến mới" in digest.text and "… và 2 ý kiến khác" in digest.text
    assert all(f"#{i} " in digest.text for i in range(1, DIGEST_LINES + 1))
    assert f"#{DIGEST_LINES + 1} " not in digest.text
    assert "<về> chiếu sáng & cây xanh" in digest.text  # escaped in HTML, shown as typed
    assert [b["callback_data"] for b in digest.buttons] == ["ykp:0"]
    assert await _all_notified(bot)()
    assert await db.fetch_value("SELECT COUNT(*) FROM comment_notices") == 0
    # A moderator opens the pending list from it: the digest becomes the first page.
    admin = fake.users[ADMIN_ID]
    fake.press_button(ADMIN_CHAT, admin, digest.message_id, "ykp:0")
    page = await fake.wait_for_message(ADMIN_CHAT, contains="Ý kiến chờ duyệt")
    assert page.message_id == digest.message_id

    # At the threshold: one notice per comment, each answerable by a reply.
    first = many + 1
    for i in range(DIGEST_OVER):
        await _submit(db, 7400 + i, f"Ý kiến thứ {i} về rác thải", NOW + 100 + i, per_hour=0)
    await notify_moderators(bot.app, list(range(first, first + DIGEST_OVER)))
    for comment_id in range(first, first + DIGEST_OVER):
        await _notice(fake, comment_id)
    rows = await db.fetch_value("SELECT COUNT(*) FROM comment_notices")
    assert rows == DIGEST_OVER


async def test_a_reply_before_the_pass_records_its_notice_still_answers(
    fake: FakeTelegram, bot_factory: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pass records its notices after sending them all: a moderator replying to one in
    between (a fast thumb, a slow database) is matched to its comment all the same."""
    import asyncio

    from bot.handlers import moderation

    bot = await _start(bot_factory, fake, feedback_per_hour=0, feedback_per_day=0)
    db = bot.svc.db
    await _submit(db, 7500, "Đề nghị sửa đèn đường ở tổ 5", NOW, per_hour=0)
    release = asyncio.Event()
    record = store.record_notified

    async def slow_record(*args: Any, **kwargs: Any) -> None:
        await release.wait()
        await record(*args, **kwargs)

    monkeypatch.setattr(moderation.store, "record_notified", slow_record)
    task = asyncio.create_task(moderation.notify_moderators(bot.app, [1]))
    notice = await _notice(fake, 1)
    assert await db.fetch_value("SELECT COUNT(*) FROM comment_notices") == 0  # not yet
    admin = fake.users[ADMIN_ID]
    fake.send_text(ADMIN_CHAT, admin, "Đã chuyển cho phường xử lý.", reply_to=notice)
    preview = await fake.wait_for_message(ADMIN_CHAT, contains="Xem lại câu trả lời")
    assert "#1" in preview.text
    release.set()
    await task
    assert await db.fetch_value("SELECT comment_id FROM comment_notices") == 1
