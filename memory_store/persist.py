"""Turning a writer's buffered video into rows and shard files (used by ``commit``).

The writer keeps everything but frame features in small in-memory buffers with
*provisional keys* (list positions). At commit, :func:`insert_rows` inserts the rows in
the open transaction and returns the real ids; :func:`write_metadata` then writes the id,
span and segment arrays of every vector kind into the staged shard folder. Vectors do not
depend on ids, so :func:`write_vectors` runs before the transaction starts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from sqlite_utils import Database

from .migrations import TEXT_KIND_CODES, TEXT_TABLES
from .shards import save_npy, write_kind, write_manifest

TEXT_KINDS = ("speech", "ocr", "caption", "chapter")


@dataclass
class Buffers:
    """Rows and vectors of one video waiting for ``commit``."""

    segments: list[dict[str, Any]] = field(default_factory=list)
    memories: list[dict[str, Any]] = field(default_factory=list)
    mem_vectors: list[np.ndarray] = field(default_factory=list)
    tags: list[dict[str, Any]] = field(default_factory=list)
    keyframes: list[dict[str, Any]] = field(default_factory=list)
    texts: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {k: [] for k in TEXT_KINDS}
    )
    text_keys: list[tuple[str, int]] = field(default_factory=list)
    text_vectors: list[np.ndarray] = field(default_factory=list)
    visual: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RowIds:
    """Real ids of the inserted rows, by provisional key."""

    segments: list[int]
    memories: list[int]
    texts: dict[str, list[int]]


class SegmentLookup:
    """Maps times to the segment containing them (segments sorted by start)."""

    def __init__(self, segments: list[dict[str, Any]], ids: list[int]) -> None:
        order = sorted(range(len(segments)), key=lambda i: segments[i]["start"])
        self.starts = np.array([segments[i]["start"] for i in order], dtype=np.float64)
        self.ends = np.array([segments[i]["end"] for i in order], dtype=np.float64)
        self.ids = np.array([ids[i] for i in order], dtype=np.int64)

    def at(self, times: np.ndarray) -> np.ndarray:
        """Segment id of each time (``-1`` outside every segment)."""
        t = np.asarray(times, dtype=np.float64)
        if len(self.ids) == 0:
            return np.full(t.shape, -1, dtype=np.int64)
        pos = np.searchsorted(self.starts, t, side="right") - 1
        ok = (pos >= 0) & (t <= self.ends[np.clip(pos, 0, None)])
        return np.where(ok, self.ids[np.clip(pos, 0, None)], -1)


def _seg_id(row: dict[str, Any], seg_ids: list[int], lookup: SegmentLookup) -> int | None:
    """Resolve (and remember in ``row["segment_id"]``) the segment of a text row."""
    if row.get("segment") is not None:
        found = seg_ids[row["segment"]]
    else:
        found = int(lookup.at(np.array([(row["start"] + row["end"]) / 2]))[0])
    row["segment_id"] = None if found < 0 else found
    return row["segment_id"]


def replace_video_row(db: Database, indexing_row_id: int, values: dict[str, Any]) -> list[str]:
    """Swap a path's rows for a new ``videos`` row (inside the caller's transaction).

    Deletes every row of ``values["path"]`` — the previous index (its children cascade)
    and the writer's ``indexing`` row — then inserts ``values``.

    Returns:
        Shard folder names of the replaced rows (to delete after ``COMMIT``).

    Raises:
        RuntimeError: The writer's ``indexing`` row is gone (removed meanwhile).
    """
    videos = db.table("videos")
    if not videos.count_where("id = ? AND status = 'indexing'", [indexing_row_id]):
        raise RuntimeError(f"the indexing row of {values['path']} has disappeared")
    old = [
        r["shard"]
        for r in videos.rows_where(
            "path = ? AND status != 'indexing' AND shard IS NOT NULL", [values["path"]]
        )
    ]
    videos.delete_where("path = ?", [values["path"]])
    videos.insert(values)
    return old


def finish_run(
    db: Database, run_id: int, *, at: str, status: str, seconds: float, stats: dict[str, Any]
) -> None:
    """Close the ``index_runs`` row of a writer (inside the caller's transaction).

    Raw ``UPDATE``: sqlite-utils' ``Table.update`` raises ``NotFoundError`` when the row
    is missing, and a pruned run log must never make a commit or an abort fail.
    """
    db.execute(
        "UPDATE index_runs SET finished_at = ?, status = ?, seconds = ?, stats = ? WHERE id = ?",
        (at, status, seconds, json.dumps(stats, default=str), run_id),
    )


def _new_ids(db: Database, table: str, n: int) -> list[int]:
    """Ids for ``n`` rows about to be inserted into ``table`` (write lock held).

    They are the ids SQLite itself would pick (``max(id) + 1`` onwards; these tables are
    not ``AUTOINCREMENT``), given up front so that rows can reference each other and one
    multi-row ``insert_all`` per table suffices.
    """
    top = db.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
    return list(range(top + 1, top + 1 + n))


def insert_rows(
    db: Database, video_id: int, buf: Buffers, thumbs_rel: str
) -> tuple[RowIds, SegmentLookup]:
    """Insert every buffered row of ``video_id`` (inside the caller's transaction).

    Args:
        db: Database with an open write transaction (``insert_all`` then runs in
            savepoints and does not commit).
        video_id: The committed video's id.
        buf: The writer's buffers.
        thumbs_rel: Keyframe folder relative to the library root.

    Returns:
        The real ids and a time → segment lookup.
    """
    seg_ids = _new_ids(db, "segments", len(buf.segments))
    mem_ids = _new_ids(db, "memories", len(buf.memories))
    texts = {k: _new_ids(db, TEXT_TABLES[k], len(buf.texts[k])) for k in TEXT_KINDS}
    lookup = SegmentLookup(buf.segments, seg_ids)
    for r in buf.texts["speech"] + buf.texts["ocr"]:
        _seg_id(r, seg_ids, lookup)
    for r in buf.texts["caption"]:
        if r["level"] == "segment":
            _seg_id(r, seg_ids, lookup)
        else:
            r["segment_id"] = None
    rows: dict[str, Iterable[dict[str, Any]]] = {
        "segments": (
            {
                "id": i,
                "video_id": video_id,
                "idx": s["index"],
                "start": s["start"],
                "end": s["end"],
                "n_frames": s["n_frames"],
                "depth": s["depth"],
                "alpha": s["alpha"],
                "budget": s["budget"],
            }
            for i, s in zip(seg_ids, buf.segments, strict=True)
        ),
        "memories": (
            {
                "id": i,
                "video_id": video_id,
                "segment_id": seg_ids[m["segment"]],
                "kind": m["kind"],
                "start": m["start"],
                "end": m["end"],
                "n_frames": m["n_frames"],
            }
            for i, m in zip(mem_ids, buf.memories, strict=True)
        ),
        "tags": (
            {
                "video_id": video_id,
                "segment_id": seg_ids[t["segment"]],
                "memory_id": None if t["memory"] is None else mem_ids[t["memory"]],
                "label": t["label"],
                "score": t["score"],
                "start": t["start"],
                "end": t["end"],
            }
            for t in buf.tags
        ),
        "keyframes": (
            {
                "video_id": video_id,
                "segment_id": seg_ids[k["segment"]],
                "t": k["t"],
                "path": f"{thumbs_rel}/{k['name']}",
            }
            for k in buf.keyframes
        ),
    }
    rows["transcript_lines"] = (
        {
            "id": i,
            "video_id": video_id,
            "segment_id": r["segment_id"],
            "start": r["start"],
            "end": r["end"],
            "text": r["text"],
            "words": r["words"],
            "language": r["language"],
            "source": r["source"],
        }
        for i, r in zip(texts["speech"], buf.texts["speech"], strict=True)
    )
    rows["ocr_items"] = (
        {
            "id": i,
            "video_id": video_id,
            "segment_id": r["segment_id"],
            "start": r["start"],
            "end": r["end"],
            "text": r["text"],
            "score": r["score"],
        }
        for i, r in zip(texts["ocr"], buf.texts["ocr"], strict=True)
    )
    rows["captions"] = (
        {
            "id": i,
            "video_id": video_id,
            "segment_id": r["segment_id"],
            "level": r["level"],
            "start": r["start"],
            "end": r["end"],
            "text": r["text"],
            "source": r["source"],
        }
        for i, r in zip(texts["caption"], buf.texts["caption"], strict=True)
    )
    rows["chapters"] = (
        {
            "id": i,
            "video_id": video_id,
            "idx": r["index"],
            "start": r["start"],
            "end": r["end"],
            "title": r["title"],
            "summary": r["summary"],
        }
        for i, r in zip(texts["chapter"], buf.texts["chapter"], strict=True)
    )
    for table, table_rows in rows.items():
        db.table(table).insert_all(table_rows)
    return RowIds(seg_ids, mem_ids, texts), lookup


def _memory_positions(buf: Buffers, kind: str) -> list[int]:
    return [i for i, m in enumerate(buf.memories) if m["kind"] == kind]


def write_vectors(folder: Path, buf: Buffers) -> dict[str, int]:
    """Write the float16 vectors of memories, summaries and texts; return their dims."""
    from .shards import normalise

    dims: dict[str, int] = {}
    for kind, mem_kind in (("memories", "feature"), ("summaries", "summary")):
        pos = _memory_positions(buf, mem_kind)
        if pos:
            vecs = np.stack([buf.mem_vectors[i] for i in pos])
            save_npy(folder / f"{kind}.f16.npy", normalise(vecs).astype("<f2"))
            dims[kind] = int(vecs.shape[1])
    if buf.text_vectors:
        vecs = np.concatenate(buf.text_vectors)
        save_npy(folder / "texts.f16.npy", normalise(vecs).astype("<f2"))
        dims["texts"] = int(vecs.shape[1])
    return dims


def write_metadata(
    folder: Path,
    buf: Buffers,
    ids: RowIds,
    lookup: SegmentLookup,
    *,
    frame_times: np.ndarray,
    frame_dim: int,
    duration: float,
    dims: dict[str, int],
    manifest: dict[str, Any],
) -> None:
    """Write ids/spans/segs of every vector kind and the manifest into ``folder``."""
    kinds: dict[str, dict[str, int]] = {}
    if len(frame_times):
        ends = np.append(frame_times[1:], max(float(duration), float(frame_times[-1])))
        write_kind(
            folder,
            "frames",
            ids=np.arange(len(frame_times)),
            spans=np.stack([frame_times, ends], axis=1),
            segs=lookup.at(frame_times),
        )
        kinds["frames"] = {"dim": frame_dim, "count": len(frame_times)}
    for kind, mem_kind in (("memories", "feature"), ("summaries", "summary")):
        pos = _memory_positions(buf, mem_kind)
        if not pos:
            continue
        mems = [buf.memories[i] for i in pos]
        write_kind(
            folder,
            kind,
            ids=np.array([ids.memories[i] for i in pos], dtype=np.int64),
            spans=np.array([[m["start"], m["end"]] for m in mems], dtype=np.float64),
            segs=np.array([ids.segments[m["segment"]] for m in mems], dtype=np.int64),
        )
        kinds[kind] = {"dim": dims[kind], "count": len(pos)}
    if buf.text_keys:
        rows = [buf.texts[k][key] for k, key in buf.text_keys]
        segs = [-1 if r.get("segment_id") is None else r["segment_id"] for r in rows]
        write_kind(
            folder,
            "texts",
            ids=np.array([ids.texts[k][key] for k, key in buf.text_keys], dtype=np.int64),
            spans=np.array([[r["start"], r["end"]] for r in rows], dtype=np.float64),
            segs=np.array(segs, dtype=np.int64),
            text_kinds=np.array([TEXT_KIND_CODES[k] for k, _ in buf.text_keys], dtype=np.int8),
        )
        kinds["texts"] = {"dim": dims["texts"], "count": len(rows)}
    write_manifest(folder, {**manifest, "kinds": kinds})
