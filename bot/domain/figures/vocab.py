"""Word lists: units, qualifiers, stop words, classifiers, identifier nouns."""

from __future__ import annotations

import re

from bot.domain.figures.model import _mask

_MONEY_UNITS = ("đồng", "usd", "đô la", "vnđ", "vnd", "euro", "eur", "nhân dân tệ")
_MEASURE_UNITS = frozenset(
    {
        "km",
        "m",
        "cm",
        "mm",
        "m2",
        "m²",
        "m3",
        "m³",
        "km2",
        "km²",
        "ha",
        "héc-ta",
        "hecta",
        "hécta",
        "tấn",
        "tạ",
        "kg",
        "gam",
        "g",
        "lít",
        "l",
        "ml",
        "mw",
        "kw",
        "kwh",
        "mwh",
        "gw",
        "độ",
        "°c",
        "tuổi",
        "giờ",
        "phút",
        "giây",
        "năm",
        "tháng",
        "ngày",
        "tuần",
        "sào",
        "mẫu",
        "con",
        "cây",
        "cái",
        "chiếc",
        "vạn",
        "m³/ngày",
        "tấn/ha",
        "tạ/ha",
    }
)
# Units that make a measure (rather than a count of things).
_TRUE_MEASURES = _MEASURE_UNITS - {"con", "cây", "cái", "chiếc"}

QUALIFIERS_1 = frozenset(
    {
        "hơn",
        "trên",
        "gần",
        "khoảng",
        "đạt",
        "tăng",
        "giảm",
        "vượt",
        "chỉ",
        "dưới",
        "tới",
        "lên",
        "xuống",
        "còn",
        "ước",
        "gấp",
        "hàng",
        "chừng",
        "ngót",
        "suýt",
        "tổng",
        "chiếm",
        "thêm",
    }
)
# Three-word qualifiers.
QUALIFIERS_3 = frozenset({"đạt và vượt", "đạt hoặc vượt", "tăng thêm hơn"})
# Direction words keep an approximator after them ("tăng hơn 20%"); any other pair of
# qualifier words keeps only the one next to the number ("giảm còn" → "còn", "đạt trên" → "trên").
_DIRECTIONS = frozenset({"tăng", "giảm", "vượt"})
_APPROX = frozenset({"hơn", "trên", "gần", "khoảng", "dưới", "chừng", "ngót", "gấp"})
QUALIFIERS_2 = frozenset(
    {
        "ước đạt",
        "ước tính",
        "ít nhất",
        "tối đa",
        "tối thiểu",
        "xấp xỉ",
        "trên dưới",
        "bình quân",
        "trung bình",
        "lên tới",
        "lên đến",
        "gần như",
        "tổng cộng",
        "thấp hơn",
        "cao hơn",
        "ít hơn",
        "nhiều hơn",
        "chỉ đạt",
        "chỉ chiếm",
        "chỉ còn",
        "chỉ có",
        "chỉ bằng",
    }
)

# Words that end the noun phrase after a number.
_STOP_AFTER = frozenset(
    {
        "cho",
        "với",
        "về",
        "tại",
        "trong",
        "của",
        "trên",
        "để",
        "so",
        "từ",
        "đến",
        "tới",
        "nhằm",
        "được",
        "đã",
        "đang",
        "sẽ",
        "là",
        "khi",
        "thì",
        "nhưng",
        "bằng",
        "ở",
        "vào",
        "do",
        "có",
        "gồm",
        "như",
        "này",
        "đó",
        "nên",
        "mà",
        "hay",
        "hoặc",
        "ra",
        "lên",
        "xuống",
        "qua",
        "sau",
        "trước",
        "tăng",
        "giảm",
        "đạt",
        "chiếm",
        "cùng",
        "vượt",
        "thuộc",
        "nhờ",
        "vì",
        "bởi",
        "dù",
        "hết",
        "ngoài",
        "đều",
        "vẫn",
        "cũng",
        "không",
        "chưa",
        "mới",
        "còn",
        "đi",
        "kể",
    }
)
# Aspect/voice markers: a verb phrase starts after them ("đã tổ chức … được 350 buổi").
# Two-syllable words whose second syllable is also a function word.
_COMPOUNDS = frozenset(
    {
        "thiết bị",
        "chuẩn bị",
        "mặt bằng",
        "đồng bằng",
        "công bằng",
        "cân bằng",
        "bằng khen",
        "theo dõi",
        "trung bình",
        "bình quân",
        "tăng cường",
        "trên địa",
        "người có",
        "cho vay",
        "kinh tế",
        "ra đời",
        "trở lên",
        "cấp trên",
        "phía trên",
        "lên tới",
        "đi lại",
        "qua đời",
        "nông thôn",
        "thôn mới",
        "ở lại",
        "sau đại",
        "đến hạn",
        "hội viên",
        "cán bộ",
        "giảm nghèo",
        "thực hiện",
        "phát hiện",
        "xuất hiện",
        "thể hiện",
        "chỉ số",
        "chỉ tiêu",
        "chỉ đạo",
        "chỉ thị",
        "đầu tư",
    }
)
# Verb + object pairs that continue a noun phrase after a number.
_VERB_OBJECT = {"đạt": frozenset({"chuẩn", "giải", "danh", "yêu"}), "được": frozenset({"công"})}
_CUT_BEFORE = frozenset(
    {"trên", "tại", "ở", "trong", "cho", "với", "để", "nhằm", "so", "theo", "vào", "khi", "năm"}
)
_ASPECT = frozenset({"đã", "đang", "sẽ", "vừa", "mới", "được"})
_TRIM = frozenset(
    {
        "và",
        "các",
        "những",
        "được",
        "với",
        "cho",
        "là",
        "có",
        "đạt",
        "gồm",
        "của",
        "cả",
        "thêm",
        "khoảng",
        "hơn",
        "trên",
        "gần",
        "lên",
        "tới",
        "về",
        "thì",
        "mà",
        "đã",
        "đang",
        "sẽ",
        "vừa",
        "mới",
        "hiện",
        "nay",
        "tăng",
        "giảm",
        "chiếm",
        "còn",
        "chỉ",
        "bằng",
        "vượt",
        "ước",
    }
)
_CLASSIFIERS = frozenset(
    {
        "buổi",
        "lượt",
        "lần",
        "cuộc",
        "đợt",
        "người",
        "trường",
        "hợp",
        "vụ",
        "việc",
        "điểm",
        "cái",
        "chiếc",
        "con",
        "bài",
        "tin",
        "hộ",
        "suất",
        "phần",
        "bộ",
        "tập",
        "cuốn",
    }
)

