"""Broadcast rules: delivery states, audiences, Telegram-HTML validation and splitting, quarters.

Admins write announcements in Telegram's HTML subset (<b>, <i>, <a href>…). The text is
validated here before anything is stored or sent: unknown tags, bad attributes and
unbalanced tags are refused with a Vietnamese message saying what is wrong; a bare
"&" or a "<" that does not start a tag is escaped for them. Long texts are split at
paragraph boundaries, counting what Telegram counts (visible text in UTF-16 units),
closing open tags at the end of a part and reopening them in the next.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo

from bot.domain.errors import InvalidInput, NotFound
from bot.domain.text import TELEGRAM_TEXT_LIMIT, escape, nfc, quote, utf16_len

# --- delivery and broadcast states -------------------------------------------------

PENDING = "pending"
SENDING = "sending"  # possibly sent: marked before the request goes out
SENT = "sent"
FAILED = "failed"
BLOCKED = "blocked"
SKIPPED = "skipped"
CANCELLED = "cancelled"
DELIVERY_STATES = (PENDING, SENDING, SENT, FAILED, BLOCKED, SKIPPED, CANCELLED)
FINAL_DELIVERY_STATES = frozenset({SENT, FAILED, BLOCKED, SKIPPED, CANCELLED})

DELIVERY_LABELS_VI = {
    PENDING: "chờ gửi",
    SENDING: "đang gửi",
    SENT: "đã gửi",
    FAILED: "lỗi",
    BLOCKED: "bị chặn",
    SKIPPED: "bỏ qua",
    CANCELLED: "đã hủy",
}

B_DRAFT = "draft"
B_AWAITING = "awaiting_approval"
B_QUEUED = "queued"
B_SENDING = "sending"
B_DONE = "done"
B_CANCELLED = "cancelled"
B_REJECTED = "rejected"
BROADCAST_LABELS_VI = {
    B_DRAFT: "bản nháp",
    B_AWAITING: "chờ duyệt",
    B_QUEUED: "chờ gửi",
    B_SENDING: "đang gửi",
    B_DONE: "đã gửi xong",
    B_CANCELLED: "đã dừng",
    B_REJECTED: "bị từ chối",
}
KIND_LABELS_VI = {"announcement": "Thông báo", "directive": "Chỉ đạo", "reminder": "Nhắc lại"}
# An automatic directive waiting for its file's publish_at is stored as awaiting_approval
# with auto = 1 ("approved by the file"); it has no [Duyệt] and a label of its own.
AUTO_WAITING_LABEL_VI = "hẹn gửi tự động (theo tệp chỉ đạo)"


def broadcast_label_vi(state: str, auto: bool = False) -> str:
    """A broadcast's state as admins see it."""
    if auto and state == B_AWAITING:
        return AUTO_WAITING_LABEL_VI
    return BROADCAST_LABELS_VI.get(state, state)


class NeedsAdminApproval(InvalidInput):
    """An editor's broadcast would reach approved cadre chats: an admin must approve it."""

    user_message = (
        "🔐 Bản tin này sẽ tới cả nhóm cán bộ đã duyệt nên cần một quản trị viên bấm [Duyệt]."
    )


class StaleDecision(InvalidInput):
    """A decision button pressed after the subscription was decided otherwise."""

    def __init__(self, current: str) -> None:
        self.current = current
        super().__init__("Nhóm này đã được quyết định trước đó; nút này không còn hiệu lực.")


# --- ids typed or carried in buttons --------------------------------------------------

# SQLite integers are signed 64-bit; Telegram ids use at most 52 bits.
_MAX_ID = 2**63 - 1


def parse_id(raw: str) -> int:
    """A positive id (broadcast number) from a button or a command; NotFound if forged."""
    raw = raw.strip()
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or int(raw) <= 0:
        raise NotFound("Không tìm thấy bản tin này.")
    return int(raw)


