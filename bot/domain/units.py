"""The units directory's pure rules: short codes, names, and the CSV people edit in Excel.

A unit (province, commune, ward) has a Vietnamese name shown to people and a short code
[a-z0-9-] that chats, audiences and directive files refer to. The CSV written by the
export is exactly what the import reads back (columns: Mã, Tên đơn vị, Mã đơn vị cấp
trên), so an office can edit the directory in a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass

from bot.domain.errors import InvalidInput
from bot.domain.spreadsheets import Table
from bot.domain.text import clean, fold, quote

CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
MAX_NAME = 120
MAX_IMPORT_ROWS = 5000

CSV_COLUMNS = ("Mã", "Tên đơn vị", "Mã đơn vị cấp trên")
# Header spellings the import accepts (folded): the export's, and plain English.
_HEADERS = {
    "ma": "code",
    "ma don vi": "code",
    "code": "code",
    "ten": "name",
    "ten don vi": "name",
    "name": "name",
    "ma don vi cap tren": "parent",
    "ma cap tren": "parent",
    "cap tren": "parent",
    "parent": "parent",
}


def code_from_name(name: str) -> str:
    """A short code from a name: "Phường Chi Lăng" → "phuong-chi-lang"."""
    code = re.sub(r"[^a-z0-9]+", "-", fold(name)).strip("-")[:40].strip("-")
    if not code:
        raise InvalidInput("Tên đơn vị phải có ít nhất một chữ cái hoặc chữ số.")
    return code


def normalize_code(text: str) -> str:
    """A code as typed (case and spaces forgiven); InvalidInput if it cannot be one."""
    code = text.strip().lower()
    if not CODE.match(code):
        raise InvalidInput(
            f"Mã đơn vị «{quote(text.strip(), 40)}» không hợp lệ: chỉ gồm chữ thường không dấu,"
            " chữ số và dấu gạch ngang, ví dụ phuong-chi-lang (tối đa 40 ký tự)."
        )
    return code


def normalize_name(text: str) -> str:
    """A unit's display name: NFC, single spaces, 1-120 characters."""
    name = clean(text).replace("\n", " ")
    if not name:
        raise InvalidInput("Tên đơn vị không được để trống.")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Tên đơn vị dài quá {MAX_NAME} ký tự.")
    return name


@dataclass(frozen=True)
class UnitRow:
    """One line of an imported directory."""

    line: int
    code: str
    name: str
    parent: str | None


def parse_units_csv(data: bytes) -> list[UnitRow]:
    """Read a directory CSV (UTF-8, BOM allowed, comma or semicolon); errors name the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput("Tệp CSV phải được lưu với mã hóa UTF-8.") from None
    if not text.strip():
        raise InvalidInput("Tệp CSV trống.")
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, [])
    fields = [_HEADERS.get(fold(clean(h)).strip()) for h in header]
    if "code" not in fields and "name" not in fields:
        raise InvalidInput(
            "Dòng 1: thiếu tiêu đề cột. Cần các cột: " + ", ".join(CSV_COLUMNS) + "."
        )
    rows: list[UnitRow] = []
    seen: dict[str, int] = {}
    for line_no, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            raise InvalidInput(f"Tệp có quá {MAX_IMPORT_ROWS} đơn vị.")
        values = {f: c.strip().lstrip("'") for f, c in zip(fields, cells, strict=False) if f}
        try:
            name = normalize_name(values.get("name") or "")
            raw_code = values.get("code") or ""
            code = normalize_code(raw_code) if raw_code else code_from_name(name)
            parent = normalize_code(values["parent"]) if values.get("parent") else None
        except InvalidInput as exc:
            raise InvalidInput(f"Dòng {line_no}: {exc.user_message}") from None
        if code in seen:
            raise InvalidInput(f"Dòng {line_no}: mã {code} đã có ở dòng {seen[code]}.")
        if parent == code:
            raise InvalidInput(f"Dòng {line_no}: một đơn vị không thể là cấp trên của chính nó.")
        seen[code] = line_no
        rows.append(UnitRow(line_no, code, name, parent))
    if not rows:
        raise InvalidInput("Tệp CSV không có đơn vị nào.")
    return rows


def units_table(rows: list[tuple[str, str, str | None]]) -> Table:
    """The directory as a table (code, name, parent code) for the CSV/.xlsx export."""
    return Table(CSV_COLUMNS, [list(r) for r in rows], sheet="Đơn vị")
