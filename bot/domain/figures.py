"""Key figures of a Vietnamese news article: numbers with what they count and a qualifier.

Pipeline per sentence (pure string work, no NLP model):
1. periods and dates are found first ("quý I/2022", "6 tháng đầu năm", "8/4", "10/12/2021",
   "ngày 8-4", "năm 2022", "giai đoạn 2021-2025") and their spans masked;
2. things that contain digits but are not figures are masked: document numbers
   ("03-NQ/TU", "Quyết định số 12"), names with digits ("COVID-19", "H5N1"), ordinals and
   identifiers ("lần thứ 9", "tổ 3", "Điều 5"), list numbering, clock times, phone numbers;
3. every remaining number (Vietnamese format: dot thousands, comma decimals, nghìn/triệu/tỷ)
   is read with its range partner, percent sign or unit, the qualifier before it
   (hơn, trên, gần, khoảng, đạt, tăng, giảm, vượt…) and its subject: the noun phrase after
   it ("lượt người nghe") or, for money, percentages and bare classifiers, the phrase
   before it ("tổng kinh phí", "buổi (tuyên truyền lồng ghép)").
Figures are then de-duplicated and ranked: the reporting period first, then the counts of
what was done (counts, money, percentages, measures, ranges) in article order, dates last.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass

from bot.domain.text import nfc

KIND_ORDER = {
    "period": 0,
    "count": 1,
    "money": 1,
    "percent": 1,
    "measure": 1,
    "range": 1,
    "ratio": 1,
    "date": 2,
}


# Extraction stops after this many raw figures (a news article has a few dozen).
MAX_FIGURES = 500


@dataclass(frozen=True)
class Figure:
    """One key figure. `value` is display text in Vietnamese format ("12.000", "15,5%")."""

    value: str
    qualifier: str
    subject: str
    kind: str  # period | date | count | money | percent | measure | range | ratio
    sentence_index: int
    position: int = 0  # character offset in the sentence (ordering only)
    number: float | None = None  # the numeric value when there is one (magnitude applied)
    subject_first: bool = False  # subject came from before the number (render it first)

    def public(self) -> dict[str, object]:
        """The stable JSON shape of `loa digest --json`."""
        return {
            "value": self.value,
            "qualifier": self.qualifier,
            "subject": self.subject,
            "kind": self.kind,
            "sentence_index": self.sentence_index,
        }

    def as_dict(self) -> dict[str, object]:
        """Everything, for storage."""
        return asdict(self)

    def render(self) -> str:
        """One line for a Telegram card: "hơn 12.000 lượt người nghe", "Kinh phí: 112,7 tỷ đồng"."""
        core = f"{self.qualifier} {self.value}".strip()
        if self.kind in ("period", "date"):
            return f"{core} — {self.subject}" if self.subject else core
        if not self.subject:
            return core
        if self.subject_first:
            subject = self.subject[0].upper() + self.subject[1:]
            return f"{subject}: {core}"
        return f"{core} {self.subject}"


# ---------------------------------------------------------------- number helpers

_MAGNITUDES = {"nghìn": 1e3, "ngàn": 1e3, "triệu": 1e6, "tỷ": 1e9, "tỉ": 1e9}


def parse_number(text: str) -> float:
    """Vietnamese number text → float: "12.000" → 12000, "112,7" → 112.7, "1.234,5" → 1234.5."""
    text = text.strip().replace(" ", "")
    if "," in text:
        whole, _, frac = text.partition(",")
        return float(f"{whole.replace('.', '')}.{frac}")
    return float(text.replace(".", ""))


def format_number(value: float) -> str:
    """A number the Vietnamese way: 12000 → "12.000", 1.5 → "1,5", 1234.56 → "1.234,56"."""
    if value != value:  # NaN
        return "?"
    negative = value < 0
    value = abs(value)
    if float(value).is_integer():
        whole, frac = f"{int(value):,}", ""
    else:
        text = f"{value:,.3f}".rstrip("0").rstrip(".")
        whole, _, frac = text.partition(".")
    whole = whole.replace(",", ".")
    result = f"{whole},{frac}" if frac else whole
    return f"-{result}" if negative else result


# ---------------------------------------------------------------- vocabularies

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
_IDENT_MAX_WORDS = max(len(w.split()) for w in _IDENTS)
_DIGITS = re.compile(r"\d[\d./-]*")


def _mask_identifiers(masked: str, chars: list[str]) -> None:
    """Mask numbers written after their noun: "lần thứ 9", "tổ 3", "Quyết định số 12"."""
    for m in _DIGITS.finditer(masked):
        if m.start() > 0 and masked[m.start() - 1] not in " \t":
            continue
        words = masked[: m.start()].split()[-(_IDENT_MAX_WORDS + 1) :]
        words = [w.lower() for w in words]
        if words and words[-1] == "số":
            words = words[:-1]
        if any(
            " ".join(words[-k:]) in _IDENTS for k in range(1, min(len(words), _IDENT_MAX_WORDS) + 1)
        ):
            _mask(chars, m.start(), m.end())


# ---------------------------------------------------------------- patterns

_NUM = r"\d{1,3}(?:\.\d{3})+(?:,\d+)?|\d+(?:,\d+)?"
_ROMAN_Q = r"IV|I{1,3}"

_PERIOD_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            rf"\bquý\s+({_ROMAN_Q}|[1-4])\b(?:\s*[/-]\s*(\d{{4}})|\s+năm\s+(\d{{4}}))?",
            re.IGNORECASE,
        ),
        "quarter",
    ),
    (
        re.compile(
            r"\b(\d{1,2}|sáu|chín|ba)\s+tháng\s+"
            r"(?:(đầu|cuối)\s+năm(?:\s+(\d{4}))?|năm\s+(\d{4})\b)",
            re.IGNORECASE,
        ),
        "months",
    ),
    (
        re.compile(
            r"\bhọc\s+kỳ\s+(I{1,2}|[12])\b(?:\s*[/,]?\s*năm học\s+(\d{4}\s*[-–]\s*\d{4}))?",
            re.IGNORECASE,
        ),
        "semester",
    ),
    (
        re.compile(
            r"\b(giai đoạn|nhiệm kỳ|thời kỳ|năm học|niên khóa|niên khoá)"
            r"\s+(\d{4})\s*[-–]\s*(\d{4})",
            re.IGNORECASE,
        ),
        "span",
    ),
    (re.compile(r"\btháng\s+(\d{1,2})\s*(?:/|-|\s+năm\s+)\s*(\d{4})\b", re.IGNORECASE), "month"),
    (re.compile(r"\bnăm\s+((?:19|20)\d{2})\b(?!\s*[-–/]\s*\d)", re.IGNORECASE), "year"),
]
_PERIOD_KEYS = {
    "quarter": "quý",
    "months": "tháng",
    "semester": "học kỳ",
    "span": "\x00",
    "month": "tháng",
    "year": "năm",
}
_SPAN_KEYS = re.compile(r"giai đoạn|nhiệm kỳ|thời kỳ|năm học|niên kh")
_DATE_FULL = re.compile(r"(?<![\d/.-])(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})(?![\d/])")
_DATE_WORDS = re.compile(
    r"\bngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})(?:\s+năm\s+(\d{4}))?", re.IGNORECASE
)
# "20.11.1982", "5-9-2023": a four-digit year makes a dotted/dashed date unambiguous.
_DATE_DOTTED = re.compile(r"(?<![\d.,/-])(\d{1,2})([.-])(\d{1,2})\2((?:19|20)\d{2})(?![\d.,/-]\d)")
# A date right after a document number is part of the reference:
# "Kế hoạch số 45-KH/TU ngày 20/11/2023", "Quyết định 1234/QĐ-UBND ngày 5/4".
_AFTER_DOCUMENT = re.compile(
    r"\d[\w.]*(?:/\d+)*\s*[-/]\s*[A-ZĐ][\w.]*(?:[-/][\w.]+)*\s+(?:ngày\s+)?$"
)
_DATE_NGAY = re.compile(r"\bngày\s+(\d{1,2})[-.](\d{1,2})(?:[-.](\d{4}))?(?![\d])", re.IGNORECASE)
_DATE_RANGE = re.compile(
    r"\bngày\s+(\d{1,2})\s*(?:đến|tới|và|-|–|,)\s*(?:ngày\s+)?(\d{1,2})"
    r"(?:\s+tháng\s+(Giêng|Chạp|\d{1,2})|\s*/\s*(\d{1,2}))(?:\s*/\s*(\d{4})|\s+năm\s+(\d{4}))?",
    re.IGNORECASE,
)
_DATE_LUNAR = re.compile(
    r"(?:\bngày\s+)?\b(\d{1,2})\s+tháng\s+(Giêng|Chạp|\d{1,2})\b(?!\s*(?:đầu|cuối))", re.IGNORECASE
)
_DATE_SHORT = re.compile(r"(?<![\d/.,-])(\d{1,2})/(\d{1,2})(?![\d/]|,\d)")
_DATE_CONTEXT = re.compile(
    r"(?:ngày|sáng|chiều|tối|trưa|đêm|hôm|từ|đến|tới|trước|sau|vào|đầu|cuối|nay|qua|hạn)"
    r"\s*(?:ngày\s*)?$",
    re.IGNORECASE,
)

_MASKS = [
    # document numbers: 03-NQ/TU, 123/QĐ-UBND, 100/2019/NĐ-CP, 05/CT-TTg
    re.compile(r"\b\d+(?:/\d+)*\s*[-/]\s*[A-ZĐ][A-Za-zĐđ]*(?:[-/][A-Za-zĐđ0-9]+)*"),
    # names with digits: COVID-19, SARS-CoV-2, H5N1, U23, Vinaphone3G
    re.compile(r"\b[^\W\d_][\w]*-?\d[\w-]*", re.UNICODE),
    # identifiers and ordinals after their noun: "lần thứ 9", "tổ 3", "Quyết định số 12"
    # clock times: "lúc 8 giờ 30", "8h30", "14 giờ"
    re.compile(r"\b\d{1,2}\s*(?:h|giờ|g)\s*\d{1,2}(?:\s*phút|')?", re.IGNORECASE),
    re.compile(
        r"\b(?:lúc|từ|đến|vào)\s+\d{1,2}\s*(?:h|giờ)\b(?:\s+\d{1,2}(?:\s*phút)?)?", re.IGNORECASE
    ),
    # "1 trong 3 huyện", "2 trong số 5 đơn vị": "one of", not a count
    re.compile(r"\b\d{1,2}(?=\s+trong\s+(?:số\s+)?\d)"),
    # phone numbers
    re.compile(r"\b0\d{2,3}[.\s]?\d{3,4}[.\s]?\d{3,4}\b"),
    # versions / generations: "4.0", "2.0"
    re.compile(r"\b\d+\.\d(?!\d)"),
]
_WORD_PERIOD = re.compile(r"\b(?:quý|học kỳ|sáu tháng|chín tháng|ba tháng)\s", re.IGNORECASE)
_LIST_MARK = re.compile(r"^\s*\(?(?:\d{1,2}|[a-zđ]|[IVX]{1,4})[.)]\s+")

_NUMBER = re.compile(rf"(?<![\w/.,§-])({_NUM})(?![\w/§]|[.,]\d)", re.UNICODE)
_MAG = re.compile(r"\s*(nghìn tỷ|nghìn|ngàn|triệu|tỷ|tỉ)\b", re.IGNORECASE)
_RANGE = re.compile(rf"\s*(?:-|–|—|đến|tới)\s*({_NUM})(?![\w/§]|[.,]\d)")
_PERCENT = re.compile(r"\s*(%|phần trăm)")
_WORD = re.compile(r"[^\s]+")
_PER_UNIT = re.compile(r"(?:/[^\W\d_]+)+", re.UNICODE)
# "đồng" starting a noun, not the currency: "39 đồng chí", "500 đồng bào".
_DONG_NOUN = re.compile(
    r"đồng\s+(?:chí|bào|hương|đội|nghiệp|ruộng|bằng|lúa|hồ|môn|minh|tâm|ca|chủ|sáng|phạm)\b"
)
_YEAR_CONTEXT = frozenset(
    {"trong", "đến", "tới", "từ", "trước", "sau", "vào", "cuối", "đầu", "hết", "giữa", "nay"}
)
_TIMES_QUALIFIERS = frozenset({"gấp", "tăng", "giảm", "tăng gấp", "hơn", "gần", "khoảng"})
# "gấp 1,4 lần", "tăng 2 lần": a multiplier.
_TIMES = re.compile(r"\s+lần\b(?!\s+(?:thứ|lượt))")
_DASHES = re.compile(r"\s*[-–]\s*")


def _roman(text: str) -> str:
    return {"1": "I", "2": "II", "3": "III", "4": "IV"}.get(text, text.upper())


@dataclass
class _Found:
    start: int
    end: int
    value: str
    kind: str
    qualifier: str = ""
    subject: str = ""
    number: float | None = None
    subject_first: bool = False


def _mask(chars: list[str], start: int, end: int) -> None:
    for i in range(start, end):
        if not chars[i].isspace():
            chars[i] = "§"


def _valid_dm(day: int, month: int) -> bool:
    return 1 <= day <= 31 and 1 <= month <= 12


def _periods_and_dates(sentence: str, chars: list[str]) -> list[_Found]:
    found: list[_Found] = []

    def free(start: int, end: int) -> bool:
        return all(ch != "§" for ch in chars[start:end])

    low = sentence.lower()
    for pattern, kind in _PERIOD_PATTERNS:
        if _PERIOD_KEYS[kind] not in low and not (kind == "span" and _SPAN_KEYS.search(low)):
            continue
        for m in pattern.finditer(sentence):
            if not free(m.start(), m.end()):
                continue
            if kind == "quarter":
                year = m.group(2) or m.group(3)
                value = f"quý {_roman(m.group(1))}" + (f"/{year}" if year else "")
            elif kind == "months":
                count = {"sáu": "6", "chín": "9", "ba": "3"}.get(m.group(1).lower(), m.group(1))
                if m.group(2):
                    value = f"{count} tháng {m.group(2).lower()} năm" + (
                        f" {m.group(3)}" if m.group(3) else ""
                    )
                else:
                    value = f"{count} tháng năm {m.group(4)}"
            elif kind == "semester":
                years = _DASHES.sub("-", m.group(2)) if m.group(2) else ""
                value = f"học kỳ {_roman(m.group(1))}" + (f" năm học {years}" if years else "")
            elif kind == "span":
                value = f"{m.group(1).lower()} {m.group(2)}-{m.group(3)}"
            elif kind == "month":
                if not 1 <= int(m.group(1)) <= 12:
                    continue
                value = f"tháng {int(m.group(1))}/{m.group(2)}"
            else:
                value = f"năm {m.group(1)}"
            found.append(_Found(m.start(), m.end(), value, "period"))
            _mask(chars, m.start(), m.end())

    has_day = "ngày" in low
    has_month = "tháng" in low
    for m in _DATE_RANGE.finditer(sentence) if has_day else ():
        if not free(m.start(), m.end()):
            continue
        first, second = int(m.group(1)), int(m.group(2))
        month = m.group(3) or m.group(4)
        if not (1 <= first <= 31 and 1 <= second <= 31 and first < second):
            continue
        value = f"{first}-{second}/{month}" if m.group(4) else f"{first}-{second} tháng {month}"
        if m.group(5):
            value += f"/{m.group(5)}"
        found.append(_Found(m.start(1), m.end(), value, "date"))
        _mask(chars, m.start(), m.end())
    for m in _DATE_LUNAR.finditer(sentence) if has_month else ():
        if free(m.start(), m.end()) and 1 <= int(m.group(1)) <= 31:
            found.append(
                _Found(m.start(1), m.end(), f"{int(m.group(1))} tháng {m.group(2)}", "date")
            )
            _mask(chars, m.start(), m.end())
    for pattern in (_DATE_WORDS, _DATE_FULL, _DATE_NGAY, _DATE_DOTTED):
        if (pattern is _DATE_FULL and "/" not in low) or (
            pattern not in (_DATE_FULL, _DATE_DOTTED) and not has_day
        ):
            continue
        for m in pattern.finditer(sentence):
            if not free(m.start(), m.end()):
                continue
            if pattern is _DATE_DOTTED:
                day, month, year = int(m.group(1)), int(m.group(3)), m.group(4)
            else:
                day, month, year = int(m.group(1)), int(m.group(2)), m.group(3)
            if not _valid_dm(day, month):
                continue
            if _AFTER_DOCUMENT.search(sentence[: m.start()]):
                _mask(chars, m.start(), m.end())  # part of a document reference
                continue
            value = f"{day}/{month}" + (f"/{year}" if year else "")
            start = m.start(1) if pattern is _DATE_NGAY or pattern is _DATE_WORDS else m.start()
            found.append(_Found(start, m.end(), value, "date"))
            _mask(chars, m.start(), m.end())

    for m in _DATE_SHORT.finditer(sentence) if "/" in low else ():
        if not free(m.start(), m.end()):
            continue
        a, b = int(m.group(1)), int(m.group(2))
        before = sentence[: m.start()]
        if _AFTER_DOCUMENT.search(before):
            _mask(chars, m.start(), m.end())  # "Quyết định 1234/QĐ-UBND ngày 5/4"
            continue
        after = sentence[m.end() :]
        in_parens = before.rstrip().endswith("(")
        date_context = bool(_DATE_CONTEXT.search(before.rstrip())) or in_parens
        next_word = _WORD.match(after.lstrip())
        noun_follows = bool(
            next_word
            and next_word.group(0)[0].isalpha()
            and next_word.group(0).lower() not in {"năm", "vừa", "tại", "và", "tới", "đến"}
            and not after.startswith(("/", ","))
        )
        if not date_context and noun_follows and a <= b:
            qualifier = _qualifier(sentence, m.start())
            subject, first = _subject(sentence, m.start(), m.end(), "ratio")
            found.append(
                _Found(
                    m.start(),
                    m.end(),
                    f"{a}/{b}",
                    "ratio",
                    qualifier,
                    subject,
                    a / b if b else None,
                    first,
                )
            )
        elif _valid_dm(a, b):
            found.append(_Found(m.start(), m.end(), f"{a}/{b}", "date"))
        else:
            continue
        _mask(chars, m.start(), m.end())
    return found


def _tokens_after(sentence: str, end: int, limit: int = 10) -> list[str]:
    """The noun phrase after position `end`: words up to punctuation or a stop word."""
    words: list[str] = []
    rest = sentence[end:]
    if rest[:1] not in ("", " ") or rest.lstrip()[:1] in ("(", "[", "“", '"'):
        return words
    for m in _WORD.finditer(rest):
        raw = m.group(0)
        word = raw.strip("“”\"'()[]")
        stripped = word.rstrip(".,;:!?…)”\"'")
        if not stripped or not stripped[0].isalpha() or any(c.isdigit() for c in stripped):
            break
        low = stripped.lower()
        compound = bool(words) and f"{words[-1].lower()} {low}" in _COMPOUNDS
        if not compound and words and low in _VERB_OBJECT:
            # "412 trường đạt chuẩn quốc gia", "45 học sinh đạt giải": a defining clause
            nxt = rest[m.end() :].lstrip().split(" ", 1)[0].lower().rstrip(".,;:")
            compound = nxt in _VERB_OBJECT[low]
        if words and not compound and (low in _STOP_AFTER or low in QUALIFIERS_1):
            break
        if not words and low in _STOP_AFTER:
            break
        if low == "và":
            following = rest[m.end() :].lstrip()
            clause = re.split(r"[,;:.()]", following, maxsplit=1)[0]
            if not following or any(c.isdigit() for c in clause) or len(words) >= 8:
                break
            nxt = following.split(" ", 1)[0].lower()
            if nxt in QUALIFIERS_1 or nxt in _STOP_AFTER:
                break
        words.append(stripped)
        if stripped != word or raw.startswith("(") or len(words) >= limit:
            break
    while words and (
        (words[-1].lower() in _TRIM and " ".join(words[-2:]).lower() not in _COMPOUNDS)
        or words[-1].lower() in _DANGLING
    ):
        words.pop()  # "… lần thứ" (its number was cut off) is no subject
    return words


_OPENERS = ("trong đó", "trong số đó", "riêng", "đặc biệt", "ngoài ra", "bên cạnh đó", "cụ thể")
_PARENS = re.compile(r"\([^()]*\)")
# Adverbs between a subject and its figure ("lần lượt đạt 97,5% và 96,3%").
_ADVERBS = ("lần lượt", "tương ứng", "hiện", "ước")
# Verbs after which the object names the figure ("là đạt tỷ lệ bao phủ trên 95%").
_LINK_VERBS = frozenset({"là", "đạt", "chiếm", "gồm", "bằng"})


def _phrase_before(sentence: str, start: int, limit: int = 12) -> list[str]:
    """The phrase before position `start` back to punctuation: "X là N" names X; else the
    verb phrase after an aspect marker ("đã tổ chức tuyên truyền"), narrowed to what
    follows "với" ("với tổng vốn đăng ký") or a linking verb, up to a preposition."""
    head = _PARENS.sub(" ", sentence[:start])  # asides: "tăng trưởng kinh tế (GRDP)"
    cut = max(head.rfind(p) for p in (",", ";", ":", "(", ")", "–", "—", "“", '"', ". "))
    segment = head[cut + 1 :] if cut >= 0 else head
    words = [w.strip("“”\"'()") for w in segment.split()]
    words = [w for w in words if any(c.isalnum() for c in w)]  # bullets "-", "•"
    # drop the qualifiers right before the number
    while words:
        if len(words) >= 2 and " ".join(words[-2:]).lower() in QUALIFIERS_2:
            del words[-2:]  # "bình quân", "ước đạt": both syllables
        elif words[-1].lower() in QUALIFIERS_1 or (
            words[-1].lower() in _TRIM and words[-1].lower() != "là"
        ):
            words.pop()
        else:
            break
    # discourse markers opening the clause: "trong đó xuất khẩu đạt …"
    for marker in _OPENERS:
        n = len(marker.split())
        if len(words) > n and " ".join(words[:n]).lower() == marker:
            words = words[n:]
    for adverb in _ADVERBS:
        n = len(adverb.split())
        if " ".join(words[-n:]).lower() == adverb:
            words = words[:-n]
    if len(words) > 1 and words[-1].lower() == "là":
        # "Tổng vốn đầu tư công được giao năm 2023 là 4.120 tỷ đồng": the subject is
        # the noun phrase before the copula, up to its first verb or preposition
        words = words[:-1]
        for i, w in enumerate(words):
            if i > 0 and (w.lower() in _ASPECT or w.lower() in _CUT_BEFORE):
                words = words[:i]
                break
    else:
        if words and words[-1].lower() == "là":
            words.pop()
        rate = " ".join(words[:2]).lower() in ("tỷ lệ", "tỉ lệ", "tổng số")
        if not rate and any(w.lower() in _ASPECT for w in words[:-1]):
            # "tỉnh đã bố trí": the verb phrase; but in "tỷ lệ hồ sơ được xử lý trực tuyến"
            # the passive clause belongs to the rate's noun
            last = max(i for i, w in enumerate(words[:-1]) if w.lower() in _ASPECT)
            words = words[last + 1 :]
        # "… với tổng trị giá 420 triệu đồng": the phrase after the last "với" names it
        last_with = [i for i, w in enumerate(words[:-1]) if w.lower() == "với"]
        if last_with:
            words = words[last_with[-1] + 1 :]
        link = [i for i, w in enumerate(words[:-1]) if i > 0 and w.lower() in _LINK_VERBS]
        if link:
            words = words[link[-1] + 1 :]
        for i, w in enumerate(words):
            if i > 0 and w.lower() in _CUT_BEFORE:
                words = words[:i]
                break
    for i, w in enumerate(words):
        if any(c.isdigit() for c in w) or "§" in w:
            words = words[:i]
            break
    while words and words[0].lower() in _TRIM:
        words.pop(0)
    while words and words[-1].lower() in _TRIM:
        words.pop()
    return words[:limit]


def _qualifier(sentence: str, start: int) -> str:
    words = sentence[:start].split()[-3:]
    lows = [w.lower() for w in words]
    if lows and lows[-1][-1:] in ",;:":
        return ""  # punctuation separates the word from the number
    if len(lows) == 3 and " ".join(lows) in QUALIFIERS_3:
        return " ".join(lows)
    lows = lows[-2:]
    if len(lows) == 2 and " ".join(lows) in QUALIFIERS_2:
        return " ".join(lows)
    if lows and lows[-1] in QUALIFIERS_1:
        if (
            len(lows) == 2
            and lows[0] in _DIRECTIONS
            and lows[-1] in _APPROX
            and lows[0] != lows[-1]
        ):
            return " ".join(lows)
        return lows[-1]
    return ""


def _subject(sentence: str, start: int, end: int, kind: str) -> tuple[str, bool]:
    after = _tokens_after(sentence, end)
    qual = _qualifier(sentence, start)
    qual_start = start
    if qual:
        qual_start = sentence.lower().rfind(qual, 0, start)
        qual_start = qual_start if qual_start >= 0 else start
    before = _phrase_before(sentence, qual_start)
    if kind == "percent" and after:
        return " ".join(after), False
    if kind in ("money", "percent"):
        if before:
            purpose = _PURPOSE.match(sentence, end)
            if kind == "money" and len(before) <= 2 and purpose:
                goal = _tokens_after(sentence, purpose.end() - 1, limit=6)
                if goal:
                    return f"{' '.join(before)} {purpose.group(1)} {' '.join(goal)}", True
            return " ".join(before), True
        return " ".join(after), False
    if after and len(after) == 1 and after[0].lower() in _CLASSIFIERS and before:
        return f"{after[0]} ({' '.join(before)})", False
    if after:
        return " ".join(after), False
    if before:
        return " ".join(before), True
    return "", False


def _numbers(sentence: str, chars: list[str]) -> list[_Found]:
    masked = "".join(chars)
    found: list[_Found] = []
    taken_until = -1
    for m in _NUMBER.finditer(masked):
        if m.start() < taken_until:
            continue
        start, end = m.start(), m.end()
        text = m.group(1)
        number = parse_number(text)
        value = format_number(number)
        kind = "count"
        range_end: float | None = None
        rng = _RANGE.match(masked, end)
        if rng and (
            ("đến" not in rng.group(0) and "tới" not in rng.group(0))
            or sentence[:start].rstrip().lower().endswith("từ")
        ):
            range_end = parse_number(rng.group(1))
            if range_end > number or ("-" in rng.group(0) or "–" in rng.group(0)):
                end = rng.end()
                kind = "range"
                value = f"{value}-{format_number(range_end)}"
            else:
                range_end = None
        magnitude = ""
        mag = _MAG.match(masked, end)
        if mag:
            magnitude = mag.group(1).lower().replace("tỉ", "tỷ")
            number *= 1e12 if magnitude == "nghìn tỷ" else _MAGNITUDES[magnitude]
            end = mag.end()
        pct = _PERCENT.match(masked, end)
        unit = ""
        if pct:
            end = pct.end()
            unit = "%"
            if kind != "range":
                kind = "percent"
        else:
            rest = sentence[end:].lstrip().lower()
            for money in _MONEY_UNITS:
                if (
                    rest.startswith(money)
                    and not rest[len(money) : len(money) + 1].isalpha()
                    and not (money == "đồng" and _DONG_NOUN.match(rest) and not magnitude)
                ):
                    unit = sentence[end:].lstrip()[: len(money)]
                    end = sentence.index(unit, end) + len(unit)
                    per = _PER_UNIT.match(sentence, end)
                    if per:
                        unit += per.group(0)
                        end = per.end()
                    if kind != "range":
                        kind = "money"
                    break
            else:
                word = _WORD.match(sentence[end:].lstrip() or " ")
                first = (word.group(0) if word else "").rstrip(".,;:)”\"'").lower()
                glued = re.match(
                    r"(km2|km|m2|m3|ha|kg|mw|kw|kwh|m|cm|mm|g|l|tấn)\b", masked[end:], re.IGNORECASE
                )
                if glued:
                    unit = sentence[end : end + len(glued.group(1))]
                    end += len(unit)
                    if kind != "range":
                        kind = "measure"
                elif (first in _TRUE_MEASURES and first not in ("năm", "tháng", "ngày")) or (
                    first in ("năm", "tháng", "ngày", "tuần") and not magnitude
                ):
                    unit = sentence[end:].lstrip()[: len(first)]
                    end = sentence.index(unit, end) + len(unit)
                    if kind != "range":
                        kind = "measure"
        if kind == "count" and not magnitude and number.is_integer() and 1900 <= number <= 2100:
            after = _tokens_after(sentence, end)
            if not after and "." not in text:
                # a bare year is a period after a time word ("đến 2025", "trong 2023");
                # elsewhere it is part of a name ("Chương trình giáo dục phổ thông 2018")
                prev = sentence[:start].split()[-1:]
                if prev and prev[0].lower() in _YEAR_CONTEXT:
                    found.append(_Found(start, end, f"năm {text}", "period", number=number))
                taken_until = end
                continue
        times = _TIMES.match(sentence, end) if kind == "count" and not magnitude else None
        if times and (_qualifier(sentence, start) in _TIMES_QUALIFIERS or "," in text):
            # "gấp 1,4 lần": a multiplier, not a count of occasions
            end = times.end()
            subject, subject_first = _subject(sentence, start, end, "ratio")
            found.append(
                _Found(
                    start,
                    end,
                    f"{value} lần",
                    "ratio",
                    _qualifier(sentence, start),
                    subject,
                    number,
                    subject_first,
                )
            )
            taken_until = end
            continue
        shown = value
        if magnitude:
            shown = f"{shown} {magnitude}"
        if unit:
            shown = f"{shown}{unit}" if unit == "%" else f"{shown} {unit}"
        qualifier = _qualifier(sentence, start)
        subject_kind = (
            "money"
            if kind == "range" and unit and unit != "%" and unit.lower() not in _TRUE_MEASURES
            else kind
        )
        if kind == "range" and unit == "%":
            subject_kind = "percent"
        subject, subject_first = _subject(sentence, start, end, subject_kind)
        if kind == "count" and magnitude:
            shown = f"{value} {magnitude}"
        found.append(_Found(start, end, shown, kind, qualifier, subject, number, subject_first))
        taken_until = end
    return found


# Words that need a following number or name: a phrase must not end with them.
_DANGLING = frozenset({"thứ", "lần", "số", "khóa", "khoá", "kỳ", "đợt", "ngày", "tháng"})
_PURPOSE = re.compile(r"\s+(cho|để)\s")
_COORDINATION = re.compile(r"^\s*(?:,|và|,\s*và|hoặc)\s*$")
_RATE_HEAD = re.compile(r"\b(?:tỷ lệ|tỉ lệ)\s", re.IGNORECASE)


def _fill_subjects(sentence: str, found: list[_Found]) -> None:
    """Subjects a figure shares with its neighbours: "lần lượt đạt 97,5% và 96,3%" (the
    second is coordinated with the first); a percentage without a subject of its own
    counts the "tỷ lệ …" (rate) named earlier in its sentence."""
    for i, f in enumerate(found):
        if f.subject or f.kind in ("period", "date"):
            continue
        prev = found[i - 1] if i else None
        if (
            prev is not None
            and prev.subject
            and prev.kind == f.kind
            and _COORDINATION.match(sentence[prev.end : f.start].replace(f.qualifier, "", 1))
        ):
            f.subject, f.subject_first = prev.subject, prev.subject_first
            continue
        if f.kind == "percent" or (f.kind == "range" and f.value.endswith("%")):
            heads = list(_RATE_HEAD.finditer(sentence, 0, f.start))
            if heads:
                head = heads[-1]
                words = _tokens_after(sentence, head.end() - 1, limit=8)
                if words:
                    f.subject = f"{head.group(0).strip()} {' '.join(words)}"
                    f.subject_first = True


def sentence_figures(
    sentence: str, index: int, *, first_in_paragraph: bool = False
) -> list[Figure]:
    """All figures of one sentence, in order of appearance."""
    sentence = nfc(sentence)
    if not any(ch.isdigit() for ch in sentence) and not _WORD_PERIOD.search(sentence):
        return []  # only "quý I", "sáu tháng đầu năm"… can be figures without digits
    chars = list(sentence)
    if first_in_paragraph:
        mark = _LIST_MARK.match(sentence)
        if mark:
            _mask(chars, mark.start(), mark.end())
    found = _periods_and_dates(sentence, chars)
    masked = "".join(chars)
    if any(ch.isdigit() for ch in masked):
        _mask_identifiers(masked, chars)
        masked = "".join(chars)
        for pattern in _MASKS:
            spans = [(m.start(), m.end()) for m in pattern.finditer(masked)]
            if spans:
                for start, end in spans:
                    _mask(chars, start, end)
                masked = "".join(chars)
    found.extend(_numbers(sentence, chars))
    found.sort(key=lambda f: f.start)
    _fill_subjects(sentence, found)
    return [
        Figure(
            value=f.value,
            qualifier=f.qualifier,
            subject=f.subject,
            kind=f.kind,
            sentence_index=index,
            position=f.start,
            number=f.number,
            subject_first=f.subject_first,
        )
        for f in found
    ]


def extract_figures(sentences: list[str], paragraph_starts: set[int] | None = None) -> list[Figure]:
    """Every figure of an article's body sentences, ranked and de-duplicated."""
    starts = paragraph_starts if paragraph_starts is not None else set()
    figures: list[Figure] = []
    for i, sentence in enumerate(sentences):
        figures.extend(sentence_figures(sentence, i, first_in_paragraph=i in starts))
        if len(figures) >= MAX_FIGURES:
            break  # a pasted table, not an article: keep digest time bounded
    return rank(dedupe(figures))


