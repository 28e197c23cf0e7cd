"""Issue 10, item 11: a seeded, time-bounded fuzz run of the real Application against the
fake Bot API — random commands with hostile arguments, odd names and titles, forged and
replayed buttons, replies, and raw updates of every type Telegram sends.

The run fails on any unhandled exception (an ERROR log record), any 400 the fake Bot API
answered about content (unparsable HTML, too long, empty…), and any text sent that is not
Unicode NFC. FUZZ_SEED and FUZZ_SECONDS (environment) replay or lengthen a run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import time
import unicodedata
from typing import Any

import pytest

from tests.conftest import ADMIN_ID
from tests.fakegram import FakeTelegram
from tests.harness import RunningBot

SEED = int(os.environ.get("FUZZ_SEED", "20261204"))
SECONDS = float(os.environ.get("FUZZ_SECONDS", "8"))

EDITOR, MODERATOR = 7801, 7802
CITIZENS = [7810, 7811, 7812, 7813]
ADMIN_CHAT = -1007800
PUBLIC = -7801  # a basic group: it migrates during the run
PUBLIC_NEW = -1007801
FORUM = -1007802
CHANNEL = -1007803

# 400s that are about timing or protocol, not about what Loa wrote.
NOT_CONTENT = (
    "message is not modified",
    "group chat was upgraded to a supergroup chat",
    "query is too old",
    "message to edit not found",
    "message to delete not found",
    "message can't be edited",
    "message can't be deleted",
)

HOSTILE_WORDS = [
    "",
    "²",
    "١٢٣",
    "９９",
    "-1",
    "0",
    "99999999999999999999999999",
    "9999-Q4",
    "0001-Q1",
    "quý V/2022",
    "31/02/2022",
    "31/12/9999",
    "29/02/2023 25:61",
    "<b>",
    "</i>",
    "&amp",
    "&",
    "<a href='javascript:x'>x</a>",
    '=HYPERLINK("http://x")',
    "@",
    "@loa_test_bot",
    "@khong_ai",
    "1087968824",
    "777000",
    "admin",
    "editor",
    "moderator",
    "owner",
    "tatca",
    "tuyen-truyen",
    "chu-de-la",
    "#1",
    "#999999",
    "\u200b",
    "\u202e",
    unicodedata.normalize("NFD", "Hòa Bình Điện Biên"),
    "🇻🇳" * 20,
    "x" * 300,
    "đ" * 5000,
    "<b>" * 700,
    "\n\n\n",
    "a_" + "z" * 70,
    "yk_" + "<i>" * 10,
]
NAMES = [
    "Lan",
    unicodedata.normalize("NFD", "Nguyễn Văn Ánh"),
    "<b>Hacker</b> & co",
    "\u202eevil",
    "𝓐𝓷𝓱",
    "a" * 64,
]


def _text(rng: random.Random) -> str:
    return " ".join(rng.choice(HOSTILE_WORDS) for _ in range(rng.randint(0, 4)))[:6000] or "x"


def _forge(rng: random.Random, real: list[str]) -> str:
    """Button data: a real one, a real one mutated, or junk (at most 64 bytes)."""
    pick = rng.random()
    if real and pick < 0.35:
        return rng.choice(real)
    if real and pick < 0.75:
        fields = rng.choice(real).split(":")
        i = rng.randrange(len(fields))
        fields[i] = rng.choice(["0", "²", "-5", "999999999999", "", "ffffffff", "o", "x:y"])
        data = ":".join(fields)
    else:
        prefix = rng.choice(
            [
                "bc:go:",
                "bc:a:",
                "bc:ok:",
                "bc:del:",
                "bc:ec:",
                "ykm:a:",
                "yka:s:",
                "ykc:",
                "ykf:",
                "ar:n:",
                "ar:q:",
                "ar:k:",
                "yk:",
                "ykv:",
                "ykp:",
                "sub:ok:",
                "ack:",
                "zz:",
            ]
        )
        data = prefix + rng.choice(HOSTILE_WORDS)[:40]
    return data.encode("utf-8")[:64].decode("utf-8", "ignore") or "x"


def _raw_updates(rng: random.Random, user: dict, chat: dict) -> list[dict]:
    now = int(time.time())
    message = {
        "message_id": rng.randint(1, 5),
        "date": now,
        "chat": chat,
        "from": user,
        "text": _text(rng),
    }
    channel = {
        "id": CHANNEL,
        "type": "channel",
        "title": unicodedata.normalize("NFD", "Kênh Ủy ban"),
    }
    member = {"user": user, "status": rng.choice(["member", "left"])}
    bot_user = {"id": 123456, "is_bot": True, "first_name": "Loa", "username": "loa_test_bot"}
    return [
        {"edited_message": {**message, "edit_date": now}},
        {"channel_post": {"message_id": 1, "date": now, "chat": channel, "text": "/start"}},
        {
            "edited_channel_post": {
                "message_id": 1,
                "date": now,
                "chat": channel,
                "text": "/tin",
                "edit_date": now,
            }
        },
        {"chosen_inline_result": {"result_id": _text(rng)[:60], "from": user, "query": "x"}},
        {
            "shipping_query": {
                "id": "s1",
                "from": user,
                "invoice_payload": "p",
                "shipping_address": {
                    "country_code": "VN",
                    "state": "",
                    "city": "HN",
                    "street_line1": "a",
                    "street_line2": "",
                    "post_code": "1",
                },
            }
        },
        {
            "pre_checkout_query": {
                "id": "c1",
                "from": user,
                "currency": "VND",
                "total_amount": 1,
                "invoice_payload": "p",
            }
        },
        {
            "poll": {
                "id": "p1",
                "question": _text(rng)[:200] or "?",
                "options": [{"text": "a", "voter_count": 0, "persistent_id": "a"}],
                "total_voter_count": 0,
                "is_closed": False,
                "is_anonymous": True,
                "type": "regular",
                "allows_multiple_answers": False,
                "allows_revoting": False,
                "members_only": False,
            }
        },
        {
            "poll_answer": {
                "poll_id": "p1",
                "user": user,
                "option_ids": [0],
                "option_persistent_ids": ["a"],
            }
        },
        {
            "my_chat_member": {
                "chat": chat,
                "from": user,
                "date": now,
                "old_chat_member": {"user": bot_user, "status": "member"},
                "new_chat_member": {"user": bot_user, "status": "member"},
            }
        },
        {
            "chat_member": {
                "chat": chat,
                "from": user,
                "date": now,
                "old_chat_member": {"user": user, "status": "left"},
                "new_chat_member": member,
            }
        },
        {
            "chat_join_request": {
                "chat": chat,
                "from": user,
                "user_chat_id": user["id"],
                "date": now,
            }
        },
        {
            "chat_boost": {
                "chat": channel,
                "boost": {
                    "boost_id": "b",
                    "add_date": now,
                    "expiration_date": now + 99,
                    "source": {"source": "premium", "user": user},
                },
            }
        },
        {
            "removed_chat_boost": {
                "chat": channel,
                "boost_id": "b",
                "remove_date": now,
                "source": {"source": "premium", "user": user},
            }
        },
        {
            "message_reaction": {
                "chat": chat,
                "message_id": 1,
                "user": user,
                "date": now,
                "old_reaction": [],
                "new_reaction": [{"type": "emoji", "emoji": "👍"}],
            }
        },
        {
            "message_reaction_count": {
                "chat": chat,
                "message_id": 1,
                "date": now,
                "reactions": [{"type": {"type": "emoji", "emoji": "👍"}, "total_count": 1}],
            }
        },
        {
            "business_connection": {
                "id": "bc",
                "user": user,
                "user_chat_id": user["id"],
                "date": now,
                "can_reply": True,
                "is_enabled": True,
            }
        },
        {"business_message": {**message, "business_connection_id": "bc"}},
        {
            "deleted_business_messages": {
                "business_connection_id": "bc",
                "chat": chat,
                "message_ids": [1],
            }
        },
    ]


@pytest.fixture
async def fuzz_bot(bot_factory: Any, fake: FakeTelegram) -> RunningBot:
    bot: RunningBot = await bot_factory(
        admin_chat_id=ADMIN_CHAT,
        global_rate=5000,
        group_rate=1000,
        chat_rate=100,
        conversation_timeout=2,
        progress_interval=0,
    )
    for uid, role in ((EDITOR, "editor"), (MODERATOR, "moderator")):
        await bot.svc.db.execute(
            "INSERT INTO staff_roles (user_id, role, granted_by, granted_at) VALUES (?, ?, ?, 0)",
            (uid, role, ADMIN_ID),
        )
    return bot


async def test_fuzz_hostile_updates(
    fuzz_bot: RunningBot, fake: FakeTelegram, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    rng = random.Random(SEED)
    staff = [ADMIN_ID, EDITOR, MODERATOR]
    people = staff + CITIZENS
    for i, uid in enumerate(people):
        fake.user(uid, NAMES[i % len(NAMES)], username=None if i % 2 else f"user_{uid}")
        fake.private_chat(uid)
    fake.group(ADMIN_CHAT, "Ban Tuyên giáo", supergroup=True, admins=[ADMIN_ID], members=people)
    fake.group(
        PUBLIC,
        unicodedata.normalize("NFD", "Tổ dân phố <số 5> & Hòa"),
        admins=[CITIZENS[0]],
        members=people,
    )
    fake.group(FORUM, "Diễn đàn", supergroup=True, admins=[CITIZENS[1]], members=people)
    groups = [ADMIN_CHAT, PUBLIC, FORUM]
    commands = sorted(
        {c.name for c in fuzz_bot.svc.commands}
        | {a for c in fuzz_bot.svc.commands for a in c.aliases}
        | {"start", "help", "lenhla", "start@loa_test_bot", "cancel@other_bot"}
    )
    migrated = False
    deadline = time.monotonic() + SECONDS
    actions = 0
    while time.monotonic() < deadline:
        for _ in range(12):
            actions += 1
            uid = rng.choice(people)
            chat = uid if rng.random() < 0.45 else rng.choice(groups)
            roll = rng.random()
            if roll < 0.45:
                command = "/" + rng.choice(commands)
                fake.send_text(chat, uid, f"{command} {_text(rng)}".strip())
            elif roll < 0.62:
                own = [m for m in fake.bot_messages(chat) if not m.deleted]
                if not own:
                    continue
                target = rng.choice(own[-15:])
                real = [
                    b.get("callback_data", "")
                    for m in own[-30:]
                    for b in m.buttons
                    if b.get("callback_data")
                ]
                fake.press_button(chat, uid, target.message_id, _forge(rng, real), check=False)
            elif roll < 0.8:
                own = [m for m in fake.bot_messages(chat) if not m.deleted]
                reply_to = rng.choice(own[-10:]) if own and rng.random() < 0.6 else None
                fake.send_text(chat, uid, _text(rng), reply_to=reply_to)
            elif roll < 0.87:
                fake.inline_query(
                    uid, _text(rng)[:300], offset=rng.choice(["", "5", "²", "-1", "9" * 30])
                )
            else:
                user = fake.users[uid].to_api()
                chat_api = fake.chats[chat].to_api()
                fake.push_update(rng.choice(_raw_updates(rng, user, chat_api)))
        if not migrated and time.monotonic() > deadline - SECONDS / 2:
            fake.migrate_group(PUBLIC, PUBLIC_NEW, CITIZENS[0])
            groups[groups.index(PUBLIC)] = PUBLIC_NEW
            migrated = True
        await asyncio.sleep(0.03)
    # Drain: every update processed and the bot quiet for a moment (bounded).
    quiet_until = time.monotonic() + 15
    last = -1
    while time.monotonic() < quiet_until:
        await asyncio.sleep(0.5)
        if fake.pending_updates_count == 0 and len(fake.calls) == last:
            break
        last = len(fake.calls)
    assert fake.pending_updates_count == 0, "the bot did not keep up with the fuzz run"
    errors = [
        f"{r.name}: {r.getMessage()} "
        + " | ".join(line.strip() for line in (r.exc_text or "").splitlines() if "/bot/" in line)
        + f" | {(r.exc_text or '').splitlines()[-1:]}"
        for r in caplog.records
        if r.levelno >= logging.ERROR
    ]
    assert errors == [], f"seed {SEED}: unhandled errors:\n" + "\n".join(errors[:5])
    content = [(m, d) for m, d in fake.bad_requests if not any(n in d for n in NOT_CONTENT)]
    assert content == [], f"seed {SEED}: 400s on content: {content[:5]}"
    assert fake.non_nfc_texts == [], f"seed {SEED}: non-NFC texts: {fake.non_nfc_texts[:3]}"
    assert actions > 200
