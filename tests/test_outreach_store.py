"""Outreach store and domain on real SQLite files: the legacy unit labels migrate into
the directory, rename and merge (old codes resolve, groups and reports follow), the CSV
import/export round trip, session totals, poll result combining, the briefing's round
trip through Loa's own digest, and the reminders' rules."""

from __future__ import annotations

import sqlite3
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.actions.outreach import in_office_hours
from bot.cli.articles import digest_json
from bot.config import load_settings
from bot.domain import briefing, polls, sessions, spreadsheets
from bot.domain import units as unit_rules
from bot.domain.errors import InvalidInput
from bot.domain.periods import quarter
from bot.store import db as dbmod
from bot.store import sessions as session_store
from bot.store import units
from bot.store.db import Database

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
NOW = 1_700_000_000


async def test_free_text_unit_labels_migrate_into_the_directory(tmp_path: Path) -> None:
    path = tmp_path / "loa.db"
    # a database as it was before migration 009, with /setunit labels
    earlier = [m for m in dbmod.load_migrations() if m.version < 9]
    con = sqlite3.connect(path)
    con.execute(
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL,"
        " applied_at INTEGER NOT NULL)"
    )
    for m in earlier:
        con.executescript(m.sql)
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, 0)", (m.version, m.name))
    for cid, unit in (
        (-1, "phuong-chi-lang"),
        (-2, "phuong-chi-lang"),
        (-3, " xa-mai-pha "),
        (-4, None),
    ):
        con.execute(
            "INSERT INTO chats (id, type, first_seen, last_seen) VALUES (?, 'group', 0, 0)", (cid,)
        )
        con.execute(
            "INSERT INTO subscriptions (chat_id, approval, audience, unit, created_at, updated_at)"
            " VALUES (?, 'approved', 'cadre', ?, 0, 0)",
            (cid, unit),
        )
    con.commit()
    con.close()
    async with Database(path) as db:
        assert await db.schema_version() >= 9
        codes = sorted(u.code for u in await units.all_units(db))
        assert codes == ["phuong-chi-lang", "xa-mai-pha"]
        assert sorted(await units.unit_groups(db, "phuong-chi-lang")) == [-2, -1]
        assert await units.unit_groups(db, "xa-mai-pha") == [-3]  # trimmed label follows
        # staff name them later; the code keeps resolving
        await units.rename_unit(db, "phuong-chi-lang", name="Phường Chi Lăng", now=NOW)
        assert await units.unit_name(db, "phuong-chi-lang") == "Phường Chi Lăng"
        assert (await units.get_unit(db, "phuong chi lang")).code == "phuong-chi-lang"


async def test_rename_code_and_merge_keep_groups_reports_and_old_codes(tmp_path: Path) -> None:
    async with Database(tmp_path / "loa.db") as db:
        for cid, code in ((-10, "a"), (-11, "b"), (-12, "b")):
            await db.execute(
                "INSERT INTO chats (id, type, first_seen, last_seen) VALUES (?, 'group', 0, 0)",
                (cid,),
            )
            await db.execute(
                "INSERT INTO subscriptions (chat_id, approval, audience, unit, created_at,"
                " updated_at) VALUES (?, 'approved', 'cadre', ?, 0, 0)",
                (cid, code),
            )
        a = await units.create_unit(db, "a", "Phường A", now=NOW)
        b = await units.create_unit(db, "b", "Phường B", now=NOW)
        for unit in (a, b, b):
            await session_store.save_report(
                db,
                unit_id=unit.id,
                held_on=date(2022, 2, 1),
                topics=["chỉ thị"],
                fmt="truc-tiep",
                listeners=10,
                note=None,
                reporter_id=1,
                chat_id=None,
                now=NOW,
            )
        # a unit broadcast waiting to be sent follows the new code
        await db.execute(
            "INSERT INTO broadcasts (kind, state, body, parts, audience, created_at)"
            " VALUES ('announcement', 'queued', 'x', '[\"x\"]', 'unit:b', 0)"
        )
        renamed = await units.rename_unit(db, "b", code="phuong-b", now=NOW)
        assert renamed.code == "phuong-b" and (await units.get_unit(db, "b")).id == b.id
        assert sorted(await units.unit_groups(db, "phuong-b")) == [-12, -11]
        assert await db.fetch_value("SELECT audience FROM broadcasts") == "unit:phuong-b"
        with pytest.raises(InvalidInput):
            await units.create_unit(db, "b", "Lại B", now=NOW)  # an old code stays taken
        result = await units.merge_units(db, "a", "phuong-b", now=NOW)
        assert (result.groups, result.reports) == (1, 1)
        assert sorted(await units.unit_groups(db, "phuong-b")) == [-12, -11, -10]
        assert (await units.get_unit(db, "a")).name == "Phường B"
        t = await session_store.totals(db, date(2022, 1, 1), date(2022, 4, 1), "quý I/2022")
        assert (t.sessions, t.listeners, t.units) == (3, 30, 1)
        assert [u.code for u in await units.all_units(db)] == ["phuong-b"]
        with pytest.raises(InvalidInput):
            await units.merge_units(db, "phuong-b", "b", now=NOW)


