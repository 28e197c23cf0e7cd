-- Ý kiến as casework (issue 15): category, place, photo, case state, holder, deadline,
-- rating, follow-ups, public answers; the history of every change; routing; templates.
-- Comments from before take category "khác" and a case state derived from their status.

ALTER TABLE comments ADD COLUMN category TEXT NOT NULL DEFAULT 'khác';
ALTER TABLE comments ADD COLUMN unit TEXT;                  -- place (a unit label), optional
ALTER TABLE comments ADD COLUMN photo_file_id TEXT;         -- Telegram file id of one photo
ALTER TABLE comments ADD COLUMN photo_caption TEXT;         -- its caption, masked
ALTER TABLE comments ADD COLUMN case_state TEXT NOT NULL DEFAULT 'moi'
    CHECK (case_state IN ('moi', 'dang_xu_ly', 'da_tra_loi', 'da_dong', 'tu_choi',
                          'trung_lap', 'chuyen'));
ALTER TABLE comments ADD COLUMN holder_id INTEGER;          -- staff member handling it
ALTER TABLE comments ADD COLUMN due_date TEXT;              -- yyyy-mm-dd (local); NULL: compute
ALTER TABLE comments ADD COLUMN resolved_at INTEGER;        -- first outcome (answer, refusal…)
ALTER TABLE comments ADD COLUMN transferred_to TEXT;        -- the body a case went to
ALTER TABLE comments ADD COLUMN allow_publish INTEGER NOT NULL DEFAULT 0;  -- citizen's consent
ALTER TABLE comments ADD COLUMN rating TEXT
    CHECK (rating IS NULL OR rating IN ('hai_long', 'binh_thuong', 'chua_hai_long'));
ALTER TABLE comments ADD COLUMN rated_at INTEGER;
ALTER TABLE comments ADD COLUMN follow_up_of INTEGER REFERENCES comments(id);
ALTER TABLE comments ADD COLUMN reminded_on TEXT;           -- yyyy-mm-dd of the last reminder
ALTER TABLE comments ADD COLUMN escalated_on TEXT;          -- yyyy-mm-dd of the last escalation

UPDATE comments SET case_state = CASE status
        WHEN 'answered' THEN 'da_tra_loi'
        WHEN 'rejected' THEN 'tu_choi'
        WHEN 'deleted' THEN 'da_dong'
        WHEN 'approved' THEN 'dang_xu_ly'
        ELSE 'moi' END,
    resolved_at = CASE status
        WHEN 'answered' THEN answered_at
        WHEN 'rejected' THEN COALESCE(decided_at, created_at)
        WHEN 'deleted' THEN created_at
        ELSE NULL END;

CREATE INDEX comments_case_open ON comments (case_state, due_date)
    WHERE case_state IN ('moi', 'dang_xu_ly');
CREATE INDEX comments_follow_up ON comments (follow_up_of) WHERE follow_up_of IS NOT NULL;

-- Every change of a case (state, holder, answer, rating, publication), newest last.
-- actor_id NULL: the citizen or the system (a reminder), or a staff member who erased
-- their data (the audit log keeps who did what).
CREATE TABLE case_history (
    id         INTEGER PRIMARY KEY,
    comment_id INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    actor_id   INTEGER,
    event      TEXT    NOT NULL,   -- state, claim, assign, answer, rate, publish, withdraw, remind, escalate
    from_state TEXT,
    to_state   TEXT,
    note       TEXT
);
CREATE INDEX case_history_comment ON case_history (comment_id, id);
INSERT INTO case_history (comment_id, at, actor_id, event, to_state, note)
    SELECT id, created_at, NULL, 'migrate', case_state, 'trước khi có quản lý hồ sơ'
    FROM comments;

-- Routing: which named moderators handle a category (optionally only for one unit).
CREATE TABLE case_routes (
    category     TEXT    NOT NULL,
    unit         TEXT    NOT NULL DEFAULT '',   -- '' = every unit
    moderator_id INTEGER NOT NULL,
    created_by   INTEGER,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (category, unit, moderator_id)
);

-- The forum topic of the admin supergroup for each category (created by the bot).
CREATE TABLE case_topics (
    chat_id   INTEGER NOT NULL,
    category  TEXT    NOT NULL,
    thread_id INTEGER NOT NULL,
    PRIMARY KEY (chat_id, category)
);

-- Answer templates per category, kept by admins.
CREATE TABLE answer_templates (
    id         INTEGER PRIMARY KEY,
    category   TEXT    NOT NULL,
    body       TEXT    NOT NULL,
    created_by INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX answer_templates_category ON answer_templates (category, id);

-- Answers published (anonymised, masked) to the public channel and /hoidap.
CREATE TABLE public_answers (
    comment_id   INTEGER PRIMARY KEY REFERENCES comments(id) ON DELETE CASCADE,
    text         TEXT    NOT NULL,            -- exactly what was published
    chat_id      INTEGER,                     -- LOA_PUBLIC_CHANNEL_ID, NULL: /hoidap only
    message_id   INTEGER,
    published_by INTEGER,
    published_at INTEGER NOT NULL,
    withdrawn_at INTEGER                      -- NULL: still published
);
CREATE INDEX public_answers_live ON public_answers (published_at) WHERE withdrawn_at IS NULL;
