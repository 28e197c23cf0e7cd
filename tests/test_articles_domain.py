"""Articles domain: sentence splitting, figures, summary, content files, raw import."""

from __future__ import annotations

import datetime as dt
import json
import unicodedata
from pathlib import Path

import pytest

from bot.cli import main
from bot.cli.articles import check_articles, digest_json
from bot.domain.articles import (
    digest,
    import_raw,
    load_directory,
    parse_article,
    render_article,
    slugify,
    split_raw,
)
from bot.domain.errors import ContentError
from bot.domain.figures import card_figures, format_number, parse_number, sentence_figures
from bot.domain.sentences import split_sentences
from bot.store.articles import match_expression, query_tokens

SAMPLE = (
    Path(__file__).resolve().parents[2]
    / "shared"
    / "samples"
    / "2022-04-08-giao-ban-tuyen-giao-quy-i.txt"
)
if not SAMPLE.exists():  # the same text is kept in the labelled set
    SAMPLE = Path(__file__).parent / "data" / "sample" / "2022-04-08-giao-ban-tuyen-giao-quy-i.txt"


@pytest.fixture(scope="module")
def sample():
    article = import_raw(SAMPLE.read_text(encoding="utf-8"), name=SAMPLE.name)
    return article, digest(article.paragraphs, article.title, k=3)


# ---------------------------------------------------------------- sample


def test_sample_import_parts(sample) -> None:
    article, _ = sample
    assert article.id == "2022-04-08-giao-ban-tuyen-giao-quy-i"
    assert article.date == dt.date(2022, 4, 8)
    assert article.title == "Thành ủy Lạng Sơn: Giao ban công tác tuyên giáo quý I"
    assert article.caption == "Lãnh đạo Thành ủy Lạng Sơn phát biểu tại hội nghị"
    assert article.author == "Thanh Mai"
    assert article.paragraphs[0].startswith("Sáng ngày 8/4, Thành uỷ Lạng Sơn")
    assert not any("Ý kiến" in p for p in article.paragraphs)
    assert not any(p == "THANH MAI" for p in article.paragraphs)


def test_sample_summary_has_lead_not_caption(sample) -> None:
    article, d = sample
    assert 1 <= len(d.summary) <= 3
    assert d.summary[0].startswith("Sáng ngày 8/4, Thành uỷ Lạng Sơn tổ chức hội nghị")
    assert all(article.caption not in s for s in d.summary)
    assert list(d.summary_indices) == sorted(d.summary_indices)


def _has(figures, value, subject=None, qualifier=None):
    for f in figures:
        if (
            f.value == value
            and (subject is None or subject in f.subject)
            and (qualifier is None or f.qualifier == qualifier)
        ):
            return True
    return False


def test_sample_figures(sample) -> None:
    _, d = sample
    figs = d.figures
    assert _has(figs, "350", "buổi")
    assert _has(figs, "12.000", "lượt người nghe", "hơn")
    assert _has(figs, "4", "hội nghị báo cáo viên cấp tỉnh và trung ương")
    assert _has(figs, "quý I/2022")
    assert _has(figs, "8/4")
    assert not any("19" in f.value or "COVID" in f.value for f in figs)
    # the reporting period is ranked first; the card shows at most 6
    assert figs[0].value == "quý I/2022"
    assert len(card_figures(list(figs))) <= 6


# ---------------------------------------------------------------- sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Trong quý I/2022, dịch COVID-19 giảm. Đạt 12.000 lượt.", 2),
        ("TP. Lạng Sơn tổ chức hội nghị. TS. Nguyễn Văn A phát biểu.", 2),
        ("ThS. Lê Thị B và PGS. TS. Trần C dự. Hội nghị kết thúc.", 2),
        ("Ngày 8/4 và 9.4 có mưa. Nhiệt độ 12,5 độ.", 2),
        ("Mạng xã hội… nhằm lan toả. Tiếp theo… Hội nghị bắt đầu.", 3),
        ("Ông nói: “Phải làm tốt.” Sau đó hội nghị bế mạc.", 2),
        ("1. Về kinh tế: tăng trưởng khá. 2. Về xã hội: ổn định.", 2),
        ("Không có dấu chấm cuối", 1),
    ],
)
def test_sentence_splitting(text: str, expected: int) -> None:
    sentences = split_sentences(text)
    assert len(sentences) == expected, sentences
    assert "".join(sentences).replace(" ", "") == text.replace(" ", "")


