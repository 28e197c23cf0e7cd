"""Newsroom sources: Word files written by python-docx, text files, news pages, feeds."""

from __future__ import annotations

import io
import zipfile

import docx
import pytest

from bot.domain.sources import (
    SourceError,
    decode,
    docx_parts,
    normalize_link,
    page_parts,
    parse_feed,
    text_checksum,
    text_file_parts,
)
from tests.newsroom_site import article_page, atom, rss, sample_articles, to_cp1258


def make_docx(
    title: str, paragraphs: list[str], *, heading: bool = True, byline: str = ""
) -> bytes:
    """A Word file as an office writes it: a heading (or a bold first line), paragraphs."""
    document = docx.Document()
    if heading:
        document.add_heading(title, level=1)
    else:
        document.add_paragraph().add_run(title).bold = True
    for p in paragraphs:
        document.add_paragraph(p)
    if byline:
        document.add_paragraph(byline)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_title_heading_paragraphs_byline() -> None:
    a = sample_articles()[1]
    parts = docx_parts(make_docx(a.title, [a.caption, *a.paragraphs], byline="HOÀNG VŨ"))
    assert parts.title == a.title
    assert parts.caption == a.caption
    assert parts.paragraphs == a.paragraphs
    assert parts.author == "Hoàng Vũ"


def test_docx_bold_first_line_is_title() -> None:
    a = sample_articles()[2]
    parts = docx_parts(make_docx(a.title, a.paragraphs, heading=False))
    assert parts.title == a.title
    assert parts.paragraphs[-1] == a.paragraphs[-1]


def test_broken_docx_is_a_clear_error() -> None:
    with pytest.raises(SourceError, match="bị hỏng"):
        docx_parts(b"PK\x03\x04 not really a zip")
    with pytest.raises(SourceError):
        docx_parts(make_docx("Chỉ có tiêu đề", []))
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"<w:document>" + b" " * 70_000_000)
    assert len(bomb.getvalue()) < 200_000
    with pytest.raises(SourceError, match="giải nén"):
        docx_parts(bomb.getvalue())


def test_text_file_encodings() -> None:
    raw = "Tiêu đề bài viết\nNội dung đoạn một của bài.\nĐoạn hai.\nPV"
    for data in (raw.encode("utf-8"), raw.encode("utf-8-sig"), raw.encode("utf-16")):
        parts = text_file_parts(data)
        assert parts.title == "Tiêu đề bài viết" and parts.author == "PV"
    with pytest.raises(SourceError):
        text_file_parts(b"   \n  ")


def test_news_page_leaves_out_menus_related_comments_footer() -> None:
    for a in sample_articles()[:3]:
        page = page_parts(article_page(a), "https://baolangson.vn/bai/x.html")
        text = "\n".join(page.parts.paragraphs)
        assert page.parts.title == a.title
        assert page.parts.paragraphs == a.paragraphs
        assert page.date is not None and page.date.isoformat() == "2022-04-08"
        for noise in (
            "Trang chủ",
            "Tin liên quan",
            "Hội nghị sơ kết",
            "Bạn đọc 1",
            "Gửi ý kiến",
            "Giấy phép",
            "Bản quyền",
            "Chia sẻ",
        ):
            assert noise not in text, noise


def test_same_page_extracted_twice() -> None:
    a = sample_articles()[0]
    first = page_parts(article_page(a), "https://x.vn/a.html")
    second = page_parts(article_page(a), "https://x.vn/a.html")
    assert first.parts.paragraphs == second.parts.paragraphs == a.paragraphs


def test_page_without_article_is_refused() -> None:
    with pytest.raises(SourceError, match="Không tìm thấy nội dung"):
        page_parts("<html><body><nav><a href='/'>Trang chủ</a></nav></body></html>", "http://x/")


def test_declared_charset_is_honoured() -> None:
    a = sample_articles()[0]
    body = to_cp1258(article_page(a, charset="windows-1258"))
    text = decode(body, None)
    assert a.title in text  # meta charset used, not UTF-8
    assert decode(to_cp1258("Tuyên giáo"), "windows-1258") == "Tuyên giáo"
    assert decode("Tuyên giáo".encode(), None) == "Tuyên giáo"


def test_rss_and_atom_items() -> None:
    items = [
        ("g2", "https://x.vn/b2.html?utm_source=rss", "Bài 2", "Tóm tắt 2"),
        ("", "https://x.vn/b1.html", "Bài 1", "Tóm tắt 1"),
    ]
    entries = parse_feed(rss("https://x.vn", items).encode(), "https://x.vn/rss")
    assert [e.key for e in entries] == ["g2", "http://x.vn/b1.html"]
    assert entries[0].title == "Bài 2" and entries[0].published is not None
    full = "<p>Đoạn một.</p><p>Đoạn hai có <b>chữ đậm</b>.</p>"
    entries = parse_feed(
        atom("https://x.vn", [("urn:1", "https://x.vn/a", "Tin", full)]).encode(), "u"
    )
    assert entries[0].text == "Đoạn một.\nĐoạn hai có chữ đậm."
    hostile = "<p>Tin.</p><script>alert('x')</script><style>p{}</style><p>Hết.</p>"
    document = atom("https://x.vn", [("urn:2", "https://x.vn/b", "T", hostile)])
    entries = parse_feed(document.encode(), "u")
    assert entries[0].text == "Tin.\nHết."


def test_broken_feed_is_an_error_not_a_crash() -> None:
    with pytest.raises(SourceError):
        parse_feed(b"<rss><channel><item><title>unclosed", "u")
    with pytest.raises(SourceError):
        parse_feed(b"<html><body>not a feed</body></html>", "u")


def test_link_normalisation_and_checksum() -> None:
    assert normalize_link("https://WWW.X.vn/a/b/?utm_source=fb&id=2#top") == normalize_link(
        "http://x.vn/a/b?id=2"
    )
    assert normalize_link("http://x.vn/a?id=2") != normalize_link("http://x.vn/a?id=3")
    assert text_checksum("Tiêu đề", "Nội  dung\n\nbài") == text_checksum("TIÊU ĐỀ", "Nội dung bài")


def test_entity_declarations_refused_quickly() -> None:
    """The "billion laughs": refused before feedparser spends seconds expanding it."""
    ents = "<!ENTITY a0 'lol'>" + "".join(
        f"<!ENTITY a{i} '{f'&a{i - 1};' * 10}'>" for i in range(1, 10)
    )
    bomb = (
        f"<?xml version='1.0'?><!DOCTYPE rss [{ents}]><rss version='2.0'><channel>"
        "<title>t</title><item><title>&a9;</title><link>http://x.vn/1</link>"
        "<description>x</description></item></channel></rss>"
    ).encode()
    with pytest.raises(SourceError, match="ENTITY"):
        parse_feed(bomb, "http://x.vn/rss")


def test_text_file_without_bom_and_with_control_bytes() -> None:
    a = sample_articles()[0]
    text = "\n".join([a.title, *a.paragraphs])
    for data in (text.encode("utf-16-le"), text.encode("utf-16-be")):
        assert text_file_parts(data).title == a.title
    dirty = text_file_parts(("\x00\x07" + text).encode())
    assert dirty.title == a.title
