-- Citizens' comments ("Ý kiến"), where moderators were shown them, and banned senders.

-- One comment. Personal data (user_id, chat_id, user_name, text_original) is set to NULL
-- by /forgetme; the comment itself stays, anonymised, so counts and reports stay true.
-- article_id is plain text without a foreign key: the feedback and articles features
-- stay decoupled (a comment may name an article another process has not loaded yet).
CREATE TABLE comments (
    id               INTEGER PRIMARY KEY,
    user_id          INTEGER,                 -- Telegram user id; NULL once forgotten
    chat_id          INTEGER,                 -- private chat for answers; NULL once forgotten
    user_name        TEXT,                    -- first name shown with approved comments
    article_id       TEXT,                    -- article slug, NULL for a general comment
    text_masked      TEXT    NOT NULL,        -- what moderators, readers and exports see
    text_original    TEXT,                    -- only when LOA_FEEDBACK_KEEP_ORIGINAL is true
    masked_kinds     TEXT    NOT NULL DEFAULT '',  -- comma-separated: phone,id,email,bank
    dup_key          TEXT    NOT NULL,        -- folded text for duplicate detection
    status           TEXT    NOT NULL DEFAULT 'received'
                     CHECK (status IN ('received', 'approved', 'rejected', 'answered', 'deleted')),
    decision         TEXT CHECK (decision IN ('approved', 'rejected')),  -- kept when answered
    decided_by       INTEGER,
    decided_at       INTEGER,
    answer           TEXT,
    answered_by      INTEGER,
    answered_at      INTEGER,
    -- Delivery of the answer to the citizen (durable: retried at start and by the worker).
    answered_in      INTEGER,                 -- chat the moderator answered in (told of the outcome)
    answer_delivered_at INTEGER,              -- NULL: not (yet) delivered
    answer_attempts  INTEGER NOT NULL DEFAULT 0,  -- failed tries of the current answer
    answer_failed    TEXT,                    -- permanent failure: 'blocked', 'gave_up', 'forgotten', 'bad_request: …'
    notified_at      INTEGER,                 -- when moderators were shown it (NULL: pending)
    created_at       INTEGER NOT NULL
);
CREATE INDEX comments_user ON comments (user_id, created_at);
-- The duplicate check (same user, same folded text) without reading the user's history.
CREATE INDEX comments_dup ON comments (user_id, dup_key);
CREATE INDEX comments_article ON comments (article_id, decision, created_at);
CREATE INDEX comments_status ON comments (status, created_at);
CREATE INDEX comments_created ON comments (created_at);
-- Answers still to deliver (few rows: the partial index stays tiny).
CREATE INDEX comments_answer_pending ON comments (id)
    WHERE answer IS NOT NULL AND answer_delivered_at IS NULL AND answer_failed IS NULL;

-- Messages showing a comment to moderators (admin chat or owners' private chats), and
-- the "type your answer" prompts: a moderator's reply to any of them answers the comment.
CREATE TABLE comment_notices (
    chat_id    INTEGER NOT NULL,
    message_id INTEGER NOT NULL,
    comment_id INTEGER NOT NULL REFERENCES comments(id) ON DELETE CASCADE,
    PRIMARY KEY (chat_id, message_id)
);
CREATE INDEX comment_notices_comment ON comment_notices (comment_id);

-- Users who may not send comments (abuse control). Only the id is kept.
CREATE TABLE bans (
    user_id   INTEGER PRIMARY KEY,
    banned_by INTEGER,
    banned_at INTEGER NOT NULL,
    comment_id INTEGER                        -- the comment that led to the ban
);