def test_sentences_keep_abbreviation_with_name() -> None:
    s = split_sentences("Đoàn TP. Lạng Sơn giành giải nhất. TS. Hùng phát biểu.")
    assert s == ["Đoàn TP. Lạng Sơn giành giải nhất.", "TS. Hùng phát biểu."]


# ---------------------------------------------------------------- figures


def _figs(sentence: str):
    return sentence_figures(sentence, 0)


def test_money_percent_measure_range() -> None:
    figs = _figs(
        "Tổng thu ngân sách đạt 112,7 tỷ đồng, tăng 15,5% so với cùng kỳ; làm mới 28 km đường."
    )
    assert _has(figs, "112,7 tỷ đồng", "thu ngân sách", "đạt")
    assert [f.kind for f in figs if f.value == "112,7 tỷ đồng"] == ["money"]
    assert _has(figs, "15,5%", qualifier="tăng")
    assert _has(figs, "28 km")
    figs = _figs("Giá ngô khoảng 400-450 nghìn đồng/tạ, gieo trồng 1.100 - 1.350 ha rau màu.")
    assert _has(figs, "400-450 nghìn đồng/tạ")
    assert _has(figs, "1.100-1.350 ha", "rau màu")
    assert {f.kind for f in figs} == {"range"}


def test_periods_and_dates() -> None:
    figs = _figs("6 tháng đầu năm, ngày 10/12/2021 và ngày 8-4, quý II năm 2023, tháng 10/2023.")
    values = {f.value for f in figs}
    assert {"6 tháng đầu năm", "10/12/2021", "8/4", "quý II/2023", "tháng 10/2023"} <= values


def test_not_figures() -> None:
    figs = _figs(
        "Thực hiện Nghị quyết 03-NQ/TU, Chỉ thị số 05-CT/TW, hội nghị lần thứ 9 khóa XIII "
        "về phòng chống COVID-19 tại tổ 3, Điều 5 Quyết định số 12."
    )
    assert figs == [], figs


def test_list_numbering_is_not_a_figure() -> None:
    assert (
        sentence_figures("1. Về kinh tế, có 25 dự án.", 0, first_in_paragraph=True)[0].value == "25"
    )
    assert len(sentence_figures("1. Về kinh tế, có 25 dự án.", 0, first_in_paragraph=True)) == 1


def test_nfd_input_gives_nfc_figures() -> None:
    text = unicodedata.normalize("NFD", "Đã tổ chức được hơn 3.500 lượt người tham gia.")
    figs = _figs(text)
    assert _has(figs, "3.500", "lượt người tham gia", "hơn")


def test_numbers_vietnamese_format() -> None:
    assert parse_number("12.000") == 12000
    assert parse_number("112,7") == pytest.approx(112.7)
    assert parse_number("1.234,56") == pytest.approx(1234.56)
    assert format_number(12000) == "12.000"
    assert format_number(1.5) == "1,5"
    assert format_number(1234567.25) == "1.234.567,25"
    assert format_number(0) == "0"


# ---------------------------------------------------------------- content files


