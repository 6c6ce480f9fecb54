"""Before/after comparisons and the probe sweep of ``bench/scale.py`` (same library, same
run, interleaved): the full-text search before the bounded ranking, the re-ranking before
it was vectorised, and recall/latency of the compressed index against ``nprobe``."""

from __future__ import annotations

import dataclasses
import os
import time

import numpy as np

from hourlens.memory_store import Store
from hourlens.memory_store.ann import index_parts, rerank, set_search_params
from hourlens.memory_store.shards import normalise


def legacy_search_text(store: Store, query: str, *, video_id: int | None = None, k: int = 20):
    """The full-text query before the bounded search (the baseline of ``fts_compare``):
    BM25 of every match, sorted by SQLite after reading every matching row."""
    from hourlens.memory_store.fts import fts_match

    match = fts_match(query)
    video_sql = " AND video_id = :v" if video_id is not None else ""
    return (
        store._db.get()
        .execute(
            'SELECT kind, ref_id, video_id, segment_id, start, "end", text, weight, '
            f"bm25(texts_fts) AS rank FROM texts_fts WHERE texts_fts MATCH :q{video_sql} "
            "ORDER BY rank LIMIT :n",
            {"q": match, "v": video_id, "n": max(4 * k, 50)},
        )
        .fetchall()
    )


def fts_compare(store: Store, vocab: list[str], n_videos: int) -> dict[str, float]:
    """p50 ms of the full-text search before (legacy) and now, library-wide and per video,
    for the 10 most frequent words, frequent words (Zipf ranks 50-80, as the latency loop)
    and mid-frequency words (ranks 50-2000), same queries, same run, interleaved."""
    out: dict[str, float] = {}
    sets = {"top": vocab[:10], "frequent": vocab[50:80], "mid": vocab[50:2000:65]}
    for name, ws in sets.items():
        for scope in ("library", "video"):
            lat: dict[str, list[float]] = {"before": [], "after": []}
            for i, w in enumerate(ws):
                vid = 1 + (i * 7919) % n_videos if scope == "video" else None
                for label in ("before", "after"):
                    t = time.perf_counter()
                    if label == "before":
                        legacy_search_text(store, w, video_id=vid, k=20)
                    else:
                        store.search_text(w, video_id=vid, k=20)
                    lat[label].append((time.perf_counter() - t) * 1000)
            for label, v in lat.items():
                out[f"{name}_{scope}_{label}_ms"] = round(float(np.median(v)), 3)
    return out


def legacy_rows(reader, s: int, rows: np.ndarray) -> np.ndarray:
    """The re-ranking read before it was vectorised: one ``pread`` per row."""
    start, dim = reader._header(s)
    width = 2 * dim
    out = np.empty((len(rows), dim), dtype="<f2")
    fd = os.open(reader.paths[s], os.O_RDONLY)
    try:
        for i, r in enumerate(np.asarray(rows, dtype=np.int64).tolist()):
            out[i] = np.frombuffer(os.pread(fd, width, start + r * width), dtype="<f2")
    finally:
        os.close(fd)
    return out.astype(np.float32)


def legacy_rerank(query, rows, offsets, reader, k):
    """The re-ranking before: per shard a read, a normalisation and a product."""
    rows = np.unique(rows[rows >= 0])
    shard_of = np.searchsorted(offsets, rows, side="right") - 1
    scores = np.empty(len(rows), dtype=np.float32)
    for s in np.unique(shard_of):
        sel = np.flatnonzero(shard_of == s)
        vecs = normalise(legacy_rows(reader, int(s), rows[sel] - offsets[s]))
        scores[sel] = vecs @ query
    top = np.argsort(-scores, kind="stable")[:k]
    return scores[top], rows[top]


