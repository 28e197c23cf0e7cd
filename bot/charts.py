"""The /stats and `loa report` chart: a PNG drawn with matplotlib's Agg backend.

No pyplot (no global state, safe in a worker thread). The font is DejaVu Sans, which
ships inside matplotlib (mpl-data/fonts) and has every Vietnamese letter, so the chart
never depends on the fonts of the host or the container.
"""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import matplotlib

matplotlib.use("Agg")

from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from bot.domain.stats import Stats, format_int, format_percent

FONT_FAMILY = "DejaVu Sans"
_RC: Any = {
    "font.family": "sans-serif",
    "font.sans-serif": [FONT_FAMILY],
    "axes.unicode_minus": False,
}
DPI = 110
SIZE_INCHES = (11.0, 5.2)


def font_path() -> str:
    """The file of the bundled DejaVu Sans (raises if matplotlib lacks it)."""
    return str(
        font_manager.findfont(
            font_manager.FontProperties(family=FONT_FAMILY), fallback_to_default=False
        )
    )


def _vi_int(value: float, _pos: int = 0) -> str:
    return format_int(round(value))


def _week_label(monday: date) -> str:
    return f"{monday:%d/%m}"


def render_stats_chart(stats: Stats) -> bytes:
    """Weekly deliveries and comments (left) and acknowledgement rate per unit (right)."""
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=SIZE_INCHES, dpi=DPI)
        FigureCanvasAgg(fig)
        fig.suptitle(f"Loa — thống kê {stats.period.label}", fontsize=14, fontweight="bold")
        if stats.is_empty:
            ax = fig.add_subplot(1, 1, 1)
            ax.set_axis_off()
            ax.text(
                0.5,
                0.5,
                f"Không có dữ liệu trong {stats.period.label}\n"
                "(chưa có tin gửi đi, ý kiến hay lượt đọc nào)",
                ha="center",
                va="center",
                fontsize=15,
                color="#555555",
                transform=ax.transAxes,
            )
        else:
            panels = 3 if stats.case_by_category else 2
            left = fig.add_subplot(1, panels, 1)
            right = fig.add_subplot(1, panels, 2)
            _weekly_panel(left, stats)
            _ack_panel(right, stats)
            if stats.case_by_category:
                _casework_panel(fig.add_subplot(1, panels, 3), stats)
            fig.tight_layout(rect=(0, 0, 1, 0.93))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _no_data(ax: Any, text: str) -> None:
    ax.set_axis_off()
    ax.text(
        0.5,
        0.5,
        text,
        ha="center",
        va="center",
        fontsize=12,
        color="#555555",
        transform=ax.transAxes,
        wrap=True,
    )


