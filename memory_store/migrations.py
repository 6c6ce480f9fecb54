"""Numbered schema migrations of ``library.db``.

``PRAGMA user_version`` holds the number of migrations applied. :func:`migrate` applies the
missing ones in order, each in its own ``BEGIN IMMEDIATE`` transaction (so two processes
opening an old library at once do not both upgrade it).

Schema notes:

- ``videos.path`` is unique among finished rows (``indexed``/``failed``); an ``indexing``
  row may shadow a finished row of the same path while that file is re-indexed, so the
  previous index stays queryable until the new one commits (two partial unique indexes).
- ``videos.id`` is ``AUTOINCREMENT``: ids are never reused, so a re-indexed video keeps its
  id without ever colliding with another video's.
- Every child row cascades from its video; every text row (tags, transcript lines, OCR
  items, captions, chapters) is mirrored into the FTS5 table ``texts_fts`` by triggers,
  with ``rowid = row_id * 8 + kind_code`` (see :data:`TEXT_KIND_CODES`) and a ``weight``
  (the tag score, the OCR confidence, else 1). Migration 1 had ``tags_fts`` over tag
  labels; migration 2 moves those rows into ``texts_fts`` and drops it.
- Rows are immutable once committed (a re-index replaces the whole video), so there are
  no ``UPDATE`` triggers.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from ..errors import HourlensError

#: FTS kind name -> code used in ``texts_fts.rowid`` and in the shard ``texts.kinds`` array.
TEXT_KIND_CODES: dict[str, int] = {"tag": 1, "speech": 2, "ocr": 3, "caption": 4, "chapter": 5}
#: FTS kind -> source table.
TEXT_TABLES: dict[str, str] = {
    "tag": "tags",
    "speech": "transcript_lines",
    "ocr": "ocr_items",
    "caption": "captions",
    "chapter": "chapters",
}

_TOKENIZE = "porter unicode61 remove_diacritics 2"

MIGRATION_1 = f"""
CREATE TABLE videos (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL DEFAULT '',
    size INTEGER NOT NULL DEFAULT 0,
    mtime REAL NOT NULL DEFAULT 0,
    duration REAL,
    fps REAL,
    width INTEGER,
    height INTEGER,
    status TEXT NOT NULL CHECK (status IN ('indexing', 'indexed', 'failed')),
    error TEXT,
    encoder TEXT,
    encoder_dim INTEGER,
    shard TEXT,
    indexed_at TEXT,
    updated_at TEXT NOT NULL
);
CREATE UNIQUE INDEX videos_path_done ON videos(path) WHERE status != 'indexing';
CREATE UNIQUE INDEX videos_path_indexing ON videos(path) WHERE status = 'indexing';
CREATE INDEX videos_status ON videos(status);

CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    n_frames INTEGER NOT NULL,
    depth REAL NOT NULL,
    alpha REAL NOT NULL,
    budget INTEGER NOT NULL
);
CREATE INDEX segments_video_start ON segments(video_id, start);

CREATE TABLE memories (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('feature', 'summary')),
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    n_frames INTEGER NOT NULL
);
CREATE INDEX memories_video_start ON memories(video_id, start);
CREATE INDEX memories_segment ON memories(segment_id);

CREATE TABLE keyframes (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    t REAL NOT NULL,
    path TEXT NOT NULL
);
CREATE INDEX keyframes_video_t ON keyframes(video_id, t);
CREATE INDEX keyframes_segment ON keyframes(segment_id);

CREATE TABLE tags (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    memory_id INTEGER REFERENCES memories(id) ON DELETE CASCADE,
    label TEXT NOT NULL,
    score REAL NOT NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL
);
CREATE INDEX tags_video_start ON tags(video_id, start);
CREATE INDEX tags_segment ON tags(segment_id);
CREATE INDEX tags_memory ON tags(memory_id);

CREATE VIRTUAL TABLE tags_fts USING fts5(
    label, content='tags', content_rowid='id', tokenize='{_TOKENIZE}'
);
CREATE TRIGGER tags_fts_ai AFTER INSERT ON tags BEGIN
    INSERT INTO tags_fts(rowid, label) VALUES (new.id, new.label);
END;
CREATE TRIGGER tags_fts_ad AFTER DELETE ON tags BEGIN
    INSERT INTO tags_fts(tags_fts, rowid, label) VALUES ('delete', old.id, old.label);
END;

CREATE TABLE index_runs (
    id INTEGER PRIMARY KEY,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    video_id INTEGER,
    path TEXT,
    status TEXT NOT NULL,
    seconds REAL,
    stats TEXT
);
CREATE INDEX index_runs_video ON index_runs(video_id);
"""


def _text_trigger(kind: str, text_sql: str, segment_sql: str, weight_sql: str = "1.0") -> str:
    table, code = TEXT_TABLES[kind], TEXT_KIND_CODES[kind]
    return f"""
