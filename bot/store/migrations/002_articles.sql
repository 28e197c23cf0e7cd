-- Articles (issue 3): indexed from content/articles/*.md at start and on /reload.
-- The files are the source of truth; these rows are a cache with the digest precomputed.
CREATE TABLE articles (
    id          TEXT    PRIMARY KEY,              -- slug [a-z0-9-], <= 48 chars
    title       TEXT    NOT NULL,
    date        TEXT    NOT NULL,                 -- YYYY-MM-DD (event/publication date)
    author      TEXT,
    caption     TEXT,
    source      TEXT,
    tags        TEXT    NOT NULL DEFAULT '[]',    -- JSON list
    unit        TEXT,
    body        TEXT    NOT NULL,                 -- paragraphs separated by blank lines
    summary     TEXT    NOT NULL DEFAULT '[]',    -- JSON list of sentences
    figures     TEXT    NOT NULL DEFAULT '[]',    -- JSON list of figure objects, ranked
    path        TEXT    NOT NULL,
    checksum    TEXT    NOT NULL,                 -- sha256 of the file text
    indexed_at  INTEGER NOT NULL
);
CREATE INDEX articles_date ON articles (date DESC, id);

-- Full-text index over folded text (lower case, no diacritics, đ→d): Loa folds both the
-- indexed text and the query itself (unicode61 alone does not fold đ). rowid = articles.rowid.
CREATE VIRTUAL TABLE articles_fts USING fts5(
    title, body, tokenize = 'unicode61 remove_diacritics 2'
);

-- Reading statistics per article and local day (reports read these).
CREATE TABLE article_reads (
    article_id     TEXT    NOT NULL,
    day            TEXT    NOT NULL,              -- YYYY-MM-DD in LOA_TIMEZONE
    card_opens     INTEGER NOT NULL DEFAULT 0,
    fulltext_opens INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (article_id, day)
);
