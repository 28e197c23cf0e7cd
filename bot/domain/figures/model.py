"""The Figure record and Vietnamese number reading/formatting."""

from __future__ import annotations

from dataclasses import asdict, dataclass

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