def _weekly_panel(ax: Any, stats: Stats) -> None:
    weeks = sorted(set(stats.weekly_deliveries) | set(stats.weekly_comments))
    if not stats.has_weekly_data:
        _no_data(ax, "Không có tin nhắn gửi đi\nhay ý kiến nào trong kỳ")
        return
    x = list(range(len(weeks)))
    deliveries = [stats.weekly_deliveries.get(w, 0) for w in weeks]
    comments = [stats.weekly_comments.get(w, 0) for w in weeks]
    ax.bar(x, deliveries, color="#c0392b", label="Tin nhắn đã đến")
    ax.set_title("Theo tuần (từ thứ Hai)", fontsize=12)
    ax.set_ylabel("Tin nhắn đã đến")
    ax.yaxis.set_major_formatter(FuncFormatter(_vi_int))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    step = max(1, len(weeks) // 7)
    ax.set_xticks(x[::step], [_week_label(w) for w in weeks][::step])
    twin = ax.twinx()
    twin.plot(x, comments, color="#1f6fb2", marker="o", linewidth=2, label="Ý kiến nhận được")
    twin.set_ylabel("Ý kiến nhận được")
    twin.yaxis.set_major_locator(MaxNLocator(integer=True))
    twin.yaxis.set_major_formatter(FuncFormatter(_vi_int))
    # Headroom so the legend never covers a bar or a point.
    ax.set_ylim(0, max(max(deliveries), 1) * 1.3)
    twin.set_ylim(0, max(max(comments), 1) * 1.3)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + twin.get_legend_handles_labels()[1]
    ax.legend(handles, labels, loc="upper center", ncols=2, fontsize=9, frameon=False)


def _ack_panel(ax: Any, stats: Stats) -> None:
    units = [u for u in stats.ack_by_unit if u.delivered]
    if not units:
        _no_data(ax, "Không có chỉ đạo nào\nđược gửi trong kỳ")
        return
    units = units[:12]  # the chart stays legible; the text lists every unit
    names = [u.unit if len(u.unit) <= 28 else u.unit[:27] + "…" for u in units]
    rates = [100 * (u.rate or 0) for u in units]
    y = list(range(len(units)))
    bars = ax.barh(y, rates, color="#27ae60")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.set_xlim(0, 110)
    ax.set_xlabel("Tỷ lệ xác nhận «Đã nhận» (%)")
    ax.set_title(
        f"Chỉ thị: xác nhận theo đơn vị (chung {format_percent(stats.ack_rate)})", fontsize=12
    )
    for bar, u in zip(bars, units, strict=True):
        ax.text(
            bar.get_width() + 1,
            bar.get_y() + bar.get_height() / 2,
            f"{format_percent(u.rate)} ({format_int(u.acked)}/{format_int(u.delivered)})",
            va="center",
            fontsize=9,
        )


def _casework_panel(ax: Any, stats: Stats) -> None:
    """Cases by category (issue 15): answered on time, late (incl. overdue), still open."""
    groups = list(stats.case_by_category)[:10]
    names = [g.label if len(g.label) <= 20 else g.label[:19] + "…" for g in groups]
    on_time = [g.on_time for g in groups]
    late = [g.late for g in groups]
    open_ok = [max(0, g.open - _open_late(g)) for g in groups]
    y = list(range(len(groups)))
    ax.barh(y, on_time, color="#27ae60", label="Đúng hạn")
    ax.barh(y, late, left=on_time, color="#c0392b", label="Trễ hạn")
    lefts = [a + b for a, b in zip(on_time, late, strict=True)]
    ax.barh(y, open_ok, left=lefts, color="#bdc3c7", label="Chưa đến hạn")
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(_vi_int))
    ax.set_title("Ý kiến theo lĩnh vực", fontsize=12)
    ax.legend(loc="lower right", fontsize=8, frameon=False)


def _open_late(g: Any) -> int:
    """Open cases already counted as late: late minus those resolved late."""
    return max(0, g.late - (g.received - g.open - g.on_time))


def render_poll_chart(title: str, options: list[str], counts: list[int], voters: int) -> bytes:
    """A poll's results (issue 16): one horizontal bar per option, count and share."""
    with matplotlib.rc_context(_RC):
        height = max(2.6, 0.55 * len(options) + 1.6)
        fig = Figure(figsize=(9.0, height), dpi=DPI)
        FigureCanvasAgg(fig)
        fig.suptitle(title if len(title) <= 90 else title[:89] + "…", fontsize=12)
        ax = fig.add_subplot(1, 1, 1)
        names = [o if len(o) <= 40 else o[:39] + "…" for o in options]
        y = list(range(len(options)))
        bars = ax.barh(y, counts, color="#c0392b")
        ax.set_yticks(y, names)
        ax.invert_yaxis()
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_major_formatter(FuncFormatter(_vi_int))
        ax.set_xlim(0, max(max(counts, default=0), 1) * 1.35)
        ax.set_xlabel(f"Số lượt chọn ({format_int(voters)} người trả lời)")
        for bar, n in zip(bars, counts, strict=True):
            share = n / voters if voters else None
            ax.text(
                bar.get_width() + 0.1,
                bar.get_y() + bar.get_height() / 2,
                f"{format_int(n)} ({format_percent(share)})",
                va="center",
                fontsize=9,
            )
        fig.tight_layout(rect=(0, 0, 1, 0.92))
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()
