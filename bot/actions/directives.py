"""Directive files with publish_at → automatic directive broadcasts.

Scheduled at start and on /reload (schedule_directives, reload_directives); re-read by the
dispatcher when one is due (refresh_auto_directive → AutoCheck). Services in, Vietnamese
HTML lines out: no telegram objects, so handlers, workers and web routes share it.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from pathlib import Path

from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.directives import (
    Directive,
    load_directives,
    load_directives_with_hashes,
    read_directive,
)
from bot.domain.errors import ContentError, InvalidInput
from bot.services import Services
from bot.store import directives, drafts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AutoCheck:
    """What the bot decided about an automatic directive whose publish time came."""

    send: bool  # queue it now (False: cancelled or moved to a later time)
    note: str | None = None  # a Vietnamese line for its report chat


def _folder(svc: Services) -> Path:
    return svc.settings.content_dir / "directives"


def _directives(svc: Services) -> dict[str, Directive]:
    found, problems = load_directives(_folder(svc), svc.settings.tz)
    for problem in problems:
        log.warning("directive file problem: %s", problem)
    return found


def _audience_of(directive: Directive) -> rules.Audience:
    if directive.units:
        return rules.Audience("unit", ",".join(directive.units))
    return rules.Audience("cadre")


# --- directive files with publish_at -------------------------------------------------------


async def schedule_directives(svc: Services) -> list[str]:
    """Directive files with publish_at become scheduled broadcasts, once ever (at start and
    on /reload); waiting ones take a changed file's text, units and time.

    Never raises: a broken file is logged (and listed in the returned lines) and skipped.
    Returns Vietnamese lines (HTML) for /reload's answer.
    """
    lines: list[str] = []
    try:
        found, problems, hashes = load_directives_with_hashes(_folder(svc), svc.settings.tz)
    except Exception:  # defensive: load_directives_with_hashes turns files into problems
        log.exception("directive files could not be read")
        return ["⚠️ Không đọc được thư mục chỉ đạo."]
    for problem in problems:
        log.warning("directive file problem: %s", problem)
        lines.append(f"⚠️ Tệp chỉ đạo lỗi, bỏ qua: <code>{html.escape(problem[:300])}</code>")
    waiting = {b.directive_key: b for b in await directives.waiting_auto_directives(svc.db)}
    now = clock.now()
    for quarter, directive in found.items():
        if directive.publish_at is None:
            continue
        try:
            line = await _schedule_one(svc, directive, hashes[quarter], waiting.get(quarter), now)
        except Exception:
            log.exception("directive %s could not be scheduled; skipped", directive.path)
            line = f"⚠️ Không hẹn gửi được chỉ đạo {html.escape(quarter)}."
        if line:
            lines.append(line)
    return lines


async def _schedule_one(
    svc: Services, d: Directive, digest: str, waiting: drafts.Broadcast | None, now: int
) -> str | None:
    assert d.publish_at is not None
    label = rules.quarter_label_vi(d.quarter)
    when = clock.format_local(d.publish_at, svc.settings.tz)
    if waiting is not None:
        if waiting.source_hash == digest:
            return None
        await _take_file(svc, waiting, d, digest, now)
        return f"🔄 Chỉ đạo {label} (#{waiting.id}): đã cập nhật theo tệp, gửi lúc {when}."
    if await directives.auto_directive_exists(svc.db, d.quarter):
        return None
    if d.publish_at < now - 86400:
        log.warning(
            "directive %s: publish_at is more than a day ago; not sent automatically"
            " (use /guichidao %s)",
            d.quarter,
            d.quarter,
        )
        return None
    body = d.message_html()
    new_id = await directives.schedule_auto_directive(
        svc.db,
        quarter=d.quarter,
        title=d.title,
        body=body,
        parts=rules.split_html(body),
        audience=_audience_of(d),
        scheduled_at=d.publish_at,
        now=now,
        report_chat_id=svc.settings.admin_chat_id,
        source_path=d.path,
        source_hash=digest,
    )
    if not new_id:
        return None
    log.info("directive %s scheduled as broadcast %s", d.quarter, new_id)
    return f"⏰ Chỉ đạo {label}: hẹn gửi tự động lúc {when} (#{new_id})."


async def _take_file(
    svc: Services, b: drafts.Broadcast, d: Directive, digest: str, now: int
) -> bool:
    """A waiting automatic directive takes the file's current text, units and time;
    True if what recipients get changed."""
    assert d.publish_at is not None
    body = d.message_html()
    audience = _audience_of(d)
    await directives.update_auto_directive(
        svc.db,
        b.id,
        title=d.title,
        body=body,
        parts=rules.split_html(body),
        audience=audience,
        scheduled_at=d.publish_at,
        source_path=d.path,
        source_hash=digest,
        now=now,
    )
    return (body, audience.key(), d.title) != (b.body, b.audience, b.title)


async def reload_directives(svc: Services) -> list[str]:
    """For /reload (bot/handlers/articles.py calls the "reload_hooks"): pick up directive
    files with publish_at added or changed while the bot runs."""
    return await schedule_directives(svc)


async def refresh_auto_directive(svc: Services, b: drafts.Broadcast) -> AutoCheck:
    """Publish time of an automatic directive: re-read its file first.

    Gone, broken, no longer this quarter's or without publish_at: cancelled with the
    reason (told to the admin chat). Changed: the new text and units are used (and a
    later publish_at waits). Unchanged: sent as stored.
    """
    now = clock.now()
    quarter = b.directive_key or "?"
    label = rules.quarter_label_vi(quarter) if b.directive_key else quarter
    directive: Directive | None = None
    digest = ""
    reason: str | None = None
    path = Path(b.source_path) if b.source_path else None
    if path is not None and path.exists():
        try:
            directive, digest = read_directive(path, svc.settings.tz)
        except ContentError as exc:
            reason = f"tệp chỉ đạo có lỗi ({exc})"
    else:
        # Renamed (or scheduled without a path): the valid file of that quarter, if any.
        found, _problems, hashes = load_directives_with_hashes(_folder(svc), svc.settings.tz)
        directive = found.get(quarter)
        digest = hashes.get(quarter, "")
        if directive is None:
            reason = "tệp chỉ đạo không còn"
    if directive is not None and directive.quarter != quarter:
        reason, directive = f"tệp giờ là chỉ đạo {directive.quarter}, không phải {quarter}", None
    if directive is not None and digest != b.source_hash and directive.publish_at is None:
        reason, directive = "tệp đã bỏ thời điểm gửi (publish_at)", None
    if directive is None:
        why = reason or "tệp chỉ đạo không đọc được"
        await directives.cancel_auto_directive(svc.db, b.id, why, now)
        log.warning("automatic directive %s (%s) cancelled: %s", b.id, quarter, why)
        return AutoCheck(
            send=False,
            note=(
                f"⚠️ Chỉ đạo {html.escape(label)} (#{b.id}) không được gửi tự động:"
                f" {html.escape(why)}. Sửa tệp rồi gửi bằng /guichidao {html.escape(quarter)}."
            ),
        )
    if digest == b.source_hash:
        return AutoCheck(send=True)
    changed = await _take_file(svc, b, directive, digest, now)
    assert directive.publish_at is not None
    if directive.publish_at > now:
        when = clock.format_local(directive.publish_at, svc.settings.tz)
        return AutoCheck(
            send=False,
            note=f"⏰ Chỉ đạo {html.escape(label)} (#{b.id}): tệp đã đổi giờ gửi sang {when}.",
        )
    if not changed:
        return AutoCheck(send=True)
    audience = _audience_of(directive)
    return AutoCheck(
        send=True,
        note=(
            f"ℹ️ Chỉ đạo {html.escape(label)} (#{b.id}): tệp đã sửa sau khi hẹn giờ; gửi"
            f" nội dung mới tới {html.escape(audience.label_vi())}."
        ),
    )


async def remind_missing(
    svc: Services, parent_id: int, *, actor_id: int | None, report_chat_id: int | None
) -> drafts.Broadcast:
    """[Nhắc lại] (Telegram and the console): a reminder only to the chats that received a
    directive and have not acknowledged it; the caller wakes the dispatcher."""
    parent = await drafts.get_broadcast(svc.db, parent_id)
    if not parent.with_ack or parent.kind == "reminder":
        raise InvalidInput("Chỉ nhắc lại được chỉ đạo có nút xác nhận.")
    role = await svc.role_of(actor_id)
    body = rules.reminder_body(parent.title, parent.id)
    rid = await directives.queue_reminder(
        svc.db,
        parent,
        body=body,
        parts=[body],
        actor_id=actor_id,
        actor_role=str(role) if role else None,
        now=clock.now(),
        report_chat_id=report_chat_id,
    )
    return await drafts.get_broadcast(svc.db, rid)
