"""Read helpers: rows → typed records (pure functions of a database).

Rows come from sqlite-utils' ``Table.rows_where`` (dicts); the time-overlap condition
(:func:`overlap_clause`) is an SQL fragment with named parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlite_utils import Database

from ..types import Keyframe, Memory, Segment, Tag, TranscriptLine, Video
from .records import Caption, Chapter, OcrItem

_FAR = 1e300


def video_from_row(row: Mapping[str, Any]) -> Video:
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
        status="partial" if row["status"] == "indexed" and row.get("partial") else row["status"],
        error=row.get("partial") or row["error"],
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


def segments(db: Database, video_id: int, start: float | None, end: float | None) -> list[Segment]:
    """Segments of a video overlapping ``[start, end]``, in time order."""
    cond, params = overlap_clause(start, end)
    rows = db.table("segments").rows_where(
        f"video_id = :v AND {cond}", {"v": video_id, **params}, order_by="start, id"
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


def _where(**filters: object) -> tuple[str | None, dict[str, object]]:
    """A ``rows_where`` condition ``k = :k AND ...`` over the filters that are not None."""
    params = {k: v for k, v in filters.items() if v is not None}
    return (" AND ".join(f"{k} = :{k}" for k in params) or None), params


def memories(
    db: Database, video_id: int | None, segment_id: int | None, kind: str | None
) -> list[Memory]:
    """Memories filtered by video, segment and kind, in time order."""
    where, params = _where(video_id=video_id, segment_id=segment_id, kind=kind)
    rows = db.table("memories").rows_where(where, params, order_by="video_id, start, id")
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
    db: Database, root: Path, video_id: int | None, segment_id: int | None
) -> list[Keyframe]:
    """Keyframes (absolute JPEG paths under ``root``), in time order."""
    where, params = _where(video_id=video_id, segment_id=segment_id)
    rows = db.table("keyframes").rows_where(where, params, order_by="video_id, t, id")
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


def tags(db: Database, video_id: int, segment_id: int | None, limit: int | None) -> list[Tag]:
    """Tags of a video (or one segment), highest score first."""
    where, params = _where(video_id=video_id, segment_id=segment_id)
    rows = db.table("tags").rows_where(
        where,
        params,
        order_by="score DESC, start, id",
        limit=None if limit is None else int(limit),
    )
    return [
        Tag(
            label=r["label"],
            score=r["score"],
            start=r["start"],
            end=r["end"],
            segment_id=r["segment_id"],
            memory_id=r["memory_id"],
        )
        for r in rows
    ]


def transcript(
    db: Database, video_id: int, start: float | None, end: float | None
) -> list[TranscriptLine]:
    """Transcript lines overlapping ``[start, end]``, in time order."""
    cond, params = overlap_clause(start, end)
    rows = db.table("transcript_lines").rows_where(
        f"video_id = :v AND {cond}",
        {"v": video_id, **params},
        order_by="start, id",
        select='start, "end", text',
    )
    return [TranscriptLine(start=r["start"], end=r["end"], text=r["text"]) for r in rows]


def ocr_items(db: Database, video_id: int, start: float | None, end: float | None) -> list[OcrItem]:
    """OCR items overlapping ``[start, end]``, in time order."""
    cond, params = overlap_clause(start, end)
    rows = db.table("ocr_items").rows_where(
        f"video_id = :v AND {cond}", {"v": video_id, **params}, order_by="start, id"
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
    db: Database,
    video_id: int,
    level: str | None,
    start: float | None,
    end: float | None,
) -> list[Caption]:
    """Captions of a video (optionally one level) overlapping ``[start, end]``."""
    cond, params = overlap_clause(start, end)
    level_sql = " AND level = :level" if level is not None else ""
    rows = db.table("captions").rows_where(
        f"video_id = :v{level_sql} AND {cond}",
        {"v": video_id, "level": level, **params},
        order_by="start, id",
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


def chapters(db: Database, video_id: int) -> list[Chapter]:
    """Chapters of a video in order."""
    rows = db.table("chapters").rows_where("video_id = ?", [video_id], order_by="idx, id")
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