def rerank_compare(store: Store, queries: dict[str, np.ndarray]) -> dict[str, float]:
    """p50 ms of the exact re-ranking before/after on the same candidates, and whether
    both return the same top 10."""
    out: dict[str, float] = {}
    for b in store._vectors._built.values():
        if b.params is None or b.kind not in queries:
            continue
        lat: dict[str, list[float]] = {"before": [], "after": []}
        same = 0
        qs = normalise(queries[b.kind])
        for q in qs:
            _, cand = b.index.search(q[None, :], b.params.rerank)
            t = time.perf_counter()
            _, old = legacy_rerank(q, cand[0], b.offsets, b.reader, 10)
            lat["before"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            _, new = rerank(q, cand[0], b.offsets, b.reader.gather, 10)
            lat["after"].append((time.perf_counter() - t) * 1000)
            same += int(np.array_equal(old, new))
        for label, v in lat.items():
            out[f"{b.kind}_rerank_{label}_ms"] = round(float(np.median(v)), 3)
        out[f"{b.kind}_rerank_same_top10"] = same / len(qs)
    return out


def probe_sweep(store: Store, queries: dict[str, np.ndarray], truth, probes) -> list[dict]:
    """Recall@10 and p50 ms of ``nearest`` per kind for each ``nprobe`` (query-time)."""
    import faiss

    rows = []
    for b in list(store._vectors._built.values()):
        if b.params is None or b.params.kind != "ivfpq" or b.kind not in queries:
            continue
        ivf = faiss.extract_index_ivf(index_parts(faiss, b.index)[1])
        quant = faiss.downcast_index(ivf.quantizer)
        keep = (ivf.nprobe, quant.hnsw.efSearch if hasattr(quant, "hnsw") else None)
        ex = [{(int(v), int(r)) for v, r in q} for q in truth[b.kind]]
        for p in probes:
            ivf.nprobe = min(ivf.nlist, p)
            if keep[1] is not None:
                quant.hnsw.efSearch = max(b.params.ef_search, ivf.nprobe)
            p50, recall = _measure(store, b.kind, queries[b.kind], ex)
            rows.append(
                {
                    "kind": b.kind,
                    "nlist": int(ivf.nlist),
                    "nprobe": int(ivf.nprobe),
                    "p50_ms": p50,
                    "recall_at_10": recall,
                }
            )
        ivf.nprobe = keep[0]
        if keep[1] is not None:
            quant.hnsw.efSearch = keep[1]
    return rows


def _measure(store: Store, kind: str, queries: np.ndarray, exact: list[set]) -> tuple[float, float]:
    """p50 ms and mean recall@10 of ``store.nearest`` over ``queries`` against ``exact``."""
    lat, rec = [], []
    for q, e in zip(queries, exact, strict=False):
        t = time.perf_counter()
        hits = store.nearest(kind, q, k=10)
        lat.append((time.perf_counter() - t) * 1000)
        rec.append(len(e & {(h.video_id, h.row_id) for h in hits}) / 10)
    return round(float(np.median(lat)), 2), round(float(np.mean(rec)), 3)


def depth_sweep(store: Store, queries: dict[str, np.ndarray], truth, depths) -> list[dict]:
    """Recall@10 and p50 ms of ``nearest`` per kind for each ``(rerank, refine)`` pair:
    rows re-scored exactly from the shards, PQ candidates re-scored with the SQ8 codes
    (both query-time; ``StoreConfig.ann_rerank`` / ``ann_refine``)."""
    import faiss

    rows = []
    for b in list(store._vectors._built.values()):
        if b.params is None or b.kind not in queries:
            continue
        keep = b.params
        ex = [{(int(v), int(r)) for v, r in q} for q in truth[b.kind]]
        for rr, rf in depths:
            b.params = dataclasses.replace(keep, rerank=rr, refine=rf)
            set_search_params(faiss, b.index, b.params)
            p50, recall = _measure(store, b.kind, queries[b.kind], ex)
            rows.append(
                {
                    "kind": b.kind,
                    "rerank": rr,
                    "refine": rf,
                    "p50_ms": p50,
                    "recall_at_10": recall,
                }
            )
        b.params = keep
        set_search_params(faiss, b.index, keep)
    return rows
