"""Full-text search over tags, transcript lines, OCR items, captions and chapters.

User text never reaches FTS5 as syntax: the query is NFKC-normalised, cut into
alphanumeric words (any script), each word is quoted, and the words are OR-ed, so quotes,
``AND``/``OR``/``NOT``/``NEAR``, ``*``, ``-``, ``^``, parentheses and column filters are
plain text. BM25 ranks rows matching more (and rarer) words first.
"""

from __future__ import annotations

import json
import re
import sqlite3
import unicodedata

from sqlite_utils import Database

from ..types import Hit, HitKind
from .fts_rank import quote, ranked

MAX_TOKENS = 32
#: Default of ``StoreConfig.fts_term_cap``.
TERM_CAP = 1000
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


def query_words(query: str) -> list[str]:
    """The distinct words of free user text that a search uses (see :func:`fts_match`).

    Args:
        query: Anything a user typed.

    Returns:
        NFKC-normalised, case-folded words in order (at most :data:`MAX_TOKENS`); stop
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
    return words


def fts_match(query: str) -> str | None:
    """An FTS5 ``MATCH`` expression for free user text, or ``None`` when it has no words.

    Args:
        query: Anything a user typed.

    Returns:
        Quoted words (:func:`query_words`) joined by ``OR``.
    """
    words = query_words(query)
    return " OR ".join(quote(w) for w in words) if words else None


def search_text(
    db: Database,
    query: str,
    *,
    video_id: int | None = None,
    k: int = 10,
    term_cap: int = TERM_CAP,
) -> list[Hit]:
    """Search every text memory of indexed videos.

    Args:
        db: A library database.
        query: Free text; any characters are safe.
        video_id: Restrict to one video.
        k: Number of hits.
        term_cap: Rows a word may match and still be ranked exactly; more frequent words
            are ranked over their ``term_cap`` newest rows (see :mod:`.fts_rank`), so a
            search costs the same in a library of any size.

    Returns:
        Up to ``k`` hits, best first. ``score`` is in ``(0, 1]``: the BM25 rank relative to
        the best match of this query, times the row weight (tag probability, OCR
        confidence, 1 for speech/captions/chapters). One hit per (segment, tag label).
        Chapters come back as ``kind="caption"``.
    """
    words = query_words(query)
    if not words or k < 1:
        return []
    # Raw FTS5 SQL: sqlite-utils' Table.search() queries the "<table>_fts" index of one
    # content table, while texts_fts mirrors five tables (see migrations.TEXTS_FTS_SQL).
    try:
        best_rows = ranked(db, words, term_cap=term_cap, limit=max(4 * k, 50), video_id=video_id)
    except sqlite3.OperationalError as exc:  # pragma: no cover - quoting prevents this
        if "fts5" in str(exc).lower() or "syntax" in str(exc).lower():
            return []
        raise
    if not best_rows:
        return []
    ranks = dict(best_rows)
    rows = db.execute(
        'SELECT rowid, kind, ref_id, video_id, segment_id, start, "end", text, weight '
        "FROM texts_fts WHERE rowid IN (SELECT value FROM json_each(?))",
        [json.dumps(list(ranks))],
    ).fetchall()
    vids = sorted({r["video_id"] for r in rows})
    paths = {
        r["id"]: r["path"]
        for r in db.execute(
            "SELECT id, path FROM videos WHERE status = 'indexed' "
            "AND id IN (SELECT value FROM json_each(?))",
            [json.dumps(vids)],
        ).fetchall()
    }
    if video_id is not None:
        rows = [r for r in rows if r["video_id"] == video_id]
    if not rows:
        return []
    best = min(ranks[r["rowid"]] for r in rows) or -1e-12
    found: dict[tuple[object, ...], Hit] = {}
    for r in sorted(rows, key=lambda r: ranks[r["rowid"]]):
        path = paths.get(r["video_id"])
        if path is None:
            continue
        rank = ranks[r["rowid"]]
        rel = (rank or 0.0) / best if best < 0 else 1.0
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
