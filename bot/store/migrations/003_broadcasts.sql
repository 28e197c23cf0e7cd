-- Subscriptions, broadcasts (announcements and directives), their per-chat deliveries
-- (the durable outbox the dispatcher works from) and acknowledgements.

-- One row per subscribed chat (private chat or group). Kept when the bot is removed
-- or blocked (active = 0 with the reason) so it can be reactivated.
CREATE TABLE subscriptions (
    chat_id         INTEGER PRIMARY KEY REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
    active          INTEGER NOT NULL DEFAULT 1,
    inactive_reason TEXT,              -- unsubscribed | blocked | removed | forbidden: <text>
    audience        TEXT    NOT NULL DEFAULT 'public' CHECK (audience IN ('public', 'cadre')),
    -- Cadre approval by a bot admin: none | pending | approved | rejected | revoked.
    -- audience = 'cadre' exactly when approval = 'approved'.
    approval        TEXT    NOT NULL DEFAULT 'none'
                    CHECK (approval IN ('none', 'pending', 'approved', 'rejected', 'revoked')),
    unit            TEXT,              -- ward/commune label, e.g. phuong-chi-lang
    topics          TEXT    NOT NULL DEFAULT '',  -- comma-separated; '' = every topic
    subscribed_by   INTEGER,           -- user id who subscribed (private: the user)
    decided_by      INTEGER,           -- admin who approved/rejected/revoked
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX subscriptions_audience ON subscriptions (active, audience);

-- A broadcast: its text (validated Telegram HTML, already split into parts), audience
-- and life cycle: draft -> [awaiting_approval] -> queued -> sending -> done, or
-- cancelled / rejected. Deliveries exist from "queued" on.
CREATE TABLE broadcasts (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('announcement', 'directive', 'reminder')),
    state         TEXT    NOT NULL DEFAULT 'draft' CHECK (state IN (
                      'draft', 'awaiting_approval', 'queued', 'sending', 'done',
                      'cancelled', 'rejected')),
    title         TEXT,
    body          TEXT    NOT NULL,    -- validated HTML as written
    parts         TEXT    NOT NULL,    -- JSON list of HTML messages (split at paragraphs)
    audience      TEXT    NOT NULL DEFAULT 'all',  -- all | public | cadre | unit:<u> | topic:<t>
    cadre_only    INTEGER NOT NULL DEFAULT 0,      -- re-checked at the moment of sending
    -- An admin/owner sent or approved it (or a directive file did): it may reach approved
    -- cadre chats. An editor's broadcast without an admin's [Duyệt] never does (issue 6);
    -- re-checked at the moment of sending.
    cadre_ok      INTEGER NOT NULL DEFAULT 0,
    with_ack      INTEGER NOT NULL DEFAULT 0,      -- carries the [Đã nhận] button
    directive_key TEXT,                -- quarter of a directive file ("2022-Q2")
    auto          INTEGER NOT NULL DEFAULT 0,      -- scheduled from a file's publish_at
    parent_id     INTEGER REFERENCES broadcasts(id),  -- reminders point at the directive
    created_by    INTEGER,
    created_at    INTEGER NOT NULL,
    approved_by   INTEGER,
    approved_at   INTEGER,
    scheduled_at  INTEGER,             -- NULL: as soon as queued
    started_at    REAL,
    finished_at   REAL,
    cancelled_by  INTEGER,
    cancelled_at  INTEGER,
    total         INTEGER NOT NULL DEFAULT 0,
    report_chat_id    INTEGER,         -- where progress and the final report go
    report_message_id INTEGER,
    reported      INTEGER NOT NULL DEFAULT 0,
    text_rev      INTEGER NOT NULL DEFAULT 0,  -- bumped by every [Sửa]
    revoked_at    INTEGER,             -- [Thu hồi]: deliveries sent later are deleted too
    cancel_reason TEXT,                -- why it was stopped automatically (shown to admins)
    source_path   TEXT,                -- auto directives: the file, re-read at publish time
    source_hash   TEXT                 -- sha256 of that file when it was scheduled
);
CREATE INDEX broadcasts_state ON broadcasts (state);
-- A directive file is broadcast automatically at most once, ever (idempotent restarts).
CREATE UNIQUE INDEX broadcasts_auto_directive ON broadcasts (directive_key) WHERE auto = 1;

