"""The dialog registry's rules without Telegram: one open dialog per user and chat, what a
replaced dialog becomes, deadlines, and which prompts a reply may answer."""

from __future__ import annotations

from bot.domain.dialogs import EARLIER_PROMPTS, LAPSED, REPLACED, Dialogs


def test_opening_replaces_and_lists_the_older_dialog_with_why() -> None:
    dialogs = Dialogs(timeout=60)
    first = dialogs.open(-1, 7, "newsroom", "collect", "soạn bài", now=0, draft_id=3)
    dialogs.open(-1, 7, "broadcast", "text", "soạn thông báo", now=10)
    assert dialogs.take_ended() == [(first, REPLACED)]
    assert dialogs.take_ended() == []
    # Another chat or another user is not touched.
    dialogs.open(-2, 7, "newsroom", "collect", "soạn bài", now=10)
    dialogs.open(-1, 8, "newsroom", "collect", "soạn bài", now=10)
    assert dialogs.take_ended() == []
    assert dialogs.get(-1, 7, 20, "broadcast") is not None
    # A dialog whose deadline passed before it was replaced is listed as lapsed.
    old = dialogs.get(-2, 7, 20)
    dialogs.open(-2, 7, "session_report", "day", "báo cáo", now=100)
    assert dialogs.take_ended() == [(old, LAPSED)]


def test_deadline_restarts_on_each_step_and_expired_ones_are_swept() -> None:
    dialogs = Dialogs(timeout=60)
    dialog = dialogs.open(5, 5, "casework", "answer", "trả lời ý kiến #1", now=0, thread_id=9)
    dialogs.advance(dialog, "confirm", now=50, text="Đã sửa")
    assert dialogs.expired(100) == []
    assert dialogs.get(5, 5, 100, "casework", "confirm") is dialog
    assert dialog.data == {"text": "Đã sửa"} and dialog.thread_id == 9
    assert dialogs.expired(110) == [dialog]
    assert dialogs.get(5, 5, 111) is None and len(dialogs) == 0


def test_replies_to_earlier_prompts_of_the_same_dialog_count_within_a_bound() -> None:
    dialogs = Dialogs(timeout=60)
    dialog = dialogs.open(-1, 7, "newsroom", "collect", "soạn bài", now=0, prompt_id=100)
    for prompt in range(101, 101 + EARLIER_PROMPTS + 2):
        dialogs.advance(dialog, "collect", now=1, prompt_id=prompt)
    last = 100 + EARLIER_PROMPTS + 2
    assert dialog.prompt_id == last and dialog.answers(last)
    assert dialog.answers(last - EARLIER_PROMPTS) and not dialog.answers(last - EARLIER_PROMPTS - 1)
    assert not dialog.answers(100) and not dialog.answers(None)
