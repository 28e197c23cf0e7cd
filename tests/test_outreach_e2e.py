"""Units directory and session reports end to end: /donvi (import, rename, merge), /setunit
through the directory, /baocao from private and from a cadre group's button, corrections,
totals; a merge of two units keeps every report and group."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl

from bot.store import sessions, units
from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import RunningBot, eventually

CADRES = {-100501: 610001, -100502: 610002, -100503: 610003}
DIRECTORY = (
    "Mã,Tên đơn vị,Mã đơn vị cấp trên\n"
    "tinh-lang-son,Tỉnh Lạng Sơn,\n"
    "phuong-chi-lang,Phường Chi Lăng,tinh-lang-son\n"
    "phuong-tam-thanh,Phường Tam Thanh,tinh-lang-son\n"
    "xa-mai-pha,Xã Mai Pha,tinh-lang-son\n"
)


async def _owner(fake: FakeTelegram, text: str, expect: str) -> str:
    chat = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    before = max([0, *[m.message_id for m in fake.messages(chat)]])
    fake.send_text(chat, ADMIN_ID, text)
    msg = await fake.wait_for_message(chat, expect, after=before)
    return msg.content


async def _cadre_groups(fake: FakeTelegram) -> None:
    for (gid, admin), code in zip(
        CADRES.items(), ("phuong-chi-lang", "phuong-tam-thanh", "xa-mai-pha"), strict=True
    ):
        fake.user(admin, f"Cán bộ {admin}")
        fake.group(gid, f"Chi bộ {code}", admins=[admin])
        fake.send_text(gid, admin, "/dangky")
        await fake.wait_for_message(gid, "Đã đăng ký")
        await _owner(fake, f"/approve {gid}", "nhóm cán bộ (đã duyệt)")
        await _owner(fake, f"/setunit {gid} {code}", "Đã gán đơn vị")


async def _report(
    fake: FakeTelegram,
    user: int,
    day: str,
    unit_button: str | None,
    listeners: str,
    start: str = "/baocao",
) -> str:
    chat = fake.private_chat(user)

    async def step(expect: str) -> object:
        return await fake.wait_for_message(chat, expect, after=step.last)  # type: ignore[attr-defined]

    step.last = max([0, *[m.message_id for m in fake.messages(chat)]])  # type: ignore[attr-defined]
    fake.send_text(chat, user, start)
    ask = await step("1/6")
    fake.send_text(chat, user, day)
    if unit_button is not None:
        unit_msg = await step("2/6")
        data = next(b["callback_data"] for b in unit_msg.buttons if b["text"] == unit_button)
        fake.press_button(chat, user, unit_msg.message_id, data)
    topics = await step("3/6")
    fake.press_button(chat, user, topics.message_id, "bcao:t:0")
    fake.press_button(chat, user, topics.message_id, "bcao:t:1")
    fake.press_button(chat, user, topics.message_id, "bcao:t:ok")
    fmt = await step("4/6")
    fake.press_button(chat, user, fmt.message_id, "bcao:f:long-ghep")
    await step("5/6")
    fake.send_text(chat, user, listeners)
    note = await step("6/6")
    fake.press_button(chat, user, note.message_id, "bcao:n:-")
    confirm = await step("Kiểm tra lại")
    fake.press_button(chat, user, confirm.message_id, "bcao:ok")
    done = await step("báo cáo")
    del ask
    return done.content


async def test_directory_reports_totals_and_merge(bot: RunningBot, fake: FakeTelegram) -> None:
    # the legacy label becomes a unit with /setunit; the CSV import names it
    await _cadre_groups(fake)
    out = await _owner(fake, "/donvi nhap\n" + DIRECTORY, "Đã nhập danh mục")
    assert "thêm 1 đơn vị" in out and "đổi tên 3 đơn vị" in out
    listing = await _owner(fake, "/donvi", "Danh mục đơn vị")
    assert "Phường Chi Lăng" in listing and "  • Xã Mai Pha" in listing
    # a stranger may list but not manage
    stranger = fake.private_chat(fake.user(650000, "Lạ"))
    fake.send_text(stranger, 650000, "/donvi gop xa-mai-pha phuong-chi-lang")
    await fake.wait_for_message(stranger, "không có quyền")

    today = datetime.now(ZoneInfo("Asia/Ho_Chi_Minh")).date()
    day = today.strftime("%d/%m/%Y")
    # a cadre of Chi Lăng reports from private, choosing the unit by name
    cadre1 = CADRES[-100501]
    saved = await _report(fake, cadre1, day, "Phường Chi Lăng", "120")
    assert "Đã lưu báo cáo" in saved
    # a cadre of Tam Thanh opens the form from the group's button (unit filled in)
    cadre2 = CADRES[-100502]
    fake.send_text(-100502, cadre2, "/baocao")
    button = await fake.wait_for_message(-100502, "Báo cáo buổi tuyên truyền")
    url = button.buttons[0]["url"]
    payload = url.split("start=")[1]
    saved = await _report(fake, cadre2, "hôm nay", None, "1.300", start=f"/start {payload}")
    assert "Đã lưu báo cáo" in saved
    # Mai Pha's cadre; and someone of no unit's group is refused
    assert "Đã lưu" in await _report(fake, CADRES[-100503], day, "Xã Mai Pha", "40")
    fake.user(650001, "Người ngoài")
    refused = await _report(fake, 650001, day, "Xã Mai Pha", "999")
    assert "Chỉ cán bộ trong nhóm của Xã Mai Pha" in refused

    totals = await _owner(fake, f"/tonghop {day} {today:%d/%m/%Y}", "Tuyên truyền")
    assert "3 buổi, 1.460 lượt người nghe, 3 đơn vị báo cáo" in totals
    assert "• Phường Tam Thanh: 1 buổi, 1.300 lượt" in totals
    assert "• Lồng ghép: 3 buổi, 1.460 lượt" in totals
    # the quarter's briefing states those totals, as the sample writes them
    quarter_key = f"{today.year}-Q{(today.month - 1) // 3 + 1}"
    draft = await _owner(fake, f"/baocaoquy {quarter_key}", "Bản nháp")
    assert "tổ chức tuyên truyền được 3 buổi cho hơn 1.400 lượt người nghe" in draft
    assert "Đã có 3 đơn vị gửi báo cáo" in draft
    assert (bot.settings.content_dir / "drafts" / f"{quarter_key.lower()}-bao-cao-quy.md").exists()

    # and it waits in the newsroom's review, figures detected
    async def in_review() -> bool:
        title = await bot.svc.db.fetch_value(
            "SELECT title FROM article_drafts WHERE state = 'review' ORDER BY id DESC"
        )
        return str(title).startswith("Kết quả công tác tuyên giáo quý")

    await eventually(in_review)
    await fake.wait_for_message(fake.private_chat(ADMIN_ID), "đúng như bạn đọc sẽ thấy")
    # merge Mai Pha into Chi Lăng: its group and report follow, the old code resolves
    merged = await _owner(fake, "/donvi gop xa-mai-pha phuong-chi-lang", "Đã sáp nhập")
    assert "chuyển 1 nhóm và 1 báo cáo" in merged
    db = bot.svc.db
    assert (await units.get_unit(db, "xa-mai-pha")).name == "Phường Chi Lăng"
    groups = await units.unit_groups(db, "phuong-chi-lang")
    assert sorted(groups) == sorted([-100501, -100503])
    reports = await sessions.reports_between(db, date(2000, 1, 1), today + timedelta(days=1))
    assert len(reports) == 3
    assert sorted(r.unit_name for r in reports).count("Phường Chi Lăng") == 2
    # the export round-trips through the import
    chat = fake.private_chat(ADMIN_ID)
    fake.send_text(chat, ADMIN_ID, "/donvi xuat xlsx")
    doc = await fake.wait_for(
        lambda: next(
            (
                m
                for m in fake.bot_messages(chat)
                if m.document and m.document.file_name == "don-vi.xlsx"
            ),
            None,
        ),
        timeout=10,
    )
    rows = list(
        openpyxl.load_workbook(io.BytesIO(doc.document.data)).active.iter_rows(values_only=True)
    )
    assert rows[0] == ("Mã", "Tên đơn vị", "Mã đơn vị cấp trên")
    assert ("phuong-chi-lang", "Phường Chi Lăng", "tinh-lang-son") in rows
    assert not any(r[0] == "xa-mai-pha" for r in rows)


async def test_directory_import_from_a_csv_file(bot: RunningBot, fake: FakeTelegram) -> None:
    chat = fake.private_chat(fake.user(ADMIN_ID, "Chủ"))
    data = ("\ufeff" + DIRECTORY).encode("utf-8")
    fake.send_document_from_user(chat, ADMIN_ID, data, "don-vi.csv", caption="/donvi nhap")
    done = await fake.wait_for_message(chat, "Đã nhập danh mục")
    assert "thêm 4 đơn vị" in done.content
    broken = b"Ma,Ten\nA B,X\n"
    fake.send_document_from_user(chat, ADMIN_ID, broken, "hong.csv", caption="/donvi nhap")
    await fake.wait_for_message(chat, "Dòng 2")
    assert len(await units.all_units(bot.svc.db)) == 4
