"""``Store``: the library folder — SQLite source of truth, vector shards, thumbnails.

Layout under ``root``: ``library.db`` (WAL), ``shards/v<video_id>-<token>/`` (one
immutable folder per indexed video: vectors + ``thumbs/``), ``index/`` (saved ANN
indexes), ``staging/`` (writes in progress). Reads are thread-safe (a SQLite connection
per thread) and may run in other processes while a writer commits.

Failure policy (:meth:`Store.mark_failed`): if the file's content is unchanged (same
hash as its ``indexed`` row), a failed re-index keeps the good index and only logs the
run; otherwise the old rows and shard are removed and the path gets a ``failed`` row
(keeping its id), since the old index describes content that is no longer there.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
from sqlite_utils.db import Table

from ..config import StoreConfig, from_env
from ..errors import HourlensError, NotIndexedError
from ..paths import resolve_path
from ..types import Video
from . import queries
from .catalog import match_videos, not_indexed_message, visible_rows
from .db import Connections, first_row, now_iso
from .kv import KVStore
from .migrations import migrate
from .reads import StoreReads
from .records import VectorHit
from .recovery import recover
from .shards import check_kind, read_kind
from .staging import TokenLock, new_token, shard_name
from .vectors import ShardRef, VectorIndex
from .writer import VideoWriter


def _norm(path: str | os.PathLike[str]) -> str:
    return str(resolve_path(path))


def _last_rowid(table: Table) -> int:
    """The row id of ``table``'s last ``insert``."""
    if table.last_rowid is None:  # pragma: no cover - an INSERT always sets it
        raise HourlensError(f"no row id after inserting into {table.name}")
    return table.last_rowid


