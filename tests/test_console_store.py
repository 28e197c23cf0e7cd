"""The console's read models and the grouped recipient count, on real SQLite files."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

from bot.domain.broadcasts import parse_audience
from bot.store import console as views
from bot.store import subscriptions as subs
from bot.store.db import Database


async def _fill(db: Database, n: int) -> None:
    rnd = random.Random(7)
    chats, rows = [], []
    for i in range(n):
        group = i % 3 == 0
        cid = -1000 - i if group else 1000 + i
        chats.append((cid, "supergroup" if group else "private", f"Chat {i}", 0, 0, i % 11 != 0))
        approval = rnd.choice(["none", "pending", "approved", "rejected", "revoked"])
        rows.append(
            (
                cid,
                int(i % 7 != 0),
                "cadre" if approval == "approved" else "public",
                approval,
                rnd.choice([None, "phuong-a", "phuong-b"]) if group else None,
                rnd.choice(["", "tuyen-truyen", "tuyen-truyen,kinh-te-xa-hoi"]),
            )
        )
    await db.executemany(
        "INSERT INTO chats (id, type, title, first_seen, last_seen, active)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        chats,
    )
    await db.executemany(
        "INSERT INTO subscriptions (chat_id, active, audience, approval, unit, topics,"
        " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 0, 0)",
        rows,
    )


async def test_grouped_count_equals_the_recipient_rule(tmp_path: Path) -> None:
    """count_recipients (grouped in SQL) == the recipients the dispatcher would queue."""
    async with Database(tmp_path / "loa.db") as db:
        await _fill(db, 400)
        keys = [
            "all",
            "public",
            "cadre",
            "unit:phuong-a",
            "unit:phuong-a,phuong-b",
            "unit:nowhere",
            "topic:tuyen-truyen",
            "topic:kinh-te-xa-hoi",
            "topic:quoc-phong-an-ninh",
        ]
        for key in keys:
            audience = parse_audience(key)
            async with db.snapshot() as conn:
                expected = len(await subs._recipients(conn, audience))
            assert await subs.count_recipients(db, audience) == expected, key
            assert expected > 0 or key == "unit:nowhere"


async def test_delivery_pages_agree_with_and_without_joins(tmp_path: Path) -> None:
    async with Database(tmp_path / "loa.db") as db:
        await _fill(db, 90)
        await db.execute(
            "INSERT INTO broadcasts (id, kind, state, body, parts, created_at)"
            " VALUES (1, 'announcement', 'done', 'x', '[\"x\"]', 0)"
        )
        ids = [int(r[0]) for r in await db.fetch_all("SELECT chat_id FROM subscriptions")]
        states = itertools.cycle(["sent", "sent", "failed", "blocked"])
        await db.executemany(
            "INSERT INTO deliveries (broadcast_id, chat_id, state) VALUES (1, ?, ?)",
            [(cid, next(states)) for cid in ids],
        )
        everyone = await views.all_deliveries(db, 1, views.DeliveryFilter())
        assert len(everyone) == 90
        pages = []
        for offset in range(0, 90, 25):
            lines, total = await views.deliveries_page(
                db, 1, views.DeliveryFilter(), limit=25, offset=offset
            )
            assert total == 90
            pages.extend(lines)
        assert pages == everyone
        failed, total = await views.deliveries_page(db, 1, views.DeliveryFilter(state="failed"))
        assert total == len(failed) == sum(d.state == "failed" for d in everyone)
        unit, total = await views.deliveries_page(db, 1, views.DeliveryFilter(unit="phuong-a"))
        assert total == len(unit) == sum(d.unit == "phuong-a" for d in everyone) > 0
        named, total = await views.deliveries_page(db, 1, views.DeliveryFilter(query="Chat 1_"))
        assert total == 0  # "_" is a literal, not a LIKE wildcard
        named, total = await views.deliveries_page(db, 1, views.DeliveryFilter(query="Chat 12"))
        assert [d.title for d in named] == ["Chat 12"]


async def test_subscriber_pages_cover_everyone_once(tmp_path: Path) -> None:
    async with Database(tmp_path / "loa.db") as db:
        await _fill(db, 120)
        seen = []
        for offset in range(0, 120, 50):
            lines, total = await views.subscribers_page(
                db, kind=None, approval=None, limit=50, offset=offset
            )
            assert total == 120
            seen.extend(s.chat_id for s in lines)
        assert len(set(seen)) == 120 and seen[0] < 0  # groups first
        groups, total = await views.subscribers_page(db, kind="group", approval="pending")
        assert total == len(groups) and all(g.approval == "pending" for g in groups)
