"""KV memories in the library: per-segment KV block files, their rows, retrieval and budget.

Layout: ``<library>/kv/<fingerprint>/v<video_id>/s<segment_id>.safetensors`` where the
fingerprint is a hash of model id + revision + prompt-format version, so blocks of a
changed model (new revision, new prompt format) are never reused: :meth:`KVStore.get`
only returns rows whose three fields match, and :meth:`KVStore.drop_stale` deletes the
others of the same model. Rows live in ``kv_blocks`` (migration 3) and cascade with their
video and segment; files without a row (a re-indexed video's old blocks) are removed by
:meth:`KVStore.collect_garbage`.

Retrieval: each block has one key (its mean pre-RoPE key of a middle layer); FAISS
(inner product over unit vectors; numpy when faiss is absent) ranks a fingerprint's
blocks against a question vector (:meth:`KVStore.nearest`).

Budget: after every write the library's KV bytes are kept under ``budget_bytes`` by
deleting least-recently-used blocks (``last_used`` is bumped by every :meth:`get`).
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..config import KVConfig, from_env
from .db import now_iso
from .kv_files import load_block, save_block

if TYPE_CHECKING:
    from hourlens.models.kv_cache import KVBlock

    from .store import Store

Fingerprint = Mapping[str, str]


def fingerprint_dir(fp: Fingerprint) -> str:
    """Folder name of a fingerprint: ``sha1(model|revision|format)[:16]``."""
    raw = f"{fp['model']}|{fp['revision']}|{fp['format']}".encode()
    return hashlib.sha1(raw).hexdigest()[:16]


@dataclass(frozen=True, kw_only=True)
class KVRecord:
    """One stored KV block (a ``kv_blocks`` row)."""

    id: int
    video_id: int
    segment_id: int
    model: str
    revision: str
    format: str
    start: float
    end: float
    n_layers: int
    kv_heads: int
    n_tokens: int
    head_dim: int
    pos_start: int
    pos_next: int
    dtype: str
    window: int
    bytes: int
    path: str
    last_used: float

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _record(row: Mapping[str, Any]) -> KVRecord:
    fields = KVRecord.__dataclass_fields__
    return KVRecord(**{k: row[k] for k in fields})


class KVStore:
    """The KV memories of one library.

    Args:
        store: The library's :class:`~hourlens.memory_store.Store`.
        config: Budget and dtype; default from ``HOURLENS_KV_*``.
    """

    def __init__(self, store: Store, config: KVConfig | None = None) -> None:
        self.store = store
        self.config = config or from_env(KVConfig, prefix="HOURLENS_KV_")
        self.root = store.root / "kv"
        self._index: dict[str, tuple[int, Any, np.ndarray]] = {}

    def _db(self) -> Any:
        return self.store._db  # noqa: SLF001 - the store's own connection pool

    # -- writing -------------------------------------------------------------------------

    def put(
        self,
        fp: Fingerprint,
        *,
        video_id: int,
        segment_id: int,
        start: float,
        end: float,
        block: KVBlock,
        window: int,
        dtype: str | None = None,
    ) -> KVRecord:
        """Store one segment's block (replacing a block with the same key), then evict.

        Returns:
            The new record.
        """
        dtype = dtype or self.config.dtype
        rel = Path(fingerprint_dir(fp)) / f"v{video_id}" / f"s{segment_id}.safetensors"
        nbytes = save_block(self.root / rel, block, dtype=dtype)
        layers, heads, tokens, head_dim = block.shape
        key = None if block.key is None else np.asarray(block.key, np.float32).tobytes()
        row = {
            "video_id": video_id,
            "segment_id": segment_id,
            "model": fp["model"],
            "revision": fp["revision"],
            "format": fp["format"],
            "start": float(start),
            "end": float(end),
            "n_layers": layers,
            "kv_heads": heads,
            "n_tokens": tokens,
            "head_dim": head_dim,
            "pos_start": int(block.positions.min()) if tokens else block.next_pos,
            "pos_next": int(block.next_pos),
            "dtype": dtype,
            "window": int(window),
            "bytes": int(nbytes),
            "path": str(rel),
            "retrieval_key": key,
            "created_at": now_iso(),
            "last_used": time.time(),
        }
        with self._db().write() as db:
            db.table("kv_blocks").delete_where(
                "model = ? AND revision = ? AND format = ? AND segment_id = ?",
                [fp["model"], fp["revision"], fp["format"], segment_id],
            )
            db.table("kv_blocks").insert(row)
            row_id = db.execute("SELECT last_insert_rowid()").fetchone()[0]
        self._index.pop(fingerprint_dir(fp), None)
        self.evict()
        return _record({**row, "id": row_id})

    def evict(self, budget: int | None = None) -> int:
        """Delete least-recently-used blocks until the total is within ``budget`` bytes.

        Returns:
            Blocks deleted.
        """
        budget = self.config.budget_bytes if budget is None else budget
        db = self._db().get()
        total = int(db.execute("SELECT coalesce(sum(bytes), 0) FROM kv_blocks").fetchone()[0])
        if total <= budget:
            return 0
        victims: list[tuple[int, str]] = []
        for r in db.execute("SELECT id, bytes, path FROM kv_blocks ORDER BY last_used, id"):
            if total <= budget:
                break
            victims.append((r["id"], r["path"]))
            total -= int(r["bytes"])
        self._delete(victims)
        return len(victims)

    def _delete(self, victims: Sequence[tuple[int, str]]) -> None:
        if not victims:
            return
        with self._db().write() as db:
            for row_id, _ in victims:
                db.execute("DELETE FROM kv_blocks WHERE id = ?", [row_id])
        for _, rel in victims:
            with contextlib.suppress(OSError):
                (self.root / rel).unlink()
        self._index.clear()

    def drop(self, *, video_id: int | None = None, model: str | None = None) -> int:
        """Delete blocks of one video and/or model (all blocks when both are None).

        Returns:
            Blocks deleted.
        """
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if video_id is not None:
            where.append("video_id = ?")
            args.append(video_id)
        if model is not None:
            where.append("model = ?")
            args.append(model)
        rows = (
            self._db()
            .get()
            .execute(f"SELECT id, path FROM kv_blocks WHERE {' AND '.join(where)}", args)
        )
        victims = [(r["id"], r["path"]) for r in rows]
        self._delete(victims)
        self.collect_garbage()
        return len(victims)

    def drop_stale(self, fp: Fingerprint) -> int:
        """Delete blocks of ``fp``'s model made with another revision or prompt format."""
        rows = (
            self._db()
            .get()
            .execute(
                "SELECT id, path FROM kv_blocks WHERE model = ? AND (revision != ? OR format != ?)",
                [fp["model"], fp["revision"], fp["format"]],
            )
        )
        victims = [(r["id"], r["path"]) for r in rows]
        self._delete(victims)
        return len(victims)

    def collect_garbage(self) -> int:
        """Remove block files that have no row (deleted videos, re-indexed segments)."""
        if not self.root.is_dir():
            return 0
        known = {r["path"] for r in self._db().get().execute("SELECT path FROM kv_blocks")}
        removed = 0
        for f in self.root.rglob("*.safetensors"):
            if str(f.relative_to(self.root)) not in known:
                with contextlib.suppress(OSError):
                    f.unlink()
                    removed += 1
        for d in sorted((p for p in self.root.rglob("*") if p.is_dir()), reverse=True):
            with contextlib.suppress(OSError):
                d.rmdir()  # only empty folders go
        if not any(self.root.iterdir()):
            shutil.rmtree(self.root, ignore_errors=True)
        return removed

    # -- reading -------------------------------------------------------------------------

    def records(
        self, fp: Fingerprint | None = None, *, video_id: int | None = None
    ) -> list[KVRecord]:
        """Stored blocks (of one fingerprint and/or video), in time order."""
        where: list[str] = ["1 = 1"]
        args: list[Any] = []
        if fp is not None:
            where.append("model = ? AND revision = ? AND format = ?")
            args += [fp["model"], fp["revision"], fp["format"]]
        if video_id is not None:
            where.append("video_id = ?")
            args.append(video_id)
        sql = f"SELECT * FROM kv_blocks WHERE {' AND '.join(where)} ORDER BY video_id, start"
        return [_record(r) for r in self._db().get().execute(sql, args)]

    def get(
        self,
        fp: Fingerprint,
        segment_ids: Sequence[int],
        *,
        device: str = "cpu",
        dtype: Any = None,
    ) -> list[tuple[KVRecord, KVBlock]]:
        """Load the blocks of ``segment_ids`` that exist for ``fp``, in time order.

        Segments without a block are left out (the caller prefills them or does without).
        Loading bumps ``last_used``.
        """
        if not segment_ids:
            return []
        marks = ",".join("?" * len(segment_ids))
        rows = (
            self._db()
            .get()
            .execute(
                f"SELECT * FROM kv_blocks WHERE model = ? AND revision = ? AND format = ? "
                f"AND segment_id IN ({marks}) ORDER BY start, segment_id",
                [fp["model"], fp["revision"], fp["format"], *segment_ids],
            )
        )
        out = []
        for r in [_record(r) for r in rows]:
            path = self.root / r.path
            if path.is_file():
                out.append((r, load_block(path, device=device, dtype=dtype)))
        if out:
            with self._db().write() as db:
                stamp = time.time()
                for r, _ in out:
                    db.execute("UPDATE kv_blocks SET last_used = ? WHERE id = ?", [stamp, r.id])
        return out

    def nearest(
        self, fp: Fingerprint, query: np.ndarray, *, k: int = 8, video_id: int | None = None
    ) -> list[tuple[int, float]]:
        """Blocks of ``fp`` whose retrieval keys best match ``query`` (inner product).

        Returns:
            ``(segment_id, score)`` pairs, best first.
        """
        name = fingerprint_dir(fp)
        db = self._db().get()
        count = int(
            db.execute(
                "SELECT count(*) FROM kv_blocks WHERE model = ? AND revision = ? AND format = ?",
                [fp["model"], fp["revision"], fp["format"]],
            ).fetchone()[0]
        )
        cached = self._index.get(name)
        if cached is None or cached[0] != count:
            rows = list(
                db.execute(
                    "SELECT segment_id, video_id, retrieval_key FROM kv_blocks WHERE model = ? "
                    "AND revision = ? AND format = ? AND retrieval_key IS NOT NULL",
                    [fp["model"], fp["revision"], fp["format"]],
                )
            )
            meta = np.array([(r["segment_id"], r["video_id"]) for r in rows], np.int64)
            vecs = (
                np.stack([np.frombuffer(r["retrieval_key"], np.float32) for r in rows])
                if rows
                else None
            )
            cached = self._index[name] = (count, _ann(vecs), meta.reshape(-1, 2))
        _, index, meta = cached
        if index is None or not len(meta):
            return []
        q = np.asarray(query, np.float32).reshape(1, -1)
        scores, idx = index.search(q, len(meta))
        out = []
        for s, i in zip(scores[0], idx[0], strict=True):
            if i < 0 or (video_id is not None and meta[i, 1] != video_id):
                continue
            out.append((int(meta[i, 0]), float(s)))
            if len(out) >= k:
                break
        return out

    def stats(self) -> dict[str, Any]:
        """Blocks, tokens and bytes per model, and the budget."""
        db = self._db().get()
        models = [
            dict(r)
            for r in db.execute(
                "SELECT model, revision, format, dtype, count(*) AS blocks, "
                "count(DISTINCT video_id) AS videos, sum(n_tokens) AS tokens, "
                'sum(bytes) AS bytes, sum("end" - start) AS seconds FROM kv_blocks '
                "GROUP BY model, revision, format, dtype ORDER BY model"
            )
        ]
        for m in models:
            m["bytes_per_block"] = int(m["bytes"] / max(1, m["blocks"]))
            m["bytes_per_hour"] = int(m["bytes"] * 3600 / max(1e-9, m["seconds"] or 0.0))
        total = sum(int(m["bytes"]) for m in models)
        return {
            "blocks": sum(int(m["blocks"]) for m in models),
            "bytes": total,
            "budget_bytes": self.config.budget_bytes,
            "models": models,
        }


class _NumpyIndex:
    def __init__(self, vecs: np.ndarray) -> None:
        self.vecs = vecs

    def search(self, q: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        s = q @ self.vecs.T
        order = np.argsort(-s, axis=1)[:, :k]
        return np.take_along_axis(s, order, axis=1), order


def _ann(vecs: np.ndarray | None) -> Any:
    """A FAISS inner-product index over ``vecs`` (numpy fallback without faiss)."""
    if vecs is None:
        return None
    vecs = np.ascontiguousarray(vecs, dtype=np.float32)
    try:
        import faiss
    except ImportError:
        return _NumpyIndex(vecs)
    index = faiss.IndexFlatIP(vecs.shape[1])
    index.add(vecs)
    return index
