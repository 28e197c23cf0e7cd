"""Ý kiến: the moderation queue with filters, approve / reject / answer / block, one
comment's full history, exports. Changes go through bot.actions.feedback (as in Telegram)."""

from __future__ import annotations

from datetime import date, datetime

from aiohttp import web

from bot.actions import casework
from bot.actions import feedback as actions
from bot.domain import casework as case_rules
from bot.domain import feedback as rules
from bot.domain.periods import parse_period
from bot.domain.spreadsheets import Format, Table
from bot.store import cases
from bot.store import console as views
from bot.store import feedback as store
from bot.web.server import CSV, XLSX, Call, Route, download, export_table, ok

PAGE = 30
STATUSES = {
    "received": "Chờ duyệt",
    "approved": "Đã duyệt",
    "rejected": "Đã từ chối",
    "answered": "Đã trả lời",
}


def _day(raw: str) -> date | None:
    return rules.parse_day(raw) if raw else None


async def page(call: Call) -> web.StreamResponse:
    """The queue (default: waiting, oldest first) with filters and paging."""
    status = call.query("status", "received")
    status = status if status in STATUSES or status == "all" else "received"
    start, end = _day(call.query("from")), _day(call.query("to"))
    lo, hi = rules.day_range(start, end, call.svc.settings.tz)
    offset = call.int_query("offset")
    lines, total = await views.comments_page(
        call.db,
        status=None if status == "all" else status,
        article_id=call.query("article") or None,
        since=lo or None,
        until=hi if end else None,
        limit=PAGE,
        offset=offset,
    )
    return call.render(
        "feedback.html",
        lines=lines,
        total=total,
        offset=offset,
        page_size=PAGE,
        status=status,
        statuses=STATUSES,
        filters={k: call.query(k) for k in ("article", "from", "to")},
    )


async def detail(call: Call) -> web.StreamResponse:
    """One comment and its full history: every audited step, and the case as casework
    (issue 15) handles it (state, place, deadline, holder, every change)."""
    comment = await store.get(call.db, call.int_param("id"))
    history = await views.history(call.db, f"comment:{comment.id}")
    case = await cases.get(call.db, comment.id)
    return call.render(
        "comment.html",
        c=comment,
        history=history,
        case=case,
        due=case.due_or(casework.policy(call.svc)),
        case_history=await cases.history(call.db, comment.id),
        states=case_rules.STATE_VI,
    )


async def export_cases(call: Call) -> web.StreamResponse:
    """The period's cases (casework, as /xuathoso) as .xlsx or CSV."""
    period = parse_period(call.query("period"), datetime.now(call.svc.settings.tz).date())
    fmt: Format = "csv" if call.query("format") == "csv" else "xlsx"
    data = await casework.export(call.db, period, casework.policy(call.svc), fmt)
    return await download(
        call, data, f"ho-so-y-kien-{period.key}.{fmt}", XLSX if fmt == "xlsx" else CSV
    )


async def decide(call: Call) -> web.StreamResponse:
    """Approve or reject (the path says which)."""
    approve = call.request.match_info["verdict"] == "approve"
    comment, changed = await actions.decide(
        call.svc, call.int_param("id"), approve, actor_id=call.user_id
    )
    verb = "Đã duyệt" if approve else "Đã từ chối"
    return ok(f"{verb} ý kiến #{comment.id}." if changed else "Không có gì thay đổi.")


async def answer(call: Call) -> web.StreamResponse:
    """Store the answer and queue its delivery to the citizen (bot.actions.feedback)."""
    form = await call.form()
    comment = await actions.answer(
        call.svc,
        call.int_param("id"),
        str(form.get("answer", "")),
        actor_id=call.user_id,
        answered_in=None,
    )
    return ok(f"Đã lưu câu trả lời cho ý kiến #{comment.id}; Loa đang gửi cho người gửi.")


async def preview_answer(call: Call) -> web.StreamResponse:
    """The answer as it will be stored (checked), for the preview under the text box."""
    form = await call.form()
    return ok("", text=actions.check_answer(str(form.get("answer", ""))))


async def block(call: Call) -> web.StreamResponse:
    """Block the comment's sender."""
    _comment, banned = await actions.block_sender(
        call.svc, call.int_param("id"), actor_id=call.user_id
    )
    return ok("Đã chặn người gửi." if banned else "Người gửi đã bị chặn từ trước.")


async def export(call: Call) -> web.StreamResponse:
    """The period's comments as .xlsx or CSV (masked text, as /export)."""
    start, end = _day(call.query("from")), _day(call.query("to"))
    lo, hi = rules.day_range(start, end, call.svc.settings.tz)
    rows = await store.export_rows(call.db, lo, hi, call.query("all") == "1")
    tz = call.svc.settings.tz
    table = Table(
        rules.EXPORT_HEADER,
        [
            [
                r.id,
                datetime.fromtimestamp(r.created_at, tz),
                r.article_id or "",
                rules.STATUS_VI.get(r.status, r.status),
                r.text,
                r.answer or "",
            ]
            for r in rows
        ],
        sheet="Ý kiến",
    )
    return await export_table(call, table, "y-kien")


ROUTES = [
    Route("GET", "/ui/feedback", page, "moderate"),
    Route("GET", "/ui/feedback/{id}", detail, "moderate"),
    Route("POST", "/api/feedback/{id}/{verdict:approve|reject}", decide, "moderate"),
    Route("POST", "/api/feedback/{id}/answer", answer, "moderate"),
    Route("POST", "/api/feedback/answer-preview", preview_answer, "moderate"),
    Route("POST", "/api/feedback/{id}/block", block, "moderate"),
    Route("GET", "/api/feedback/export", export, "admin"),
    Route("GET", "/api/cases/export", export_cases, "admin"),
]
