"""Quarterly directives: Markdown files with YAML front matter in content/directives/.

---
quarter: 2022-Q2
title: Phương hướng, nhiệm vụ trọng tâm quý II/2022
publish_at: 11/04/2022 08:00     # optional, local time
units: [phuong-chi-lang]         # optional, default: every approved cadre chat
---
Body in a small Markdown subset: paragraphs, "- " bullets, **bold**, *italic*.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from pathlib import Path

import yaml

from bot.domain import clock
from bot.domain.broadcasts import normalize_label, parse_quarter, quarter_label_vi, validate_html
from bot.domain.errors import ContentError, InvalidInput
from bot.domain.text import escape, nfc


@dataclass(frozen=True)
class Directive:
    """One directive file, parsed and validated."""

    path: str
    quarter: str
    title: str
    body_html: str
    publish_at: int | None
    units: tuple[str, ...]

    def message_html(self) -> str:
        """The message recipients get (title, quarter, body)."""
        return (
            f"📌 <b>CHỈ ĐẠO {escape(quarter_label_vi(self.quarter).upper())}</b>\n"
            f"<b>{escape(self.title)}</b>\n\n{self.body_html}"
        )


def markdown_to_html(text: str) -> str:
    """The small Markdown subset directives use, as Telegram HTML."""
    lines: list[str] = []
    for raw in text.strip().splitlines():
        line = escape(raw.rstrip())
        if re.match(r"^\s*[-*]\s+", line):
            line = "• " + re.sub(r"^\s*[-*]\s+", "", line)
        line = re.sub(r"\*\*(.+?)\*\*", r"<b>\1</b>", line)
        line = re.sub(r"(?<![*\w])\*(?!\s)(.+?)(?<!\s)\*(?![*\w])", r"<i>\1</i>", line)
        lines.append(line)
    joined = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", joined)


_FIELDS = frozenset({"quarter", "title", "publish_at", "units"})


def source_hash(source: str) -> str:
    """The fingerprint of a directive file's text (to notice a change before publishing)."""
    return hashlib.sha256(source.encode("utf-8")).hexdigest()


def read_directive(path: Path, tz: tzinfo) -> tuple[Directive, str]:
    """Read and parse one file: (directive, source hash). ContentError for ANY problem,
    "cannot read" included, so a broken file can never stop the caller."""
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ContentError(str(path), 1, f"cannot read: {exc}") from None
    try:
        return parse_directive(str(path), source, tz), source_hash(source)
    except ContentError:
        raise
    except Exception as exc:  # a bug or an input we did not foresee: still path:line
        raise ContentError(str(path), 1, f"cannot parse: {type(exc).__name__}: {exc}") from None


def parse_directive(path: str, source: str, tz: tzinfo) -> Directive:
    """Parse one file; ContentError(path, line, message) when something is wrong."""
    source = nfc(source).replace("\r\n", "\n")
    if not source.startswith("---\n"):
        raise ContentError(path, 1, "missing front matter (a first line '---')")
    end = source.find("\n---", 4)
    if end < 0:
        raise ContentError(path, 1, "front matter is not closed with '---'")
    head = source[4:end]
    body_start_line = head.count("\n") + 3
    body = source[end + 4 :].lstrip("-").strip("\n")
    try:
        meta = yaml.safe_load(head) or {}
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", 0) + 2
        raise ContentError(path, line, f"front matter is not valid YAML: {exc}") from None
    if not isinstance(meta, dict):
        raise ContentError(path, 2, "front matter must be key: value lines")

    def line_of(key: str) -> int:
        for i, ln in enumerate(head.splitlines(), start=2):
            if ln.startswith(f"{key}:"):
                return i
        return 2

    unknown = sorted(str(k) for k in meta if k not in _FIELDS)
    if unknown:
        raise ContentError(
            path,
            line_of(unknown[0]),
            f"unknown field {unknown[0]!r} (known: {', '.join(sorted(_FIELDS))})",
        )
    raw_quarter = meta.get("quarter")
    if not isinstance(raw_quarter, str):
        raise ContentError(path, line_of("quarter"), "quarter must look like 2022-Q2")
    try:
        quarter = parse_quarter(raw_quarter)
    except InvalidInput:
        raise ContentError(path, line_of("quarter"), "quarter must look like 2022-Q2") from None
    raw_title = meta.get("title")
    if raw_title is not None and not isinstance(raw_title, str):
        raise ContentError(path, line_of("title"), "title must be text")
    title = nfc(raw_title or "").strip()
    if not title:
        raise ContentError(path, line_of("title"), "title is required")
    publish_at: int | None = None
    raw_publish = meta.get("publish_at")
    if raw_publish is not None:
        publish_error = ContentError(
            path, line_of("publish_at"), "publish_at must be dd/mm/yyyy hh:mm (local time)"
        )
        try:
            if isinstance(raw_publish, datetime):
                moment = raw_publish if raw_publish.tzinfo else raw_publish.replace(tzinfo=tz)
                publish_at = int(moment.timestamp())
            elif isinstance(raw_publish, date):
                publish_at = int(datetime(*raw_publish.timetuple()[:3], tzinfo=tz).timestamp())
            elif isinstance(raw_publish, str):
                publish_at = clock.parse_local(raw_publish, tz)
            else:
                raise publish_error
        except (InvalidInput, ValueError, OverflowError, OSError):
            raise publish_error from None
    units_raw = meta.get("units")
    units_error = ContentError(
        path, line_of("units"), "units must be labels like phuong-chi-lang (a list or a text)"
    )
    if units_raw is None:
        units_list: list[str] = []
    elif isinstance(units_raw, str):
        units_list = [u for u in re.split(r"[,\s]+", units_raw) if u]
    elif isinstance(units_raw, list) and all(isinstance(u, str) for u in units_raw):
        units_list = list(units_raw)
    else:
        raise units_error
    try:
        units = tuple(normalize_label(u) for u in units_list)
    except InvalidInput:
        raise units_error from None
    if not body.strip():
        raise ContentError(path, body_start_line, "the directive has no body")
    try:
        body_html = validate_html(markdown_to_html(body))
    except InvalidInput as exc:
        raise ContentError(path, body_start_line, exc.user_message) from None
    return Directive(path, quarter, title, body_html, publish_at, units)


def load_directives(folder: Path, tz: tzinfo) -> tuple[dict[str, Directive], list[str]]:
    """Every directive in the folder by quarter, and "path:line: message" problems.

    Never raises for a broken file (whatever is wrong with it): it becomes a problem.
    """
    found, problems, _hashes = load_directives_with_hashes(folder, tz)
    return found, problems


def load_directives_with_hashes(
    folder: Path, tz: tzinfo
) -> tuple[dict[str, Directive], list[str], dict[str, str]]:
    """load_directives, plus each directive's source hash by quarter."""
    found: dict[str, Directive] = {}
    hashes: dict[str, str] = {}
    problems: list[str] = []
    try:
        if not folder.is_dir():
            return found, problems, hashes
        files = sorted(folder.glob("*.md"))
    except OSError as exc:
        return found, [f"{folder}:1: cannot list the folder: {exc}"], hashes
    for file in files:
        try:
            directive, digest = read_directive(file, tz)
        except ContentError as exc:
            problems.append(str(exc))
            continue
        if directive.quarter in found:
            problems.append(
                f"{file}:2: quarter {directive.quarter} already in {found[directive.quarter].path}"
            )
            continue
        found[directive.quarter] = directive
        hashes[directive.quarter] = digest
    return found, problems, hashes