async def test_csv_import_export_round_trip_and_errors(tmp_path: Path) -> None:
    csv = "Mã;Tên đơn vị;Mã đơn vị cấp trên\ntinh;Tỉnh Lạng Sơn;\n;Phường Đông Kinh;tinh\n"
    rows = unit_rules.parse_units_csv(("\ufeff" + csv).encode())
    assert [(r.code, r.parent) for r in rows] == [("tinh", None), ("phuong-dong-kinh", "tinh")]
    async with Database(tmp_path / "loa.db") as db:
        assert await units.import_units(db, rows, now=NOW) == (2, 0)
        exported = spreadsheets.to_csv(unit_rules.units_table(await units.directory_rows(db)))
        again = unit_rules.parse_units_csv(exported)
        assert [(r.code, r.name, r.parent) for r in again] == [
            ("phuong-dong-kinh", "Phường Đông Kinh", "tinh"),
            ("tinh", "Tỉnh Lạng Sơn", None),
        ]
        assert await units.import_units(db, again, now=NOW) == (0, 0)
        bad = unit_rules.parse_units_csv(b"ma,ten,cap tren\nx,X,khong-co\n")
        with pytest.raises(InvalidInput, match="Dòng 2"):
            await units.import_units(db, bad, now=NOW)
        assert len(await units.all_units(db)) == 2  # nothing of the bad file was kept
    for broken, line in (
        (b"ma,ten\nx,\n", "Dòng 2"),
        (b"ma,ten\nA B,C\n", "Dòng 2"),
        (b"ma,ten\nx,X\nx,Y\n", "Dòng 3"),
        (b"\xff\xfe", "UTF-8"),
        (b"foo,bar\n1,2\n", "Dòng 1"),
    ):
        with pytest.raises(InvalidInput, match=line):
            unit_rules.parse_units_csv(broken)


def test_poll_text_rules_and_combining() -> None:
    spec = polls.parse_poll(
        "Câu hỏi?\n1. Có\n2) Không\nhạn: 2 giờ\nchọn nhiều", now=NOW, tz=TZ, default_hours=72
    )
    assert spec.options == ("Có", "Không") and spec.multiple and spec.anonymous
    assert spec.closes_at == NOW + 7200
    for bad in (
        "Câu hỏi?\n- Một",
        "Câu hỏi?\n- A\n- a",
        "Q\n- A\n- B\nhạn: hôm qua",
        "Q\n" + "\n".join(f"- {i}" for i in range(11)),
        "Q\n- " + "x" * 101 + "\n- B",
    ):
        with pytest.raises(InvalidInput):
            polls.parse_poll(bad, now=NOW, tz=TZ, default_hours=72)
    named = polls.combine(
        ["A", "B"],
        anonymous=False,
        chats=3,
        votes=[
            polls.Vote("1", (0,)),
            polls.Vote("2", (0, 1)),
            polls.Vote("2", ()),
            polls.Vote("3", (7,)),
        ],
        totals=[],
    )
    assert (named.counts, named.voters) == ((2, 1), 2)
    anonymous = polls.combine(
        ["A", "B"],
        anonymous=True,
        chats=2,
        votes=[],
        totals=[polls.NativeTotals("1", (3, 1), 4), polls.NativeTotals("2", (0, 5, 9), 5)],
    )
    assert (anonymous.counts, anonymous.voters) == ((3, 6), 9)


