"""EXPLAIN QUERY PLAN of the hot SQLite reads of a library (checks they use indexes).

    python bench/query_plans.py LIBRARY_DIR

Prints each query and its plan; a line ``SCAN <table>`` without an index would grow with
the library (``SCAN texts_fts VIRTUAL TABLE INDEX`` is the full-text index itself: ``M``
a MATCH, ``<``/``><`` a rowid bound, ``32`` FTS5's own ``ORDER BY rank``; ``SCAN
(subquery-N)`` reads a LIMITed subquery). Exit status 1 when a hot read scans a table.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

HOT = {
    "indexed videos": "SELECT id, shard FROM videos WHERE status = 'indexed'",
    "video by path": "SELECT * FROM videos WHERE path = ? AND status != 'indexing'",
    "segments in a span": (
        'SELECT * FROM segments WHERE video_id = ? AND start < ? AND "end" > ? ORDER BY start, id'
    ),
    "memories of a video": "SELECT * FROM memories WHERE video_id = ? ORDER BY video_id, start, id",
    "memories of a segment": "SELECT * FROM memories WHERE segment_id = ?",
    "tags of a video": (
        "SELECT * FROM tags WHERE video_id = ? ORDER BY score DESC, start, id LIMIT 50"
    ),
    "transcript in a span": (
        'SELECT start, "end", text FROM transcript_lines WHERE video_id = ? AND start < ? '
        'AND "end" > ? ORDER BY start, id'
    ),
    "ocr in a span": "SELECT * FROM ocr_items WHERE video_id = ? AND start < ? ORDER BY start, id",
    "captions of a video": "SELECT * FROM captions WHERE video_id = ? ORDER BY start, id",
    "keyframes of a segment": "SELECT * FROM keyframes WHERE segment_id = ?",
    "full text, rare words (FTS5 bm25, bounded by fts_term_cap)": (
        "SELECT rowid, rank FROM texts_fts WHERE texts_fts MATCH ? ORDER BY rank LIMIT 50"
    ),
    "full text, count a word up to the cap": (
        "SELECT count(*) FROM (SELECT rowid FROM texts_fts WHERE texts_fts MATCH ? LIMIT 1001)"
    ),
    "full text, newest matches of a kind": (
        "SELECT rowid FROM texts_fts WHERE texts_fts MATCH ? AND rowid <= ? "
        "ORDER BY rowid DESC LIMIT 256"
    ),
    "full text, matches in a video's rowid range": (
        "SELECT rowid FROM texts_fts WHERE texts_fts MATCH ? AND rowid BETWEEN ? AND ? "
        "ORDER BY rowid DESC LIMIT 80"
    ),
    "full text, row lengths": (
        "SELECT id, sz FROM texts_fts_docsize WHERE id IN (SELECT value FROM json_each(?))"
    ),
    "full text, hit rows": (
        'SELECT rowid, kind, video_id, start, "end", text FROM texts_fts '
        "WHERE rowid IN (SELECT value FROM json_each(?))"
    ),
    "a video's text id range": "SELECT min(id), max(id) FROM tags WHERE video_id = ?",
    "largest text id": "SELECT max(id) FROM transcript_lines",
    "paths of hit videos": (
        "SELECT id, path FROM videos WHERE status = 'indexed' "
        "AND id IN (SELECT value FROM json_each(?))"
    ),
}


def main() -> int:
    db = sqlite3.connect(f"file:{Path(sys.argv[1]) / 'library.db'}?mode=ro", uri=True)
    bad = 0
    for name, sql in HOT.items():
        n = sql.count("?")
        plan = db.execute(f"EXPLAIN QUERY PLAN {sql}", ["[1]"] * n).fetchall()
        steps = [row[-1] for row in plan]
        full = [
            s
            for s in steps
            if s.startswith("SCAN")
            and "VIRTUAL TABLE" not in s
            and not s.startswith("SCAN (subquery")  # a LIMITed co-routine
        ]
        bad += bool(full)
        print(f"{'FULL SCAN' if full else 'indexed  '}  {name}: {' | '.join(steps)}")
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
