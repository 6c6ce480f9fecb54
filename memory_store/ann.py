"""Compressed ANN indexes for large libraries, built shard by shard, re-ranked exactly.

Past ``StoreConfig.compress_threshold`` vectors a library-wide index no longer holds
float vectors (an ``IndexHNSWFlat`` of 10 M 1280-d vectors is 50 GB): it holds product
quantisation codes for the candidates and SQ8 codes (one byte per PCA dimension) to
re-score them in RAM; the best few are re-scored exactly from the shards' float16
vectors (``pread``, only those rows are read). Two kinds of PQ stage:

- ``ivfpq``: ``PCA -> Refine(IVF (HNSW coarse quantiser) -> PQ, SQ8)`` over unit vectors
  with the L2 metric (same ranking as cosine; PCA centring keeps L2 distances);
- ``hnswpq``: ``PCA -> Refine(HNSW over PQ codes, SQ8)``.

Why the SQ8 stage (``bench/scale.py``, figures in ``bench/README.md``): at 10,000 hours
the float16 shards are ~33 GB, more than the page cache, and a random read of one row
costs ~0.5-1.4 ms on this machine's disk, so re-scoring 1,000 PQ candidates exactly from
the shards would cost a second; the SQ8 codes re-score thousands in a few ms.
``bench/ann_choice.py`` measured both PQ stages: ``ivfpq`` builds an order of magnitude
faster at equal recall and is the default (``StoreConfig.compressed_type``).
Building never concatenates the library: the PCA, coarse centroids and codebooks are
trained on a sample of rows read from the shards, then the shards are added in order.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .shards import normalise

log = logging.getLogger("hourlens.memory_store")

COMPRESSED = ("ivfpq", "hnswpq")
TRAIN_PER_LIST = 40  # training rows per IVF list (faiss asks for at least 39)
MAX_TRAIN = 200_000
MAX_SCAN = 262_144  # default StoreConfig.ann_max_scan
REFINE = 8000  # default StoreConfig.ann_refine
RERANK_WIDE, RERANK = 128, 32  # default StoreConfig.ann_rerank (dim > 512, others)
ADD_BATCH = 65_536  # rows per faiss add call while building


@dataclass(frozen=True)
class CompressedParams:
    """Parameters of a compressed index (see :func:`compressed_params`)."""

    kind: str
    pca: int  # 0: no PCA
    nlist: int  # IVF lists (ivfpq)
    pq_m: int  # PQ sub-quantisers (8 bits each)
    nprobe: int  # IVF lists visited per query
    ef_search: int  # HNSW beam (coarse quantiser or the graph)
    rerank: int  # candidates re-scored exactly from the shards per query (at least k)
    refine: int = REFINE  # PQ candidates re-scored with the in-RAM SQ8 codes per query

    @property
    def factory(self) -> str:
        """The faiss ``index_factory`` string of the PQ stage (after the PCA)."""
        if self.kind == "ivfpq":
            return f"IVF{self.nlist}_HNSW32,PQ{self.pq_m}"
        return f"HNSW32_PQ{self.pq_m}"


def compressed_params(kind: str, n: int, dim: int, *, max_scan: int = MAX_SCAN) -> CompressedParams:
    """Measured defaults for ``n`` vectors of ``dim`` (``bench/scale.py``, figures in
    ``bench/README.md``).

    PCA to 256 dimensions above 512 and to 128 above 256 (the PQ and SQ8 codes cover the
    variance that matters; the exact re-scoring restores the order), PQ codes of 8
    dimensions per byte from 256 dimensions up (4 below), about ``2 * sqrt(n)`` IVF lists
    (a power of two, 256..16384), a quarter of them probed but no more lists than hold
    about ``max_scan`` codes (a quarter of a large library's codes would be scanned per
    query otherwise). Per query the best :data:`REFINE` PQ candidates are re-scored with
    the in-RAM SQ8 codes of the PCA vectors and the best ``rerank`` of those exactly from
    the shards (128 after a 1280 -> 256 PCA, 32 otherwise: random reads from disk once a
    library outgrows the page cache, so few).
    """
    if kind not in COMPRESSED:
        raise ValueError(f"unknown compressed index {kind!r}; expected one of {COMPRESSED}")
    pca = 256 if dim > 512 else 128 if dim > 256 else 0
    width = pca or dim
    pq_m = max(8, width // 8 if width >= 256 else width // 4)
    while width % pq_m:
        pq_m -= 1
    nlist = int(2 ** round(math.log2(max(256.0, 2 * math.sqrt(max(n, 1))))))
    nlist = min(16384, max(256, nlist))
    return CompressedParams(
        kind=kind,
        pca=pca,
        nlist=nlist,
        pq_m=pq_m,
        nprobe=max(16, min(nlist // 4, math.ceil(max_scan * nlist / max(n, 1)))),
        ef_search=128,
        rerank=RERANK_WIDE if dim > 512 else RERANK,
    )


def new_compressed(faiss: Any, params: CompressedParams, dim: int) -> Any:
    """An untrained ``[PCA ->] Refine(PQ index, SQ8)`` index (L2 over unit vectors).

    The SQ8 codes (one byte per PCA dimension) stay in RAM with the PQ codes, so a query
    re-scores thousands of candidates without reading the shards.
    """
    width = params.pca or dim
    base = faiss.index_factory(width, params.factory, faiss.METRIC_L2)
    refine = faiss.IndexScalarQuantizer(width, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_L2)
    index = faiss.IndexRefine(base, refine)
    if params.pca:
        index = faiss.IndexPreTransform(faiss.PCAMatrix(dim, params.pca), index)
    return index


def index_parts(faiss: Any, index: Any) -> tuple[Any, Any]:
    """``(refine stage or None, PQ index)`` of a compressed index (built or loaded)."""
    inner = (
        faiss.downcast_index(index.index) if isinstance(index, faiss.IndexPreTransform) else index
    )
    if isinstance(inner, faiss.IndexRefine):
        return inner, faiss.downcast_index(inner.base_index)
    return None, inner


def train_sample(
    sizes: Sequence[int], read: Callable[[int, np.ndarray], np.ndarray], n_train: int, seed: int = 0
) -> np.ndarray:
    """``n_train`` unit rows drawn uniformly from shards of ``sizes`` rows.

    Args:
        sizes: Rows per shard.
        read: ``read(shard, rows)`` -> those rows of the shard (any float dtype).
        n_train: Rows wanted (all rows when fewer).
    """
    total = int(sum(sizes))
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(total, size=min(n_train, total), replace=False))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    parts = []
    for s in range(len(sizes)):
        lo, hi = np.searchsorted(pick, [starts[s], starts[s + 1]])
        if hi > lo:
            parts.append(normalise(read(s, pick[lo:hi] - starts[s])))
    return np.concatenate(parts)


def build_compressed(
    faiss: Any,
    params: CompressedParams,
    dim: int,
    sizes: Sequence[int],
    read_rows: Callable[[int, np.ndarray], np.ndarray],
    read_all: Callable[[int], np.ndarray],
) -> Any:
    """Train on a sample, then add the shards in order, :data:`ADD_BATCH` rows per call
    (bounded extra memory; one faiss call per batch, not per shard).

    Args:
        faiss: The faiss module.
        params: From :func:`compressed_params`.
        dim: Vector dimension.
        sizes: Rows per shard, in index order.
        read_rows: ``read_rows(shard, rows)`` -> vectors of those rows.
        read_all: ``read_all(shard)`` -> all vectors of the shard.
    """
    index = new_compressed(faiss, params, dim)
    _fast_pq_training(faiss, index)
    n_train = min(MAX_TRAIN, max(TRAIN_PER_LIST * params.nlist, 20_000))
    if params.kind == "hnswpq":
        n_train = min(MAX_TRAIN, 50_000)
    t0 = time.perf_counter()
    index.train(train_sample(sizes, read_rows, n_train))
    total = int(sum(sizes))
    log.info(
        "%s d%d: trained on %d rows in %.0f s", params.kind, dim, n_train, time.perf_counter() - t0
    )
    batch: list[np.ndarray] = []
    held, step = 0, max(ADD_BATCH, total // 20)
    for s in range(len(sizes)):
        batch.append(normalise(read_all(s)))
        held += len(batch[-1])
        if held >= ADD_BATCH or s == len(sizes) - 1:
            before = int(index.ntotal)
            index.add(np.concatenate(batch) if len(batch) > 1 else batch[0])
            batch, held = [], 0
            if int(index.ntotal) // step != before // step:
                log.info(
                    "%s d%d: %d / %d rows added (%.0f s)",
                    params.kind,
                    dim,
                    int(index.ntotal),
                    total,
                    time.perf_counter() - t0,
                )
    return index


def _fast_pq_training(faiss: Any, index: Any) -> None:
    """No polysemous training (codes are only used for candidates) and 15 k-means rounds."""
    _, base = index_parts(faiss, index)
    storage = faiss.downcast_index(base.storage) if hasattr(base, "storage") else base
    if hasattr(storage, "do_polysemous_training"):
        storage.do_polysemous_training = False
    pq = getattr(storage, "pq", None)
    if pq is not None:
        pq.cp.niter = 15


def set_search_params(faiss: Any, index: Any, params: CompressedParams) -> None:
    """Apply ``nprobe``/``efSearch`` and the refine depth to a built or loaded index."""
    refine, base = index_parts(faiss, index)
    if refine is not None:
        refine.k_factor = max(1.0, params.refine / max(1, params.rerank))
    wide = max(params.refine, params.rerank)
    if params.kind == "ivfpq":
        ivf = faiss.extract_index_ivf(base)
        ivf.nprobe = min(ivf.nlist, params.nprobe)
        quant = faiss.downcast_index(ivf.quantizer)
        if hasattr(quant, "hnsw"):
            quant.hnsw.efSearch = max(params.ef_search, params.nprobe)
        return
    base.hnsw.efSearch = max(params.ef_search, wide)


class RowReader:
    """Reads rows of shards' ``<kind>.f16.npy`` files with ``pread``: no open memmaps,
    so ten thousand shards need no ten thousand file descriptors (one is open at a time
    while gathering).

    Args:
        paths: The ``.f16.npy`` file of each shard, in index order.
        gap: Rows of one shard at most this far apart are read with one ``pread`` of
            the rows between them (fewer system calls for clustered candidates).
    """

    def __init__(self, paths: Sequence[Any], gap: int = 8) -> None:
        self.paths = [str(p) for p in paths]
        self.gap = max(1, gap)
        self._meta: dict[int, tuple[int, int]] = {}

    def _header(self, s: int) -> tuple[int, int]:
        if s not in self._meta:
            with open(self.paths[s], "rb") as fh:
                major, _ = np.lib.format.read_magic(fh)
                read = (
                    np.lib.format.read_array_header_1_0
                    if major == 1
                    else np.lib.format.read_array_header_2_0
                )
                shape, _, _ = read(fh)
                self._meta[s] = (fh.tell(), int(shape[1]))
        return self._meta[s]

    def gather(self, shards: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows[i]`` of shards ``shards[i]`` as float16 ``(n, dim)``, in input order.

        Rows are sorted by (shard, row) and cut into runs (a new shard, or a gap over
        ``gap`` rows); each run is one ``pread`` scattered into the output with numpy.
        """
        shards = np.asarray(shards, dtype=np.int64)
        rows = np.asarray(rows, dtype=np.int64)
        n = len(rows)
        if n == 0:
            return np.zeros((0, self._header(0)[1] if self.paths else 0), dtype="<f2")
        order = np.lexsort((rows, shards))
        ss, rr = shards[order], rows[order]
        cut = np.ones(n, dtype=bool)
        cut[1:] = (ss[1:] != ss[:-1]) | (rr[1:] - rr[:-1] > self.gap)
        starts = np.flatnonzero(cut).tolist()
        ends = [*starts[1:], n]
        dim = self._header(int(ss[0]))[1]
        out = np.empty((n, dim), dtype="<f2")
        fd, fd_shard = -1, -1
        try:
            for a, b in zip(starts, ends, strict=True):
                s, lo, hi = int(ss[a]), int(rr[a]), int(rr[b - 1])
                if s != fd_shard:
                    if fd >= 0:
                        os.close(fd)
                    fd, fd_shard = os.open(self.paths[s], os.O_RDONLY), s
                off, d = self._header(s)
                if d != dim:
                    raise ValueError(f"{self.paths[s]} has dim {d}, expected {dim}")
                data = os.pread(fd, (hi - lo + 1) * 2 * dim, off + lo * 2 * dim)
                block = np.frombuffer(data, dtype="<f2").reshape(-1, dim)
                if b - a == 1:
                    out[order[a]] = block[0]
                else:
                    out[order[a:b]] = block[rr[a:b] - lo]
        finally:
            if fd >= 0:
                os.close(fd)
        return out

    def rows(self, s: int, rows: np.ndarray) -> np.ndarray:
        """Rows ``rows`` of shard ``s`` as float32 ``(len(rows), dim)``."""
        rows = np.asarray(rows, dtype=np.int64)
        return self.gather(np.full(len(rows), s, dtype=np.int64), rows).astype(np.float32)


