"""Reminders through the running bot: a directive not acknowledged is reminded after the
delay, at most N times, only in office hours (through the outbox); a unit that reported
no session is reminded once near the quarter's end, in its cadre group."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.store import units
from tests.fakegram import FakeTelegram
from tests.harness import RunningBot, eventually

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
GROUP, SILENT_GROUP = -100771, -100772


async def _cadre_group(bot: RunningBot, fake: FakeTelegram, gid: int, code: str) -> None:
    fake.group(gid, f"Chi bộ {code}")
    db = bot.svc.db
    await db.execute(
        "INSERT INTO chats (id, type, title, first_seen, last_seen)"
        " VALUES (?, 'supergroup', ?, 0, 0)",
        (gid, f"Chi bộ {code}"),
    )
    await db.execute(
        "INSERT INTO subscriptions (chat_id, audience, approval, unit, created_at, updated_at)"
        " VALUES (?, 'cadre', 'approved', ?, 0, 0)",
        (gid, code),
    )


def reminders_done(db: object) -> object:
    async def check() -> bool:
        n = await db.fetch_value(  # type: ignore[attr-defined]
            "SELECT COUNT(*) FROM broadcasts WHERE kind = 'reminder' AND state <> 'done'"
        )
        return n == 0

    return check


async def test_directive_and_quarter_end_reminders(bot: RunningBot, fake: FakeTelegram) -> None:
    db = bot.svc.db
    await _cadre_group(bot, fake, GROUP, "phuong-a")
    await _cadre_group(bot, fake, SILENT_GROUP, "phuong-b")
    await units.create_unit(db, "phuong-a", "Phường A", now=0)
    await units.create_unit(db, "phuong-b", "Phường Bắc Sơn", now=0)
    monday = datetime(2022, 3, 28, 9, 0, tzinfo=TZ).timestamp()  # Q1's last week
    await db.execute(
        "INSERT INTO broadcasts (id, kind, state, title, body, parts, audience, cadre_only,"
        " cadre_ok, with_ack, created_at, started_at, finished_at, total)"
        " VALUES (40, 'directive', 'done', 'Chỉ đạo quý I', 'x', '[\"x\"]', 'cadre', 1, 1, 1,"
        " ?, ?, ?, 2)",
        (monday - 86400 * 2, monday - 86400 * 2, monday - 86400 * 2),
    )
    await db.executemany(
        "INSERT INTO deliveries (broadcast_id, chat_id, state, message_ids)"
        " VALUES (40, ?, 'sent', '[1]')",
        [(GROUP,), (SILENT_GROUP,)],
    )
    await db.execute(
        "INSERT INTO acks (broadcast_id, chat_id, user_id, at) VALUES (40, ?, 1, 0)",
        (SILENT_GROUP,),
    )
    reminders = bot.svc.features["reminders"]
    # at night nothing happens
    assert await reminders.run_once(monday - 3 * 3600) == (0, 0)
    directive_reminders, unit_reminders = await reminders.run_once(monday)
    assert (directive_reminders, unit_reminders) == (1, 2)
    reminder = await fake.wait_for_message(GROUP, "Nhắc lại")
    assert "Chỉ đạo quý I" in reminder.content
    assert reminder.buttons[0]["callback_data"] == "ack:40"
    assert not any("Nhắc lại" in m.content for m in fake.bot_messages(SILENT_GROUP))  # acked
    quarter_end = await fake.wait_for_message(SILENT_GROUP, "chưa báo cáo buổi tuyên truyền")
    assert "Phường Bắc Sơn" in quarter_end.content and "quý I/2022" in quarter_end.content
    assert "start=bcao_100772" in quarter_end.buttons[0]["url"]
    # not again before the delay; once more after it; never more than LOA_ACK_REMINDER_MAX
    assert await reminders.run_once(monday + 3600) == (0, 0)
    await eventually(reminders_done(db))
    assert await reminders.run_once(monday + 86400 + 3600) == (1, 0)
    await eventually(reminders_done(db))
    assert await reminders.run_once(monday + 2 * 86400 + 7200) == (0, 0)
    assert await db.fetch_value("SELECT COUNT(*) FROM broadcasts WHERE kind = 'reminder'") == 2
