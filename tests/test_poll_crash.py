"""A poll to 50 chats through a real `loa run`, SIGKILLed mid-send: resumed, nobody lost
(duplicates bounded by the dispatcher's concurrency); 30 voters answer, some in a copy
sent in the instant of the crash (adopted from its `poll` update); at the deadline the
poll is stopped in every chat (stopPoll through the outbox) and the combined results
count every voter once."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

from bot.domain import clock
from bot.store.db import Database
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, Limits
from tests.subprocess_bot import loa_env, spawn_loa, subscribe_chats

CHATS = 50
VOTERS = 30
CONCURRENCY = 4
QUESTION = "Bạn theo dõi tin tức của phường qua kênh nào?"


async def _populate(db_path: Path, fake: FakeTelegram) -> list[int]:
    ids = []
    for i in range(CHATS):
        uid = 820000 + i
        fake.private_chat(fake.user(uid, f"Dân {i}"))
        ids.append(uid)
    await subscribe_chats(db_path, [(cid, "private") for cid in ids])
    return ids


async def _spawn(tmp_path: Path, fake: FakeTelegram, log: Path) -> asyncio.subprocess.Process:
    env = loa_env(
        tmp_path,
        fake,
        LOA_ADMIN_IDS=str(ADMIN_ID),
        LOA_DISPATCHER_CONCURRENCY=str(CONCURRENCY),
        LOA_POLL_CHECK_INTERVAL="0.5",
        LOA_HEALTH_FILE=str(tmp_path / "health.json"),
    )
    return await spawn_loa(tmp_path, env, log)


def _polls_in(fake: FakeTelegram, chat_ids: list[int]) -> dict[int, int]:
    return {cid: len(fake.poll_messages(cid)) for cid in chat_ids}


async def test_poll_survives_sigkill_and_closes_at_the_deadline(
    tmp_path: Path, fake: FakeTelegram
) -> None:
    # Telegram's limits (30/s overall): 50 polls take a couple of seconds.
    fake.limits = Limits(enabled=True, global_per_second=10)
    chat_ids = await _populate(tmp_path / "loa.db", fake)
    log = tmp_path / "loa.log"
    proc = await _spawn(tmp_path, fake, log)
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    try:
        fake.send_text(
            owner, ADMIN_ID, f"/khaosat {QUESTION}\n- Loa phát thanh\n- Mạng xã hội\ncông khai"
        )
        control = await fake.wait_for_message(owner, "Số cuộc trò chuyện sẽ nhận", timeout=20)
        assert "Số cuộc trò chuyện sẽ nhận: 50" in control.content
        go = next(
            b["callback_data"] for b in control.buttons if b["callback_data"].startswith("bc:go")
        )
        fake.press_button(owner, ADMIN_ID, control.message_id, go)
        await fake.wait_for(lambda: sum(_polls_in(fake, chat_ids).values()) >= 15, timeout=30)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()
        assert sum(_polls_in(fake, chat_ids).values()) < CHATS  # really mid-send
        proc = await _spawn(tmp_path, fake, log)
        await fake.wait_for(
            lambda: all(n >= 1 for n in _polls_in(fake, chat_ids).values()), timeout=40
        )
        got = _polls_in(fake, chat_ids)
        duplicates = sum(n - 1 for n in got.values())
        print(f"chats={CHATS} lost=0 duplicates={duplicates} (bound {CONCURRENCY})")
        assert duplicates <= CONCURRENCY
        # 30 voters answer (in their chat's first poll)
        for i, cid in enumerate(chat_ids[:VOTERS]):
            message = fake.poll_messages(cid)[0]
            fake.vote(cid, cid, message.message_id, [i % 2])

        async def recorded() -> int:
            async with Database(tmp_path / "loa.db") as db:
                return int(await db.fetch_value("SELECT COUNT(*) FROM poll_votes") or 0)

        for _ in range(200):
            if await recorded() == VOTERS:
                break
            await asyncio.sleep(0.1)
        assert await recorded() == VOTERS
        # the deadline comes: stopped in every chat, by the running bot, through the outbox
        async with Database(tmp_path / "loa.db") as db:
            await db.execute("UPDATE polls SET closes_at = ?", (clock.now(),))
        # (a poll sent in the instant of the SIGKILL was never recorded: it is resent, and
        # the earlier copy cannot be stopped; its answers count until the deadline)
        await fake.wait_for(
            lambda: all(fake.poll_messages(cid)[-1].extra["poll"]["is_closed"] for cid in chat_ids),
            timeout=30,
        )
        still_open = sum(
            1
            for cid in chat_ids
            for m in fake.poll_messages(cid)
            if not m.extra["poll"]["is_closed"]
        )
        assert still_open <= duplicates  # a copy recorded before the crash is stopped too
        final = await fake.wait_for_message(owner, "Khảo sát đã hết hạn", timeout=10)
        assert "Số người trả lời: 30 trong 50 cuộc trò chuyện" in final.content
        assert "50,0% — Loa phát thanh (15)" in final.content
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    async with Database(tmp_path / "loa.db") as db:
        states = dict(
            await db.fetch_all(
                "SELECT d.state, COUNT(*) FROM deliveries d JOIN polls p"
                " ON p.broadcast_id = d.broadcast_id GROUP BY d.state"
            )
        )
        stopped = await db.fetch_value(
            "SELECT COUNT(*) FROM deliveries d JOIN polls p ON p.stop_broadcast_id = d.broadcast_id"
            " WHERE d.state = 'sent'"
        )
    assert states == {"sent": CHATS}
    assert stopped == CHATS