CREATE TRIGGER {table}_texts_ai AFTER INSERT ON {table} BEGIN
    INSERT INTO texts_fts(rowid, text, kind, ref_id, video_id, segment_id, start, "end", weight)
    VALUES (new.id * 8 + {code}, {text_sql}, '{kind}', new.id, new.video_id, {segment_sql},
            new.start, new."end", {weight_sql});
END;
CREATE TRIGGER {table}_texts_ad AFTER DELETE ON {table} BEGIN
    DELETE FROM texts_fts WHERE rowid = old.id * 8 + {code};
END;
"""


MIGRATION_2 = (
    f"""
ALTER TABLE videos ADD COLUMN text_encoder TEXT;

CREATE TABLE transcript_lines (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    segment_id INTEGER REFERENCES segments(id) ON DELETE SET NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    text TEXT NOT NULL,
    words TEXT,
    language TEXT,
    source TEXT
);
CREATE INDEX transcript_lines_video_start ON transcript_lines(video_id, start);
CREATE INDEX transcript_lines_segment ON transcript_lines(segment_id);

CREATE TABLE ocr_items (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    segment_id INTEGER REFERENCES segments(id) ON DELETE SET NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    text TEXT NOT NULL,
    score REAL
);
CREATE INDEX ocr_items_video_start ON ocr_items(video_id, start);
CREATE INDEX ocr_items_segment ON ocr_items(segment_id);

CREATE TABLE captions (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    segment_id INTEGER REFERENCES segments(id) ON DELETE SET NULL,
    level TEXT NOT NULL CHECK (level IN ('segment', 'chapter', 'video')),
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    text TEXT NOT NULL,
    source TEXT
);
CREATE INDEX captions_video_start ON captions(video_id, start);
CREATE INDEX captions_segment ON captions(segment_id);

CREATE TABLE chapters (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    idx INTEGER NOT NULL,
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    title TEXT NOT NULL,
    summary TEXT
);
CREATE INDEX chapters_video_start ON chapters(video_id, start);

CREATE VIRTUAL TABLE texts_fts USING fts5(
    text, kind UNINDEXED, ref_id UNINDEXED, video_id UNINDEXED, segment_id UNINDEXED,
    start UNINDEXED, "end" UNINDEXED, weight UNINDEXED, tokenize='{_TOKENIZE}'
);

DROP TRIGGER tags_fts_ai;
DROP TRIGGER tags_fts_ad;
DROP TABLE tags_fts;
INSERT INTO texts_fts(rowid, text, kind, ref_id, video_id, segment_id, start, "end", weight)
    SELECT id * 8 + {TEXT_KIND_CODES["tag"]}, label, 'tag', id, video_id, segment_id, start,
           "end", score
    FROM tags;
"""
    + _text_trigger("tag", "new.label", "new.segment_id", "new.score")
    + _text_trigger("speech", "new.text", "new.segment_id")
    + _text_trigger("ocr", "new.text", "new.segment_id", "coalesce(new.score, 1.0)")
    + _text_trigger("caption", "new.text", "new.segment_id")
    + _text_trigger("chapter", "new.title || '. ' || coalesce(new.summary, '')", "NULL")
)

Migration = str | Callable[[sqlite3.Connection], None]

#: Migration ``i + 1`` is ``MIGRATIONS[i]``: SQL text or a function of an open transaction.
MIGRATIONS: list[Migration] = [MIGRATION_1, MIGRATION_2]
SCHEMA_VERSION = len(MIGRATIONS)


def split_sql(script: str) -> list[str]:
    """Split an SQL script into complete statements (trigger bodies stay whole).

    Args:
        script: Statements separated by semicolons.

    Returns:
        The statements, stripped, without empty ones.
    """
    out: list[str] = []
    buf = ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    if buf.strip():
        raise ValueError(f"incomplete SQL statement: {buf.strip()[:80]!r}")
    return out


def schema_version(conn: sqlite3.Connection) -> int:
    """The number of migrations applied to ``conn``'s database."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int | None = None) -> int:
    """Apply missing migrations up to ``target`` (default: all).

    Args:
        conn: A connection in autocommit mode (``isolation_level=None``).
        target: Stop after this migration number (tests use it to build old libraries).

    Returns:
        The schema version after migrating.

    Raises:
        HourlensError: The database was written by a newer hourlens.
    """
    target = SCHEMA_VERSION if target is None else target
    current = schema_version(conn)
    if current > SCHEMA_VERSION:
        raise HourlensError(
            f"the library schema is version {current} but this hourlens knows up to "
            f"{SCHEMA_VERSION}: upgrade hourlens"
        )
    while current < target:
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(conn)  # another process may have migrated meanwhile
            if current >= target:
                conn.execute("COMMIT")
                break
            step = MIGRATIONS[current]
            if isinstance(step, str):
                for statement in split_sql(step):
                    conn.execute(statement)
            else:
                step(conn)
            current += 1
            conn.execute(f"PRAGMA user_version = {current}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return current
