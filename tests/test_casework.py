"""Casework rules and storage: migration of existing comments, state transitions with
history and audit, figures, and /forgetme of a staff member who held cases."""

from __future__ import annotations

import sqlite3
import zoneinfo
from datetime import date
from pathlib import Path

import pytest

from bot.domain import casework as rules
from bot.domain.errors import InvalidInput, PermissionDenied
from bot.domain.workdays import WorkCalendar, parse_dates
from bot.store import cases
from bot.store import feedback as store
from bot.store.db import Database, load_migrations, split_statements

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")


def _old_database(path: Path) -> None:
    """A database as it was before casework (migrations below 008) with comments in
    every status, written with the plain sqlite3 module."""
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at INTEGER NOT NULL)"
    )
    for m in load_migrations():
        if m.version >= 8:
            continue
        for statement in split_statements(m.sql):
            conn.execute(statement)
        conn.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (m.version, m.name))
    rows = [
        (1, "received", None, None, None),
        (2, "approved", "approved", None, None),
        (3, "rejected", "rejected", None, None),
        (4, "answered", "approved", "Đã trả lời.", 1_650_500_000),
        (5, "deleted", None, None, None),
    ]
    for cid, status, decision, answer, answered_at in rows:
        conn.execute(
            "INSERT INTO comments (id, user_id, chat_id, user_name, text_masked, dup_key, status,"
            " decision, decided_at, answer, answered_at, created_at)"
            " VALUES (?, ?, ?, 'A', ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                cid,
                100 + cid,
                100 + cid,
                f"Ý kiến cũ số {cid} về đời sống",
                f"y kien cu so {cid}",
                status,
                decision,
                1_650_100_000 if decision else None,
                answer,
                answered_at,
                1_650_000_000 + cid,
            ),
        )
    conn.commit()
    conn.close()


async def test_existing_comments_migrate_to_khac_with_their_states(tmp_path: Path) -> None:
    path = tmp_path / "loa.db"
    _old_database(path)
    async with Database(path) as db:
        rows = await db.fetch_all(
            "SELECT id, status, decision, answer, text_masked, category, case_state, resolved_at"
            " FROM comments ORDER BY id"
        )
        assert [r["id"] for r in rows] == [1, 2, 3, 4, 5]  # nothing lost
        assert {r["category"] for r in rows} == {"khác"}
        assert [r["status"] for r in rows] == [
            "received", "approved", "rejected", "answered", "deleted",
        ]  # fmt: skip
        assert [r["case_state"] for r in rows] == [
            "moi", "dang_xu_ly", "tu_choi", "da_tra_loi", "da_dong",
        ]  # fmt: skip
        assert rows[3]["answer"] == "Đã trả lời." and rows[3]["resolved_at"] == 1_650_500_000
        assert rows[0]["resolved_at"] is None and rows[2]["resolved_at"] == 1_650_100_000
        assert rows[0]["text_masked"] == "Ý kiến cũ số 1 về đời sống"
        history = await db.fetch_all("SELECT comment_id, event FROM case_history ORDER BY id")
        assert [(r[0], r[1]) for r in history] == [(i, "migrate") for i in range(1, 6)]
        # Due days of old rows are computed with today's policy (the worker stores them).
        policy = rules.CasePolicy(rules.DEFAULT_CATEGORIES, 10, {}, WorkCalendar(), TZ)
        assert await cases.backfill_due_dates(db, policy) == 5
        case = await cases.get(db, 1)
        assert case.due == policy.due_for(case.created_at, "khác")
        # The old comments still work with the feedback store.
        comment = await store.get(db, 4)
        assert comment.status == "answered" and comment.answer == "Đã trả lời."


async def test_state_changes_history_audit_and_forgetting_staff(tmp_path: Path) -> None:
    async with Database(tmp_path / "loa.db") as db:
        policy = rules.CasePolicy(rules.DEFAULT_CATEGORIES, 10, {}, WorkCalendar(), TZ)
        now = 1_700_000_000
        c = await store.submit(
            db, user_id=1, chat_id=1, user_name="A", article_id=None,
            text="Đèn đường ngõ 5 hỏng đã một tháng", keep_original=False, now=now,
            per_hour=0, per_day=0, tz=TZ,
            intake=rules.Intake(category="giao thông", due=policy.due_for(now, "giao thông")),
        )  # fmt: skip
        case, holder = await cases.claim(db, c.id, actor_id=77, actor_role="moderator", now=now)
        assert holder is None and case.state == rules.IN_PROGRESS and case.holder_id == 77
        _, holder = await cases.claim(db, c.id, actor_id=78, actor_role="moderator", now=now)
        assert holder == 77  # not taken from its holder
        with pytest.raises(InvalidInput, match="cơ quan"):
            await cases.change_state(
                db, c.id, rules.TRANSFERRED, actor_id=77, actor_role="moderator", now=now
            )
        case, changed = await cases.change_state(
            db, c.id, rules.TRANSFERRED, actor_id=77, actor_role="moderator", now=now + 5,
            note="Công ty điện lực",
        )  # fmt: skip
        assert changed and case.transferred_to == "Công ty điện lực" and case.resolved_at == now + 5
        with pytest.raises(InvalidInput, match="Không thể chuyển"):
            await cases.change_state(
                db, c.id, rules.ANSWERED, actor_id=77, actor_role="moderator", now=now
            )
        case, changed = await cases.change_state(
            db, c.id, rules.CLOSED, actor_id=77, actor_role="moderator", now=now + 9
        )
        assert changed and case.resolved_at == now + 5  # the first outcome counts
        with pytest.raises(PermissionDenied):
            await cases.rate(db, c.id, user_id=2, rating=rules.GOOD, now=now)
        with pytest.raises(InvalidInput):  # nothing answered yet
            await cases.rate(db, c.id, user_id=1, rating=rules.GOOD, now=now)
        events = [h.event for h in await cases.history(db, c.id)]
        assert events == ["claim", "state", "state"]
        audit = await db.fetch_all("SELECT action, actor_id FROM audit_log ORDER BY id")
        assert [tuple(r) for r in audit] == [
            ("case.claim", 77), ("case.state", 77), ("case.state", 77),
        ]  # fmt: skip

        # The staff member erases their data: their id leaves cases and history.
        async with db.transaction() as conn:
            await cases.forget_user(conn, 77)
        assert (await cases.get(db, c.id)).holder_id is None
        assert not await db.fetch_all("SELECT 1 FROM case_history WHERE actor_id = 77")


