"""Read helpers: SQL rows → typed records (pure functions of a connection)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..types import Keyframe, Memory, Segment, Tag, TranscriptLine, Video
from .records import Caption, Chapter, OcrItem

_FAR = 1e300


def video_from_row(row: sqlite3.Row) -> Video:
    """A :class:`Video` from a ``videos`` row (missing numbers become 0)."""
    return Video(
        id=row["id"],
        path=row["path"],
        content_hash=row["content_hash"] or "",
        size=row["size"] or 0,
        duration=float(row["duration"] or 0.0),
        fps=float(row["fps"] or 0.0),
        width=int(row["width"] or 0),
        height=int(row["height"] or 0),
        status=row["status"],
        error=row["error"],
        encoder=row["encoder"],
        indexed_at=row["indexed_at"],
    )


def overlap_clause(start: float | None, end: float | None) -> tuple[str, dict[str, float]]:
    """SQL condition for rows whose ``[start, end]`` overlaps the query range.

    Touching boundaries do not count as overlap, except that a row starting exactly at the
    query start, and zero-length rows inside the range, do (so a point query ``t, t``
    returns the row that begins at ``t``).

    Raises:
        ValueError: ``end`` is before ``start``.
    """
    lo = -_FAR if start is None else float(start)
    hi = _FAR if end is None else float(end)
    if hi < lo:
        raise ValueError(f"time range ends ({hi}) before it starts ({lo})")
    sql = (
        '((start < :hi AND "end" > :lo) OR start = :lo '
        'OR ("end" = start AND start >= :lo AND start <= :hi))'
    )
    return sql, {"lo": lo, "hi": hi}


def segments(
    conn: sqlite3.Connection, video_id: int, start: float | None, end: float | None
) -> list[Segment]:
    """Segments of a video overlapping ``[start, end]``, in time order."""
    cond, params = overlap_clause(start, end)
    rows = conn.execute(
        f"SELECT * FROM segments WHERE video_id = :v AND {cond} ORDER BY start, id",
        {"v": video_id, **params},
    )
    return [
        Segment(
            id=r["id"],
            video_id=r["video_id"],
            index=r["idx"],
            start=r["start"],
            end=r["end"],
            n_frames=r["n_frames"],
            depth=r["depth"],
            alpha=r["alpha"],
            budget=r["budget"],
        )
        for r in rows
    ]


def _where(**filters: object) -> tuple[str, dict[str, object]]:
    parts = [f"{k} = :{k}" for k, v in filters.items() if v is not None]
    params = {k: v for k, v in filters.items() if v is not None}
    return (" WHERE " + " AND ".join(parts)) if parts else "", params


def memories(
    conn: sqlite3.Connection, video_id: int | None, segment_id: int | None, kind: str | None
) -> list[Memory]:
    """Memories filtered by video, segment and kind, in time order."""
    where, params = _where(video_id=video_id, segment_id=segment_id, kind=kind)
    rows = conn.execute(f"SELECT * FROM memories{where} ORDER BY video_id, start, id", params)
    return [
        Memory(
            id=r["id"],
            video_id=r["video_id"],
            segment_id=r["segment_id"],
            kind=r["kind"],
            start=r["start"],
            end=r["end"],
            n_frames=r["n_frames"],
        )
        for r in rows
    ]


def keyframes(
    conn: sqlite3.Connection, root: Path, video_id: int | None, segment_id: int | None
) -> list[Keyframe]:
    """Keyframes (absolute JPEG paths under ``root``), in time order."""
    where, params = _where(video_id=video_id, segment_id=segment_id)
    rows = conn.execute(f"SELECT * FROM keyframes{where} ORDER BY video_id, t, id", params)
    return [
        Keyframe(
            id=r["id"],
            video_id=r["video_id"],
            segment_id=r["segment_id"],
            t=r["t"],
            path=str(root / r["path"]),
        )
        for r in rows
    ]


def tags(
    conn: sqlite3.Connection, video_id: int, segment_id: int | None, limit: int | None
) -> list[Tag]:
    """Tags of a video (or one segment), highest score first."""
    where, params = _where(video_id=video_id, segment_id=segment_id)
    sql = f"SELECT * FROM tags{where} ORDER BY score DESC, start, id"
    if limit is not None:
        sql += " LIMIT :limit"
        params["limit"] = int(limit)
    return [
        Tag(
            label=r["label"],
            score=r["score"],
            start=r["start"],
            end=r["end"],
            segment_id=r["segment_id"],
            memory_id=r["memory_id"],
        )
        for r in conn.execute(sql, params)
    ]


def transcript(
    conn: sqlite3.Connection, video_id: int, start: float | None, end: float | None
) -> list[TranscriptLine]:
    """Transcript lines overlapping ``[start, end]``, in time order."""
    cond, params = overlap_clause(start, end)
    rows = conn.execute(
        f'SELECT start, "end", text FROM transcript_lines WHERE video_id = :v AND {cond} '
        "ORDER BY start, id",
        {"v": video_id, **params},
    )
    return [TranscriptLine(start=r["start"], end=r["end"], text=r["text"]) for r in rows]


def ocr_items(
    conn: sqlite3.Connection, video_id: int, start: float | None, end: float | None
) -> list[OcrItem]:
    """OCR items overlapping ``[start, end]``, in time order."""
    cond, params = overlap_clause(start, end)
    rows = conn.execute(
        f"SELECT * FROM ocr_items WHERE video_id = :v AND {cond} ORDER BY start, id",
        {"v": video_id, **params},
    )
    return [
        OcrItem(
            id=r["id"],
            video_id=r["video_id"],
            start=r["start"],
            end=r["end"],
            text=r["text"],
            score=r["score"],
            segment_id=r["segment_id"],
        )
        for r in rows
    ]


def captions(
    conn: sqlite3.Connection,
    video_id: int,
    level: str | None,
    start: float | None,
    end: float | None,
) -> list[Caption]:
    """Captions of a video (optionally one level) overlapping ``[start, end]``."""
    cond, params = overlap_clause(start, end)
    level_sql = " AND level = :level" if level is not None else ""
    rows = conn.execute(
        f"SELECT * FROM captions WHERE video_id = :v{level_sql} AND {cond} ORDER BY start, id",
        {"v": video_id, "level": level, **params},
    )
    return [
        Caption(
            id=r["id"],
            video_id=r["video_id"],
            level=r["level"],
            start=r["start"],
            end=r["end"],
            text=r["text"],
            segment_id=r["segment_id"],
            source=r["source"],
        )
        for r in rows
    ]


def chapters(conn: sqlite3.Connection, video_id: int) -> list[Chapter]:
    """Chapters of a video in order."""
    rows = conn.execute("SELECT * FROM chapters WHERE video_id = ? ORDER BY idx, id", (video_id,))
    return [
        Chapter(
            id=r["id"],
            video_id=r["video_id"],
            index=r["idx"],
            start=r["start"],
            end=r["end"],
            title=r["title"],
            summary=r["summary"],
        )
        for r in rows
    ]