def test_session_form_values() -> None:
    today = date(2022, 4, 8)
    assert sessions.parse_day("hôm qua", today) == date(2022, 4, 7)
    assert sessions.parse_day("1/4", today) == date(2022, 4, 1)
    assert sessions.parse_listeners("1.200") == 1200
    for bad in ("9/4/2022", "31/02/2022", "mai"):
        with pytest.raises(InvalidInput):
            sessions.parse_day(bad, today)
    with pytest.raises(InvalidInput):
        sessions.parse_listeners("nhiều")
    assert sessions.may_change(
        is_staff=False, is_reporter=True, created_at=0, now=86400 * 3, edit_days=3
    )
    assert not sessions.may_change(
        is_staff=False, is_reporter=True, created_at=0, now=86400 * 3 + 1, edit_days=3
    )
    assert not sessions.may_change(
        is_staff=False, is_reporter=False, created_at=0, now=0, edit_days=3
    )
    assert sessions.may_change(
        is_staff=True, is_reporter=False, created_at=0, now=10**9, edit_days=0
    )


def test_office_hours() -> None:
    settings = load_settings(_env_file=None)
    monday_9 = datetime(2022, 4, 4, 9, 0, tzinfo=TZ).timestamp()
    assert in_office_hours(monday_9, settings)
    assert not in_office_hours(monday_9 + 10 * 3600, settings)  # 19:00
    assert not in_office_hours(monday_9 + 5 * 86400, settings)  # Saturday
    assert not in_office_hours(datetime(2022, 5, 2, 9, tzinfo=TZ).timestamp(), settings)  # 30/4


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (350, ("", "350")),
        (12_345, ("hơn", "12.000")),
        (12_000, ("", "12.000")),
        (1_460, ("hơn", "1.400")),
        (999, ("", "999")),
    ],
)
def test_sample_rounding(n: int, expected: tuple[str, str]) -> None:
    assert briefing.rounded(n) == expected


def test_briefing_round_trip_through_the_digest(tmp_path: Path) -> None:
    data = briefing.BriefingData(
        quarter(2022, 1),
        quarter(2022, 2),
        sessions=350,
        listeners=12_345,
        reporting_units=12,
        topics=["chỉ thị, nghị quyết", "kinh tế – xã hội"],
        by_format=[("lồng ghép", 300), ("trực tiếp", 50)],
        directives=3,
        directive_groups=45,
        directive_acks=40,
        announcements=12,
        articles=30,
        reads=5_321,
        comments=85,
        answered=60,
        answered_on_time=55,
        polls=[briefing.PollSummary("Bạn biết chủ trương qua kênh nào?", 1_234, "Loa", 0.45)],
    )
    draft = briefing.write(data)
    text = briefing.to_markdown(
        draft, article_id="2022-q1-bao-cao-quy", day=date(2022, 4, 8), author="Loa"
    )
    assert "tổ chức tuyên truyền được 350 buổi cho hơn 12.000 lượt người nghe" in text
    path = tmp_path / "draft.md"
    path.write_text(text, encoding="utf-8")
    found = digest_json(path, 3)
    figures = {(f["qualifier"], f["value"]) for f in found["figures"]}
    assert found["title"] == "Kết quả công tác tuyên giáo quý I/2022"
    assert len(draft.facts) >= 12
    for fact in draft.facts:
        assert (fact.qualifier, fact.value) in figures, fact


async def _seed_quarter(path: Path) -> None:
    async with Database(path) as db:
        unit = await units.create_unit(db, "phuong-a", "Phường A", now=NOW)
        for day, listeners in ((date(2022, 1, 10), 8_000), (date(2022, 3, 2), 4_345)):
            await session_store.save_report(
                db,
                unit_id=unit.id,
                held_on=day,
                topics=["chỉ thị, nghị quyết"],
                fmt="long-ghep",
                listeners=listeners,
                note=None,
                reporter_id=1,
                chat_id=None,
                now=NOW,
            )


