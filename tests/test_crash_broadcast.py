"""SIGKILL a real `loa run` mid-broadcast several times: nobody lost, duplicates bounded."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

from bot.store import drafts
from bot.store.db import Database
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram, Limits
from tests.subprocess_bot import loa_env, spawn_loa, subscribe_chats

PRIVATE = 200
GROUPS = 40
CONCURRENCY = 8
TEXT = "Thông báo kiểm tra an toàn khi sập nguồn"
ROOT = Path(__file__).resolve().parent.parent


async def _populate(db_path: Path, fake: FakeTelegram) -> list[int]:
    chats: list[tuple[int, str]] = []
    for i in range(PRIVATE):
        uid = 810000 + i
        fake.private_chat(fake.user(uid, f"Dân {i}"))
        chats.append((uid, "private"))
    for i in range(GROUPS):
        gid = -3000 - i
        fake.group(gid, f"Tổ {i}")
        chats.append((gid, "group"))
    await subscribe_chats(db_path, chats)
    return [cid for cid, _ in chats]


async def _spawn(tmp_path: Path, fake: FakeTelegram, log: Path) -> asyncio.subprocess.Process:
    env = loa_env(
        tmp_path,
        fake,
        LOA_ADMIN_IDS=str(ADMIN_ID),
        LOA_DISPATCHER_CONCURRENCY=str(CONCURRENCY),
        LOA_PROGRESS_INTERVAL="2",
        LOA_HEALTH_FILE=str(tmp_path / "health.json"),
    )
    return await spawn_loa(tmp_path, env, log)


def _received(fake: FakeTelegram, chat_ids: list[int]) -> Counter[int]:
    return Counter(
        {cid: sum(1 for m in fake.bot_messages(cid) if TEXT in m.content) for cid in chat_ids}
    )


async def test_sigkill_mid_broadcast_loses_nobody(tmp_path: Path, fake: FakeTelegram) -> None:
    fake.limits = Limits(enabled=True)  # 30/s, 1/s per chat, 20/min per group: ~8 s of sending
    chat_ids = await _populate(tmp_path / "loa.db", fake)
    log = tmp_path / "loa.log"
    proc = await _spawn(tmp_path, fake, log)
    owner = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    try:
        fake.send_text(owner, ADMIN_ID, f"/thongbao {TEXT}")
        control = await fake.wait_for_message(owner, "Số cuộc trò chuyện sẽ nhận", timeout=20)
        data = next(
            b["callback_data"] for b in control.buttons if b["callback_data"].startswith("bc:go:")
        )
        fake.press_button(owner, ADMIN_ID, control.message_id, data)
        kills = 0
        for threshold in (30, 100, 170):
            await fake.wait_for(
                lambda t=threshold: sum(_received(fake, chat_ids).values()) >= t, timeout=30
            )
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
            kills += 1
            proc = await _spawn(tmp_path, fake, log)
        await fake.wait_for(
            lambda: all(n >= 1 for n in _received(fake, chat_ids).values()), timeout=40
        )

        # every row recorded as sent (wait for the final writes)
        async def all_sent() -> bool:
            async with Database(tmp_path / "loa.db") as db:
                n = await db.fetch_value("SELECT COUNT(*) FROM deliveries WHERE state = 'sent'")
            return n == len(chat_ids)

        for _ in range(100):
            if await all_sent():
                break
            await asyncio.sleep(0.1)
        assert await all_sent()
        # graceful stop: SIGTERM finishes and exits 0
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    got = _received(fake, chat_ids)
    lost = [cid for cid in chat_ids if got[cid] == 0]
    duplicates = sum(n - 1 for n in got.values() if n > 1)
    print(f"kills={kills} lost={len(lost)} duplicates={duplicates} (bound {kills * CONCURRENCY})")
    assert lost == []
    assert duplicates <= kills * CONCURRENCY
    async with Database(tmp_path / "loa.db") as db:
        resends = await db.fetch_value("SELECT SUM(resends) FROM deliveries")
        b = (await drafts.recent_broadcasts(db, 1))[0]
    assert b.state == "done"
    assert duplicates <= (resends or 0)  # a duplicate only where a possibly-sent row was resent