def test_transitions_and_alerts() -> None:
    for state, targets in rules.TRANSITIONS.items():
        for target in rules.STATE_VI:
            if target in targets:
                rules.check_transition(state, target)
            else:
                with pytest.raises(InvalidInput):
                    rules.check_transition(state, target)
    cal = WorkCalendar(makeup_days=parse_dates("26/04/2025"))
    due = date(2025, 5, 5)  # Monday after 30/4-1/5-2/5
    assert rules.alert_for(due, date(2025, 4, 28), cal, 2) is None  # 29, 5/5 left
    assert rules.alert_for(due, date(2025, 4, 29), cal, 2) == rules.REMIND  # only 5/5 left
    assert rules.alert_for(due, due, cal, 2) == rules.REMIND
    assert rules.alert_for(due, date(2025, 5, 6), cal, 2) == rules.ESCALATE
    assert rules.parse_categories("Đất đai, đất  đai, Y tế") == ("Đất đai", "Y tế", "khác")
    with pytest.raises(ValueError):
        rules.parse_categories(" , ")
    assert rules.parse_category_days("y te=5", ("Y tế", "khác")) == {"Y tế": 5}


def test_figures_on_time_late_open_median_and_satisfaction() -> None:
    cal = WorkCalendar()
    today = date(2025, 3, 31)
    f = rules.CaseFact
    facts = [
        # Received before Tết, due 14/02, answered 12/02: on time, 8 working days.
        f("đất đai", "p1", date(2025, 1, 24), date(2025, 2, 14), date(2025, 2, 12), rules.GOOD),
        # Answered late.
        f("đất đai", None, date(2025, 2, 3), date(2025, 2, 17), date(2025, 2, 20), rules.POOR),
        # Still open and past its due day: late and open.
        f("y tế", "p1", date(2025, 3, 3), date(2025, 3, 17), None, None),
        # Open, not yet due.
        f("y tế", None, date(2025, 3, 28), date(2025, 4, 11), None, None),
    ]
    by_cat = {g.label: g for g in rules.figures(facts, cal, today, by="category")}
    land, health = by_cat["đất đai"], by_cat["y tế"]
    assert (land.received, land.on_time, land.late, land.open) == (2, 1, 1, 0)
    assert land.median_days == (8 + 13) / 2
    assert land.share(rules.GOOD) == 0.5 and land.share(rules.POOR) == 0.5
    assert (health.received, health.on_time, health.late, health.open) == (2, 0, 1, 2)
    assert health.median_days is None and health.share(rules.GOOD) is None
    total = rules.figures(facts, cal, today, by="total")[0]
    assert (total.received, total.on_time, total.late, total.open) == (4, 1, 2, 2)
    units = {g.label for g in rules.figures(facts, cal, today, by="unit")}
    assert units == {"p1", rules.NO_UNIT_VI}
    assert "trễ hạn 1" in rules.figures_line(land) and "hài lòng 50" in rules.figures_line(land)


def test_stats_message_stays_under_telegram_limit_with_many_places() -> None:
    from bot.domain.periods import parse_period
    from bot.domain.stats import Stats, render_telegram

    cal = WorkCalendar()
    today = date(2025, 3, 31)
    facts = [
        rules.CaseFact(cat, f"phuong-{i:03d}-co-ten-rat-dai", date(2025, 3, 3), date(2025, 3, 17),
                       None, None)
        for i in range(80)
        for cat in ("đất đai", "y tế")
    ]  # fmt: skip
    stats = Stats(
        period=parse_period("2025-Q1", today),
        case_by_category=tuple(rules.figures(facts, cal, today, by="category")),
        case_by_unit=tuple(rules.figures(facts, cal, today, by="unit")),
        case_total=rules.figures(facts, cal, today, by="total")[0],
    )
    text = render_telegram(stats)
    assert len(text) <= 4000 and "đất đai: nhận 80" in text and "phuong-000" in text
