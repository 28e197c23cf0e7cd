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

    try:
        quarter = parse_quarter(str(meta.get("quarter", "")))
    except InvalidInput:
        raise ContentError(path, line_of("quarter"), "quarter must look like 2022-Q2") from None
    title = nfc(str(meta.get("title") or "")).strip()
    if not title:
        raise ContentError(path, line_of("title"), "title is required")
    publish_at: int | None = None
    raw_publish = meta.get("publish_at")
    if raw_publish is not None:
        try:
            if isinstance(raw_publish, datetime):
                moment = raw_publish if raw_publish.tzinfo else raw_publish.replace(tzinfo=tz)
                publish_at = int(moment.timestamp())
            elif isinstance(raw_publish, date):
                publish_at = int(datetime(*raw_publish.timetuple()[:3], tzinfo=tz).timestamp())
            else:
                publish_at = clock.parse_local(str(raw_publish), tz)
        except InvalidInput:
            raise ContentError(
                path, line_of("publish_at"), "publish_at must be dd/mm/yyyy hh:mm (local time)"
            ) from None
    units_raw = meta.get("units") or []
    if isinstance(units_raw, str):
        units_raw = [u for u in re.split(r"[,\s]+", units_raw) if u]
    try:
        units = tuple(normalize_label(str(u)) for u in units_raw)
    except InvalidInput:
        raise ContentError(
            path, line_of("units"), "units must be labels like phuong-chi-lang"
        ) from None
    if not body.strip():
        raise ContentError(path, body_start_line, "the directive has no body")
    try:
        body_html = validate_html(markdown_to_html(body))
    except InvalidInput as exc:
        raise ContentError(path, body_start_line, exc.user_message) from None
    return Directive(path, quarter, title, body_html, publish_at, units)


def load_directives(folder: Path, tz: tzinfo) -> tuple[dict[str, Directive], list[str]]:
    """Every directive in the folder by quarter, and "path:line: message" problems."""
    found: dict[str, Directive] = {}
    problems: list[str] = []
    if not folder.is_dir():
        return found, problems
    for file in sorted(folder.glob("*.md")):
        try:
            directive = parse_directive(str(file), file.read_text(encoding="utf-8"), tz)
        except ContentError as exc:
            problems.append(str(exc))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(f"{file}:1: cannot read: {exc}")
            continue
        if directive.quarter in found:
            problems.append(
                f"{file}:2: quarter {directive.quarter} already in {found[directive.quarter].path}"
            )
            continue
        found[directive.quarter] = directive
    return found, problems