def dedupe(figures: list[Figure]) -> list[Figure]:
    """Drop repeats: the same period/date once; the same value+subject once; a year-less
    quarter when the same quarter with its year is present."""
    seen: set[tuple[str, str, str]] = set()
    result: list[Figure] = []
    values = {f.value for f in figures if f.kind == "period"}
    for f in figures:
        key = (f.kind, f.value, "" if f.kind in ("period", "date") else f.subject.lower())
        if key in seen:
            continue
        if (
            f.kind == "measure"
            and f.value.endswith(" tháng")
            and not f.qualifier
            and any(v.startswith(f.value + " ") for v in values)
        ):
            continue  # "Trong 9 tháng, …" restates the reporting period "9 tháng đầu năm"
        if (
            f.kind == "period"
            and not re.search(r"\d{4}$", f.value)
            and any(v.startswith((f.value + "/", f.value + " ")) for v in values)
        ):
            full = next(v for v in values if v.startswith((f.value + "/", f.value + " ")))
            key = ("period", full, "")
            if key in seen:
                continue
            f = Figure(full, f.qualifier, f.subject, f.kind, f.sentence_index, f.position)
        seen.add(key)
        result.append(f)
    return result


def rank(figures: list[Figure]) -> list[Figure]:
    """The reporting period first, then what was done (in article order), dates last."""
    return sorted(figures, key=lambda f: (KIND_ORDER.get(f.kind, 3), f.sentence_index, f.position))


def card_figures(figures: list[Figure], limit: int = 6) -> list[Figure]:
    """The figures a card shows: at most 2 periods and 1 date (each with its subject),
    then the best of the rest."""
    caps = {"period": 2, "date": 1}
    chosen: list[Figure] = []
    used: dict[str, int] = {}
    for f in figures:
        cap = caps.get(f.kind)
        if cap is not None and used.get(f.kind, 0) >= cap:
            continue
        if cap is not None and not f.subject.strip():
            continue  # a bare "quý I/2022" or "08/4" tells the reader nothing on a card
        used[f.kind] = used.get(f.kind, 0) + 1
        chosen.append(f)
        if len(chosen) >= limit:
            break
    return rank(chosen)