def _write(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "articles"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """---
id: bai-mot
title: Bài một
date: 2023-05-01
author: Thanh Mai
tags: [kinh tế]
---
Đoạn một có 12 hộ dân.

Đoạn hai.
"""


def test_parse_and_render_roundtrip(tmp_path: Path) -> None:
    path = _write(tmp_path, "bai-mot.md", GOOD)
    article = parse_article(path.read_text(encoding="utf-8"), str(path))
    assert article.paragraphs == ("Đoạn một có 12 hộ dân.", "Đoạn hai.")
    again = parse_article(render_article(article), str(path))
    assert again.paragraphs == article.paragraphs and again.title == article.title


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("no front matter\n", 1, "front matter"),
        ("---\ntitle: x\n", 1, "not closed"),
        ("---\nid: ok\ntitle: [unclosed\ndate: 2023-01-01\n---\nbody\n", 4, "invalid YAML"),
        ("---\nid: ok\ndate: 2023-01-01\n---\nbody\n", 1, "missing required field 'title'"),
        ("---\nid: ok\ntitle: T\ndate: 2023-02-30\n---\nbody\n", 4, "date"),
        ("---\nid: Bad_Id\ntitle: T\ndate: 2023-01-01\n---\nbody\n", 2, "id"),
        ("---\nid: ok\ntitle: T\ndate: 2023-01-01\ntitel: x\n---\nbody\n", 5, "unknown field"),
        ("---\nid: ok\ntitle: T\ndate: 2023-01-01\n---\n\n\n", 6, "no body"),
        ("---\nid: ok\ntitle: T\ndate: 2023-01-01\nsource: ftp://x\n---\nb\n", 5, "http"),
    ],
)
def test_broken_files_report_path_and_line(text: str, line: int, needle: str) -> None:
    with pytest.raises(ContentError) as info:
        parse_article(text, "content/articles/x.md")
    assert info.value.line == line, str(info.value)
    assert needle in str(info.value)
    assert str(info.value).startswith(f"content/articles/x.md:{line}: ")


def test_load_directory_skips_broken_and_duplicates(tmp_path: Path) -> None:
    _write(tmp_path, "bai-mot.md", GOOD)
    _write(tmp_path, "bai-hai.md", GOOD)  # same id
    _write(tmp_path, "hong.md", "---\ntitle: x\n")
    articles, errors = load_directory(tmp_path / "articles")
    assert [a.id for a in articles] == ["bai-mot"]
    assert sorted(e.path.rsplit("/", 1)[-1] for e in errors) == ["bai-mot.md", "hong.md"] or sorted(
        e.path.rsplit("/", 1)[-1] for e in errors
    ) == ["bai-hai.md", "hong.md"]
    assert any("duplicate id" in str(e) for e in errors)


def test_id_defaults_to_file_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "bai-ba.md", "---\ntitle: Ba\ndate: 01/02/2023\n---\nThân bài.\n")
    articles, errors = load_directory(path.parent)
    assert not errors and articles[0].id == "bai-ba" and articles[0].date == dt.date(2023, 2, 1)


def test_raw_split_and_slug() -> None:
    parts = split_raw(
        "Tiêu đề bài\nChú thích ảnh\n(LSO) – Sáng 1/2, có 5 xã.\nĐoạn hai.\nNHÓM PV\nÝ kiến (2)\n"
    )
    assert parts.title == "Tiêu đề bài" and parts.caption == "Chú thích ảnh"
    assert parts.paragraphs == ["Sáng 1/2, có 5 xã.", "Đoạn hai."]
    assert parts.author == "Nhóm PV"
    slug = slugify(
        "Thành ủy Lạng Sơn: Giao ban công tác tuyên giáo quý I rất dài dài dài", dt.date(2022, 4, 8)
    )
    assert slug.startswith("2022-04-08-thanh-uy-lang-son") and len(slug) <= 48
    with pytest.raises(ValueError):
        import_raw("Tiêu đề\nThân bài không có ngày.\n")


# ---------------------------------------------------------------- search tokens


@pytest.mark.parametrize(
    "query",
    ['"', "***", 'tuyen" OR "', "NEAR(a b)", "a AND NOT b", "-- ;", "^x", "(", "é*"],
)
def test_query_tokens_never_carry_syntax(query: str) -> None:
    tokens = query_tokens(query)
    expr = match_expression(tokens)
    assert all(t.isalnum() for t in tokens)
    assert expr.count('"') == 2 * len(tokens)


def test_query_tokens_fold() -> None:
    assert query_tokens("Thành Uỷ  ĐẢNG") == ["thanh", "uy", "dang"]
    assert query_tokens(unicodedata.normalize("NFD", "tuyên giáo")) == ["tuyen", "giao"]


# ---------------------------------------------------------------- CLI


