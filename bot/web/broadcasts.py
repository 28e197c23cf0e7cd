"""Thông báo: compose (preview as Telegram renders it, audience with live counts,
schedule), the list of broadcasts, the per-recipient delivery table with filters and
exports, and stop / retry failed / edit / recall / approve. Rules live in
bot.actions.broadcasts and bot.store (drafts, outbox, message_ops), as in Telegram."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiohttp import web

from bot.actions import broadcasts as actions
from bot.domain import broadcasts as rules
from bot.domain import clock
from bot.domain.spreadsheets import Table
from bot.store import console as views
from bot.store import drafts, message_ops, outbox
from bot.store import subscriptions as subs
from bot.web.server import Call, Route, export_table, ok

PAGE = 50
BROADCASTS_PAGE = 20


async def audiences(call: Call) -> list[tuple[str, str]]:
    """(key, Vietnamese label) of every audience an announcement can have."""
    choices = [(a, rules.parse_audience(a).label_vi()) for a in ("all", "public", "cadre")]
    choices += [(f"unit:{u}", f"Đơn vị {u}") for u in await subs.list_units(call.db)]
    choices += [(f"topic:{t}", f"Chủ đề {t}") for t in call.svc.settings.topics]
    return choices


async def page(call: Call) -> web.StreamResponse:
    """The compose form and the list of broadcasts, newest first."""
    offset = call.int_query("offset")
    lines, total = await views.broadcasts_page(call.db, limit=BROADCASTS_PAGE, offset=offset)
    return call.render(
        "broadcasts.html",
        lines=lines,
        total=total,
        offset=offset,
        page_size=BROADCASTS_PAGE,
        audiences=await audiences(call),
        labels=rules.BROADCAST_LABELS_VI,
        kinds=rules.KIND_LABELS_VI,
        example_time=clock.format_local(clock.now() + 3600, call.svc.settings.tz),
    )


def _filter(call: Call) -> views.DeliveryFilter:
    state = call.query("state")
    return views.DeliveryFilter(
        state=state if state in rules.DELIVERY_STATES else None,
        unit=call.query("unit") or None,
        query=call.query("q") or None,
    )


async def detail(call: Call) -> web.StreamResponse:
    """One broadcast: counts, actions and the per-recipient delivery table."""
    b = await drafts.get_broadcast(call.db, call.int_param("id"))
    stats = await drafts.broadcast_stats(call.db, b.id)
    f = _filter(call)
    offset = call.int_query("offset")
    lines, total = await views.deliveries_page(call.db, b.id, f, limit=PAGE, offset=offset)
    return call.render(
        "broadcast.html",
        b=b,
        stats=stats,
        lines=lines,
        total=total,
        offset=offset,
        page_size=PAGE,
        f=f,
        units=await subs.list_units(call.db),
        delivery_labels=rules.DELIVERY_LABELS_VI,
        kinds=rules.KIND_LABELS_VI,
        audience=rules.parse_audience(b.audience).label_vi(),
    )


async def deliveries_export(call: Call) -> web.StreamResponse:
    """The (filtered) delivery table as .xlsx or CSV."""
    b = await drafts.get_broadcast(call.db, call.int_param("id"))
    tz = call.svc.settings.tz
    lines = await views.all_deliveries(call.db, b.id, _filter(call))
    table = Table(
        ["Mã nhóm/người", "Tên", "Loại", "Đơn vị", "Trạng thái", "Lỗi", "Số lần thử", "Thời gian"],
        [
            [
                d.chat_id,
                d.title or "",
                d.chat_type,
                d.unit or "",
                rules.DELIVERY_LABELS_VI.get(d.state, d.state),
                d.error or "",
                d.attempts,
                datetime.fromtimestamp(d.at, tz) if d.at else None,
            ]
            for d in lines
        ],
        sheet=f"Bản tin {b.id}",
    )
    return await export_table(call, table, f"ban-tin-{b.id}-nguoi-nhan")


async def preview(call: Call) -> web.StreamResponse:
    """The messages exactly as recipients will get them (validated Telegram HTML)."""
    form = await call.form()
    _body, parts = rules.prepare_text(str(form.get("text", "")))
    fragment = call.console.templates.get_template("preview.html").render(parts=parts)
    return ok("", html=fragment, parts=len(parts))


async def audience_count(call: Call) -> web.StreamResponse:
    """How many chats an audience reaches right now."""
    audience = rules.parse_audience(call.query("audience", "all"))
    count = await subs.count_recipients(call.db, audience)
    return ok("", count=count, label=audience.label_vi())


async def create(call: Call) -> web.StreamResponse:
    """Compose and send (or schedule): a draft, then the same confirmation as [Gửi ngay]."""
    form = await call.form()
    audience = rules.parse_audience(str(form.get("audience", "all")))
    raw_when = str(form.get("when", "")).strip()
    when = clock.parse_local(raw_when, call.svc.settings.tz) if raw_when else None
    actions.check_future(when)  # before a draft is stored
    b = await actions.create_announcement(
        call.svc,
        str(form.get("text", "")),
        actor_id=call.user_id,
        report_chat_id=None,
        audience=audience,
    )
    done = await actions.confirm(call.svc, b.id, call.user_id, when)
    if done.awaiting_approval:
        hook: Any = call.svc.features.get("ask_broadcast_approval")
        if hook is not None:
            await hook(done.broadcast, f"Người dùng {call.user_id} (bảng quản trị)")
        return ok(f"🔐 Bản tin #{b.id} sẽ tới nhóm cán bộ: đã chuyển quản trị viên duyệt.", id=b.id)
    if done.scheduled and when is not None:
        when_text = clock.format_local(when, call.svc.settings.tz)
        return ok(
            f"⏰ Đã hẹn gửi bản tin #{b.id} lúc {when_text} đến {done.total} cuộc trò chuyện.",
            id=b.id,
        )
    actions.wake_dispatcher(call.svc)
    return ok(f"📤 Đang gửi bản tin #{b.id} đến {done.total} cuộc trò chuyện.", id=b.id)


async def _actor(call: Call) -> tuple[int | None, str | None]:
    return await actions.actor_of(call.svc, call.user_id)


async def stop(call: Call) -> web.StreamResponse:
    """[Dừng]: cancel what is not sent yet."""
    actor = await _actor(call)
    n = await drafts.cancel_broadcast(
        call.svc.db, call.int_param("id"), actor_id=actor[0], actor_role=actor[1], now=clock.now()
    )
    return ok(f"Đã dừng; {n} người nhận chưa gửi đã được hủy.")


async def retry(call: Call) -> web.StreamResponse:
    """[Gửi lại phần lỗi]: only the failed recipients go back to the queue."""
    actor = await _actor(call)
    n = await outbox.retry_failed(
        call.svc.db, call.int_param("id"), actor_id=actor[0], actor_role=actor[1], now=clock.now()
    )
    actions.wake_dispatcher(call.svc)
    return ok(f"Đã xếp gửi lại {n} người nhận bị lỗi.")


async def edit(call: Call) -> web.StreamResponse:
    """[Sửa]: the new text, queued as one durable edit per sent message (admins)."""
    form = await call.form()
    n = await actions.edit_sent(
        call.svc,
        call.int_param("id"),
        str(form.get("text", "")),
        actor_id=call.user_id,
        report_chat_id=None,
    )
    return ok(f"✏️ Đang sửa bản tin ở {n} tin nhắn đã gửi.")


async def recall(call: Call) -> web.StreamResponse:
    """[Thu hồi]: stop what is pending and delete what was sent, where Telegram allows."""
    actor = await _actor(call)
    _action, n, cancelled = await message_ops.request_delete(
        call.svc.db,
        call.int_param("id"),
        actor_id=actor[0],
        actor_role=actor[1],
        report_chat_id=None,
        now=clock.now(),
    )
    actions.wake_dispatcher(call.svc)
    note = f"; đã dừng {cancelled} người nhận chưa gửi" if cancelled else ""
    return ok(f"Đang thu hồi {n} tin nhắn{note}.")


async def approve(call: Call) -> web.StreamResponse:
    """[Duyệt] / [Từ chối] an editor's broadcast waiting for an admin (second person)."""
    approve = call.request.match_info["verdict"] == "approve"
    b, total = await actions.decide_approval(
        call.svc, call.int_param("id"), approve=approve, actor_id=call.user_id
    )
    if total is None:
        return ok(f"❌ Bản tin #{b.id} bị từ chối.")
    actions.wake_dispatcher(call.svc)
    return ok(f"✅ Đã duyệt bản tin #{b.id}: {total} cuộc trò chuyện.")


ROUTES = [
    Route("GET", "/ui/broadcasts", page, "broadcast"),
    Route("GET", "/ui/broadcasts/{id}", detail, "broadcast"),
    Route("GET", "/api/broadcasts/{id}/deliveries", deliveries_export, "broadcast"),
    Route("POST", "/api/broadcasts/preview", preview, "broadcast"),
    Route("GET", "/api/audience-count", audience_count, "broadcast"),
    Route("POST", "/api/broadcasts", create, "broadcast"),
    Route("POST", "/api/broadcasts/{id}/stop", stop, "broadcast"),
    Route("POST", "/api/broadcasts/{id}/retry", retry, "broadcast"),
    Route("POST", "/api/broadcasts/{id}/edit", edit, "admin"),
    Route("POST", "/api/broadcasts/{id}/recall", recall, "admin"),
    Route("POST", "/api/broadcasts/{id}/{verdict:approve|reject}", approve, "admin"),
]
