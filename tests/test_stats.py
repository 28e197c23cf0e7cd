"""Statistics: periods, Vietnamese numbers, report figures from a scripted quarter, chart, CLI."""

from __future__ import annotations

import argparse
import asyncio
import struct
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from matplotlib.ft2font import FT2Font

from bot import charts
from bot.cli import ops as cli_ops
from bot.domain.errors import InvalidInput
from bot.domain.periods import parse_period, quarter
from bot.domain.stats import (
    ChatCounts,
    Stats,
    UnitAck,
    format_decimal,
    format_duration,
    format_int,
    format_percent,
    render_markdown,
    render_telegram,
)
from bot.store import articles, feedback, reports
from bot.store import subscriptions as subs
from bot.store.db import Database
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import RunningBot, make_settings

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
TODAY = date(2022, 5, 15)


def at(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> int:
    return int(datetime(y, m, d, hh, mm, tzinfo=TZ).timestamp())


# --- periods ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("", date(2022, 4, 1), date(2022, 7, 1), "quý II/2022"),
        ("quý I/2022", date(2022, 1, 1), date(2022, 4, 1), "quý I/2022"),
        ("Quý IV/2021", date(2021, 10, 1), date(2022, 1, 1), "quý IV/2021"),
        ("quy 1/2022", date(2022, 1, 1), date(2022, 4, 1), "quý I/2022"),
        ("quý 3 năm 2022", date(2022, 7, 1), date(2022, 10, 1), "quý III/2022"),
        ("2022-Q1", date(2022, 1, 1), date(2022, 4, 1), "quý I/2022"),
        ("Q2/2022", date(2022, 4, 1), date(2022, 7, 1), "quý II/2022"),
        ("q4 2022", date(2022, 10, 1), date(2023, 1, 1), "quý IV/2022"),
        ("quý III", date(2022, 7, 1), date(2022, 10, 1), "quý III/2022"),
        ("qu\u0079\u0301 II/2022", date(2022, 4, 1), date(2022, 7, 1), "quý II/2022"),  # NFD
        ("tháng 2/2024", date(2024, 2, 1), date(2024, 3, 1), "tháng 2/2024"),
        ("năm 2021", date(2021, 1, 1), date(2022, 1, 1), "năm 2021"),
        ("01/04/2022 30/06/2022", date(2022, 4, 1), date(2022, 7, 1), "01/04/2022 – 30/06/2022"),
        ("1/4/2022 - 15/4/2022", date(2022, 4, 1), date(2022, 4, 16), "01/04/2022 – 15/04/2022"),
        ("2022-04-01 2022-04-30", date(2022, 4, 1), date(2022, 5, 1), "01/04/2022 – 30/04/2022"),
        (
            "từ 01/04/2022 đến 30/04/2022",
            date(2022, 4, 1),
            date(2022, 5, 1),
            "01/04/2022 – 30/04/2022",
        ),
    ],
)
def test_parse_period(text: str, start: date, end: date, label: str) -> None:
    p = parse_period(text, TODAY)
    assert (p.start, p.end, p.label) == (start, end, label)