class Store(StoreReads):
    """A library of indexed videos.

    Args:
        root: Library folder (created if missing).
        config: Vector index settings; default from ``HOURLENS_*`` env vars.

    Example:
        >>> with Store("/tmp/lib") as st:           # doctest: +SKIP
        ...     st.videos("indexed")
    """

    def __init__(self, root: str | Path, *, config: StoreConfig | None = None) -> None:
        self.root = resolve_path(root)
        self.config = config or from_env(StoreConfig)
        for d in (self.root, self.shards_dir, self.staging_dir, self.index_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._db = Connections(self.root / "library.db")
        self.schema_version = migrate(self._db.get())
        self._vectors = VectorIndex(self.root, self.config)
        self._shards_memo: dict[tuple[str, tuple[Any, ...]], tuple[Any, list[ShardRef]]] = {}
        self.recover()

    @functools.cached_property
    def kv(self) -> KVStore:
        """The library's KV memories (per-segment prefilled LMM caches, :mod:`.kv`)."""
        return KVStore(self)

    def close(self) -> None:
        """Close every database connection (idempotent)."""
        self._db.close_all()
        self._vectors.invalidate()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def recover(self) -> dict[str, int]:
        """Remove leftovers of crashed writers (see :mod:`.recovery`); runs at open."""
        return recover(self)

    # -- videos --------------------------------------------------------------------------

    def _row(self, video_id: int) -> dict[str, Any] | None:
        return first_row(self._db.get().table("videos"), "id = ?", [video_id])

    def _video(self, video_id: int) -> Video:
        """The video of a row just written (by this thread)."""
        row = self._row(video_id)
        if row is None:  # pragma: no cover - only a concurrent removal gets here
            raise NotIndexedError(f"video {video_id} was removed meanwhile")
        return queries.video_from_row(row)

    def get_video(self, ref: str | int) -> Video | None:
        """A video by id, path, or unique file name / path suffix / file stem.

        Returns:
            The video (any status), or ``None`` when nothing or several match.
        """
        rows = match_videos(self._db.get(), ref, _norm)
        return queries.video_from_row(rows[0]) if len(rows) == 1 else None

    def resolve_video(self, ref: str | int) -> Video:
        """Like :meth:`get_video`, for a video that is fully indexed.

        Raises:
            NotIndexedError: No (or several) matches, or the video is not ``indexed``;
                the message lists candidates or close names.
        """
        db = self._db.get()
        rows = match_videos(db, ref, _norm)
        if len(rows) == 1 and rows[0]["status"] == "indexed":
            return queries.video_from_row(rows[0])
        raise NotIndexedError(not_indexed_message(db, ref, rows))

    def videos(self, status: str | Collection[str] | None = None) -> list[Video]:
        """Videos ordered by path, optionally only those with a status (or one of several:
        :data:`~hourlens.types.READY_STATUSES` gives every searchable video).

        An ``indexing`` row that shadows the previous index of the same path (re-index in
        progress) is listed only when ``indexing`` is asked for.
        """
        wanted = None if status is None else {status} if isinstance(status, str) else set(status)
        shadows = wanted is not None and "indexing" in wanted
        rows = visible_rows(self._db.get(), include_shadows=shadows)
        videos = [queries.video_from_row(r) for r in rows]
        return [v for v in videos if wanted is None or v.status in wanted]

    def lookup_unchanged(self, path: str | Path, size: int, mtime: float) -> Video | None:
        """The ``indexed`` video of ``path`` if its size and mtime are unchanged."""
        row = first_row(
            self._db.get().table("videos"),
            "path = ? AND status = 'indexed' AND size = ? AND abs(mtime - ?) < 1e-6",
            [_norm(path), int(size), float(mtime)],
        )
        return None if row is None else queries.video_from_row(row)

    def lookup_hash(
        self,
        path: str | Path,
        content_hash: str,
        *,
        size: int | None = None,
        mtime: float | None = None,
    ) -> Video | None:
        """The ``indexed`` video of ``path`` if its content hash is unchanged.

        Its stored size/mtime are then refreshed (given, or read from the file), so the
        next :meth:`lookup_unchanged` succeeds without hashing.
        """
        p = _norm(path)
        with self._db.write() as db:
            videos = db.table("videos")
            row = first_row(
                videos, "path = ? AND status = 'indexed' AND content_hash = ?", [p, content_hash]
            )
            if row is None or not content_hash:
                return None
            if size is None or mtime is None:
                try:
                    st = os.stat(p)
                    size, mtime = (
                        st.st_size if size is None else size,
                        (st.st_mtime if mtime is None else mtime),
                    )
                except OSError:
                    size, mtime = row["size"], row["mtime"]
            videos.update(
                row["id"], {"size": int(size), "mtime": float(mtime), "updated_at": now_iso()}
            )
        return self._video(row["id"])

    def mark_failed(
        self,
        path: str | Path,
        *,
        size: int,
        mtime: float,
        content_hash: str,
        error: str,
        video_id: int | None = None,
    ) -> None:
        """Record that ``path`` could not be indexed (see the module's failure policy).

        Args:
            path: The video file.
            size: File size.
            mtime: File mtime.
            content_hash: File content hash ("" if unknown).
            error: One-line reason.
            video_id: Preferred id for a new ``failed`` row (the writer's id).
        """
        p = _norm(path)
        stamp = now_iso()
        with self._db.write() as db:
            videos = db.table("videos")
            row = first_row(videos, "path = ? AND status != 'indexing'", [p])
            if (
                row is not None
                and row["status"] == "indexed"
                and content_hash
                and row["content_hash"] == content_hash
            ):
                db.table("index_runs").insert(
                    {
                        "started_at": stamp,
                        "finished_at": stamp,
                        "video_id": row["id"],
                        "path": p,
                        "status": "failed",
                        "stats": json.dumps({"error": error, "kept_index": 1}),
                    }
                )
                return
            vid = row["id"] if row is not None else video_id
            if row is None and vid is not None and self._row(vid) is not None:
                vid = None
            videos.delete_where("path = ? AND status != 'indexing'", [p])
            videos.insert(
                {
                    "id": vid,
                    "path": p,
                    "content_hash": content_hash or "",
                    "size": int(size),
                    "mtime": float(mtime),
                    "status": "failed",
                    "error": error,
                    "updated_at": stamp,
                }
            )
        if row is not None and row["shard"]:
            shutil.rmtree(self.shards_dir / row["shard"], ignore_errors=True)
            self._vectors.invalidate()

    def remove_video(self, ref: str | int) -> Video:
        """Forget a video: rows, vectors, thumbnails.

        Raises:
            NotIndexedError: ``ref`` matches no video (or several).
        """
        db = self._db.get()
        rows = match_videos(db, ref, _norm)
        if len(rows) != 1:
            raise NotIndexedError(not_indexed_message(db, ref, rows))
        video = queries.video_from_row(rows[0])
        with self._db.write() as wdb:
            wdb.table("videos").delete_where("id = ?", [video.id])
        if rows[0]["status"] != "indexing" and rows[0]["shard"]:
            shutil.rmtree(self.shards_dir / rows[0]["shard"], ignore_errors=True)
        self._vectors.invalidate()
        return video

    def begin_video(
        self, path: str | Path, *, size: int, mtime: float, content_hash: str
    ) -> VideoWriter:
        """Start (re-)indexing ``path``; the previous index stays live until commit.

        Raises:
            HourlensError: A live writer (this or another process) is indexing ``path``.
        """
        p = _norm(path)
        if self._db.get().table("videos").count_where("path = ? AND status = 'indexing'", [p]):
            self.recover()  # a crashed writer's row is removed; a live one's stays
        token = new_token()
        lock = TokenLock.try_acquire(self.staging_dir, token)
        if lock is None:  # pragma: no cover - 48 random bits
            raise HourlensError("could not lock a new staging token")
        try:
            (self.staging_dir / token).mkdir()
            with self._db.write() as db:
                videos = db.table("videos")
                if videos.count_where("path = ? AND status = 'indexing'", [p]):
                    raise HourlensError(f"{p} is already being indexed by another process")
                old = first_row(videos, "path = ? AND status != 'indexing'", [p])
                row_id = _last_rowid(
                    videos.insert(
                        {
                            "path": p,
                            "content_hash": content_hash or "",
                            "size": int(size),
                            "mtime": float(mtime),
                            "status": "indexing",
                            "updated_at": now_iso(),
                        }
                    )
                )
                vid: int = old["id"] if old is not None else row_id
                videos.update(row_id, {"shard": shard_name(vid, token)})
                run_id = _last_rowid(
                    db.table("index_runs").insert(
                        {"started_at": now_iso(), "video_id": vid, "path": p, "status": "running"}
                    )
                )
        except BaseException:
            shutil.rmtree(self.staging_dir / token, ignore_errors=True)
            lock.release()
            raise
        return VideoWriter(
            self,
            path=p,
            size=int(size),
            mtime=float(mtime),
            content_hash=content_hash or "",
            token=token,
            lock=lock,
            video_id=vid,
            row_id=row_id,
            run_id=run_id,
        )

    # -- vectors -------------------------------------------------------------------------

    def _shard(self, video_id: int) -> ShardRef:
        row = self._row(video_id)
        if row is None or row["status"] != "indexed" or not row["shard"]:
            raise NotIndexedError(f"video {video_id} is not an indexed video of this library")
        return ShardRef(video_id, row["shard"], self.shards_dir / row["shard"])

    def _library_shards(self, where: str, params: list[Any]) -> list[ShardRef]:
        """The shards of the videos ``where`` selects; the same list object while the
        database is unchanged (SQLite's ``data_version`` for other connections' commits,
        ``total_changes`` for this one's), so a 10,000-video library does not re-read
        10,000 rows and rebuild their refs and the index key on every query (measured
        108-174 ms per ``nearest`` at 10,000 h before, under 1 ms after)."""
        db = self._db.get()
        conn = db.conn
        version = (id(conn), conn.execute("PRAGMA data_version").fetchone()[0], conn.total_changes)
        key = (where, tuple(params))
        memo = self._shards_memo.get(key)
        if memo is not None and memo[0] == version:
            return memo[1]
        rows = db.execute(f"SELECT id, shard FROM videos WHERE {where}", params).fetchall()
        shards = [ShardRef(int(i), str(s), self.shards_dir / s) for i, s in rows]
        if len(self._shards_memo) > 8:
            self._shards_memo.clear()
        self._shards_memo[key] = (version, shards)
        return shards

    def nearest(
        self,
        kind: str,
        vector: np.ndarray,
        *,
        k: int = 10,
        video_id: int | None = None,
        encoder: str | None = None,
    ) -> list[VectorHit]:
        """Vectors most similar (cosine) to ``vector``.

        Args:
            kind: ``frames``, ``memories``, ``summaries`` or ``texts``.
            vector: The query, ``(dim,)``; only shards of that dim are searched.
            k: Number of hits.
            video_id: Search one video (exact).
            encoder: Only videos whose frame encoder (``texts``: text encoder) has this name.

        Raises:
            ValueError: Unknown kind or a zero/non-finite query.
            NotIndexedError: ``video_id`` is not indexed.
            MissingDependencyError: Library-wide search without faiss.
        """
        check_kind(kind)
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.size == 0 or not np.all(np.isfinite(q)) or not np.any(q):
            raise ValueError("the query vector is empty, zero or not finite")
        if k < 1:
            return []
        for attempt in range(2):
            try:
                if video_id is not None:
                    return self._vectors.search_shard(self._shard(video_id), kind, q, k)
                col = "text_encoder" if kind == "texts" else "encoder"
                where = "status = 'indexed' AND shard IS NOT NULL"
                params: list[Any] = []
                if encoder is not None:
                    where, params = where + f" AND {col} = ?", [encoder]
                shards = self._library_shards(where, params)
                return self._vectors.search_library(shards, kind, q, k)
            except FileNotFoundError:  # a shard replaced by a concurrent commit: re-read
                if attempt:
                    raise
        return []  # pragma: no cover

    def vectors(self, video_id: int, kind: str) -> tuple[np.ndarray, np.ndarray]:
        """Row ids ``(n,)`` int64 and vectors ``(n, dim)`` float32 of one video and kind."""
        check_kind(kind)
        arrays = read_kind(self._shard(video_id).folder, kind)
        if arrays is None or arrays.vectors is None:
            return np.zeros(0, np.int64), np.zeros((0, 0), np.float32)
        return arrays.ids.copy(), np.asarray(arrays.vectors, dtype=np.float32)

    def frame_times(self, video_id: int) -> np.ndarray:
        """Times (seconds) of a video's sampled frames."""
        arrays = read_kind(self._shard(video_id).folder, "frames", vectors=False)
        return np.zeros(0) if arrays is None else arrays.spans[:, 0].copy()
