"""``VideoWriter``: streams one video's index into the store and commits it atomically.

Crash safety rests on the order of operations in :meth:`VideoWriter.commit`:

1. frame features are already in ``staging/<token>/frames.raw`` (streamed); the float16
   vector files and keyframes are written into ``staging/<token>/`` and fsynced;
2. ``BEGIN IMMEDIATE``; the previous rows of the path are deleted (cascade) and the new
   rows inserted; the id/span arrays and the manifest are written and fsynced;
3. ``staging/<token>`` is renamed (``os.replace``) to ``shards/v<id>-<token>``;
4. ``COMMIT`` — the only moment the library switches from the old index to the new one;
5. the old shard folder is deleted, then the writer's lock is released.

A ``kill -9`` before 4 leaves the old rows and the old shard untouched, plus an orphan
``indexing`` row, staging folder and maybe an unreferenced shard, all removed by
:meth:`Store.recover` once the writer's lock is free. A kill after 4 leaves at most the
old shard, equally unreferenced and removed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..types import Video
from . import text_items
from .db import now_iso
from .persist import (
    Buffers,
    finish_run,
    insert_rows,
    replace_video_row,
    write_metadata,
    write_vectors,
)
from .staging import FrameSpill, TokenLock, fsync_path
from .text_items import TextMemoriesMixin
from .visual_rows import buffer_row, insert_visual

if TYPE_CHECKING:
    from .store import Store


class VideoWriter(TextMemoriesMixin):
    """Writes one video; returned by :meth:`Store.begin_video` (use it as a context manager).

    ``video_id`` is the id the video will have once committed: a re-indexed path keeps its
    id. Segment, memory and text keys returned by the ``add_*`` methods are provisional
    (positions in this writer), valid only as arguments of this writer.
    """

    def __init__(
        self,
        store: Store,
        *,
        path: str,
        size: int,
        mtime: float,
        content_hash: str,
        token: str,
        lock: TokenLock,
        video_id: int,
        row_id: int,
        run_id: int,
    ) -> None:
        self._store = store
        self.path, self.size, self.mtime, self.content_hash = path, size, mtime, content_hash
        self.video_id = video_id
        self.token = token
        self._lock = lock
        self._row_id = row_id
        self._run_id = run_id
        self._t0 = time.perf_counter()
        self._dir = store.staging_dir / token
        self._thumbs = self._dir / "thumbs"
        self._thumbs.mkdir(parents=True, exist_ok=True)
        self._spill = FrameSpill(self._dir / "frames.raw")
        self._buf = Buffers()
        self._mem_dim = 0
        self._text_dim = 0
        self._text_encoder: str | None = None
        self._done = False

    @property
    def shard_name(self) -> str:
        """Folder name the shard gets under ``shards/``."""
        return f"v{self.video_id}-{self.token}"

    @property
    def scratch_dir(self) -> Path:
        """A scratch folder for the caller, deleted at commit/abort (or by recovery)."""
        d = self._store.staging_dir / f"{self.token}.scratch"
        d.mkdir(exist_ok=True)
        return d

    @property
    def n_frames(self) -> int:
        """Frames appended so far."""
        return self._spill.n

    def _check_open(self) -> None:
        if self._done:
            raise RuntimeError("this VideoWriter has already been committed or aborted")

    def _check_segment(self, segment: int) -> int:
        if not 0 <= int(segment) < len(self._buf.segments):
            raise ValueError(f"unknown segment key {segment}")
        return int(segment)

    # -- visual memories -----------------------------------------------------------------

    def append_frames(self, times: np.ndarray, features: np.ndarray) -> None:
        """Stream frame features (float16 on disk; only the times stay in memory).

        Args:
            times: ``(n,)`` seconds, non-decreasing across calls.
            features: ``(n, dim)`` L2-normalised features; ``dim`` fixed by the first call.
        """
        self._check_open()
        self._spill.append(times, features)

    def frame_features(self, i0: int, i1: int) -> np.ndarray:
        """Frames ``[i0, i1)`` read back as float32 ``(i1 - i0, dim)``."""
        self._check_open()
        return self._spill.read(i0, i1)

    def add_segment(
        self,
        *,
        index: int,
        start: float,
        end: float,
        n_frames: int,
        depth: float,
        alpha: float,
        budget: int,
    ) -> int:
        """Add a segment; returns its provisional key."""
        self._check_open()
        if end < start:
            raise ValueError(f"segment ends ({end}) before it starts ({start})")
        self._buf.segments.append(
            {
                "index": int(index),
                "start": float(start),
                "end": float(end),
                "n_frames": int(n_frames),
                "depth": float(depth),
                "alpha": float(alpha),
                "budget": int(budget),
            }
        )
        return len(self._buf.segments) - 1

    def add_memory(
        self,
        *,
        segment: int,
        kind: str,
        start: float,
        end: float,
        n_frames: int,
        vector: np.ndarray,
        tags: Iterable[tuple[str, float]] = (),
    ) -> int:
        """Add a feature memory (``kind="feature"``) or summary token (``"summary"``).

        Args:
            segment: Provisional segment key.
            kind: ``feature`` or ``summary``.
            start: Span start (seconds).
            end: Span end.
            n_frames: Frames merged into it.
            vector: ``(dim,)`` vector, the same dim for every memory of the video.
            tags: ``(label, score)`` pairs attached to this memory.

        Returns:
            The memory's provisional key.
        """
        self._check_open()
        seg = self._check_segment(segment)
        if kind not in ("feature", "summary"):
            raise ValueError(f"memory kind must be 'feature' or 'summary', got {kind!r}")
        v = np.asarray(vector, dtype=np.float32).reshape(-1)
        if self._mem_dim and v.shape[0] != self._mem_dim:
            raise ValueError(f"memory dim {v.shape[0]} differs from {self._mem_dim}")
        if not np.all(np.isfinite(v)):
            raise ValueError("memory vector contains NaN or infinity")
        self._mem_dim = v.shape[0]
        key = len(self._buf.memories)
        self._buf.memories.append(
            {
                "segment": seg,
                "kind": kind,
                "start": float(start),
                "end": float(end),
                "n_frames": int(n_frames),
            }
        )
        self._buf.mem_vectors.append(v)
        self._add_tags(seg, key, tags, float(start), float(end))
        return key

    def add_segment_tags(self, segment: int, tags: Iterable[tuple[str, float]]) -> None:
        """Attach ``(label, score)`` tags to a whole segment."""
        self._check_open()
        seg = self._check_segment(segment)
        s = self._buf.segments[seg]
        self._add_tags(seg, None, tags, s["start"], s["end"])

    def _add_tags(
        self,
        seg: int,
        memory: int | None,
        tags: Iterable[tuple[str, float]],
        start: float,
        end: float,
    ) -> None:
        for label, score in tags:
            label = text_items.clean_text(label, "a tag label")
            self._buf.tags.append(
                {
                    "segment": seg,
                    "memory": memory,
                    "label": label,
                    "score": float(score),
                    "start": start,
                    "end": end,
                }
            )

    def add_visual(
        self,
        *,
        segment: int,
        memory: int | None,
        source: str,
        start: float,
        end: float,
        class_idx: np.ndarray | None = None,
        class_p: np.ndarray | None = None,
        facets: dict[str, float] | None = None,
    ) -> None:
        """Attach what the frame encoder and the pixel facets saw to a memory or a crop.

        Args:
            segment: Provisional segment key.
            memory: Provisional memory key (None for a row of its own, e.g. a crop).
            source: ``memory`` or ``crop:<name>``.
            start: Span start (seconds).
            end: Span end.
            class_idx: Top class indices (sparse), or None for a classifier-less encoder.
            class_p: Their probabilities.
            facets: Facet name -> value in [0, 1].
        """
        self._check_open()
        seg = self._check_segment(segment)
        if memory is not None and not 0 <= int(memory) < len(self._buf.memories):
            raise ValueError(f"unknown memory key {memory}")
        buffer_row(
            self._buf,
            segment=seg,
            memory=memory,
            source=source,
            start=start,
            end=end,
            class_idx=class_idx,
            class_p=class_p,
            facets=facets,
        )

    def add_keyframe(self, *, segment: int, t: float, jpeg: bytes) -> None:
        """Store a JPEG thumbnail of the frame at ``t`` for a segment."""
        self._check_open()
        seg = self._check_segment(segment)
        name = f"{len(self._buf.keyframes)}.jpg"
        (self._thumbs / name).write_bytes(jpeg)
        self._buf.keyframes.append({"segment": seg, "t": float(t), "name": name})

    # -- commit / abort ------------------------------------------------------------------

    def commit(
        self,
        *,
        duration: float,
        fps: float,
        width: int,
        height: int,
        encoder: str,
        encoder_dim: int,
        stats: dict[str, Any] | None = None,
        partial: str | None = None,
    ) -> Video:
        """Publish the video atomically, replacing any previous index of its path.

        Args:
            partial: Why only part of the file is indexed (None: all of it); the video
                is then listed as ``partial`` and still searchable.

        Returns:
            The committed video (status ``indexed``, or ``partial``).
        """
        self._check_open()
        store, staged = self._store, self._dir
        frame_times = self._spill.times()
        if self._spill.n:
            self._spill.write_npy(staged / "frames.f16.npy")
        self._spill.close()
        (staged / "frames.raw").unlink(missing_ok=True)
        dims = write_vectors(staged, self._buf)
        for p in self._thumbs.iterdir():
            fsync_path(p)
        final = store.shards_dir / self.shard_name
        renamed = False
        old_shards: list[str] = []
        seconds = time.perf_counter() - self._t0
        try:
            with store._db.write() as db:
                stamp = now_iso()
                old_shards = replace_video_row(
                    db,
                    self._row_id,
                    {
                        "id": self.video_id,
                        "path": self.path,
                        "content_hash": self.content_hash,
                        "size": self.size,
                        "mtime": self.mtime,
                        "duration": float(duration),
                        "fps": float(fps),
                        "width": int(width),
                        "height": int(height),
                        "status": "indexed",
                        "partial": partial or None,
                        "encoder": encoder,
                        "encoder_dim": int(encoder_dim),
                        "text_encoder": self._text_encoder,
                        "shard": self.shard_name,
                        "indexed_at": stamp,
                        "updated_at": stamp,
                    },
                )
                ids, lookup = insert_rows(
                    db, self.video_id, self._buf, f"shards/{self.shard_name}/thumbs"
                )
                insert_visual(db, self.video_id, self._buf, ids)
                write_metadata(
                    staged,
                    self._buf,
                    ids,
                    lookup,
                    frame_times=frame_times,
                    frame_dim=self._spill.dim,
                    duration=float(duration),
                    dims=dims,
                    manifest={
                        "video_id": self.video_id,
                        "encoder": encoder,
                        "text_encoder": self._text_encoder,
                    },
                )
                fsync_path(staged)
                finish_run(
                    db, self._run_id, at=stamp, status="indexed", seconds=seconds, stats=stats or {}
                )
                os.replace(staged, final)
                renamed = True
                fsync_path(store.shards_dir)
        except BaseException:
            if renamed:
                shutil.rmtree(final, ignore_errors=True)
            raise
        self._finish()
        for name in old_shards:
            if name != self.shard_name:
                shutil.rmtree(store.shards_dir / name, ignore_errors=True)
        store._vectors.invalidate()
        self._release()
        return store._video(self.video_id)

    def abort(self, error: str | None = None) -> None:
        """Discard everything written; with ``error``, record the file as failed.

        See :meth:`Store.mark_failed` for what happens to a previous index of the path.
        Idempotent.
        """
        if self._done:
            return
        self._finish()
        store = self._store
        try:
            with store._db.write() as db:
                db.table("videos").delete_where("id = ? AND status = 'indexing'", [self._row_id])
                finish_run(
                    db,
                    self._run_id,
                    at=now_iso(),
                    status="failed" if error else "aborted",
                    seconds=time.perf_counter() - self._t0,
                    stats={"error": error},
                )
            if error:
                store.mark_failed(
                    self.path,
                    size=self.size,
                    mtime=self.mtime,
                    content_hash=self.content_hash,
                    error=error,
                    video_id=self.video_id,
                )
        finally:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._release()

    def _finish(self) -> None:
        self._done = True
        self._spill.close()

    def _release(self) -> None:
        shutil.rmtree(self._store.staging_dir / f"{self.token}.scratch", ignore_errors=True)
        self._lock.release()

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if self._done:
            return
        if isinstance(exc, Exception):
            with contextlib.suppress(Exception):
                self.abort(str(exc) or type(exc).__name__)
        else:  # no exception (commit never called), or KeyboardInterrupt/SystemExit
            with contextlib.suppress(Exception):
                self.abort(None)
