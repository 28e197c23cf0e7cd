-- Newsroom (issue 12): articles published from Telegram live in the articles table beside
-- the file-backed ones (origin), can be withdrawn (status), carry the editor's
-- corrections and the broadcast that announced them.
ALTER TABLE articles ADD COLUMN origin TEXT NOT NULL DEFAULT 'file'
    CHECK (origin IN ('file', 'db'));
ALTER TABLE articles ADD COLUMN status TEXT NOT NULL DEFAULT 'published'
    CHECK (status IN ('published', 'withdrawn'));
ALTER TABLE articles ADD COLUMN withdrawn_at INTEGER;
ALTER TABLE articles ADD COLUMN corrections TEXT NOT NULL DEFAULT '{}';   -- JSON, see store/newsroom.py
ALTER TABLE articles ADD COLUMN notice_broadcast_id INTEGER;              -- the notification sent
ALTER TABLE articles ADD COLUMN published_by INTEGER;

-- Drafts: every source (pasted text, .docx/.txt, a web page, a feed item, /suabai)
-- produces one; the editor reviews it and publishes or discards it.
CREATE TABLE article_drafts (
    id             INTEGER PRIMARY KEY,
    state          TEXT    NOT NULL DEFAULT 'review'
                   CHECK (state IN ('collecting', 'review', 'published', 'discarded')),
    source_kind    TEXT    NOT NULL CHECK (source_kind IN ('text', 'file', 'url', 'feed', 'edit')),
    source         TEXT,                                   -- URL or file name
    target_id      TEXT,                                   -- /suabai: the article corrected
    feed_id        INTEGER,
    title          TEXT    NOT NULL DEFAULT '',
    date           TEXT,                                   -- YYYY-MM-DD
    author         TEXT,
    caption        TEXT,
    topic          TEXT,
    body           TEXT    NOT NULL DEFAULT '',            -- paragraphs separated by blank lines
    sentences      TEXT    NOT NULL DEFAULT '[]',          -- JSON: the digest's sentences
    summary        TEXT    NOT NULL DEFAULT '[]',          -- JSON: chosen sentence indices
    figures        TEXT    NOT NULL DEFAULT '[]',          -- JSON: every detected figure
    dropped        TEXT    NOT NULL DEFAULT '[]',          -- JSON: figure indices dropped
    text_checksum  TEXT    NOT NULL DEFAULT '',            -- of the body the digest was made from
    pieces         TEXT    NOT NULL DEFAULT '[]',          -- JSON: texts collected before [Xong]
    created_by     INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    article_id     TEXT                                    -- set when published
);
CREATE INDEX article_drafts_state ON article_drafts (state, id);

-- RSS/Atom feeds polled by the feeds worker.
CREATE TABLE feeds (
    id             INTEGER PRIMARY KEY,
    url            TEXT    NOT NULL UNIQUE,
    topic          TEXT,
    mode           TEXT    NOT NULL DEFAULT 'duyet' CHECK (mode IN ('duyet', 'tudong')),
    state          TEXT    NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'paused')),
    etag           TEXT,
    last_modified  TEXT,
    body_hash      TEXT,                                   -- a 200 with the same body is "unchanged"
    failures       INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT,
    next_poll_at   REAL    NOT NULL DEFAULT 0,
    last_polled_at REAL,
    added_by       INTEGER,
    added_at       INTEGER NOT NULL
);

-- What a feed has already given (never published twice): by guid / normalised link and by
-- text checksum (sites that re-publish old items under a new guid).
CREATE TABLE feed_items (
    feed_id     INTEGER NOT NULL REFERENCES feeds (id) ON DELETE CASCADE,
    item_key    TEXT    NOT NULL,
    checksum    TEXT    NOT NULL,
    draft_id    INTEGER,
    seen_at     INTEGER NOT NULL,
    PRIMARY KEY (feed_id, item_key)
);
CREATE INDEX feed_items_checksum ON feed_items (checksum);
