"""Newsroom operations without Telegram: the digest re-runs only when the text changes,
corrections keep the editor's choices, withdrawal hides, ids stay unique."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.actions import newsroom as actions
from bot.domain.errors import InvalidInput
from bot.services import Services
from bot.store import articles as article_store
from bot.store import newsroom as store
from bot.store.db import Database
from tests.harness import make_settings
from tests.newsroom_site import sample_articles


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Services]:
    settings = make_settings(tmp_path, "http://127.0.0.1:9/bot")
    db = Database(settings.db_path)
    await db.open()
    try:
        yield Services(settings=settings, db=db)
    finally:
        await db.close()


def _raw(i: int) -> str:
    a = sample_articles()[i]
    return "\n".join([a.title, a.caption, *a.paragraphs, a.author])


async def test_digest_reruns_only_when_the_text_changes(
    svc: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    real = actions.digest

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(actions, "digest", counting)
    draft_id = await actions.draft_from_text(svc, _raw(1), 1)
    draft = await store.get_draft(svc.db, draft_id)
    await store.update_fields(svc.db, draft_id, 0, summary=(0,), dropped=(1,), topic="tuyen-truyen")
    published = await actions.publish(svc, draft_id, 1, "editor")
    assert len(calls) == 1

    # /suabai: the published digest and the choices come back, no new digest
    fix = await actions.draft_for_correction(svc, published.article_id, 1)
    again = await store.get_draft(svc.db, fix)
    assert len(calls) == 1
    assert again.summary == (0,) and again.dropped == (1,) and again.topic == "tuyen-truyen"
    assert again.sentences == draft.sentences and again.target_id == published.article_id

    # the same body again: still no digest; a changed body: one
    await actions.replace_body(svc, fix, draft.body)
    assert len(calls) == 1
    changed = draft.body.replace("52,3%", "53,1%")
    assert changed != draft.body
    after = await actions.replace_body(svc, fix, changed)
    assert len(calls) == 2
    assert any("53,1%" in f.value for f in after.figures)
    result = await actions.publish(svc, fix, 1, "editor")
    assert result.corrected and result.text_changed and result.article_id == published.article_id
    article = await article_store.get(svc.db, published.article_id)
    assert article is not None and "53,1%" in article.body
    assert (await article_store.search(svc.db, "53,1", limit=5)).total == 1


async def test_withdrawal_and_refusals(svc: Services) -> None:
    draft_id = await actions.draft_from_text(svc, _raw(2), 1)
    published = await actions.publish(svc, draft_id, 1, "editor")
    aid = published.article_id
    with pytest.raises(InvalidInput, match="đã được đăng"):
        await actions.publish(svc, draft_id, 1, "editor")  # a double press
    assert await article_store.count(svc.db) == 1
    await actions.withdraw(
        svc, aid, recall=False, actor_id=1, actor_role="editor", report_chat_id=None
    )
    assert await article_store.get(svc.db, aid) is None
    assert await article_store.is_withdrawn(svc.db, aid)
    assert await article_store.count(svc.db) == 0
    assert (await article_store.latest(svc.db, limit=5)) == []
    title = sample_articles()[2].title
    assert (await article_store.search(svc.db, title, limit=5)).total == 0
    with pytest.raises(InvalidInput, match="đã được gỡ"):
        await actions.withdraw(
            svc, aid, recall=False, actor_id=1, actor_role="editor", report_chat_id=None
        )
    with pytest.raises(InvalidInput):
        await actions.draft_for_correction(svc, aid, 1)
    with pytest.raises(InvalidInput, match="tiêu đề"):
        await actions.draft_from_text(svc, "Chỉ một dòng", 1)
    with pytest.raises(InvalidInput, match="quá dài"):
        await actions.draft_from_text(
            svc, "Tiêu đề\n" + "chữ " * (actions.MAX_TEXT_CHARS // 4 + 1), 1
        )
