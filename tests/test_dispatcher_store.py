"""The outbox in a real SQLite file: marking, outcomes, restarts, cancel, migration, forget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.broadcasts import Audience, StaleDecision
from bot.domain.errors import InvalidInput
from bot.store import directives, drafts, message_ops, outbox
from bot.store import subscriptions as subs
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
            await subs.subscribe(database, cid, cid, [], 0)
        await subs.set_approval(database, -10, "approved", actor_id=9, actor_role="owner", now=0)
        yield database


async def _queued(db: Database, audience: Audience, *, admin: bool = True) -> int:
    bid = await drafts.create_draft(
        db, kind="announcement", body="x", parts=["x"], audience=audience, created_by=9, now=0
    )
    await drafts.queue_broadcast(
        db,
        bid,
        scheduled_at=None,
        actor_id=9,
        actor_role="owner" if admin else "editor",
        now=0,
        admin_approved=admin,
    )
    return bid


async def test_audience_resolved_in_one_transaction_and_no_double_queue(db: Database) -> None:
    bid = await _queued(db, Audience("cadre"))
    rows = await db.fetch_all("SELECT chat_id FROM deliveries WHERE broadcast_id = ?", (bid,))
    assert [r[0] for r in rows] == [-10]
    with pytest.raises(InvalidInput):
        await drafts.queue_broadcast(
            db, bid, scheduled_at=None, actor_id=9, actor_role="owner", now=0, admin_approved=True
        )
    assert await db.fetch_value("SELECT COUNT(*) FROM deliveries") == 1


async def test_mark_rechecks_cadre_approval(db: Database) -> None:
    bid = await _queued(db, Audience("cadre"))
    await subs.set_approval(db, -10, "revoked", actor_id=9, actor_role="owner", now=1)
    due = await outbox.fetch_due(db, 10, 100)
    go, skipped = await outbox.mark_sending(db, [d.id for d in due], 10)
    assert go == {} and list(skipped.values()) == ["not an approved cadre chat"]
    assert await outbox.finish_idle_broadcasts(db, 10) == [bid]


async def test_fetch_is_not_a_checkpoint_and_crash_resends(db: Database) -> None:
    bid = await _queued(db, Audience("all"))
    due = await outbox.fetch_due(db, 10, 100)
    assert len(due) == 4
    assert len(await outbox.fetch_due(db, 10, 100)) == 4  # fetching twice changes nothing
    go, _ = await outbox.mark_sending(db, [due[0].id, due[1].id], 10)
    assert len(go) == 2
    await outbox.record_outcomes(
        db, [outbox.Outcome(due[0].id, bid, due[0].chat_id, "sent", (5,))], 11
    )
    # crash: due[1] was "sending" (possibly sent); the restart puts it back, counted as resend
    assert await outbox.reset_in_flight(db, 12) == 1
    states = dict(await db.fetch_all("SELECT id, state FROM deliveries"))
    assert states[due[0].id] == "sent" and states[due[1].id] == "pending"
    assert await db.fetch_value("SELECT resends FROM deliveries WHERE id = ?", (due[1].id,)) == 1


async def test_cancel_stays_cancelled(db: Database) -> None:
    bid = await _queued(db, Audience("all"))
    assert await drafts.cancel_broadcast(db, bid, actor_id=9, actor_role="owner", now=1) == 4
    await outbox.reset_in_flight(db, 2)
    assert await outbox.fetch_due(db, 10, 100) == []
    assert (await drafts.get_broadcast(db, bid)).state == "cancelled"


async def test_forbidden_outcome_deactivates(db: Database) -> None:
    bid = await _queued(db, Audience("all"))
    due = {d.chat_id: d for d in await outbox.fetch_due(db, 10, 100)}
    await outbox.mark_sending(db, [due[2].id], 10)
    await outbox.record_outcomes(
        db,
        [
            outbox.Outcome(
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
    sub = await subs.get_subscription(db, 2)
    assert sub is not None and not sub.active and sub.inactive_reason == "forbidden: blocked"


async def test_migrate_when_new_id_already_exists(db: Database) -> None:
    bid = await _queued(db, Audience("all"))
    await db.execute(
        "INSERT INTO chats (id, type, title, first_seen, last_seen)"
        " VALUES (-1000010, 'supergroup', 't', 0, 0)"
    )
    await subs.migrate_chat(db, -10, -1000010, 5)
    sub = await subs.get_subscription(db, -1000010)
    assert sub is not None and sub.is_cadre and sub.active
    row = await db.fetch_one(
        "SELECT chat_id, state FROM deliveries WHERE broadcast_id = ? AND chat_id = -1000010",
        (bid,),
    )
    assert row is not None and row[1] == "pending"
    old = await subs.get_subscription(db, -10)
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
    first = await directives.schedule_auto_directive(db, **kwargs)  # type: ignore[arg-type]
    assert first is not None
    assert await directives.schedule_auto_directive(db, **kwargs) is None  # type: ignore[arg-type]
    assert await directives.materialize_due_auto(db, 50) == []
    assert await directives.materialize_due_auto(db, 100) == [first]
    assert await directives.materialize_due_auto(db, 200) == []
    assert (
        await db.fetch_value("SELECT COUNT(*) FROM deliveries WHERE broadcast_id = ?", (first,))
        == 1
    )


async def test_forgetter(db: Database) -> None:
    bid = await drafts.create_draft(
        db,
        kind="directive",
        body="x",
        parts=["x"],
        audience=Audience("cadre"),
        created_by=9,
        now=0,
        with_ack=True,
    )
    await directives.record_ack(db, bid, -10, 2, 1)
    async with db.transaction() as conn:
        lines = await subs.forget_user(conn, 2)
    assert len(lines) == 2
    assert await subs.get_subscription(db, 2) is None
    assert await db.fetch_value("SELECT user_id FROM acks") is None
    assert await db.fetch_value("SELECT COUNT(*) FROM acks") == 1


async def test_cancel_while_in_flight_stays_cancelled(db: Database) -> None:
    """[Dừng] while requests are out: a 429 retry-later outcome and a crash both keep the
    stopped broadcast stopped (nothing left pending for ever, nothing resent)."""
    bid = await _queued(db, Audience("all"))
    due = await outbox.fetch_due(db, 10, 100)
    go, _ = await outbox.mark_sending(db, [d.id for d in due[:2]], 10)
    assert len(go) == 2
    assert await drafts.cancel_broadcast(db, bid, actor_id=9, actor_role="owner", now=11) == 2
    retry = outbox.Outcome(due[0].id, bid, due[0].chat_id, "pending", next_attempt_at=12)
    await outbox.record_outcomes(db, [retry], 12)
    await outbox.reset_in_flight(db, 13)  # due[1] was in flight at a crash
    states = dict(await db.fetch_all("SELECT id, state FROM deliveries"))
    assert set(states.values()) == {"cancelled"}, states
    assert await outbox.next_due_time(db) is None


async def test_huge_ids_are_not_found() -> None:
    from bot.domain.errors import NotFound
    from bot.handlers.announcements import parse_id

    assert parse_id("42") == 42
    for raw in ("0", "-1", "99999999999999999999999", "abc", "", "١٢"):
        with pytest.raises(NotFound):
            parse_id(raw)


async def test_editor_broadcast_never_reaches_a_cadre_chat(db: Database) -> None:
    """Issue 6: without an admin's approval, no delivery to an approved cadre chat: refused
    when the deliveries are created, skipped if a chat is approved before sending."""
    from bot.domain.broadcasts import NeedsAdminApproval

    for audience in (Audience("all"), Audience("topic", "tuyen-truyen"), Audience("cadre")):
        bid = await drafts.create_draft(
            db, kind="announcement", body="x", parts=["x"], audience=audience, created_by=9, now=0
        )
        with pytest.raises(NeedsAdminApproval):
            await drafts.queue_broadcast(
                db, bid, scheduled_at=None, actor_id=7, actor_role="editor", now=0
            )
        assert (await drafts.get_broadcast(db, bid)).state == "draft"
        assert await subs.cadre_recipients(db, audience) == 1
    assert not await db.fetch_value("SELECT COUNT(*) FROM deliveries")
    assert await subs.cadre_recipients(db, Audience("public")) == 0
    bid = await _queued(db, Audience("public"), admin=False)  # 1, 2, -20
    await subs.set_approval(db, -20, "approved", actor_id=9, actor_role="owner", now=1)
    due = await outbox.fetch_due(db, 10, 100)
    go, skipped = await outbox.mark_sending(db, [d.id for d in due], 10)
    assert sorted(go.values()) == [1, 2]
    assert list(skipped.values()) == ["cadre chat: needs an admin's approval"]


async def _sent_with_op(db: Database, chat_id: int, op: str) -> tuple[int, int]:
    """A cadre broadcast delivered to `chat_id` (message 77) and an [Sửa]/[Thu hồi] of it."""
    bid = await _queued(db, Audience("cadre"))
    due = [d for d in await outbox.fetch_due(db, 10, 100) if d.chat_id == chat_id]
    go, _ = await outbox.mark_sending(db, [due[0].id], 10)
    assert go
    await outbox.record_outcomes(db, [outbox.Outcome(due[0].id, bid, chat_id, "sent", (77,))], 11)
    if op == "edit":
        await message_ops.request_edit(
            db, bid, "y", ["y"], actor_id=9, actor_role="owner", report_chat_id=None, now=12
        )
    else:
        await message_ops.request_delete(
            db, bid, actor_id=9, actor_role="owner", report_chat_id=None, now=12
        )
    op_id = await db.fetch_value("SELECT id FROM message_ops WHERE broadcast_id = ?", (bid,))
    return bid, int(op_id)


async def test_migrate_merge_keeps_approval_unit_and_moves_ops(db: Database) -> None:
    await subs.set_unit(db, -10, "phuong-a", actor_id=9, actor_role="owner", now=0)
    _bid, op_id = await _sent_with_op(db, -10, "edit")
    # the supergroup id is known already, with its own (pending) subscription
    await db.execute(
        "INSERT INTO chats (id, type, title, first_seen, last_seen)"
        " VALUES (-1000010, 'supergroup', 't', 0, 0)"
    )
    await subs.subscribe(db, -1000010, 5, [], 1)
    await subs.set_approval(db, -1000010, "pending", actor_id=None, actor_role=None, now=1)
    await subs.migrate_chat(db, -10, -1000010, 20)
    sub = await subs.get_subscription(db, -1000010)
    assert sub is not None and sub.is_cadre and sub.audience == "cadre"
    assert sub.unit == "phuong-a" and sub.active
    assert await db.fetch_value("SELECT chat_id FROM message_ops WHERE id = ?", (op_id,)) == (
        -1000010
    )
    assert await message_ops.mark_op_sending(db, op_id, 21) == -1000010


async def test_migrate_merge_never_upgrades_a_rejected_chat(db: Database) -> None:
    await db.execute(
        "INSERT INTO chats (id, type, title, first_seen, last_seen)"
        " VALUES (-1000010, 'supergroup', 't', 0, 0)"
    )
    await subs.subscribe(db, -1000010, 5, [], 1)
    await subs.set_approval(db, -1000010, "rejected", actor_id=9, actor_role="owner", now=1)
    await subs.migrate_chat(db, -10, -1000010, 20)
    sub = await subs.get_subscription(db, -1000010)
    assert sub is not None and sub.approval == "rejected" and not sub.is_cadre


async def test_edit_op_rechecked_delete_op_always_goes(db: Database) -> None:
    _bid, edit_op = await _sent_with_op(db, -10, "edit")
    await subs.set_approval(db, -10, "revoked", actor_id=9, actor_role="owner", now=13)
    assert await message_ops.mark_op_sending(db, edit_op, 14) is None
    row = await db.fetch_one("SELECT state, last_error FROM message_ops WHERE id = ?", (edit_op,))
    assert tuple(row) == ("skipped", "not eligible: not an approved cadre chat")
    assert await message_ops.fetch_due_ops(db, 20, 10) == []
    await subs.set_approval(db, -10, "approved", actor_id=9, actor_role="owner", now=15)
    _bid2, delete_op = await _sent_with_op(db, -10, "delete")
    await subs.deactivate(db, -10, "unsubscribed", 16)
    assert await message_ops.mark_op_sending(db, delete_op, 17) == -10  # removing is always allowed
    reports = {a.op: a for a in await message_ops.finished_actions(db)}
    assert reports["edit"].counts == {"skipped": 1}
    assert reports["edit"].reasons == [("not eligible: not an approved cadre chat", 1)]


async def test_notice_buttons_decide_only_pending(db: Database) -> None:
    """A stale [Từ chối] on an old notice must not turn an approved chat into rejected."""
    with pytest.raises(StaleDecision):
        await subs.set_approval(
            db, -10, "rejected", actor_id=9, actor_role="owner", now=1, from_states=("pending",)
        )
    assert (await subs.get_subscription(db, -10)).approval == "approved"  # type: ignore[union-attr]
    await subs.set_approval(db, -20, "pending", actor_id=None, actor_role=None, now=1)
    sub = await subs.set_approval(
        db, -20, "rejected", actor_id=9, actor_role="owner", now=2, from_states=("pending",)
    )
    assert sub.approval == "rejected"


async def test_orphans_recovered_but_not_live_rows(db: Database) -> None:
    bid = await _queued(db, Audience("all"))
    due = await outbox.fetch_due(db, 10, 100)
    await outbox.mark_sending(db, [d.id for d in due], 10)
    live, orphan, fresh = due[0].id, due[1].id, due[2].id
    await db.execute("UPDATE deliveries SET updated_at = 11 WHERE id = ?", (fresh,))
    n, _ops = await outbox.recover_orphans(
        db, in_flight={live}, ops_in_flight=set(), older_than=10.5, now=12
    )
    assert n == 2  # orphan and due[3]; the live one and the freshly touched one stay
    states = dict(await db.fetch_all("SELECT id, state FROM deliveries"))
    assert states[live] == "sending" and states[fresh] == "sending"
    assert states[orphan] == "pending"
    assert await db.fetch_value("SELECT resends FROM deliveries WHERE id = ?", (orphan,)) == 1
    assert (await drafts.get_broadcast(db, bid)).state == "sending"