# Words after which a number is an identifier, not an amount ("tổ 3", "Điều 5").
_IDENT_WORDS = (
    r"thứ|lần thứ|số|khóa|khoá|kỳ họp thứ|tổ|thôn|khu|khối|phường|quận|ấp|xóm|bản|"
    r"lớp|phòng|tầng|số nhà|đường|quốc lộ|tỉnh lộ|QL|ĐT|Km|tuyến|cụm|lô|phân khu|"
    r"điều|khoản|chương|mục|điểm|phụ lục|tập|phần|bài|câu|trang|mẫu|hạng|cấp|nhóm|"
    r"đội|sư đoàn|trung đoàn|tiểu đoàn|đại đội|trung đội|tiểu khu|khoảnh|thửa|tờ|"
    r"tháng|kỳ|đợt|lần|phiên|vòng|bảng|ô|căn|dãy|block|tháp|ca|ngõ|ngách|hẻm|kiệt|mũi|liều|"
    r"Nghị quyết|Chỉ thị|Kết luận|Quyết định|Nghị định|Thông tư|Công văn|Kế hoạch|"
    r"Luật|Quy định|Hướng dẫn|Thông báo|Tờ trình|Văn bản|Đề án|Chương trình|Pháp lệnh|"
    r"Thông tri|Báo cáo|Công điện"
)

_IDENTS = frozenset(w.lower() for w in _IDENT_WORDS.split("|"))
_DOCUMENTS = frozenset(w.lower() for w in _IDENT_WORDS.split("|") if w[0].isupper())
# A count follows a number: a noun word, not a unit of time or a punctuation mark.
_COUNT_AFTER = re.compile(r"\s+[^\W\d_]", re.UNICODE)
_IDENT_MAX_WORDS = max(len(w.split()) for w in _IDENTS)
_DIGITS = re.compile(r"\d[\d./-]*")


def _mask_identifiers(masked: str, chars: list[str]) -> None:
    """Mask numbers written after their noun: "lần thứ 9", "tổ 3", "Quyết định số 12"."""
    for m in _DIGITS.finditer(masked):
        if m.start() > 0 and masked[m.start() - 1] not in " \t":
            continue
        written = masked[: m.start()].split()[-(_IDENT_MAX_WORDS + 2) :]
        if len(written) >= 2 and written[-2].isdigit() and _COUNT_AFTER.match(masked, m.end()):
            continue  # "gồm 5 phường 3 xã": two counts, not ward number 3
        if written and written[-1].lower() == "số":
            written = written[:-1]
        written = written[-_IDENT_MAX_WORDS:]
        for k in range(1, min(len(written), _IDENT_MAX_WORDS) + 1):
            phrase = " ".join(written[-k:])
            if phrase.lower() in _IDENTS and (
                phrase.lower() not in _DOCUMENTS or phrase[0].isupper()
            ):
                # a document is named with a capital ("Kết luận 64"); "kết luận 2.980 đảng
                # viên", "kỷ luật 1.137 đảng viên" are verbs with a count
                _mask(chars, m.start(), m.end())
                break