@pytest.mark.parametrize(
    "text",
    [
        "quý V/2022",
        "Q5 2022",
        "hôm qua",
        "30/06/2022 01/04/2022",
        "31/02/2022 1/3/2022",
        "tháng 13/2022",
    ],
)
def test_parse_period_refuses(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_period(text, TODAY)


def test_period_bounds_and_previous() -> None:
    q = quarter(2022, 2)
    assert q.bounds(TZ) == (at(2022, 4, 1, 0), at(2022, 7, 1, 0))
    assert q.previous().label == "quý I/2022" and quarter(2022, 1).previous().key == "2021-Q4"
    assert q.days == 91 and q.last_day == date(2022, 6, 30)


def test_vietnamese_numbers() -> None:
    assert format_int(12000) == "12.000"
    assert format_int(350) == "350" and format_int(-1234567) == "-1.234.567"
    assert format_decimal(112.7) == "112,7" and format_decimal(1234.56, 2) == "1.234,56"
    assert format_percent(0.155) == "15,5%" and format_percent(2 / 3) == "66,7%"
    assert format_percent(None) == "–" and format_percent(1.0) == "100,0%"
    assert format_duration(45 * 60) == "45 phút"
    assert (
        format_duration(3 * 3600) == "3 giờ" and format_duration(2 * 3600 + 900) == "2 giờ 15 phút"
    )
    assert format_duration(3 * 86400 + 4 * 3600) == "3 ngày 4 giờ"
    assert format_duration(None) == "–"


# --- the scripted quarter ---------------------------------------------------------


async def fill_scenario(db: Database) -> None:
    """Q2/2022 with known counts; rows before and after the quarter must not count."""

    async def chat(cid: int, kind: str) -> None:
        await db.execute(
            "INSERT INTO chats (id, type, title, first_seen, last_seen) VALUES (?, ?, ?, 0, 0)",
            (cid, kind, f"chat {cid}"),
        )

    for cid in (1, 2, 3, 4):
        await chat(cid, "private")
    for cid in (-10, -20, -30):
        await chat(cid, "supergroup")
    # Before the quarter: private 1, 2; public group -10; cadre group -20 (unit chi-lang).
    for cid in (1, 2, -10, -20):
        await subs.subscribe(db, cid, 1, [], at(2022, 3, 10))
    await subs.set_approval(
        db, -20, "approved", actor_id=ADMIN_ID, actor_role="owner", now=at(2022, 3, 11)
    )
    await subs.set_unit(
        db, -20, "Phường Chi Lăng", actor_id=ADMIN_ID, actor_role="owner", now=at(2022, 3, 11)
    )
    # In the quarter: cadre group -30 (Xã Mai Pha) and private 3 join; private 2 blocks the bot.
    await subs.subscribe(db, -30, 1, [], at(2022, 4, 5))
    await subs.set_approval(
        db, -30, "approved", actor_id=ADMIN_ID, actor_role="owner", now=at(2022, 4, 5)
    )
    await subs.set_unit(
        db, -30, "Xã Mai Pha", actor_id=ADMIN_ID, actor_role="owner", now=at(2022, 4, 5)
    )
    await subs.subscribe(db, 3, 3, [], at(2022, 4, 10))
    await subs.deactivate(db, 2, "blocked", at(2022, 5, 1))
    # After the quarter: private 4.
    await subs.subscribe(db, 4, 4, [], at(2022, 7, 5))

    async def broadcast(bid: int, kind: str, started: int, parent: int | None = None) -> None:
        await db.execute(
            "INSERT INTO broadcasts (id, kind, state, body, parts, created_at, started_at,"
            " finished_at, parent_id) VALUES (?, ?, 'done', 'b', '[\"b\"]', ?, ?, ?, ?)",
            (bid, kind, started - 60, started, started + 30, parent),
        )

    async def delivery(bid: int, cid: int, state: str, when: int) -> None:
        await db.execute(
            "INSERT INTO deliveries (broadcast_id, chat_id, state, sent_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (bid, cid, state, when if state == "sent" else None, when),
        )

    async def ack(bid: int, cid: int, user: int) -> None:
        await db.execute(
            "INSERT INTO acks (broadcast_id, chat_id, user_id, at) VALUES (?, ?, ?, ?)",
            (bid, cid, user, at(2022, 6, 2)),
        )

    await broadcast(9, "announcement", at(2022, 3, 20))  # before: not counted
    await delivery(9, 1, "sent", at(2022, 3, 20))
    await broadcast(1, "announcement", at(2022, 4, 15))  # Friday, week of 11/04
    await delivery(1, 1, "sent", at(2022, 4, 15))
    await delivery(1, 2, "blocked", at(2022, 4, 15))
    await delivery(1, 3, "sent", at(2022, 4, 15))
    await delivery(1, -10, "failed", at(2022, 4, 15))
    await broadcast(2, "directive", at(2022, 5, 10))  # Tuesday, week of 09/05
    await delivery(2, -20, "sent", at(2022, 5, 10))
    await delivery(2, -30, "sent", at(2022, 5, 10))
    await ack(2, -20, 501)
    await ack(2, -20, 502)  # a second member of the same group: still one chat
    await broadcast(3, "directive", at(2022, 6, 1))  # Wednesday, week of 30/05
    await delivery(3, -30, "sent", at(2022, 6, 1))
    await ack(3, -30, 601)

    # Articles: two published in the quarter, one before, one after.
    for aid, day in (
        ("giao-ban-quy-i", "2022-04-08"),
        ("bai-b", "2022-05-20"),
        ("cu", "2022-03-01"),
        ("moi", "2022-07-02"),
    ):
        await db.execute(
            "INSERT INTO articles (id, title, date, body, path, checksum, indexed_at)"
            " VALUES (?, ?, ?, 'x', 'p', 'c', 0)",
            (aid, f"Bài {aid}", day),
        )
    for _ in range(5):
        await articles.record_read(db, "giao-ban-quy-i", "2022-04-08", fulltext=False)
    for _ in range(3):
        await articles.record_read(db, "giao-ban-quy-i", "2022-04-09", fulltext=True)
    for _ in range(2):
        await articles.record_read(db, "bai-b", "2022-05-21", fulltext=False)
    for _ in range(4):
        await articles.record_read(db, "cu", "2022-03-31", fulltext=False)  # before

    # Comments: four in the quarter (2 approved, 1 rejected; 2 answered after 2 h and 4 h).
    ids = []
    for i, when in enumerate(
        (at(2022, 4, 2), at(2022, 4, 20), at(2022, 5, 5), at(2022, 6, 30, 23, 0), at(2022, 7, 1, 0))
    ):
        c = await feedback.submit(
            db,
            user_id=700 + i,
            chat_id=700 + i,
            user_name="Dân",
            article_id=None,
            text=f"Ý kiến số {i} về đường làng",
            keep_original=False,
            now=when,
            per_hour=0,
            per_day=0,
            tz=TZ,
        )
        ids.append((c.id, when))
    for (cid, when), decision in zip(ids[:3], ("approved", "approved", "rejected"), strict=True):
        await feedback.decide(
            db, cid, decision, actor_id=ADMIN_ID, actor_role="owner", now=when + 600
        )
    await feedback.set_answer(
        db, ids[0][0], "Cảm ơn", actor_id=ADMIN_ID, actor_role="owner", now=ids[0][1] + 2 * 3600
    )
    await feedback.set_answer(
        db,
        ids[1][0],
        "Đã ghi nhận",
        actor_id=ADMIN_ID,
        actor_role="owner",
        now=ids[1][1] + 4 * 3600,
    )


async def test_report_figures_from_a_scripted_quarter(tmp_path: Path) -> None:
    async with Database(tmp_path / "loa.db") as db:
        await fill_scenario(db)
        s = await reports.gather_stats(db, quarter(2022, 2), TZ)
    assert s.missing == ()
    assert s.subs_start == ChatCounts(private=2, groups=1, cadre=1)
    assert s.subs_end == ChatCounts(private=2, groups=1, cadre=2)
    assert (s.subs_new, s.subs_left) == (2, 1)
    assert (s.broadcasts, s.announcements, s.directives) == (3, 1, 2)
    assert (s.delivered, s.failed, s.blocked) == (5, 1, 1)
    assert s.ack_by_unit == (
        UnitAck("Phường Chi Lăng", delivered=1, acked=1),
        UnitAck("Xã Mai Pha", delivered=2, acked=1),
    )
    assert s.ack_rate == pytest.approx(2 / 3)
    assert s.articles_published == 2
    assert (s.card_opens, s.fulltext_opens) == (7, 3)
    assert [(a.article_id, a.title, a.card_opens, a.fulltext_opens) for a in s.top_articles] == [
        ("giao-ban-quy-i", "Bài giao-ban-quy-i", 5, 3),
        ("bai-b", "Bài bai-b", 2, 0),
    ]
    assert (s.comments_received, s.comments_approved, s.comments_rejected) == (4, 2, 1)
    assert s.comments_answered == 2 and s.answer_median_seconds == 3 * 3600
    weekly = {k: v for k, v in s.weekly_deliveries.items() if v}
    assert weekly == {date(2022, 4, 11): 2, date(2022, 5, 9): 2, date(2022, 5, 30): 1}
    comments = {k: v for k, v in s.weekly_comments.items() if v}
    assert comments == {
        date(2022, 3, 28): 1,
        date(2022, 4, 18): 1,
        date(2022, 5, 2): 1,
        date(2022, 6, 27): 1,
    }
    assert len(s.weekly_deliveries) == 14  # weeks overlapping 01/04–30/06

    text = render_telegram(s)
    assert "Thống kê quý II/2022" in text and "01/04/2022 – 30/06/2022" in text
    assert "Tổng số: 5 (+1 so với đầu kỳ: 4)" in text
    assert "Nhóm cán bộ: 2 (+1)" in text and "Cá nhân: 2 (0)" in text
    assert "Tin nhắn đã đến: 5 (71,4%)" in text and "Gửi lỗi: 1; bị chặn: 1" in text
    assert "Xác nhận «Đã nhận»: 2/3 (66,7%)" in text
    assert "• Xã Mai Pha: 1/2 (50,0%)" in text and "• Phường Chi Lăng: 1/1 (100,0%)" in text
    assert "Thời gian trả lời (trung vị): 3 giờ" in text
    assert "1. Bài giao-ban-quy-i: 5 lượt mở, 3 lượt đọc toàn văn" in text

    # The quarter before: only what happened in March.
    async with Database(tmp_path / "loa.db") as db:
        q1 = await reports.gather_stats(db, quarter(2022, 1), TZ)
    assert (q1.broadcasts, q1.delivered, q1.card_opens, q1.comments_received) == (1, 1, 4, 0)
    assert q1.subs_end == ChatCounts(private=2, groups=1, cadre=1)


async def test_missing_tables_count_as_zero(tmp_path: Path, caplog: Any) -> None:
    async with Database(tmp_path / "loa.db") as db:
        for table in ("acks", "deliveries", "comment_notices", "comments", "article_reads"):
            await db.execute(f"DROP TABLE {table}")
        with caplog.at_level("INFO"):
            s = await reports.gather_stats(db, quarter(2022, 2), TZ)
    assert s.delivered == 0 and s.comments_received == 0 and s.card_opens == 0
    assert {"deliveries", "comments", "article_reads"} <= set(s.missing)
    assert "counted as zero" in caplog.text
    assert "Chưa có dữ liệu" in render_telegram(s)


# --- the chart --------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_bundled_font_has_vietnamese_glyphs() -> None:
    path = charts.font_path()
    assert "mpl-data" in path and "DejaVuSans" in Path(path).name  # shipped with matplotlib
    font = FT2Font(path)
    for ch in "ệữỷđĐẫẳờựƯ":
        assert font.get_char_index(ord(ch)) != 0, ch


def test_chart_png(tmp_path: Path) -> None:
    async def gather() -> Stats:
        async with Database(tmp_path / "loa.db") as db:
            await fill_scenario(db)
            return await reports.gather_stats(db, quarter(2022, 2), TZ)

    png = charts.render_stats_chart(asyncio.run(gather()))
    assert png_size(png) == (1210, 572)
    assert 20_000 < len(png) < 400_000


def test_empty_chart_says_so() -> None:
    s = Stats(period=quarter(2030, 1))
    assert s.is_empty
    png = charts.render_stats_chart(s)
    assert png_size(png) == (1210, 572)
    # Only the title and one sentence: much smaller than a chart with bars and axes.
    assert len(png) < 40_000
    text = render_telegram(s)
    assert "Không có chỉ đạo nào được gửi trong kỳ." in text


def test_chart_without_directives_keeps_the_weekly_panel() -> None:
    p = quarter(2022, 2)
    s = Stats(period=p, delivered=3, weekly_deliveries={date(2022, 4, 11): 3})
    assert not s.is_empty and png_size(charts.render_stats_chart(s)) == (1210, 572)


# --- /stats and loa report --------------------------------------------------------


async def test_stats_command_sends_text_and_photo(bot: RunningBot, fake: FakeTelegram) -> None:
    await fill_scenario(bot.svc.db)
    owner = fake.user(ADMIN_ID, "Chủ")
    chat = fake.private_chat(owner)
    fake.send_text(chat, owner, "/thongke quý II/2022")
    text = await fake.wait_for_message(chat, contains="Thống kê quý II/2022")
    assert "Xác nhận «Đã nhận»: 2/3 (66,7%)" in text.content
    photo = await fake.wait_for_message(chat, predicate=lambda m: m.photo is not None)
    assert photo.caption == "Biểu đồ thống kê quý II/2022"
    assert png_size(photo.photo.data) == (1210, 572)
    fake.send_text(chat, owner, "/stats quý V")
    await fake.wait_for_message(chat, contains="Kỳ báo cáo không hợp lệ")


def test_loa_report_writes_markdown_and_png(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/bot")

    async def fill() -> None:
        async with Database(settings.db_path) as db:
            await fill_scenario(db)

    asyncio.run(fill())
    out = tmp_path / "bao-cao" / "q2.md"
    args = argparse.Namespace(quarter="2022-Q2", output=str(out))
    assert cli_ops.cmd_report(args, settings) == 0
    md = out.read_text(encoding="utf-8")
    assert md.startswith("# Báo cáo kết quả thông tin, tuyên truyền qua Loa — quý II/2022")
    assert "![Biểu đồ quý II/2022](q2.png)" in md
    assert "| Nhóm cán bộ | 1 | 2 | +1 |" in md
    assert "| Xã Mai Pha | 2 | 1 | 50,0% |" in md
    assert "| **Tổng** | 3 | 2 | 66,7% |" in md
    assert "| 1 | Bài giao-ban-quy-i | 5 | 3 |" in md
    assert png_size((tmp_path / "bao-cao" / "q2.png").read_bytes()) == (1210, 572)
    bad = argparse.Namespace(quarter="2022-Q7", output=None)
    assert cli_ops.cmd_report(bad, settings) == 2


def test_markdown_escapes_titles() -> None:
    s = Stats(period=quarter(2022, 2), ack_by_unit=(UnitAck("A|B", 1, 1),))
    md = render_markdown(s, None, "01/07/2022 08:00")
    assert "| A\\|B |" in md
