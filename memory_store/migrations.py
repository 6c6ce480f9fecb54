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
- A video whose file decodes only in part (truncated, broken off) is stored as
  ``indexed`` with the reason in ``videos.partial`` (migration 5): every query that
  reads ``indexed`` videos serves what decoded; :class:`~hourlens.types.Video` reports
  it as status ``partial`` with the reason in ``error``.
- Rows are immutable once committed (a re-index replaces the whole video), so there are
  no ``UPDATE`` triggers.

Tables, indexes and added columns are created with sqlite-utils (``Table.create`` with
``ForeignKey(..., on_delete=...)``, ``create_index``, ``add_column``); what it cannot
express stays raw SQL (see the comment above :data:`VIDEOS_SQL`). Libraries created by
the earlier raw-SQL version of these migrations have the same tables, columns,
constraints, foreign keys and indexes; only the whitespace and quoting of the DDL text
in ``sqlite_master`` differ.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from sqlite_utils import Database
from sqlite_utils.db import ForeignKey

from ..errors import HourlensError
from .db import open_db

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
CASCADE, SET_NULL = "CASCADE", "SET NULL"

# Raw DDL, for what sqlite-utils' ``Table.create()`` cannot express:
# - ``videos``: ``AUTOINCREMENT`` and ``CHECK`` (only private arguments of
#   ``create_table_sql`` produce them) and partial unique indexes (``create_index`` has
#   no ``WHERE``);
# - ``memories`` and ``captions``: a ``CHECK`` constraint;
# - FTS5 tables (``enable_fts`` builds its own table layout and triggers, not this one's
#   ``rowid = id * 8 + kind`` mirror with ``UNINDEXED`` columns), triggers, the backfill.
VIDEOS_SQL = """
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
"""

MEMORIES_SQL = """
CREATE TABLE memories (
    id INTEGER PRIMARY KEY,
    video_id INTEGER NOT NULL REFERENCES videos(id) ON DELETE CASCADE,
    segment_id INTEGER NOT NULL REFERENCES segments(id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('feature', 'summary')),
    start REAL NOT NULL,
    "end" REAL NOT NULL,
    n_frames INTEGER NOT NULL
);
"""

TAGS_FTS_SQL = f"""
CREATE VIRTUAL TABLE tags_fts USING fts5(
    label, content='tags', content_rowid='id', tokenize='{_TOKENIZE}'
);
CREATE TRIGGER tags_fts_ai AFTER INSERT ON tags BEGIN
    INSERT INTO tags_fts(rowid, label) VALUES (new.id, new.label);
END;
CREATE TRIGGER tags_fts_ad AFTER DELETE ON tags BEGIN
    INSERT INTO tags_fts(tags_fts, rowid, label) VALUES ('delete', old.id, old.label);
END;
"""

CAPTIONS_SQL = """
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


TEXTS_FTS_SQL = (
    f"""
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


def _script(db: Database, script: str) -> None:
    for statement in split_sql(script):
        db.execute(statement)


def _table(
    db: Database,
    name: str,
    columns: dict[str, type],
    *,
    refs: dict[str, tuple[str, str]] | None = None,
    nullable: tuple[str, ...] = (),
) -> None:
    """``CREATE TABLE name (id INTEGER PRIMARY KEY, <columns>)`` through sqlite-utils.

    Args:
        db: The database (inside the migration's transaction).
        name: Table name.
        columns: Column -> Python type (``int`` INTEGER, ``float`` REAL, ``str`` TEXT).
        refs: Column -> ``(table, ON DELETE action)``: a foreign key to ``table(id)``.
        nullable: Columns that may be NULL (all others are ``NOT NULL``).
    """
    db.table(name).create(
        {"id": int, **columns},
        pk="id",
        not_null=[c for c in columns if c not in nullable],
        foreign_keys=[
            ForeignKey(name, col, other, "id", on_delete=action)
            for col, (other, action) in (refs or {}).items()
        ],
    )


def _index(db: Database, table: str, *columns: str) -> None:
    """``CREATE INDEX <table>_<columns without _id> ON table(columns)``."""
    name = "_".join([table, *(c.removesuffix("_id") for c in columns)])
    db.table(table).create_index(columns, index_name=name)


def migration_1(db: Database) -> None:
    """Videos, segments, memories, keyframes, tags (+ ``tags_fts``), index runs."""
    _script(db, VIDEOS_SQL)
    _index(db, "videos", "status")
    on_video = {"video_id": ("videos", CASCADE)}
    in_segment = {**on_video, "segment_id": ("segments", CASCADE)}
    _table(
        db,
        "segments",
        {
            "video_id": int,
            "idx": int,
            "start": float,
            "end": float,
            "n_frames": int,
            "depth": float,
            "alpha": float,
            "budget": int,
        },
        refs=on_video,
    )
    _index(db, "segments", "video_id", "start")
    _script(db, MEMORIES_SQL)
    _index(db, "memories", "video_id", "start")
    _index(db, "memories", "segment_id")
    _table(
        db,
        "keyframes",
        {"video_id": int, "segment_id": int, "t": float, "path": str},
        refs=in_segment,
    )
    _index(db, "keyframes", "video_id", "t")
    _index(db, "keyframes", "segment_id")
    _table(
        db,
        "tags",
        {
            "video_id": int,
            "segment_id": int,
            "memory_id": int,
            "label": str,
            "score": float,
            "start": float,
            "end": float,
        },
        refs={**in_segment, "memory_id": ("memories", CASCADE)},
        nullable=("memory_id",),
    )
    _index(db, "tags", "video_id", "start")
    _index(db, "tags", "segment_id")
    _index(db, "tags", "memory_id")
    _script(db, TAGS_FTS_SQL)
    _table(
        db,
        "index_runs",
        {
            "started_at": str,
            "finished_at": str,
            "video_id": int,
            "path": str,
            "status": str,
            "seconds": float,
            "stats": str,
        },
        nullable=("finished_at", "video_id", "path", "seconds", "stats"),
    )
    _index(db, "index_runs", "video_id")


