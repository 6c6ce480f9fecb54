"""Which compressed ANN index for big libraries: IVF-PQ vs HNSW-PQ (vs HNSW-flat).

    python bench/ann_choice.py [--n 100000] [--dim 1280] [--queries 200] [--json]

Real-shaped synthetic vectors (:mod:`scale_data`), the parameters
:func:`hourlens.memory_store.ann.compressed_params` picks for ``n``, the same exact
re-ranking of the candidates as the library. Prints per index: build seconds, bytes per
vector held in RAM, search p50/p95 (one query at a time, re-ranking included) and
recall@10 against exact search; one JSON line per index with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import faiss
import numpy as np
from scale_data import Synth

from hourlens.memory_store.ann import (
    build_compressed,
    compressed_params,
    rerank,
    set_search_params,
)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--dim", type=int, default=1280, choices=[1280, 384])
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--per-video", type=int, default=906)
    ap.add_argument("--kinds", default="ivfpq,hnswpq,hnsw")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    synth = Synth("memories" if args.dim == 1280 else "texts")
    rng = np.random.default_rng(1)
    shards = [
        synth.video(rng, min(args.per_video, args.n - i)) for i in range(0, args.n, args.per_video)
    ]
    x = np.concatenate(shards)
    q = synth.queries(np.random.default_rng(2), args.queries)
    exact = np.argsort(-(q @ x.T), axis=1)[:, :10]
    sizes = [len(s) for s in shards]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)

    def fetch(s: np.ndarray, rows: np.ndarray) -> np.ndarray:
        return x[offsets[s] + rows]  # shards are consecutive slices of x

    for kind in args.kinds.split(","):
        t = time.perf_counter()
        if kind == "hnsw":
            index = faiss.IndexHNSWFlat(args.dim, 32, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = 80
            index.add(x)
            params = None
            nbytes = args.dim * 4 + 32 * 2 * 4 * 1.1
        else:
            params = compressed_params(kind, args.n, args.dim)
            index = build_compressed(
                faiss, params, args.dim, sizes, lambda s, r: shards[s][r], lambda s: shards[s]
            )
            set_search_params(faiss, index, params)
            nbytes = params.pq_m + (8 if kind == "ivfpq" else 8 + 32 * 2 * 4 * 1.1)
        build_s = time.perf_counter() - t
        lat, recall = [], []
        for i in range(len(q)):
            t = time.perf_counter()
            if params is None:
                ps = faiss.SearchParametersHNSW(efSearch=64)
                _, rows = index.search(q[i : i + 1], 10, params=ps)
                top = rows[0]
            else:
                _, cand = index.search(q[i : i + 1], params.rerank)
                _, top = rerank(q[i], cand[0], offsets, fetch, 10)
            lat.append((time.perf_counter() - t) * 1000)
            recall.append(len(set(top.tolist()) & set(exact[i].tolist())) / 10)
        out = {
            "index": kind,
            "n": args.n,
            "dim": args.dim,
            "params": None if params is None else params.factory,
            "nprobe": None if params is None else params.nprobe,
            "rerank": None if params is None else params.rerank,
            "build_s": round(build_s, 2),
            "bytes_per_vector": round(nbytes, 1),
            "p50_ms": round(float(np.percentile(lat, 50)), 3),
            "p95_ms": round(float(np.percentile(lat, 95)), 3),
            "recall_at_10": round(float(np.mean(recall)), 4),
        }
        print(json.dumps(out) if args.json else out, flush=True)
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    raise SystemExit(main())