-- One row per (broadcast, recipient chat): the outbox.
-- state: pending -> sending ("possibly sent": marked BEFORE the request goes out)
--        -> sent | failed | blocked | skipped | cancelled
CREATE TABLE deliveries (
    id              INTEGER PRIMARY KEY,
    broadcast_id    INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    chat_id         INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN (
                        'pending', 'sending', 'sent', 'failed', 'blocked', 'skipped',
                        'cancelled')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL DEFAULT 0,
    message_ids     TEXT,              -- JSON list of Telegram message ids (one per part)
    last_error      TEXT,
    resends         INTEGER NOT NULL DEFAULT 0,  -- found in "sending" after a crash
    sent_at         REAL,
    updated_at      REAL,
    UNIQUE (broadcast_id, chat_id)
);
CREATE INDEX deliveries_due ON deliveries (state, next_attempt_at);
CREATE INDEX deliveries_chat ON deliveries (chat_id);
CREATE INDEX deliveries_broadcast_state ON deliveries (broadcast_id, state);

-- [✅ Đã nhận] presses. user_id becomes NULL when the user asks to be forgotten.
CREATE TABLE acks (
    id           INTEGER PRIMARY KEY,
    broadcast_id INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    chat_id      INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
    user_id      INTEGER,
    at           INTEGER NOT NULL,
    UNIQUE (broadcast_id, chat_id, user_id)
);
CREATE INDEX acks_broadcast ON acks (broadcast_id, chat_id);

-- [Sửa] and [Thu hồi] requests: one row per request, reported to the admin when its
-- operations are all finished (durable: resumed after a restart).
CREATE TABLE broadcast_actions (
    id             INTEGER PRIMARY KEY,
    broadcast_id   INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    op             TEXT    NOT NULL CHECK (op IN ('edit', 'delete')),
    requested_by   INTEGER,
    requested_at   INTEGER NOT NULL,
    report_chat_id INTEGER,
    finished_at    REAL,
    reported       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX broadcast_actions_open ON broadcast_actions (reported, finished_at);

-- The outbox of edits and deletions: one row per sent Telegram message, processed by
-- the dispatcher with the same pacing and crash safety as deliveries (marked "sending"
-- before the request; an edit or a delete repeated after a crash is harmless).
-- state: pending -> sending -> done | failed | cancelled (superseded by a later request)
--        | skipped (an edit for a chat no longer allowed to receive the broadcast)
CREATE TABLE message_ops (
    id              INTEGER PRIMARY KEY,
    action_id       INTEGER NOT NULL REFERENCES broadcast_actions(id) ON DELETE CASCADE,
    broadcast_id    INTEGER NOT NULL REFERENCES broadcasts(id) ON DELETE CASCADE,
    chat_id         INTEGER NOT NULL REFERENCES chats(id) ON UPDATE CASCADE ON DELETE CASCADE,
    message_id      INTEGER NOT NULL,
    part_index      INTEGER NOT NULL,
    is_last         INTEGER NOT NULL DEFAULT 0,   -- the part carrying the ack button
    op              TEXT    NOT NULL CHECK (op IN ('edit', 'delete')),
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN (
                        'pending', 'sending', 'done', 'failed', 'cancelled', 'skipped')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at REAL    NOT NULL DEFAULT 0,
    last_error      TEXT,
    updated_at      REAL,
    UNIQUE (action_id, chat_id, message_id)
);
CREATE INDEX message_ops_due ON message_ops (state, next_attempt_at);
CREATE INDEX message_ops_broadcast ON message_ops (broadcast_id, state);