def migration_2(db: Database) -> None:
    """Text memories (transcript, OCR, captions, chapters) and ``texts_fts`` over all."""
    db.table("videos").add_column("text_encoder", str)
    in_segment = {"video_id": ("videos", CASCADE), "segment_id": ("segments", SET_NULL)}
    span = {"video_id": int, "segment_id": int, "start": float, "end": float, "text": str}
    _table(
        db,
        "transcript_lines",
        {**span, "words": str, "language": str, "source": str},
        refs=in_segment,
        nullable=("segment_id", "words", "language", "source"),
    )
    _index(db, "transcript_lines", "video_id", "start")
    _index(db, "transcript_lines", "segment_id")
    _table(
        db,
        "ocr_items",
        {**span, "score": float},
        refs=in_segment,
        nullable=("segment_id", "score"),
    )
    _index(db, "ocr_items", "video_id", "start")
    _index(db, "ocr_items", "segment_id")
    _script(db, CAPTIONS_SQL)
    _index(db, "captions", "video_id", "start")
    _index(db, "captions", "segment_id")
    _table(
        db,
        "chapters",
        {
            "video_id": int,
            "idx": int,
            "start": float,
            "end": float,
            "title": str,
            "summary": str,
        },
        refs={"video_id": ("videos", CASCADE)},
        nullable=("summary",),
    )
    _index(db, "chapters", "video_id", "start")
    _script(db, TEXTS_FTS_SQL)


def migration_3(db: Database) -> None:
    """KV memories: one row per stored segment KV block (see :mod:`.kv`).

    A block is keyed by model id + revision + prompt-format version + segment; the row
    records where its safetensors file is, its shape, RoPE positions, bytes, storage
    dtype, the sliding window it was prefilled with, its retrieval key (float32 blob) and
    when it was last used (least-recently-used eviction under a byte budget).
    """
    _table(
        db,
        "kv_blocks",
        {
            "video_id": int,
            "segment_id": int,
            "model": str,
            "revision": str,
            "format": str,
            "start": float,
            "end": float,
            "n_layers": int,
            "kv_heads": int,
            "n_tokens": int,
            "head_dim": int,
            "pos_start": int,
            "pos_next": int,
            "dtype": str,
            "window": int,
            "bytes": int,
            "path": str,
            "retrieval_key": bytes,
            "created_at": str,
            "last_used": float,
        },
        refs={"video_id": ("videos", CASCADE), "segment_id": ("segments", CASCADE)},
        nullable=("retrieval_key",),
    )
    db.execute(
        "CREATE UNIQUE INDEX kv_blocks_key ON kv_blocks(model, revision, format, segment_id)"
    )
    _index(db, "kv_blocks", "video_id", "start")
    _index(db, "kv_blocks", "last_used")


def migration_4(db: Database) -> None:
    """Visual rows: per feature memory (and keyframe crop) top class probabilities and
    pixel facets (:mod:`hourlens.memory_store.visual_rows`)."""
    _table(
        db,
        "visual_rows",
        {
            "video_id": int,
            "segment_id": int,
            "memory_id": int,
            "source": str,
            "start": float,
            "end": float,
            "class_idx": bytes,
            "class_p": bytes,
            "facets": str,
        },
        refs={
            "video_id": ("videos", CASCADE),
            "segment_id": ("segments", CASCADE),
            "memory_id": ("memories", CASCADE),
        },
        nullable=("memory_id",),
    )
    _index(db, "visual_rows", "video_id", "start")


def migration_5(db: Database) -> None:
    """``videos.partial``: why an ``indexed`` video covers only part of its file (a
    truncated or broken-off file: what decoded is indexed); NULL for a complete index."""
    db.table("videos").add_column("partial", str)


Migration = Callable[[Database], None]

#: Migration ``i + 1`` is ``MIGRATIONS[i]``: a function of a database in an open transaction.
MIGRATIONS: list[Migration] = [
    migration_1,
    migration_2,
    migration_3,
    migration_4,
    migration_5,
]
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


def schema_version(db: sqlite3.Connection | Database) -> int:
    """The number of migrations applied to the database (``PRAGMA user_version``)."""
    return int(db.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection | Database, target: int | None = None) -> int:
    """Apply missing migrations up to ``target`` (default: all).

    Args:
        conn: A connection in autocommit mode (``isolation_level=None``), raw or wrapped
            in a :class:`sqlite_utils.Database`.
        target: Stop after this migration number (tests use it to build old libraries).

    Returns:
        The schema version after migrating.

    Raises:
        HourlensError: The database was written by a newer hourlens.
    """
    db = open_db(conn)
    target = SCHEMA_VERSION if target is None else target
    current = schema_version(db)
    if current > SCHEMA_VERSION:
        raise HourlensError(
            f"the library schema is version {current} but this hourlens knows up to "
            f"{SCHEMA_VERSION}: upgrade hourlens"
        )
    while current < target:
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(db)  # another process may have migrated meanwhile
            if current >= target:
                db.conn.execute("COMMIT")
                break
            MIGRATIONS[current](db)
            current += 1
            db.execute(f"PRAGMA user_version = {current}")
            db.conn.execute("COMMIT")
        except BaseException:
            db.rollback()
            raise
    return current
