"""BM25 over ``texts_fts`` whose cost is bounded however large the library grows.

FTS5's ``bm25()`` counts every row that matches each query term (its IDF) and an
``ORDER BY rank`` scores every match, so a term found in a million rows costs a million
row visits per search. Here each term is first probed for at most ``term_cap + 1`` of its
rows (counted, no scoring):

- a *rare* term (at most ``term_cap`` rows) is scored exactly by FTS5 (its IDF count is
  bounded by the cap);
- a *frequent* term adds the same BM25 formula (k1 = 1.2, b = 0.75, FTS5's clamped IDF)
  with ``tf = 1``, its row count estimated per kind (each text table has its own id
  space: the newest :data:`KIND_PROBE` matches below that kind's largest rowid, scaled
  by the share of the id space they cover), row lengths from FTS5's ``docsize`` table.
  It is added to the best rows of the rare terms that hold it and to a bounded set of
  its own newest rows of each kind (about ``2 * limit`` in all), so rows holding only
  frequent words are ranked among recent ones: ties among thousands of near-equal
  scores are broken by recency instead of by a full scan.

So a library where every query term is rare ranks exactly as FTS5's ``bm25()`` (BM25 is
a sum over terms), and a search reads a bounded number of rows however often its words
occur. Per-video search restricts every step to the rowid ranges of that video's text
rows for frequent words (``rowid = id * 8 + kind code``, ids contiguous per commit) and
filters the at most ``term_cap`` matches of each rare word by video, so it grows with the
video, not the library.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlite_utils import Database

from .migrations import TEXT_KIND_CODES, TEXT_TABLES

K1, B = 1.2, 0.75  # FTS5's bm25() defaults
KIND_PROBE = 256  # newest rows per kind that estimate a frequent term's row count
Span = tuple[int, int] | None  # inclusive rowid range; None: the whole table


@dataclass(frozen=True)
class Corpus:
    """Row count and mean indexed tokens per row of ``texts_fts`` (FTS5's own record)."""

    rows: int
    avgdl: float


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    """SQLite varint at ``buf[i:]`` -> (value, next offset)."""
    v = 0
    for n in range(9):
        c = buf[i + n]
        if n == 8:
            return (v << 8) | c, i + 9
        v = (v << 7) | (c & 0x7F)
        if c < 0x80:
            return v, i + n + 1
    raise ValueError("bad varint")  # pragma: no cover - the loop always returns


def corpus(db: Database) -> Corpus | None:
    """FTS5's averages record (row 1 of ``texts_fts_data``), ``None`` when empty."""
    row = db.execute("SELECT block FROM texts_fts_data WHERE id = 1").fetchone()
    if row is None or not row[0]:
        return None
    n, i = _varint(row[0], 0)
    tokens, _ = _varint(row[0], i)
    return Corpus(rows=n, avgdl=tokens / n) if n > 0 else None


def quote(word: str) -> str:
    """A word as an FTS5 string (the caller has already cut the query into words)."""
    return '"' + word.replace('"', '""') + '"'


def _span_sql(span: Span) -> str:
    if span is None:
        return ""
    if span[0] <= 0:  # one bound: FTS5 seeks (with two, some doclists are walked)
        return f" AND rowid <= {int(span[1])}"
    return f" AND rowid BETWEEN {int(span[0])} AND {int(span[1])}"


def _rowids(db: Database, match: str, span: Span, limit: int) -> list[int]:
    """Newest ``limit`` rowids matching ``match`` (no scoring: no IDF count)."""
    sql = (
        f"SELECT rowid FROM texts_fts WHERE texts_fts MATCH ?{_span_sql(span)} "
        "ORDER BY rowid DESC LIMIT ?"
    )
    return [r[0] for r in db.execute(sql, [match, limit]).fetchall()]


def _count(db: Database, match: str, limit: int) -> int:
    """Rows matching ``match``, counted up to ``limit`` (no scoring: no IDF count)."""
    sql = "SELECT count(*) FROM (SELECT rowid FROM texts_fts WHERE texts_fts MATCH ? LIMIT ?)"
    return int(db.execute(sql, [match, limit]).fetchone()[0])


def _idf(n_hit: float, n_rows: int) -> float:
    idf = math.log((n_rows - n_hit + 0.5) / (n_hit + 0.5))
    return idf if idf > 0.0 else 1e-6


def kind_tops(db: Database) -> dict[int, int]:
    """Largest ``texts_fts`` rowid of each kind code present (``8 * max(id) + code``)."""
    out = {}
    for kind, table in TEXT_TABLES.items():
        top = db.execute(f"SELECT max(id) FROM {table}").fetchone()[0]
        if top is not None:
            out[TEXT_KIND_CODES[kind]] = int(top) * 8 + TEXT_KIND_CODES[kind]
    return out


def term_stats(
    db: Database, word: str, tops: dict[int, int], probe: int = KIND_PROBE
) -> tuple[float, dict[int, list[int]]]:
    """Estimated rows matching ``word`` and its newest matching rowids per kind code.

    Each kind has its own id space, so each kind is probed below its own largest rowid:
    the probe holds every match of that kind down to its oldest rowid, and the kind's
    count is scaled by the share of its id space the probe covered (exact when the probe
    came back short).
    """
    hits = 0.0
    newest: dict[int, list[int]] = {}
    for code, top in sorted(tops.items(), key=lambda t: -t[1]):
        rows = _rowids(db, quote(word), (0, top), probe)
        mine = [r for r in rows if r % 8 == code]
        newest[code] = mine
        if len(rows) < probe or not mine:
            hits += len(mine)
        else:
            covered = max(1, (top - rows[-1]) // 8 + 1)
            hits += len(mine) * ((top // 8) / covered)
    return hits, newest


def _lengths(db: Database, rowids: Sequence[int]) -> dict[int, int]:
    """Indexed tokens of each row (FTS5 ``docsize``; first column is ``text``)."""
    if not rowids:
        return {}
    rows = db.execute(
        "SELECT id, sz FROM texts_fts_docsize WHERE id IN (SELECT value FROM json_each(?))",
        [json.dumps(list(rowids))],
    ).fetchall()
    return {r[0]: _varint(r[1], 0)[0] for r in rows if r[1]}


def video_spans(db: Database, video_id: int) -> list[tuple[int, int, int]]:
    """``(first rowid, last rowid, kind code)`` of each text table's rows of a video."""
    out = []
    for kind, table in TEXT_TABLES.items():
        lo, hi = db.execute(
            f"SELECT min(id), max(id) FROM {table} WHERE video_id = ?", [video_id]
        ).fetchone()
        if lo is not None:
            code = TEXT_KIND_CODES[kind]
            out.append((lo * 8 + code, hi * 8 + code, code))
    return out


def ranked(
    db: Database,
    words: Sequence[str],
    *,
    term_cap: int,
    limit: int,
    video_id: int | None = None,
) -> list[tuple[int, float]]:
    """Best ``limit`` rows of ``words`` OR-ed, as ``(rowid, bm25)`` (lower is better).

    Args:
        db: A library database.
        words: Distinct query words (already normalised, no FTS syntax).
        term_cap: Rows a term may match and still be scored exactly.
        limit: Rows wanted.
        video_id: Only this video's rows.
    """
    stats = corpus(db)
    if stats is None or not words:
        return []
    cap = max(1, term_cap)
    counts = {w: _count(db, quote(w), cap + 1) for w in words}
    rare = [w for w in words if 0 < counts[w] <= cap]
    frequent = [w for w in words if counts[w] > cap]
    spans: list[tuple[Span, int | None]] = [(None, None)]
    if video_id is not None and frequent:  # a frequent word: only the video's rowid ranges
        spans = [((lo, hi), code) for lo, hi, code in video_spans(db, video_id)]

    def keep(rowid: int, code: int | None) -> bool:
        return code is None or rowid % 8 == code

    scores: dict[int, float] = {}
    rare_match = " OR ".join(quote(w) for w in rare)
    if rare:  # at most len(rare) * cap matches, filtered by video when asked
        where, args = "", [rare_match, limit]
        if video_id is not None:
            where, args = " AND video_id = ?", [rare_match, video_id, limit]
        sql = (
            f"SELECT rowid, rank FROM texts_fts WHERE texts_fts MATCH ?{where} "
            "ORDER BY rank LIMIT ?"
        )
        scores = {rowid: float(rank) for rowid, rank in db.execute(sql, args).fetchall()}
    if frequent:
        tops = kind_tops(db)
        per_kind = -(-2 * limit // max(1, len(tops)))  # frequent-term candidates per kind
        extra: dict[int, float] = {}
        for w in frequent:
            if len(words) > 1 or video_id is None:
                hits, newest = term_stats(db, w, tops)
                idf = _idf(hits, stats.rows)
            else:  # one word in one video: its IDF scales every score alike
                hits, newest, idf = 0.0, {}, 1.0
            found: list[int] = []
            for span, code in spans:
                if span is None:
                    found += [r for rows in newest.values() for r in rows[:per_kind]]
                else:
                    found += [r for r in _rowids(db, quote(w), span, limit) if keep(r, code)]
                if rare and span is None:  # rare-term rows that also hold this word
                    both = _rowids(db, f"({rare_match}) AND {quote(w)}", span, cap)
                    found += [r for r in both if r in scores]
            for r in set(found):
                extra[r] = extra.get(r, 0.0) + idf
        lengths = _lengths(db, list(extra))
        for r, idf_sum in extra.items():
            dl = lengths.get(r, stats.avgdl)
            g = (K1 + 1.0) / (1.0 + K1 * (1.0 - B + B * dl / stats.avgdl))
            scores[r] = scores.get(r, 0.0) - idf_sum * g
    return sorted(scores.items(), key=lambda x: (x[1], -x[0]))[:limit]
