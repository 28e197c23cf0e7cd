"""The quarterly briefing (issue 16): gather the quarter's figures from every feature and
write the draft article as a content file. Used by /baocaoquy and `loa briefing`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from bot.actions import casework
from bot.config import Settings
from bot.domain import briefing as rules
from bot.domain.errors import InvalidInput
from bot.domain.periods import Period, parse_period
from bot.store import polls, reports, sessions
from bot.store.db import Database

DRAFTS_FOLDER = "drafts"  # under LOA_CONTENT_DIR; not indexed as articles until reviewed


def parse_quarter(text: str, today: date) -> Period:
    """A quarter as typed ("2022-Q1", "quý I/2022"); anything else is refused."""
    period = parse_period(text, today)
    if period.key[4:6] != "-Q":
        raise InvalidInput("Cần một quý, ví dụ /baocaoquy 2022-Q1 hoặc /baocaoquy quý I/2022.")
    return period


async def gather(db: Database, period: Period, settings: Settings) -> rules.BriefingData:
    """Every figure of the briefing for `period`."""
    tz = settings.tz
    # "On time" is casework's rule (the category's deadline in working days), not a
    # second definition here.
    stats = await reports.gather_stats(db, period, tz, policy=casework.policy_of(settings))
    totals = await sessions.totals(db, period.start, period.end, period.label)
    start, end = period.bounds(tz)
    summaries = []
    for poll in await polls.polls_closed_in(db, start, end):
        results = await polls.results(db, poll)
        top = max(range(len(results.counts)), key=lambda i: results.counts[i], default=None)
        has_top = top is not None and results.voters > 0 and results.counts[top] > 0
        summaries.append(
            rules.PollSummary(
                poll.question,
                results.voters,
                results.options[top] if has_top and top is not None else None,
                results.share(top) if has_top and top is not None else None,
            )
        )
    return rules.BriefingData(
        period=period,
        next_period=_next(period),
        sessions=totals.sessions,
        listeners=totals.listeners,
        reporting_units=totals.units,
        topics=[line.label for line in totals.by_topic],
        by_format=[(line.label, line.sessions) for line in totals.by_format],
        directives=stats.directives,
        directive_groups=stats.acks_delivered,
        directive_acks=stats.acks,
        announcements=stats.announcements,
        articles=stats.articles_published,
        reads=stats.card_opens + stats.fulltext_opens,
        comments=stats.comments_received,
        answered=stats.comments_answered,
        answered_on_time=stats.case_total.on_time if stats.case_total else 0,
        polls=summaries,
    )


def _next(period: Period) -> Period:
    year, q = int(period.key[:4]), int(period.key[6])
    return parse_period(f"{year + 1}-Q1" if q == 4 else f"{year}-Q{q + 1}", period.start)


@dataclass(frozen=True)
class Written:
    """A briefing written to a file."""

    draft: rules.Draft
    path: Path
    data: rules.BriefingData


async def write_briefing(
    db: Database, settings: Settings, period: Period, out: Path | None = None
) -> Written:
    """Write the draft for `period` to `out` (default: <content>/drafts/<id>.md)."""
    data = await gather(db, period, settings)
    draft = rules.write(data)
    today = datetime.now(settings.tz).date()
    article_id = f"{period.key.lower()}-bao-cao-quy"
    text = rules.to_markdown(draft, article_id=article_id, day=today, author="Loa (bản nháp)")
    path = out or settings.content_dir / DRAFTS_FOLDER / f"{article_id}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return Written(draft, path, data)
