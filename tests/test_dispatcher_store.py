"""The outbox in a real SQLite file: marking, outcomes, restarts, cancel, migration, forget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.broadcasts import Audience
from bot.domain.errors import InvalidInput
from bot.store import broadcasts as store
from bot.store.db import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    async with Database(tmp_path / "loa.db") as database:
        for cid, kind in ((1, "private"), (2, "private"), (-10, "group"), (-20, "group")):
            await database.execute(
                "INSERT INTO chats (id, type, title, first_seen, last_seen)"
                " VALUES (?, ?, 't', 0, 0)",
                (cid, kind),
            )
            await store.subscribe(database, cid, cid, [], 0)
        await store.set_approval(database, -10, "approved", actor_id=9, actor_role="owner", now=0)
        yield database


async def _queued(db: Database, audience: Audience) -> int:
    bid = await store.create_draft(
        db, kind="announcement", body="x", parts=["x"], audience=audience, created_by=9, now=0
    )
    await store.queue_broadcast(db, bid, scheduled_at=None, actor_id=9, actor_role="owner", now=0)
    return bid


async def test_audience_resolved_in_one_transaction_and_no_double_queue(db: Database) -> None:
    bid = await _queued(db, Audience("cadre"))
    rows = await db.fetch_all("SELECT chat_id FROM deliveries WHERE broadcast_id = ?", (bid,))
    assert [r[0] for r in rows] == [-10]
    with pytest.raises(InvalidInput):
        await store.queue_broadcast(
            db, bid, scheduled_at=None, actor_id=9, actor_role="owner", now=0
        )
    assert await db.fetch_value("SELECT COUNT(*) FROM deliveries") == 1


async def test_mark_rechecks_cadre_approval(db: Database) -> None:
    bid = await _queued(db, Audience("cadre"))
    await store.set_approval(db, -10, "revoked", actor_id=9, actor_role="owner", now=1)
    due = await store.fetch_due(db, 10, 100)
    go, skipped = await store.mark_sending(db, [d.id for d in due], 10)
    assert go == {} and list(skipped.values()) == ["not an approved cadre chat"]
    assert await store.finish_idle_broadcasts(db, 10) == [bid]


async def test_fetch_is_not_a_checkpoint_and_crash_resends(db: Database) -> None:
    bid = await _queued(db, Audience("all"))
    due = await store.fetch_due(db, 10, 100)
    assert len(due) == 4
    assert len(await store.fetch_due(db, 10, 100)) == 4  # fetching twice changes nothing
    go, _ = await store.mark_sending(db, [due[0].id, due[1].id], 10)
    assert len(go) == 2
    await store.record_outcomes(
        db, [store.Outcome(due[0].id, bid, due[0].chat_id, "sent", (5,))], 11
    )
    # crash: due[1] was "sending" (possibly sent); the restart puts it back, counted as resend
    assert await store.reset_in_flight(db, 12) == 1
    states = dict(await db.fetch_all("SELECT id, state FROM deliveries"))
    assert states[due[0].id] == "sent" and states[due[1].id] == "pending"
    assert await db.fetch_value("SELECT resends FROM deliveries WHERE id = ?", (due[1].id,)) == 1


async def test_cancel_stays_cancelled(db: Database) -> None:
    bid = await _queued(db, Audience("all"))
    assert await store.cancel_broadcast(db, bid, actor_id=9, actor_role="owner", now=1) == 4
    await store.reset_in_flight(db, 2)
    assert await store.fetch_due(db, 10, 100) == []
    assert (await store.get_broadcast(db, bid)).state == "cancelled"


async def test_forbidden_outcome_deactivates(db: Database) -> None:
    bid = await _queued(db, Audience("all"))
    due = {d.chat_id: d for d in await store.fetch_due(db, 10, 100)}
    await store.mark_sending(db, [due[2].id], 10)
    await store.record_outcomes(
        db,
        [
            store.Outcome(
                due[2].id,
                bid,
                2,
                "blocked",
                error="blocked",
                deactivate_reason="forbidden: blocked",
            )
        ],
        11,
    )
    sub = await store.get_subscription(db, 2)
    assert sub is not None and not sub.active and sub.inactive_reason == "forbidden: blocked"


async def test_migrate_when_new_id_already_exists(db: Database) -> None:
    bid = await _queued(db, Audience("all"))
    await db.execute(
        "INSERT INTO chats (id, type, title, first_seen, last_seen)"
        " VALUES (-1000010, 'supergroup', 't', 0, 0)"
    )
    await store.migrate_chat(db, -10, -1000010, 5)
    sub = await store.get_subscription(db, -1000010)
    assert sub is not None and sub.is_cadre and sub.active
    row = await db.fetch_one(
        "SELECT chat_id, state FROM deliveries WHERE broadcast_id = ? AND chat_id = -1000010",
        (bid,),
    )
    assert row is not None and row[1] == "pending"
    old = await store.get_subscription(db, -10)
    assert old is not None and not old.active


async def test_auto_directive_is_idempotent(db: Database) -> None:
    kwargs = dict(
        quarter="2022-Q2",
        title="t",
        body="b",
        parts=["b"],
        audience=Audience("cadre"),
        scheduled_at=100,
        now=0,
        report_chat_id=None,
    )
    first = await store.schedule_auto_directive(db, **kwargs)  # type: ignore[arg-type]
    assert first is not None
    assert await store.schedule_auto_directive(db, **kwargs) is None  # type: ignore[arg-type]
    assert await store.materialize_due_auto(db, 50) == []
    assert await store.materialize_due_auto(db, 100) == [first]
    assert await store.materialize_due_auto(db, 200) == []
    assert (
        await db.fetch_value("SELECT COUNT(*) FROM deliveries WHERE broadcast_id = ?", (first,))
        == 1
    )


async def test_forgetter(db: Database) -> None:
    bid = await store.create_draft(
        db,
        kind="directive",
        body="x",
        parts=["x"],
        audience=Audience("cadre"),
        created_by=9,
        now=0,
        with_ack=True,
    )
    await store.record_ack(db, bid, -10, 2, 1)
    async with db.transaction() as conn:
        lines = await store.forget_user(conn, 2)
    assert len(lines) == 2
    assert await store.get_subscription(db, 2) is None
    assert await db.fetch_value("SELECT user_id FROM acks") is None
    assert await db.fetch_value("SELECT COUNT(*) FROM acks") == 1


async def test_cancel_while_in_flight_stays_cancelled(db: Database) -> None:
    """[Dừng] while requests are out: a 429 retry-later outcome and a crash both keep the
    stopped broadcast stopped (nothing left pending for ever, nothing resent)."""
    bid = await _queued(db, Audience("all"))
    due = await store.fetch_due(db, 10, 100)
    go, _ = await store.mark_sending(db, [d.id for d in due[:2]], 10)
    assert len(go) == 2
    assert await store.cancel_broadcast(db, bid, actor_id=9, actor_role="owner", now=11) == 2
    retry = store.Outcome(due[0].id, bid, due[0].chat_id, "pending", next_attempt_at=12)
    await store.record_outcomes(db, [retry], 12)
    await store.reset_in_flight(db, 13)  # due[1] was in flight at a crash
    states = dict(await db.fetch_all("SELECT id, state FROM deliveries"))
    assert set(states.values()) == {"cancelled"}, states
    assert await store.next_due_time(db) is None


async def test_huge_ids_are_not_found() -> None:
    from bot.domain.errors import NotFound
    from bot.handlers.broadcasts import parse_id

    assert parse_id("42") == 42
    for raw in ("0", "-1", "99999999999999999999999", "abc", "", "١٢"):
        with pytest.raises(NotFound):
            parse_id(raw)
