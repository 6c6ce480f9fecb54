"""Nearest-neighbour search over vector shards with FAISS.

- One video: exact inner product over that shard (numpy; no FAISS needed).
- The library: a FAISS index over the union of the shards whose ``kind`` has the query's
  dimension (videos indexed with different encoders never mix). ``IndexFlatIP`` (exact)
  below ``StoreConfig.ann_threshold`` vectors, ``IndexHNSWFlat`` above, or whatever
  ``StoreConfig.index_type`` forces (``flat``/``hnsw``/``ivf``). Built on demand and cached
  in-process under a key of (kind, dim, index type, the set of ``(video_id, shard)``), so
  any commit or removal changes the key. ANN indexes are also saved to
  ``index/<kind>-d<dim>-<key>.faiss`` for later processes.
- GPU: with ``use_gpu`` and a GPU visible to faiss, indexes are moved with
  ``faiss.index_cpu_to_all_gpus`` (HNSW has no GPU version: ``auto`` uses IVF there).

All vectors are L2-normalised, so scores are cosine similarities.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import StoreConfig
from ..errors import MissingDependencyError
from .ann import (
    COMPRESSED,
    CompressedParams,
    RowReader,
    build_compressed,
    compressed_params,
    index_parts,
    rerank,
    set_search_params,
)
from .records import VectorHit
from .shards import CODE_TO_TEXT_KIND, KindArrays, kind_dim, normalise, read_kind

log = logging.getLogger("hourlens.memory_store")

HNSW_M = 32
HNSW_EF_CONSTRUCTION = 80
KEEP_INDEX_FILES = 4


def require_faiss() -> Any:
    """Import faiss.

    Raises:
        MissingDependencyError: faiss is not installed.
    """
    try:
        import faiss
    except ImportError as exc:
        raise MissingDependencyError(
            "faiss-cpu", extra="cpu", purpose="vector search over the library"
        ) from exc
    return faiss


@dataclass(frozen=True)
class ShardRef:
    """An indexed video's shard folder."""

    video_id: int
    name: str
    folder: Path


@dataclass
class _Built:
    index: Any
    kind: str
    video_ids: np.ndarray
    arrays: KindArrays
    index_type: str
    on_gpu: bool = False
    params: CompressedParams | None = None  # compressed kinds: re-ranked from the shards
    offsets: np.ndarray | None = None  # first global row of each shard, then the total
    reader: RowReader | None = None


def _hits(
    kind: str, scores: np.ndarray, rows: np.ndarray, video_ids: np.ndarray, arrays: KindArrays
) -> list[VectorHit]:
    out: list[VectorHit] = []
    for score, i in zip(scores.tolist(), rows.tolist(), strict=True):
        if i < 0:
            continue
        seg = int(arrays.segs[i])
        tk = arrays.text_kinds
        out.append(
            VectorHit(
                kind=kind,  # type: ignore[arg-type]
                video_id=int(video_ids[i]),
                row_id=int(arrays.ids[i]),
                start=float(arrays.spans[i, 0]),
                end=float(arrays.spans[i, 1]),
                score=float(score),
                segment_id=None if seg < 0 else seg,
                text_kind=CODE_TO_TEXT_KIND.get(int(tk[i])) if tk is not None else None,  # type: ignore[arg-type]
            )
        )
    return out


