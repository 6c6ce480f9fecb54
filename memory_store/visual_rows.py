"""Visual rows: what the frame encoder and the pixel facets saw, per feature memory.

One row per feature memory (``source="memory"``) and per classified keyframe crop
(``source="crop:<name>"``), holding the memory's top class probabilities (sparse: class
index ``int16`` + probability ``float16`` blobs) and its pixel facets (a small JSON
object, ``{"red": 0.31, "dark": 0.0, ...}``). The search layer scores descriptions
against these (:mod:`hourlens.tools.visual`); rows cascade from their video.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from sqlite_utils import Database

from .persist import Buffers, RowIds


@dataclass(frozen=True)
class VisualRows:
    """The visual rows of one video as arrays (row ``i`` of every field belongs together).

    Attributes:
        memory_ids: ``(n,)`` memory id, ``-1`` for a crop row without one.
        segment_ids: ``(n,)``.
        spans: ``(n, 2)`` start/end seconds.
        sources: ``memory`` or ``crop:<name>``.
        class_idx: ``(n, m)`` int64 class indices (``-1`` pads short rows).
        class_p: ``(n, m)`` float32 probabilities (0 pads).
        facets: Per row, facet name -> value in [0, 1].
    """

    memory_ids: np.ndarray
    segment_ids: np.ndarray
    spans: np.ndarray
    sources: list[str]
    class_idx: np.ndarray
    class_p: np.ndarray
    facets: list[dict[str, float]]

    def __len__(self) -> int:
        return len(self.sources)

    def dense(self, n_classes: int) -> np.ndarray:
        """``(n, n_classes)`` float32 probabilities (zeros outside each row's top list)."""
        out = np.zeros((len(self), n_classes), np.float32)
        ok = (self.class_idx >= 0) & (self.class_idx < n_classes)
        rows = np.nonzero(ok)[0]
        out[rows, self.class_idx[ok]] = self.class_p[ok]
        return out


def buffer_row(
    buf: Buffers,
    *,
    segment: int,
    memory: int | None,
    source: str,
    start: float,
    end: float,
    class_idx: np.ndarray | None,
    class_p: np.ndarray | None,
    facets: Mapping[str, float] | None,
) -> None:
    """Queue a visual row for ``commit`` (provisional segment/memory keys)."""
    idx = np.zeros(0, "<i2") if class_idx is None else np.asarray(class_idx, "<i2").ravel()
    p = np.zeros(0, "<f2") if class_p is None else np.asarray(class_p, "<f2").ravel()
    if len(idx) != len(p):
        raise ValueError(f"{len(idx)} class indices but {len(p)} probabilities")
    if not np.all(np.isfinite(p.astype(np.float32))):
        raise ValueError("class probabilities contain NaN or infinity")
    clean = {str(k): round(float(v), 3) for k, v in (facets or {}).items() if np.isfinite(v)}
    buf.visual.append(
        {
            "segment": int(segment),
            "memory": None if memory is None else int(memory),
            "source": source,
            "start": float(start),
            "end": float(end),
            "class_idx": idx.tobytes(),
            "class_p": p.tobytes(),
            "facets": json.dumps(clean, separators=(",", ":")),
        }
    )


def insert_visual(db: Database, video_id: int, buf: Buffers, ids: RowIds) -> None:
    """Insert the queued visual rows (inside the caller's transaction)."""
    if not buf.visual:
        return
    db.table("visual_rows").insert_all(
        {
            "video_id": video_id,
            "segment_id": ids.segments[r["segment"]],
            "memory_id": None if r["memory"] is None else ids.memories[r["memory"]],
            "source": r["source"],
            "start": r["start"],
            "end": r["end"],
            "class_idx": r["class_idx"],
            "class_p": r["class_p"],
            "facets": r["facets"],
        }
        for r in buf.visual
    )


def read_visual(db: Database, video_id: int) -> VisualRows:
    """Every visual row of ``video_id`` in time order (empty arrays when none)."""
    rows = list(
        db.query(
            "SELECT memory_id, segment_id, source, start, end, class_idx, class_p, facets "
            "FROM visual_rows WHERE video_id = ? ORDER BY start, id",
            [video_id],
        )
    )
    width = max((len(r["class_idx"] or b"") // 2 for r in rows), default=0)
    idx = np.full((len(rows), width), -1, np.int64)
    prob = np.zeros((len(rows), width), np.float32)
    for i, r in enumerate(rows):
        a = np.frombuffer(r["class_idx"] or b"", "<i2")
        idx[i, : len(a)] = a
        prob[i, : len(a)] = np.frombuffer(r["class_p"] or b"", "<f2")[: len(a)]
    return VisualRows(
        memory_ids=np.array([r["memory_id"] or -1 for r in rows], np.int64),
        segment_ids=np.array([r["segment_id"] for r in rows], np.int64),
        spans=np.array([[r["start"], r["end"]] for r in rows], np.float64).reshape(-1, 2),
        sources=[r["source"] for r in rows],
        class_idx=idx,
        class_p=prob,
        facets=[json.loads(r["facets"] or "{}") for r in rows],
    )
