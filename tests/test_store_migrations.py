"""Schema migrations of the library: from empty, old versions upgraded, newer refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from hourlens.errors import HourlensError
from hourlens.memory_store import Store
from hourlens.memory_store.migrations import SCHEMA_VERSION, migrate


def tables(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}


def test_migrate_from_empty(tmp_path: Path):
    st = Store(tmp_path)
    st.close()
    with sqlite3.connect(tmp_path / "library.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 5
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    names = tables(tmp_path / "library.db")
    assert {
        "videos",
        "segments",
        "memories",
        "keyframes",
        "tags",
        "index_runs",
        "transcript_lines",
        "ocr_items",
        "captions",
        "chapters",
        "texts_fts",
        "kv_blocks",
        "visual_rows",
    } <= names
    assert "tags_fts" not in names
    assert Store(tmp_path).schema_version == SCHEMA_VERSION  # reopening is a no-op


def test_migrate_v1_to_v2_keeps_tags_searchable(tmp_path: Path):
    conn = sqlite3.connect(tmp_path / "library.db", isolation_level=None)
    assert migrate(conn, target=1) == 1
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute(
        "INSERT INTO videos (id, path, status, updated_at, shard) "
        "VALUES (1, '/v/old.mp4', 'indexed', 'now', 'v1-aaaaaaaaaaaa')"
    )
    conn.execute("INSERT INTO segments VALUES (1, 1, 0, 0, 10, 10, 0.1, 2, 5)")
    conn.execute(
        'INSERT INTO tags (video_id, segment_id, label, score, start, "end") '
        "VALUES (1, 1, 'golden retriever', 0.8, 0, 10)"
    )
    assert conn.execute("SELECT rowid FROM tags_fts WHERE tags_fts MATCH 'golden'").fetchall()
    conn.close()
    (tmp_path / "shards" / "v1-aaaaaaaaaaaa").mkdir(parents=True)
    with Store(tmp_path) as st:
        assert st.schema_version == SCHEMA_VERSION
        hits = st.search_text("retriever")
        assert [(h.kind, h.video, h.text) for h in hits] == [
            ("tag", "/v/old.mp4", "golden retriever")
        ]
        assert hits[0].score == pytest.approx(0.8)
    assert "tags_fts" not in tables(tmp_path / "library.db")


def test_migrate_v4_to_v5_adds_partial_and_keeps_videos_complete(tmp_path: Path):
    conn = sqlite3.connect(tmp_path / "library.db", isolation_level=None)
    assert migrate(conn, target=4) == 4
    conn.execute(
        "INSERT INTO videos (id, path, status, updated_at, shard, duration) "
        "VALUES (1, '/v/old.mp4', 'indexed', 'now', 'v1-aaaaaaaaaaaa', 20.0)"
    )
    conn.close()
    (tmp_path / "shards" / "v1-aaaaaaaaaaaa").mkdir(parents=True)
    with Store(tmp_path) as st:
        assert st.schema_version == 5
        (v,) = st.videos()
        assert v.status == "indexed" and v.error is None and v.ready
    with sqlite3.connect(tmp_path / "library.db") as conn:
        conn.execute("UPDATE videos SET partial = 'cut off' WHERE id = 1")
    with Store(tmp_path) as st:
        (v,) = st.videos()
        assert (v.status, v.error, v.ready) == ("partial", "cut off", True)
        assert st.videos("indexed") == [] and st.videos(("indexed", "partial")) == [v]
        assert st.resolve_video("old.mp4") == v  # partial videos are searchable


def test_newer_schema_is_refused(tmp_path: Path):
    with sqlite3.connect(tmp_path / "library.db") as conn:
        conn.execute("PRAGMA user_version = 99")
    with pytest.raises(HourlensError, match="upgrade hourlens"):
        Store(tmp_path)