def test_cli_import_digest_check(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("LOA_CONTENT_DIR", str(tmp_path / "content"))
    monkeypatch.setenv("LOA_BOT_TOKEN", "123:abc")
    monkeypatch.chdir(tmp_path)
    assert main(["import", str(SAMPLE)]) == 0
    target = tmp_path / "content" / "articles" / "2022-04-08-giao-ban-tuyen-giao-quy-i.md"
    assert target.exists()
    capsys.readouterr()
    assert main(["digest", str(target), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"title", "date", "summary", "figures"}
    assert data["date"] == "2022-04-08"
    assert set(data["figures"][0]) == {"value", "qualifier", "subject", "kind", "sentence_index"}
    assert data == digest_json(SAMPLE, 3)
    (tmp_path / "content" / "articles" / "hong.md").write_text("---\nid: x\n", encoding="utf-8")
    from bot.config import load_settings

    problems = check_articles(load_settings(_env_file=None))
    assert problems == [
        f"{tmp_path / 'content' / 'articles' / 'hong.md'}:1:"
        " front matter is not closed by a '---' line"
    ]
    assert main(["check"]) == 1
    assert "hong.md:1:" in capsys.readouterr().err


# ---------------------------------------------------------------- real-article rules


def _real_figs(sentence: str) -> dict[str, tuple[str, str, str]]:
    from bot.domain.figures import sentence_figures

    return {f.value: (f.kind, f.qualifier, f.subject) for f in sentence_figures(sentence, 0)}


@pytest.mark.parametrize(
    ("sentence", "value", "expected"),
    [
        ("Đại hội bầu Ban Chấp hành gồm 39 đồng chí.", "39", ("count", "", "đồng chí")),
        (
            "Thu nhập đạt 52 triệu đồng, gấp 1,4 lần so với năm 2020.",
            "1,4 lần",
            ("ratio", "gấp", ""),
        ),
        (
            "Đảng bộ đã thực hiện đạt và vượt 18/20 chỉ tiêu.",
            "18/20",
            ("ratio", "đạt và vượt", "chỉ tiêu"),
        ),
        ("Tỷ lệ hộ nghèo giảm còn 4,15%.", "4,15%", ("percent", "còn", "Tỷ lệ hộ nghèo")),
        (
            "Thu nhập đạt 48,5 triệu đồng/người/năm.",
            "48,5 triệu đồng/người/năm",
            ("money", "đạt", "Thu nhập"),
        ),
        ("Trong hai ngày 14 và 15/5, Đảng bộ tổ chức Đại hội.", "14-15/5", ("date", "", "")),
        ("Kỷ niệm Ngày Nhà giáo (20.11.1982 – 20.11.2023).", "20/11/1982", ("date", "", "")),
        (
            "Kinh tế – xã hội 9 tháng năm 2023 tăng trưởng khá.",
            "9 tháng năm 2023",
            ("period", "", ""),
        ),
        (
            "Huyện có thêm 3 xã đạt chuẩn nông thôn mới.",
            "3",
            ("count", "thêm", "xã đạt chuẩn nông thôn mới"),
        ),
    ],
)
def test_real_article_figure_rules(sentence: str, value: str, expected: tuple) -> None:
    figs = _real_figs(sentence)
    assert value in figs, figs
    kind, qualifier, subject = expected
    assert figs[value][0] == kind and figs[value][1] == qualifier, figs[value]
    assert subject.lower() in figs[value][2].lower(), figs[value]


@pytest.mark.parametrize(
    "sentence",
    [
        "Theo Kế hoạch số 45-KH/TU ngày 20/11/2023 của Ban Thường vụ Tỉnh ủy, nhiệm vụ được giao.",
        "Thực hiện Chương trình giáo dục phổ thông 2018 và Nghị định số 15/2023/NĐ-CP.",
        "Lễ khai giảng bắt đầu từ 7h30, gọi số 0205.3812.345 hoặc 1900.1234.",
        "Đại hội lần thứ XX, khóa XIII bàn về phòng chống dịch COVID-19.",
    ],
)
def test_real_article_not_figures(sentence: str) -> None:
    assert _real_figs(sentence) == {}


def test_one_of_n_is_not_a_count() -> None:
    assert "1" not in _real_figs("Huyện là 1 trong 3 huyện được chọn diễn tập.")


def test_raw_shapes_bylines_photo_lines_and_dates() -> None:
    from bot.domain.articles import article_date

    raw = (
        "\ufeffTiêu đề bài\r\nẢnh: Quang cảnh\r\n– Sáng 14/12, tỉnh họp.\r\n"
        "Ảnh: Người dân dự họp\r\nĐoạn hai.\r\nNguyễn Văn Hải (TTVH huyện)\r\nÝ kiến (12)\r\n"
    )
    parts = split_raw(raw)
    assert parts.caption == "Quang cảnh"
    assert parts.paragraphs == ["Sáng 14/12, tỉnh họp.", "Đoạn hai."]
    assert parts.author == "Nguyễn Văn Hải (TTVH huyện)"
    assert split_raw("Tiêu đề\nThân bài có số 5.\nVĂN ĐỨC – THU HÀ\n").author == "Văn Đức – Thu Hà"
    date, how = article_date(parts, "", dt.date(2024, 3, 1))
    assert (date, how) == (dt.date(2023, 12, 14), "lead-guess")
    stamped = split_raw("Tiêu đề\n08/04/2022 09:15\nSáng 8/4, họp.\nPV\n")
    assert article_date(stamped, "")[0] == dt.date(2022, 4, 8) and stamped.author == "PV"


def test_pathological_inputs_stay_fast() -> None:
    import time

    start = time.perf_counter()
    digest(["Con số 1.234 người và 5,6% " * 20000], "Tiêu đề")
    digest(["Một câu rất dài không có dấu chấm " * 5000], "Tiêu đề")
    assert time.perf_counter() - start < 5


# ---------------------------------------------------------------- issue 13: read whole


@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        ("Đoạn đèo dài hơn 28km, có nhiều khúc cua.", [("28 km", "measure", "hơn")]),
        ("Người dân hiến 12.000m2 đất.", [("12.000 m2", "measure", "")]),
        ("Thu giữ 374,925g heroin.", [("374,925 g", "measure", "")]),
        ("Hỗ trợ xây dựng 1904 nhà đại đoàn kết.", [("1904", "count", "")]),
        ("Có 630/847 khu dân cư đạt chuẩn.", [("630/847", "ratio", "")]),
        ("Thành phố gồm 5 phường 3 xã.", [("5", "count", ""), ("3", "count", "")]),
        ("Trong hai ngày 10 và 11-1, hội nghị diễn ra.", [("10-11/1", "date", "")]),
        ("Đợt cao điểm diễn ra từ ngày 1 đến hết 15-12.", [("1-15/12", "date", "")]),
        ("Sáng 9.4, Công an tỉnh cho biết.", [("9/4", "date", "")]),
        (
            "Trong 8 tháng của năm 2025, tỉnh kết nạp 100 đảng viên.",
            [("8 tháng năm 2025", "period", ""), ("100", "count", "")],
        ),
        (
            "Trong những tháng cuối năm 2023, sản xuất phục hồi.",
            [("những tháng cuối năm 2023", "period", "")],
        ),
        (
            "Từ đầu năm 2021 đến nay, tỉnh xây dựng 87 mô hình.",
            [("từ đầu năm 2021 đến nay", "period", ""), ("87", "count", "")],
        ),
        (
            "Có 1 đồng chí 50 năm, 1 đồng chí 45 năm tuổi Đảng.",
            [("1", "count", ""), ("1", "count", "")],
        ),
        ("Các nghị quyết đặt ra yêu cầu(1); bảo đảm quốc phòng(2).", []),
        ("Xe khách BKS 51B-123.45 bị lật.", []),
        ("Số vụ thấp hơn 5,4% so với cùng kỳ.", [("5,4%", "percent", "thấp hơn")]),
        ("Thu ngân sách chỉ đạt 38% dự toán.", [("38%", "percent", "chỉ đạt")]),
        ("Đã kết luận 2.980 đảng viên có vi phạm.", [("2.980", "count", "")]),
    ],
)
def test_numbers_read_whole(sentence: str, expected: list[tuple[str, str, str]]) -> None:
    got = [(f.value, f.kind, f.qualifier) for f in sentence_figures(sentence, 0)]
    assert got == expected