def rerank(
    query: np.ndarray,
    rows: np.ndarray,
    offsets: np.ndarray,
    gather: Callable[[np.ndarray, np.ndarray], np.ndarray],
    k: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Exact cosine re-scoring of candidate rows; returns the top ``k`` (scores, rows).

    One gather of every candidate (whatever the number of shards), one float32
    conversion, one matrix-vector product.

    Args:
        query: ``(dim,)`` unit query.
        rows: Candidate global rows (``-1`` entries ignored).
        offsets: First global row of each shard (ascending), plus the total at the end.
        gather: ``gather(shards, local_rows)`` -> their vectors ``(n, dim)`` (any float).
        k: Results wanted.
    """
    rows = np.unique(rows[rows >= 0])
    if len(rows) == 0:
        return np.zeros(0, np.float32), np.zeros(0, np.int64)
    shard_of = np.searchsorted(offsets, rows, side="right") - 1
    vecs = np.asarray(gather(shard_of, rows - offsets[shard_of]), dtype=np.float32)
    norms = np.sqrt(np.einsum("ij,ij->i", vecs, vecs))
    scores = (vecs @ np.asarray(query, dtype=np.float32)) / np.maximum(norms, 1e-12)
    k = min(k, len(rows))
    top = np.argpartition(-scores, k - 1)[:k] if k < len(rows) else np.arange(len(rows))
    top = top[np.lexsort((rows[top], -scores[top]))]
    return scores[top].astype(np.float32), rows[top]
