"""Pure rules: HTML validation and splitting, audiences, quarters, directive files."""

from __future__ import annotations

import zoneinfo
from pathlib import Path

import pytest

from bot.domain.broadcasts import (
    Audience,
    Recipient,
    parse_audience,
    parse_quarter,
    prepare_text,
    quarter_of,
    receives,
    split_html,
    validate_html,
    visible_text,
)
from bot.domain.directives import load_directives
from bot.domain.errors import InvalidInput
from bot.domain.text import utf16_len
from tests.fakegram import parse_html

TZ = zoneinfo.ZoneInfo("Asia/Ho_Chi_Minh")
ROOT = Path(__file__).resolve().parent.parent


def test_valid_html_is_normalised() -> None:
    out = validate_html('Họp <b>chi bộ</b> & tổ 1 < 2 <a href="https://langson.gov.vn">xem</a>')
    assert out == 'Họp <b>chi bộ</b> &amp; tổ 1 &lt; 2 <a href="https://langson.gov.vn">xem</a>'
    parse_html(out)  # Telegram's parser (as faked) accepts it


@pytest.mark.parametrize(
    "bad",
    [
        "<b>x",
        "<b>x</i>",
        "<script>x</script>",
        "<a>x</a>",
        '<a href="javascript:x">x</a>',
        "<b onclick=1>x</b>",
        "   ",
        "<b></b>",
    ],
)
def test_invalid_html_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        validate_html(bad)


def test_prepare_text_error_is_html_safe() -> None:
    with pytest.raises(InvalidInput) as info:
        prepare_text("<script>x</script>")
    assert "<script>" not in info.value.user_message and "&lt;script&gt;" in info.value.user_message


def test_split_at_paragraphs_and_reopen_tags() -> None:
    paragraphs = [f"<b>Mục {i}</b> " + "nội dung " * 200 for i in range(10)]
    parts = split_html(validate_html("\n\n".join(paragraphs)))
    assert len(parts) > 1
    for part in parts:
        assert utf16_len(visible_text(part)) <= 4096
        assert part.startswith("<b>Mục")  # cut only between paragraphs
        parse_html(part)
    long_italic = validate_html("<i>" + "từ " * 3000 + "</i>")
    parts = split_html(long_italic)
    assert all(p.startswith("<i>") and p.endswith("</i>") for p in parts)
    assert " ".join(visible_text(p) for p in parts).split() == visible_text(long_italic).split()


def test_audience_rules() -> None:
    cadre = Recipient(1, True, "approved", "phuong-chi-lang", ())
    public = Recipient(2, True, "pending", None, ("tuyen-truyen",))
    inactive = Recipient(3, False, "approved", "phuong-chi-lang", ())
    assert receives(cadre, Audience("all")) and receives(public, Audience("all"))
    assert receives(cadre, Audience("cadre")) and not receives(public, Audience("cadre"))
    assert not receives(cadre, Audience("public")) and receives(public, Audience("public"))
    assert receives(cadre, parse_audience("unit:phuong-chi-lang,xa-mai-pha"))
    assert not receives(inactive, Audience("cadre"))
    assert receives(public, Audience("topic", "tuyen-truyen"))
    assert not receives(public, Audience("topic", "kinh-te-xa-hoi"))
    assert receives(cadre, Audience("topic", "kinh-te-xa-hoi"))  # no topics = everything
    assert Audience("unit", "x").cadre_only and not Audience("topic", "x").cadre_only
    with pytest.raises(InvalidInput):
        parse_audience("unit:Phường")


def test_quarters() -> None:
    assert parse_quarter("quý II/2022") == parse_quarter("2022-Q2") == "2022-Q2"
    assert parse_quarter("2022q4") == "2022-Q4"
    with pytest.raises(InvalidInput):
        parse_quarter("2022-Q5")
    assert quarter_of(1649376000, TZ) == "2022-Q2"  # 8/4/2022


def test_shipped_directive_parses() -> None:
    found, problems = load_directives(ROOT / "content" / "directives", TZ)
    assert problems == []
    d = found["2022-Q2"]
    assert "định hướng dư luận xã hội" in d.body_html
    assert d.message_html().startswith("📌 <b>CHỈ ĐẠO QUÝ II/2022</b>")
    parse_html(d.message_html())


def test_directive_file_errors_name_the_line(tmp_path: Path) -> None:
    (tmp_path / "bad.md").write_text("---\nquarter: 2022-Q9\ntitle: x\n---\nNội dung\n", "utf-8")
    _, problems = load_directives(tmp_path, TZ)
    assert problems and problems[0].endswith(":2: quarter must look like 2022-Q2")