@pytest.mark.parametrize(
    ("sentence", "value", "subject"),
    [
        (
            "Tổng thu đạt 52 tỷ đồng, tăng 15,5% so với cùng kỳ năm trước.",
            "15,5%",
            "so với cùng kỳ năm trước",
        ),
        ("Thu ngân sách đạt 45 tỷ đồng, bằng 38% dự toán.", "38%", "dự toán"),
        ("Toàn tỉnh có 11 huyện, thành phố với 200 xã.", "11", "huyện, thành phố"),
        ("Có 9.846 hộ còn dư nợ.", "9.846", "hộ còn dư nợ"),
        ("Bắt giữ 126 vụ phạm tội về ma túy.", "126", "vụ phạm tội về ma túy"),
        (
            "Có 630/847 khu dân cư đạt chuẩn kiểu mẫu, chiếm 74,4%.",
            "74,4%",
            "khu dân cư đạt chuẩn kiểu mẫu",
        ),
        ("Sau 3 năm thực hiện, tỉnh hoàn thành.", "3 năm", "thời gian thực hiện"),
        (
            "Sáng 7/11, Đảng ủy phường tổ chức lễ trao Huy hiệu Đảng.",
            "7/11",
            "ngày tổ chức lễ trao Huy hiệu Đảng",
        ),
        (
            "Các sở hoàn thành kế hoạch vốn trước ngày 31-1-2025.",
            "31/1/2025",
            "thời hạn hoàn thành kế hoạch vốn",
        ),
        ("Năm 2023, tăng trưởng đạt 5,06%.", "năm 2023", "kỳ báo cáo"),
    ],
)
def test_subjects_are_noun_phrases(sentence: str, value: str, subject: str) -> None:
    figures = {f.value: f for f in sentence_figures(sentence, 0)}
    assert figures[value].subject == subject