def test_loa_briefing_cli_writes_the_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    from bot.cli import main

    asyncio.run(_seed_quarter(tmp_path / "loa.db"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LOA_DB_PATH", str(tmp_path / "loa.db"))
    monkeypatch.setenv("LOA_CONTENT_DIR", str(tmp_path / "content"))
    out = tmp_path / "brief.md"
    assert main(["briefing", "--quarter", "2022-Q1", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "tổ chức tuyên truyền được 2 buổi cho hơn 12.000 lượt người nghe" in text
    assert "quý II/2022" in text
    assert main(["briefing", "--quarter", "2022-13"]) == 2
    assert "--quarter" in capsys.readouterr().err
    assert main(["briefing", "--quarter", "2022-Q2"]) == 0  # default place, nothing reported
    draft = tmp_path / "content" / "drafts" / "2022-q2-bao-cao-quy.md"
    assert "chưa có đơn vị nào gửi báo cáo" in draft.read_text(encoding="utf-8")


async def test_old_unit_codes_still_reach_the_unit(tmp_path: Path) -> None:
    from bot.domain.broadcasts import Audience
    from bot.store import drafts
    from bot.store import subscriptions as subs

    async with Database(tmp_path / "loa.db") as db:
        await db.execute(
            "INSERT INTO chats (id, type, first_seen, last_seen) VALUES (-7, 'group', 0, 0)"
        )
        await db.execute(
            "INSERT INTO subscriptions (chat_id, approval, audience, unit, created_at,"
            " updated_at) VALUES (-7, 'approved', 'cadre', 'xa-cu', 0, 0)"
        )
        await units.create_unit(db, "xa-cu", "Xã Cũ", now=NOW)
        await units.create_unit(db, "phuong-moi", "Phường Mới", now=NOW)
        await units.merge_units(db, "xa-cu", "phuong-moi", now=NOW)
        # a directive file written before the merge still names the old code
        old = Audience("unit", "xa-cu")
        assert await subs.count_recipients(db, old) == 1
        bid = await drafts.create_draft(
            db, kind="directive", body="x", parts=["x"], audience=old, created_by=None, now=NOW
        )
        total = await drafts.queue_broadcast(
            db,
            bid,
            scheduled_at=None,
            actor_id=None,
            actor_role=None,
            now=NOW,
            admin_approved=True,
        )
        assert total == 1
        assert (await drafts.get_broadcast(db, bid)).audience == "unit:phuong-moi"


async def test_briefing_counts_on_time_by_the_casework_deadline(tmp_path: Path) -> None:
    """The briefing's "đúng hạn" is casework's rule (working days), not a rule of its own."""
    from bot.actions import briefing as briefing_actions

    hanoi = ZoneInfo("Asia/Ho_Chi_Minh")
    received = int(datetime(2022, 1, 4, 9, 0, tzinfo=hanoi).timestamp())
    answered = {
        1: int(datetime(2022, 1, 6, 9, 0, tzinfo=hanoi).timestamp()),  # 2 working days
        2: int(datetime(2022, 2, 25, 9, 0, tzinfo=hanoi).timestamp()),  # weeks late
    }
    settings = load_settings(db_path=tmp_path / "loa.db", content_dir=tmp_path / "content")
    async with Database(tmp_path / "loa.db") as db:
        for cid, at in answered.items():
            await db.execute(
                "INSERT INTO comments (id, user_id, chat_id, user_name, text_masked, dup_key,"
                " status, decision, answer, answered_at, resolved_at, created_at)"
                " VALUES (?, ?, ?, 'A', 'Ý kiến', ?, 'answered', 'approved', 'Đã trả lời.',"
                " ?, ?, ?)",
                (cid, 100 + cid, 100 + cid, f"k{cid}", at, at, received + cid),
            )
        data = await briefing_actions.gather(db, quarter(2022, 1), settings)
    assert (data.comments, data.answered, data.answered_on_time) == (2, 2, 1)
    assert "trong đó 1 ý kiến được trả lời đúng hạn." in " ".join(briefing.write(data).paragraphs)