def parse_chat_id(raw: str) -> int:
    """A chat id (negative for groups) typed by an admin or carried by a button."""
    raw = raw.strip()
    digits = raw[1:] if raw.startswith("-") else raw
    if not digits or not digits.isascii() or not digits.isdigit():
        raise InvalidInput("Mã nhóm phải là số, ví dụ -1001234567890.")
    value = int(raw)
    if len(digits) > 19 or abs(value) > _MAX_ID or value == 0:
        raise InvalidInput("Mã nhóm không hợp lệ (quá lớn). Xem mã đúng bằng /dsdangky.")
    return value


def backoff_seconds(attempts: int, base: float = 2.0, cap: float = 300.0) -> float:
    """Delay before the next try after `attempts` failed network attempts (2, 4, 8… ≤ cap)."""
    return float(min(cap, base * (2 ** max(attempts - 1, 0))))


# --- audiences ---------------------------------------------------------------------

_LABEL = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class Audience:
    """Who receives a broadcast: all | public | cadre | unit:<label> | topic:<label>."""

    kind: str
    value: str | None = None

    @property
    def cadre_only(self) -> bool:
        """Cadre and unit audiences reach approved cadre chats only (units are cadre groups)."""
        return self.kind in ("cadre", "unit")

    @property
    def may_reach_cadre(self) -> bool:
        """Every audience but "public" can include approved cadre chats (all, topic too)."""
        return self.kind != "public"

    @property
    def units(self) -> tuple[str, ...]:
        """The unit labels of a unit audience (one or several, comma-separated)."""
        return tuple((self.value or "").split(",")) if self.kind == "unit" else ()

    def key(self) -> str:
        """The stored form."""
        return f"{self.kind}:{self.value}" if self.value else self.kind

    def label_vi(
        self,
        unit_names: Mapping[str, str] | None = None,
        topic_names: Mapping[str, str] | None = None,
    ) -> str:
        """How the audience is named on screen (units by name when `unit_names` maps codes,
        topics by their Vietnamese names)."""
        if self.kind == "all":
            return "tất cả người đăng ký"
        if self.kind == "public":
            return "người đăng ký công khai (không phải nhóm cán bộ)"
        if self.kind == "cadre":
            return "các nhóm cán bộ đã duyệt"
        if self.kind == "unit":
            names = unit_names or {}
            return f"nhóm cán bộ của đơn vị {', '.join(names.get(u, u) for u in self.units)}"
        topic = self.value or ""
        return f"người đăng ký chủ đề {(topic_names or {}).get(topic, topic)}"


def parse_audience(key: str) -> Audience:
    """Parse a stored or button audience key; InvalidInput if malformed."""
    kind, _, value = key.partition(":")
    if kind in ("all", "public", "cadre") and not value:
        return Audience(kind)
    if kind == "topic" and _LABEL.match(value):
        return Audience(kind, value)
    if kind == "unit" and value and all(_LABEL.match(u) for u in value.split(",")):
        return Audience(kind, value)
    raise InvalidInput(f"Đối tượng nhận không hợp lệ: {key}")


def normalize_label(text: str) -> str:
    """A unit or topic label: lower-case ASCII letters, digits and dashes."""
    label = text.strip().lower()
    if not _LABEL.match(label):
        raise InvalidInput(
            "Nhãn chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang, "
            "ví dụ phuong-chi-lang (tối đa 40 ký tự)."
        )
    return label


@dataclass(frozen=True)
class Recipient:
    """What the audience rules need to know about one subscription."""

    chat_id: int
    active: bool
    approval: str
    unit: str | None
    topics: tuple[str, ...]


def receives(rec: Recipient, audience: Audience) -> bool:
    """True when this subscription is in the audience right now."""
    if not rec.active:
        return False
    cadre = rec.approval == "approved"
    if audience.kind == "all":
        return True
    if audience.kind == "public":
        return not cadre
    if audience.kind == "cadre":
        return cadre
    if audience.kind == "unit":
        return cadre and rec.unit in audience.units
    # topic: chats that chose this topic, or chose none (they take everything)
    return not rec.topics or audience.value in rec.topics


def parse_topics(text: str) -> tuple[str, ...]:
    """Stored comma-separated topics as a tuple."""
    return tuple(t for t in text.split(",") if t)