def test_list_lender_is_not_inherited_and_anaphor_is_resolved() -> None:
    d = digest(
        [
            "Năm 2019, chị Lan vay 50 triệu đồng; năm 2022, anh A vay 140 triệu đồng.",
            "Có 1.285 cán bộ được tập huấn kỹ năng số. Con số này gấp 2,3 lần năm trước.",
        ]
    )
    subjects = {f.value: f.subject for f in d.figures}
    assert subjects["50 triệu đồng"] == "chị Lan vay"
    assert subjects["140 triệu đồng"] == "anh A vay"
    assert subjects["2,3 lần"].startswith("cán bộ được tập huấn")  # not "Con số này"


def test_summary_never_takes_page_furniture() -> None:
    raw = "\n".join(
        [
            "Huyện tổ chức hội nghị tổng kết năm 2024",
            "Huyện tổ chức hội nghị tổng kết năm 2024",
            "Sáng 9/12, Huyện ủy tổ chức hội nghị tổng kết công tác năm 2024.",
            "KẾT QUẢ NỔI BẬT",
            "Năm 2024, huyện kết nạp 145 đảng viên, đạt 107% kế hoạch.",
            "Quang cảnh hội nghị",
            "Đồng chí Bí thư phát biểu tại hội nghị. Ảnh: P.H.",
            "P.H.",
            "Theo Báo Lạng Sơn",
            "Tin liên quan",
            "Huyện đón 1 triệu lượt khách",
        ]
    )
    parts = split_raw(raw)
    assert parts.author == "P.H."
    assert not any("Tin liên quan" in p or "1 triệu" in p or "Ảnh:" in p for p in parts.paragraphs)
    d = digest(parts.paragraphs, parts.title, k=3)
    assert d.summary and all(
        s[0].isupper() and s.endswith(".") and "KẾT QUẢ" not in s for s in d.summary
    )
    assert "Quang cảnh hội nghị" not in d.summary
