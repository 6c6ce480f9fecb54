"""Full-text search over tags, transcript lines, OCR items, captions and chapters.

User text never reaches FTS5 as syntax: the query is NFKC-normalised, cut into
alphanumeric words (any script), each word is quoted, and the words are OR-ed, so quotes,
``AND``/``OR``/``NOT``/``NEAR``, ``*``, ``-``, ``^``, parentheses and column filters are
plain text. BM25 ranks rows matching more (and rarer) words first.
"""

from __future__ import annotations

import re
import sqlite3
import unicodedata

from sqlite_utils import Database

from ..types import Hit, HitKind

MAX_TOKENS = 32
_WORD_RE = re.compile(r"[^\W_]+")
#: ``texts_fts.kind`` → :data:`hourlens.types.HitKind`.
HIT_KINDS: dict[str, HitKind] = {
    "tag": "tag",
    "speech": "speech",
    "ocr": "ocr",
    "caption": "caption",
    "chapter": "caption",
}


#: English function words dropped from queries: OR-ing them would match almost every line.
STOPWORDS = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "me",
        "my",
        "no",
        "not",
        "of",
        "on",
        "or",
        "our",
        "she",
        "so",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "too",
        "us",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "shown",
        "show",
        "shows",
        "said",
        "say",
        "says",
        "time",
        "video",
    )
)


def fts_match(query: str) -> str | None:
    """An FTS5 ``MATCH`` expression for free user text, or ``None`` when it has no words.

    Args:
        query: Anything a user typed.

    Returns:
        Quoted words joined by ``OR`` (at most :data:`MAX_TOKENS` distinct words). Stop
        words are dropped unless the query has nothing else.
    """
    words: list[str] = []
    found = _WORD_RE.findall(unicodedata.normalize("NFKC", query).casefold())
    content = [w for w in found if w not in STOPWORDS]
    for w in content or found:
        if w not in words:
            words.append(w)
        if len(words) >= MAX_TOKENS:
            break
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in words)


def search_text(db: Database, query: str, *, video_id: int | None = None, k: int = 10) -> list[Hit]:
    """Search every text memory of indexed videos.

    Args:
        db: A library database.
        query: Free text; any characters are safe.
        video_id: Restrict to one video.
        k: Number of hits.

    Returns:
        Up to ``k`` hits, best first. ``score`` is in ``(0, 1]``: the BM25 rank relative to
        the best match of this query, times the row weight (tag probability, OCR
        confidence, 1 for speech/captions/chapters). One hit per (segment, tag label).
        Chapters come back as ``kind="caption"``.
    """
    match = fts_match(query)
    if match is None or k < 1:
        return []
    videos = db.table("videos").rows_where("status = 'indexed'", select="id, path")
    paths = {r["id"]: r["path"] for r in videos}
    video_sql = " AND video_id = :v" if video_id is not None else ""
    # Raw FTS5 SQL: sqlite-utils' Table.search() queries the "<table>_fts" index of one
    # content table, while texts_fts mirrors five tables (see migrations.TEXTS_FTS_SQL).
    try:
        rows = db.execute(
            'SELECT kind, ref_id, video_id, segment_id, start, "end", text, weight, '
            f"bm25(texts_fts) AS rank FROM texts_fts WHERE texts_fts MATCH :q{video_sql} "
            "ORDER BY rank LIMIT :n",
            {"q": match, "v": video_id, "n": max(4 * k, 50)},
        ).fetchall()
    except sqlite3.OperationalError as exc:  # pragma: no cover - fts_match prevents this
        if "fts5" in str(exc).lower() or "syntax" in str(exc).lower():
            return []
        raise
    if not rows:
        return []
    best = min(r["rank"] for r in rows) or -1e-12
    found: dict[tuple[object, ...], Hit] = {}
    for r in rows:
        path = paths.get(r["video_id"])
        if path is None:
            continue
        rel = (r["rank"] or 0.0) / best if best < 0 else 1.0
        score = max(0.0, min(1.0, rel)) * float(r["weight"] if r["weight"] is not None else 1.0)
        if r["kind"] == "tag":
            key: tuple[object, ...] = ("tag", r["video_id"], r["segment_id"], r["text"].casefold())
        else:
            key = (r["kind"], r["ref_id"])
        if key in found and found[key].score >= score:
            continue
        found[key] = Hit(
            video=path,
            start=float(r["start"]),
            end=float(r["end"]),
            score=round(score, 6),
            kind=HIT_KINDS[r["kind"]],
            segment_id=r["segment_id"],
            text=r["text"],
        )
    hits = sorted(found.values(), key=lambda h: (-h.score, h.video, h.start))
    return hits[:k]