# --- Telegram HTML -----------------------------------------------------------------

# Telegram's HTML subset (core.telegram.org/bots/api#html-style) and allowed attributes.
_ALLOWED_TAGS: dict[str, frozenset[str]] = {
    "b": frozenset(),
    "strong": frozenset(),
    "i": frozenset(),
    "em": frozenset(),
    "u": frozenset(),
    "ins": frozenset(),
    "s": frozenset(),
    "strike": frozenset(),
    "del": frozenset(),
    "tg-spoiler": frozenset(),
    "span": frozenset({"class"}),
    "a": frozenset({"href"}),
    "code": frozenset({"class"}),
    "pre": frozenset(),
    "blockquote": frozenset({"expandable"}),
    "tg-emoji": frozenset({"emoji-id"}),
}
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*(/?)>")
_ATTR = re.compile(r"""\s*([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]{2,8});")
_NAMED_OK = frozenset({"lt", "gt", "amp", "quot"})


@dataclass(frozen=True)
class _Token:
    kind: str  # "text" | "open" | "close"
    value: str  # escaped text, or the raw tag
    name: str = ""
    visible: str = ""  # the text as Telegram shows it (for length)


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    text = ""

    def flush() -> None:
        nonlocal text
        if text:
            tokens.append(_Token("text", text, visible=html.unescape(text)))
            text = ""

    while pos < len(source):
        ch = source[pos]
        if ch == "<":
            match = _TAG.match(source, pos)
            if match is None:
                nxt = source[pos + 1 : pos + 2]
                if nxt.isalpha() or nxt == "/":
                    line = source.count("\n", 0, pos) + 1
                    raise InvalidInput(
                        f"Thẻ HTML không đúng ở dòng {line}:"
                        f" «{quote(source[pos : pos + 20], 20)}». "
                        "Nếu muốn viết dấu <, hãy gõ &lt;"
                    )
                text += "&lt;"
                pos += 1
                continue
            flush()
            closing, name, attrs, _selfclose = match.groups()
            name = name.lower()
            if name not in _ALLOWED_TAGS:
                raise InvalidInput(
                    f"Thẻ <{name}> không được Telegram hỗ trợ. Chỉ dùng: "
                    "b, i, u, s, a href, code, pre, blockquote, tg-spoiler."
                )
            if closing:
                tokens.append(_Token("close", f"</{name}>", name))
            else:
                tokens.append(_Token("open", _check_attrs(name, attrs or ""), name))
            pos = match.end()
        elif ch == ">":
            text += "&gt;"
            pos += 1
        elif ch == "&":
            match = _ENTITY.match(source, pos)
            if match and (match[1].startswith("#") or match[1] in _NAMED_OK):
                text += match[0]
                pos = match.end()
            else:
                text += "&amp;"
                pos += 1
        else:
            text += ch
            pos += 1
    flush()
    return tokens


def _check_attrs(name: str, attrs: str) -> str:
    allowed = _ALLOWED_TAGS[name]
    parts = [name]
    rest = attrs.strip()
    pos = 0
    while pos < len(rest):
        match = _ATTR.match(rest, pos)
        if match is None or match.end() == pos:
            raise InvalidInput(f"Thuộc tính của thẻ <{name}> không hợp lệ.")
        attr = match[1].lower()
        value = next((v for v in match.groups()[1:] if v is not None), None)
        if attr not in allowed:
            raise InvalidInput(f"Thẻ <{name}> không nhận thuộc tính «{quote(attr, 30)}».")
        if (name, attr) == ("a", "href") and (
            not value or not re.match(r"^(https?://|tg://|mailto:)", value)
        ):
            raise InvalidInput("Liên kết <a href=…> phải bắt đầu bằng http:// hoặc https://")
        if name == "span" and attr == "class" and value != "tg-spoiler":
            raise InvalidInput('Thẻ <span> chỉ dùng class="tg-spoiler".')
        if value is None:
            parts.append(attr)
        else:
            parts.append(f'{attr}="{html.escape(html.unescape(value), quote=True)}"')
        pos = match.end()
    if name == "a" and "href" not in attrs.lower():
        raise InvalidInput("Thẻ <a> cần thuộc tính href.")
    return "<" + " ".join(parts) + ">"


def validate_html(source: str) -> str:
    """Check admin-written Telegram HTML; return it normalised (NFC, bare & and < escaped).

    Raises InvalidInput (Vietnamese) for unknown tags or attributes, unbalanced tags,
    nested links, or an empty text.
    """
    source = nfc(source).replace("\r\n", "\n").strip()
    tokens = _tokenize(source)
    stack: list[str] = []
    for tok in tokens:
        if tok.kind == "open":
            if tok.name == "a" and "a" in stack:
                raise InvalidInput("Không được lồng liên kết trong liên kết.")
            stack.append(tok.name)
        elif tok.kind == "close":
            if not stack or stack[-1] != tok.name:
                expected = f"</{stack[-1]}>" if stack else "không có thẻ nào đang mở"
                raise InvalidInput(
                    f"Thẻ đóng </{tok.name}> không khớp ({expected}). Kiểm tra lại định dạng."
                )
            stack.pop()
    if stack:
        raise InvalidInput(f"Thẻ <{stack[-1]}> chưa được đóng (thiếu </{stack[-1]}>).")
    result = "".join(t.value for t in tokens)
    if not visible_text(result).strip():
        raise InvalidInput("Nội dung thông báo đang trống.")
    return result


def visible_text(markup: str) -> str:
    """The text Telegram shows for validated HTML (tags removed, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def split_html(markup: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Split validated HTML into messages of at most `limit` visible UTF-16 units.

    Cuts at paragraph boundaries (a blank line), then line breaks, then spaces; a tag
    open at a cut is closed at the end of the part and reopened at the start of the next.
    """
    if utf16_len(visible_text(markup)) <= limit:
        return [markup]
    tokens = _tokenize(markup)
    # Break text tokens into units (grapheme-ish runs) with a cut priority.
    units: list[tuple[str, str, int, str]] = []  # (kind, raw, visible_len, cut_class)
    for tok in tokens:
        if tok.kind != "text":
            units.append((tok.kind, tok.value, 0, ""))
            continue
        for piece in re.split(r"(\n\n+|\n| )", tok.value):
            if not piece:
                continue
            if piece.startswith("\n\n"):
                cls = "para"
            elif piece == "\n":
                cls = "line"
            elif piece == " ":
                cls = "space"
            else:
                cls = ""
            units.append(("text", piece, utf16_len(html.unescape(piece)), cls))
    parts: list[str] = []
    stack: list[tuple[str, str]] = []  # (name, opening tag)
    current: list[tuple[str, str, int, str]] = []
    length = 0

    def best_cut() -> int:
        for cls in ("para", "line", "space"):
            for i in range(len(current) - 1, 0, -1):
                if current[i][3] == cls:
                    return i
        return len(current)

    def emit(upto: int) -> None:
        nonlocal current, length
        head, tail = current[:upto], current[upto:]
        # drop the separator we cut at
        while tail and tail[0][3] in ("para", "line", "space"):
            tail = tail[1:]
        # tags open at the end of head
        open_stack: list[tuple[str, str]] = list(start_stack)
        for kind, raw, _, _ in head:
            if kind == "open":
                open_stack.append((_tag_name(raw), raw))
            elif kind == "close" and open_stack:
                open_stack.pop()
        text = "".join(raw for _, raw, _, _ in head)
        prefix = "".join(raw for _, raw in start_stack)
        suffix = "".join(f"</{name}>" for name, _ in reversed(open_stack))
        body = (prefix + text + suffix).strip()
        if visible_text(body).strip():
            parts.append(body)
        start_stack[:] = open_stack
        current = tail
        length = sum(u[2] for u in current)

    start_stack: list[tuple[str, str]] = []
    for unit in units:
        if unit[0] == "text" and unit[2] > limit:  # one huge word: hard cut
            raw = html.unescape(unit[1])
            while raw:
                chunk, raw = raw[: limit // 2], raw[limit // 2 :]
                current.append(("text", html.escape(chunk, quote=False), utf16_len(chunk), ""))
                length += utf16_len(chunk)
                if length > limit:
                    emit(len(current) - 1)
            continue
        current.append(unit)
        length += unit[2]
        while length > limit:
            cut = best_cut()
            if cut >= len(current):
                cut = len(current) - 1
            emit(cut)
    if current:
        emit(len(current))
    del stack
    return parts


def _tag_name(raw: str) -> str:
    match = re.match(r"</?([a-zA-Z0-9-]+)", raw)
    assert match is not None  # `raw` is a tag token of already validated HTML
    return match[1].lower()


def prepare_text(
    source: str, limit: int = TELEGRAM_TEXT_LIMIT, *, sender: str = ""
) -> tuple[str, list[str]]:
    """Validate and split: (normalised HTML, message parts); errors are HTML-safe.

    `sender` (LOA_SENDER_LINE, e.g. "📢 Ban Tuyên giáo Thành ủy Lạng Sơn") heads the
    first part in bold, so recipients see who speaks; empty: no sender line.
    """
    try:
        body = validate_html(source)
    except InvalidInput as exc:
        raise InvalidInput(escape(exc.user_message)) from None
    if sender.strip() and not body.startswith(f"<b>{escape(sender.strip())}</b>\n"):
        body = f"<b>{escape(sender.strip())}</b>\n\n{body}"
    return body, split_html(body, limit)


# --- quarters ----------------------------------------------------------------------

_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*[qQ]\s*([1-4])\s*$")
_QUARTER_VI = re.compile(r"^\s*(?:quý|quy)\s+(I{1,3}|IV|[1-4])\s*/\s*(\d{4})\s*$", re.IGNORECASE)
_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def parse_quarter(text: str) -> str:
    """ "2022-Q2", "2022q2", "quý II/2022" → "2022-Q2"; InvalidInput otherwise."""
    text = nfc(text)
    match = _QUARTER.match(text)
    if match:
        return f"{match[1]}-Q{match[2]}"
    match = _QUARTER_VI.match(text)
    if match:
        q = match[1].upper()
        number = _ROMAN[q] if q in _ROMAN else int(q)
        return f"{match[2]}-Q{number}"
    raise InvalidInput("Quý phải có dạng 2022-Q2 hoặc «quý II/2022».")


def quarter_of(ts: float, tz: tzinfo) -> str:
    """The quarter ("2022-Q2") a moment falls in, local time."""
    moment = datetime.fromtimestamp(ts, tz)
    return f"{moment.year}-Q{(moment.month - 1) // 3 + 1}"


def quarter_label_vi(quarter: str) -> str:
    """ "2022-Q2" → "quý II/2022"."""
    year, _, q = quarter.partition("-Q")
    return f"quý {ROMAN[int(q)]}/{year}"


# --- messages recipients see ---------------------------------------------------------


def ack_label(count: int) -> str:
    """The acknowledgement button's label."""
    return f"✅ Đã nhận ({count})" if count else "✅ Đã nhận"


def progress_text(
    broadcast_id: int,
    sent: int,
    done: int,
    total: int,
    elapsed: float,
    *,
    finished: bool,
    stopped: bool = False,
) -> str:
    """The admin's progress line: sent/total, rate and estimated time left; once finished,
    a final state ("Đã gửi xong …" / "Đã dừng …") so it never stays on "Đang gửi"."""
    rate = done / elapsed if elapsed > 0 else 0.0
    left = total - done
    if finished and stopped:
        return (
            f"⏹ Đã dừng bản tin #{broadcast_id}: {sent}/{total} cuộc trò chuyện đã nhận"
            " trước khi dừng."
        )
    if finished:
        not_sent = f", {total - sent} không gửi được" if total > sent else ""
        return (
            f"✅ Đã gửi xong bản tin #{broadcast_id}: {sent}/{total} cuộc trò chuyện đã nhận"
            f"{not_sent} ({_duration_vi(elapsed)})."
        )
    eta = _duration_vi(left / rate) if rate > 0 else "đang tính"
    return (
        f"📤 Đang gửi bản tin #{broadcast_id}: {sent}/{total} đã gửi, "
        f"{rate:.1f} tin/giây, còn khoảng {eta}."
    )


def _duration_vi(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} giây"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} phút {seconds} giây"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} giờ {minutes} phút"


def duration_vi(seconds: float) -> str:
    """A duration in Vietnamese words ("2 phút 5 giây")."""
    return _duration_vi(seconds)


def op_reason_vi(reason: str) -> str:
    """A Telegram refusal of an edit/deletion, said in Vietnamese for the admin."""
    text = reason.lower()
    if "can't be deleted" in text:
        return "Telegram không cho xóa (tin nhắn quá 48 giờ hoặc bot thiếu quyền)"
    if "can't be edited" in text:
        return "Telegram không cho sửa tin nhắn này"
    if "not found" in text:
        return "tin nhắn không còn (đã bị xóa)"
    if text.startswith("forbidden"):
        return "bot đã bị chặn hoặc đã rời nhóm"
    if "migrated" in text:
        return "nhóm đã chuyển thành siêu nhóm"
    if text.startswith("not eligible"):
        return "nhóm không còn được nhận bản tin này (đã hủy đăng ký hoặc bị thu hồi)"
    if text.startswith("network"):
        return "lỗi mạng kéo dài"
    return reason


def action_report_vi(
    broadcast_id: int, op: str, counts: dict[str, int], reasons: list[tuple[str, int]]
) -> str:
    """The admin's report after [Sửa] or [Thu hồi] went through every chat."""
    done, failed = counts.get("done", 0), counts.get("failed", 0)
    skipped = counts.get("skipped", 0)
    if op == "delete":
        head = (
            f"🗑 Thu hồi bản tin #{broadcast_id}: đã xóa {done} tin nhắn; {failed} không xóa được."
        )
    else:
        head = f"✏️ Đã sửa bản tin #{broadcast_id}: {done} tin nhắn đã sửa, {failed} không sửa được."
        if skipped:
            head += f" {skipped} tin nhắn không sửa vì nhóm không còn được nhận bản tin này."
    lines = [head]
    lines += [f"  – {escape(op_reason_vi(r))}: {n}" for r, n in reasons]
    return "\n".join(lines)


# --- versions of what staff were shown ------------------------------------------------


def content_version(
    kind: str,
    audience: str,
    parts: tuple[str, ...] | list[str],
    scheduled_at: int | None,
    *,
    revoked: bool,
) -> str:
    """THE versioning rule for broadcasts (issue 10): a short digest of what a staff
    member is shown before a two-step action — kind, audience, text and schedule, and
    whether it was recalled. Every button acting on a broadcast ([Gửi ngay], [Duyệt],
    [Sửa], [Thu hồi], [Gửi lại phần lỗi], [Nhắc]…) carries it, and the action is refused
    when the stored broadcast's digest differs. Telegram handlers and the web console
    both call bot.actions.broadcast_guard, which calls this."""
    payload = "\x1f".join([kind, audience, str(scheduled_at or ""), "R" if revoked else "", *parts])
    return hashlib.blake2s(payload.encode("utf-8"), digest_size=4).hexdigest()


def reminder_body(title: str | None, broadcast_id: int) -> str:
    """The text of a reminder to chats that have not acknowledged a directive (sent by the
    [Nhắc lại] button and by the automatic follow-up, issue 16)."""
    name = html.escape(title or f"bản tin #{broadcast_id}")
    return (
        f"🔔 <b>Nhắc lại</b>: đề nghị đồng chí xác nhận đã nhận chỉ đạo «{name}» "
        f"(#{broadcast_id}) bằng nút bên dưới."
    )


# A subscribed chat's cadre approval as staff see it (/subscribers, the web console).
APPROVAL_LABELS_VI = {
    "none": "công khai",
    "pending": "chờ duyệt nhóm cán bộ",
    "approved": "nhóm cán bộ (đã duyệt)",
    "rejected": "công khai (không được duyệt làm nhóm cán bộ)",
    "revoked": "công khai (đã thu hồi quyền nhóm cán bộ)",
}
