"""Nhóm và đơn vị: subscribed chats, cadre approval (approve / revoke, as /approve and
/revoke) and units (as /setunit). The store functions hold the rules and the audit."""

from __future__ import annotations

from aiohttp import web

from bot.actions.broadcasts import actor_of
from bot.domain import clock
from bot.domain.broadcasts import APPROVAL_LABELS_VI, normalize_label
from bot.store import console as views
from bot.store import subscriptions as subs
from bot.web.server import Call, Route, ok

PAGE = 50


async def page(call: Call) -> web.StreamResponse:
    """Subscribed chats (filters: kind, approval) and the units with their chat counts."""
    kind = call.query("kind", "group")
    kind = kind if kind in ("group", "private", "all") else "group"
    approval = call.query("approval")
    approval = approval if approval in APPROVAL_LABELS_VI else ""
    offset = call.int_query("offset")
    lines, total = await views.subscribers_page(
        call.db,
        kind=None if kind == "all" else kind,
        approval=approval or None,
        limit=PAGE,
        offset=offset,
    )
    return call.render(
        "groups.html",
        lines=lines,
        total=total,
        offset=offset,
        page_size=PAGE,
        kind=kind,
        approval=approval,
        approvals=APPROVAL_LABELS_VI,
        units=await views.unit_counts(call.db),
    )


async def decide(call: Call) -> web.StreamResponse:
    """Approve a group as a cadre chat, or revoke it (checked again at every send)."""
    approval = "approved" if call.request.match_info["verdict"] == "approve" else "revoked"
    actor = await actor_of(call.svc, call.user_id)
    sub = await subs.set_approval(
        call.svc.db,
        call.int_param("chat_id"),
        approval,
        actor_id=actor[0],
        actor_role=actor[1],
        now=clock.now(),
    )
    return ok(f"Nhóm {sub.chat_id}: {APPROVAL_LABELS_VI[approval]}.")


async def set_unit(call: Call) -> web.StreamResponse:
    """Label a chat with its unit (empty clears it)."""
    form = await call.form()
    raw = str(form.get("unit", "")).strip()
    unit = normalize_label(raw) if raw else None
    actor = await actor_of(call.svc, call.user_id)
    chat_id = call.int_param("chat_id")
    await subs.set_unit(
        call.svc.db, chat_id, unit, actor_id=actor[0], actor_role=actor[1], now=clock.now()
    )
    return ok(f"Đã gán đơn vị {unit or '(không)'} cho {chat_id}.")


ROUTES = [
    Route("GET", "/ui/groups", page, "admin"),
    Route("POST", "/api/groups/{chat_id}/{verdict:approve|revoke}", decide, "admin"),
    Route("POST", "/api/groups/{chat_id}/unit", set_unit, "admin"),
]
