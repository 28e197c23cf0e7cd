-- Outreach (issue 16): the units directory, polls, outreach session reports, directive
-- reminders and the quarter-end reminder to units that reported nothing.

-- Units: the province, then its communes and wards. `code` is the current short code
-- (what subscriptions.unit and unit:<code> audiences hold); `name` is what people see.
CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    code        TEXT    NOT NULL UNIQUE,
    name        TEXT    NOT NULL,
    parent_id   INTEGER REFERENCES units(id),
    merged_into INTEGER REFERENCES units(id),   -- set by a merge: the unit that absorbed it
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX units_parent ON units (parent_id);

-- Every code a unit ever had (its current one included) -> the unit it resolves to now.
-- Renames and merges keep old codes here, so directive files and old links still work.
CREATE TABLE unit_codes (
    code    TEXT    PRIMARY KEY,
    unit_id INTEGER NOT NULL REFERENCES units(id)
);
CREATE INDEX unit_codes_unit ON unit_codes (unit_id);

-- Today's free-text unit labels (set with /setunit) become units: code and name are the
-- label as typed; staff give a full name later (/donvi or a CSV import).
INSERT OR IGNORE INTO units (code, name, created_at, updated_at)
    SELECT DISTINCT TRIM(unit), TRIM(unit), CAST(strftime('%s','now') AS INTEGER),
           CAST(strftime('%s','now') AS INTEGER)
    FROM subscriptions WHERE unit IS NOT NULL AND TRIM(unit) <> '';
UPDATE subscriptions SET unit = TRIM(unit) WHERE unit IS NOT NULL AND unit <> TRIM(unit);
INSERT OR IGNORE INTO unit_codes (code, unit_id) SELECT code, id FROM units;

-- Polls: the broadcast that sends the native poll (through the outbox like any
-- broadcast) and, once closed, the broadcast that stops it in every chat.
CREATE TABLE polls (
    id                INTEGER PRIMARY KEY,
    broadcast_id      INTEGER NOT NULL UNIQUE REFERENCES broadcasts(id) ON DELETE CASCADE,
    stop_broadcast_id INTEGER UNIQUE REFERENCES broadcasts(id),
    question          TEXT    NOT NULL,
    options           TEXT    NOT NULL,            -- JSON list of option texts
    multiple          INTEGER NOT NULL DEFAULT 0,  -- several answers allowed
    anonymous         INTEGER NOT NULL DEFAULT 1,
    closes_at         INTEGER NOT NULL,
    closed_at         INTEGER,
    created_by        INTEGER,
    created_at        INTEGER NOT NULL
);
CREATE INDEX polls_open ON polls (closed_at, closes_at);

-- One native Telegram poll per chat it was sent to (Telegram gives each its own id).
-- counts: the latest per-option totals from `poll` updates (anonymous polls).
-- chat_id 0 / message_id 0: a poll adopted from a `poll` update (sent just before a
-- crash, never recorded): counted, but it cannot be stopped.
CREATE TABLE poll_messages (
    tg_poll_id   TEXT    PRIMARY KEY,
    poll_id      INTEGER NOT NULL REFERENCES polls(id) ON DELETE CASCADE,
    chat_id      INTEGER NOT NULL,
    message_id   INTEGER NOT NULL,
    counts       TEXT,
    total_voters INTEGER NOT NULL DEFAULT 0,
    stopped      INTEGER NOT NULL DEFAULT 0,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX poll_messages_poll ON poll_messages (poll_id, chat_id);

-- Answers to non-anonymous polls, one row per voter and native poll. user_id is personal
-- data: /forgetme sets it to NULL and the vote stays counted. poll_id is NULL while the
-- native poll is unknown: one sent just before a crash, before its id was recorded; a
-- `poll` update with the same question and options adopts it later.
CREATE TABLE poll_votes (
    id         INTEGER PRIMARY KEY,
    poll_id    INTEGER REFERENCES polls(id) ON DELETE CASCADE,
    tg_poll_id TEXT    NOT NULL,
    user_id    INTEGER,
    option_ids TEXT    NOT NULL,                   -- JSON list; [] = vote retracted
    at         INTEGER NOT NULL
);
CREATE UNIQUE INDEX poll_votes_voter ON poll_votes (tg_poll_id, user_id) WHERE user_id IS NOT NULL;
CREATE INDEX poll_votes_poll ON poll_votes (poll_id);
CREATE INDEX poll_votes_user ON poll_votes (user_id);

-- Outreach sessions reported by cadres (/baocao). reporter_id is personal data (NULL once
-- forgotten); the report itself stays so the quarter's totals stay true.
CREATE TABLE session_reports (
    id          INTEGER PRIMARY KEY,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    held_on     TEXT    NOT NULL,                  -- YYYY-MM-DD
    topics      TEXT    NOT NULL,                  -- JSON list of topic names
    format      TEXT    NOT NULL CHECK (format IN ('truc-tiep', 'long-ghep', 'truc-tuyen')),
    listeners   INTEGER NOT NULL CHECK (listeners >= 0),
    note        TEXT,
    reporter_id INTEGER,
    chat_id     INTEGER,                           -- cadre group the form came from, if any
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    deleted_at  INTEGER,
    deleted_by  INTEGER
);
CREATE INDEX session_reports_day ON session_reports (held_on);
CREATE INDEX session_reports_unit ON session_reports (unit_id, held_on);
CREATE INDEX session_reports_reporter ON session_reports (reporter_id);

-- Quarter-end reminders to units that reported nothing: at most one per unit and quarter.
CREATE TABLE unit_report_reminders (
    unit_id INTEGER NOT NULL REFERENCES units(id),
    quarter TEXT    NOT NULL,                      -- 2022-Q1
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (unit_id, quarter)
);