class VectorIndex:
    """Vector search over a library's shards (thread-safe).

    Args:
        root: The library folder (ANN indexes persist in ``root/index``).
        config: Index type, ANN threshold, GPU use.
    """

    def __init__(self, root: Path, config: StoreConfig) -> None:
        self.root = root
        self.config = config
        self._lock = threading.RLock()
        self._built: OrderedDict[str, _Built] = OrderedDict()
        self._dims: dict[tuple[str, str], int] = {}
        self._dense: OrderedDict[tuple[str, str], tuple[np.ndarray, KindArrays]] = OrderedDict()
        # (kind, dim) -> (the caller's shard list, its usable shards, their identity)
        self._usable: dict[tuple[str, int], tuple[list[ShardRef], list[ShardRef], str]] = {}

    def invalidate(self) -> None:
        """Forget every cached index and array (cheap; they are rebuilt on demand)."""
        with self._lock:
            self._built.clear()
            self._dense.clear()
            self._usable.clear()

    def dim_of(self, shard: ShardRef, kind: str) -> int:
        """Dimension of ``kind`` in ``shard`` (0 when absent); shards are immutable."""
        key = (shard.name, kind)
        with self._lock:
            if key not in self._dims:
                self._dims[key] = kind_dim(shard.folder, kind)
            return self._dims[key]

    def shard_arrays(self, shard: ShardRef, kind: str) -> tuple[np.ndarray, KindArrays] | None:
        """Normalised float32 vectors and metadata of one shard (small LRU cache)."""
        key = (shard.name, kind)
        with self._lock:
            if key in self._dense:
                self._dense.move_to_end(key)
                return self._dense[key]
        arrays = read_kind(shard.folder, kind)
        if arrays is None or arrays.vectors is None:
            return None
        item = (normalise(arrays.vectors), arrays)
        with self._lock:
            self._dense[key] = item
            while len(self._dense) > 8:
                self._dense.popitem(last=False)
        return item

    def search_shard(
        self, shard: ShardRef, kind: str, query: np.ndarray, k: int
    ) -> list[VectorHit]:
        """Exact top-``k`` of one video's shard (``[]`` when the dimension differs)."""
        q = normalise(query)[0]
        if self.dim_of(shard, kind) != q.shape[0]:
            return []
        item = self.shard_arrays(shard, kind)
        if item is None:
            return []
        vecs, arrays = item
        scores = vecs @ q
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        vids = np.full(len(scores), shard.video_id, dtype=np.int64)
        return _hits(kind, scores[top], top, vids, arrays)

    def search_library(
        self, shards: list[ShardRef], kind: str, query: np.ndarray, k: int
    ) -> list[VectorHit]:
        """Top-``k`` over every shard whose ``kind`` has the query's dimension."""
        q = normalise(query)
        dim = q.shape[1]
        memo = self._usable.get((kind, dim))
        if memo is not None and memo[0] is shards:  # same library state as the last query
            usable, ident = memo[1], memo[2]
        else:
            usable = sorted(
                (s for s in shards if self.dim_of(s, kind) == dim),
                key=lambda s: (s.video_id, s.name),
            )
            ident = "|".join(f"{s.video_id}:{s.name}" for s in usable)
            with self._lock:
                self._usable[(kind, dim)] = (shards, usable, ident)
        if not usable:
            return []
        built = self._get_index(kind, dim, usable, ident)
        if built is None or built.index.ntotal == 0:
            return []
        faiss = require_faiss()
        kk = min(k, int(built.index.ntotal))
        if built.params is not None:  # PQ candidates, re-scored exactly
            assert built.offsets is not None and built.reader is not None
            wide = min(max(built.params.rerank, k), int(built.index.ntotal))
            _, cand = built.index.search(q, wide)
            scores, rows = rerank(q[0], cand[0], built.offsets, built.reader.gather, kk)
            return _hits(kind, scores, rows, built.video_ids, built.arrays)
        params = None
        if built.index_type == "hnsw" and not built.on_gpu:
            params = faiss.SearchParametersHNSW(efSearch=max(64, 2 * kk))
        scores, rows = built.index.search(q, kk, params=params)
        return _hits(kind, scores[0], rows[0], built.video_ids, built.arrays)

    # -- building ------------------------------------------------------------------------

    def _index_type(self, n: int, gpu: bool) -> str:
        wanted = self.config.index_type
        if wanted == "auto":
            if n < self.config.ann_threshold:
                return "flat"
            if n < self.config.compress_threshold:
                return "ivf" if gpu else "hnsw"
            wanted = self.config.compressed_type
        if wanted not in {"flat", "hnsw", "ivf", *COMPRESSED}:
            raise ValueError(
                f"unknown index_type {wanted!r}; expected auto, flat, hnsw, ivf, ivfpq or hnswpq"
            )
        return wanted

    def _get_index(
        self, kind: str, dim: int, shards: list[ShardRef], ident: str | None = None
    ) -> _Built | None:
        faiss = require_faiss()
        gpu = bool(self.config.use_gpu) and faiss.get_num_gpus() > 0
        if ident is None:
            ident = "|".join(f"{s.video_id}:{s.name}" for s in shards)
        c = self.config
        base = (
            f"{kind}|{dim}|{c.index_type}|{c.ann_threshold}|{c.compress_threshold}|"
            f"{c.compressed_type}|{gpu}"
        )
        key = hashlib.sha1(f"{base}|{ident}".encode()).hexdigest()[:16]
        with self._lock:
            if key in self._built:
                self._built.move_to_end(key)
                return self._built[key]
            built, complete = self._build(faiss, kind, dim, shards, key, gpu)
            if built is not None and complete:
                self._built[key] = built
                while len(self._built) > 8:
                    self._built.popitem(last=False)
            return built

    def _build(
        self, faiss: Any, kind: str, dim: int, shards: list[ShardRef], key: str, gpu: bool
    ) -> tuple[_Built | None, bool]:
        metas: list[KindArrays] = []
        vids: list[np.ndarray] = []
        kept: list[ShardRef] = []
        complete = True
        for s in shards:
            try:
                a = read_kind(s.folder, kind, vectors=False)
            except FileNotFoundError:  # removed by a concurrent re-index: skip this once
                a, complete = None, False
            if a is None or len(a.ids) == 0:
                continue
            metas.append(a)
            vids.append(np.full(len(a.ids), s.video_id, dtype=np.int64))
            kept.append(s)
        if not metas:
            return None, complete
        n = sum(len(m.ids) for m in metas)
        index_type = self._index_type(n, gpu)
        has_tk = any(m.text_kinds is not None for m in metas)
        arrays = KindArrays(
            vectors=None,
            ids=np.concatenate([m.ids for m in metas]),
            spans=np.concatenate([m.spans for m in metas]),
            segs=np.concatenate([m.segs for m in metas]),
            text_kinds=np.concatenate(
                [
                    m.text_kinds if m.text_kinds is not None else np.zeros(len(m.ids), np.int8)
                    for m in metas
                ]
            )
            if has_tk
            else None,
        )
        path = self.root / "index" / f"{kind}-d{dim}-{key}.faiss"
        if index_type in COMPRESSED:
            return self._build_compressed(
                faiss, kind, dim, kept, metas, vids, arrays, path, index_type, complete
            )
        index = _read_persisted(faiss, path, n, dim) if index_type != "flat" else None
        if index is None:
            parts = []
            for s in kept:
                try:
                    a = read_kind(s.folder, kind)
                except FileNotFoundError:
                    a = None
                if a is None or a.vectors is None:  # removed meanwhile: retry next query
                    return None, False
                parts.append(normalise(a.vectors))
            x = np.concatenate(parts)
            index = self._new_index(faiss, index_type, dim, x)
            if index_type != "flat" and complete:
                self._save(faiss, index, path, kind, dim)
        if index_type == "ivf":  # nprobe is copied to the GPU index too
            ivf = faiss.extract_index_ivf(index)
            ivf.nprobe = min(ivf.nlist, max(8, ivf.nlist // 16))
        on_gpu = False
        if gpu:
            try:
                index = faiss.index_cpu_to_all_gpus(index)
                on_gpu = True
            except (RuntimeError, AttributeError) as exc:  # pragma: no cover - GPU only
                log.warning("keeping the %s index on the CPU: %s", index_type, exc)
        built = _Built(index, kind, np.concatenate(vids), arrays, index_type, on_gpu)
        return built, complete

    def _build_compressed(
        self,
        faiss: Any,
        kind: str,
        dim: int,
        kept: list[ShardRef],
        metas: list[KindArrays],
        vids: list[np.ndarray],
        arrays: KindArrays,
        path: Path,
        index_type: str,
        complete: bool,
    ) -> tuple[_Built | None, bool]:
        """A PQ index added shard by shard; the float vectors stay in the shards."""
        sizes = [len(m.ids) for m in metas]
        n = int(sum(sizes))
        params = compressed_params(index_type, n, dim, max_scan=self.config.ann_max_scan)
        if self.config.ann_rerank > 0:
            params = dataclasses.replace(params, rerank=self.config.ann_rerank)
        if self.config.ann_refine > 0:
            params = dataclasses.replace(params, refine=self.config.ann_refine)

        def vectors(s: int) -> np.ndarray:
            a = read_kind(kept[s].folder, kind)
            if a is None or a.vectors is None:  # removed meanwhile: retry next query
                raise FileNotFoundError(kept[s].folder)
            return a.vectors

        index = _read_persisted(faiss, path, n, dim)
        if index is not None and index_parts(faiss, index)[0] is None:
            index = None  # saved before the in-RAM refine stage: rebuild
        if index is None:
            try:
                index = build_compressed(
                    faiss,
                    params,
                    dim,
                    sizes,
                    lambda s, rows: np.asarray(vectors(s)[rows]),
                    lambda s: np.asarray(vectors(s)),
                )
            except FileNotFoundError:
                return None, False
            if complete:
                self._save(faiss, index, path, kind, dim)
        set_search_params(faiss, index, params)
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
        reader = RowReader([s.folder / f"{kind}.f16.npy" for s in kept])
        built = _Built(
            index,
            kind,
            np.concatenate(vids),
            arrays,
            index_type,
            params=params,
            offsets=offsets,
            reader=reader,
        )
        return built, complete

    @staticmethod
    def _new_index(faiss: Any, index_type: str, dim: int, x: np.ndarray) -> Any:
        if index_type == "flat":
            index = faiss.IndexFlatIP(dim)
        elif index_type == "hnsw":
            index = faiss.IndexHNSWFlat(dim, HNSW_M, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        else:
            n = len(x)
            nlist = int(max(1, min(4 * np.sqrt(n), n // 39 if n >= 39 else 1)))
            quantizer = faiss.IndexFlatIP(dim)
            index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
            rng = np.random.default_rng(0)
            sample = x[rng.choice(n, size=min(n, max(256 * nlist, 10_000)), replace=False)]
            index.train(sample)  # faiss' wrapper keeps ``quantizer`` referenced by ``index``
        index.add(x)
        return index

    def _save(self, faiss: Any, index: Any, path: Path, kind: str, dim: int) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}-{threading.get_ident()}")
        try:
            faiss.write_index(index, str(tmp))
            os.replace(tmp, path)
        except (OSError, RuntimeError) as exc:
            log.warning("could not save vector index %s: %s", path, exc)
            tmp.unlink(missing_ok=True)
            return
        olds = sorted(
            path.parent.glob(f"{kind}-d{dim}-*.faiss"),
            key=lambda p: p.stat().st_mtime if p.exists() else 0.0,
            reverse=True,
        )
        for old in olds[KEEP_INDEX_FILES:]:
            old.unlink(missing_ok=True)


def _read_persisted(faiss: Any, path: Path, n: int, dim: int) -> Any:
    """The index saved at ``path`` if it still holds ``n`` vectors of ``dim``, else None."""
    if not path.exists():
        return None
    try:
        index = faiss.read_index(str(path))
    except RuntimeError:
        log.warning("ignoring unreadable vector index %s", path)
        return None
    return index if index.ntotal == n and index.d == dim else None
