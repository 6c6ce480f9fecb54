"""Search latency and recall of a synthetic library of H hours.

    python bench/scale.py --hours 1000 [--json] [--index auto|flat|hnsw|ivfpq|hnswpq]

Builds a library with the default encoder's vector sizes (1280-d memories, 384-d text
vectors) and today's per-hour counts (:data:`scale_data.PER_HOUR`, measured on a real
index), one synthetic video per ``--video-hours``. The first ``--text-hours`` hours
(default 1,000) go through the real writer with real-shaped SQLite rows (segments,
memories, tags, transcript lines, on-screen text, captions, chapters: full-text indexed);
later hours get vector shards and a video row only (their text rows would only lengthen
the full-text posting lists: the full-text latency is measured at checkpoints and
extrapolated linearly in rows, printed on its own line).

One library search = ``nearest("memories")`` + ``nearest("texts")`` + ``search_text``
over the whole library, as ``search_video_memory`` and the agent run them. Recall@10 is
against exact search (a full scan of the shards) on a sample of queries. The first
search builds the library index (``build_s``). Last line of stdout (``--json``: the only
line):

    {"hours", "vectors", "index", "build_s", "p50_ms", "p95_ms", "recall_at_10",
     "rss_mb", "disk_mb"}
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scale_compare import depth_sweep, fts_compare, probe_sweep, rerank_compare
from scale_data import DIMS, PER_HOUR, Synth
from scale_write import TextGen, add_real_hour, add_vector_hour

from hourlens.config import StoreConfig, from_env
from hourlens.memory_store import Store

META = "bench-scale.json"
TRUTH = "bench-truth.npz"


def exact_top10(store: Store, kind: str, queries: np.ndarray) -> list[set[tuple[int, int]]]:
    """Exact top-10 ``(video_id, row_id)`` per query, by a full scan of the shards."""
    from hourlens.memory_store.shards import read_kind

    best_s = np.full((len(queries), 10), -np.inf, dtype=np.float32)
    best_k = np.zeros((len(queries), 10, 2), dtype=np.int64)
    rows = store._db.get().table("videos").rows_where("status = 'indexed'", select="id, shard")
    for r in rows:
        a = read_kind(store.shards_dir / r["shard"], kind)
        if a is None or a.vectors is None:
            continue
        x = np.asarray(a.vectors, dtype=np.float32)
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        s = queries @ x.T
        all_s = np.concatenate([best_s, s], 1)
        ids = np.stack([np.full(len(a.ids), r["id"]), a.ids], 1)
        all_k = np.concatenate([best_k, np.broadcast_to(ids, (len(queries), *ids.shape))], 1)
        top = np.argsort(-all_s, 1)[:, :10]
        best_s = np.take_along_axis(all_s, top, 1)
        best_k = np.take_along_axis(all_k, top[:, :, None], 1)
    return [{(int(v), int(i)) for v, i in q} for q in best_k]


def write_library(args: argparse.Namespace, store: Store, say) -> dict:
    """Write the synthetic library (vectors and text rows); FTS p50 at checkpoints."""
    synth = {k: Synth(k) for k in DIMS}
    rng = np.random.default_rng(5)
    tg = TextGen(np.random.default_rng(6))
    per_mem = (PER_HOUR["feature_memories"] + PER_HOUR["summaries"]) * args.video_hours
    per_txt = PER_HOUR["texts"] * args.video_hours
    words = tg.words[50:2000]
    fts_points: list[tuple[int, float]] = []
    t0 = time.perf_counter()
    n_videos = max(1, args.hours // args.video_hours)
    for v in range(n_videos):
        mem = synth["memories"].video(rng, per_mem)
        txt = synth["texts"].video(rng, per_txt, n_scenes=200)
        hour = v * args.video_hours
        if hour < args.text_hours:
            add_real_hour(store, f"v{v}.mp4", mem, txt, tg)
        else:
            add_vector_hour(store, f"v{v}.mp4", v + 1, mem, txt)
        done = hour + args.video_hours
        if done in {args.text_hours // 4, args.text_hours // 2, args.text_hours} or (
            v == n_videos - 1 and done <= args.text_hours
        ):
            lat = []
            for w in words[:: max(1, len(words) // 30)]:
                t = time.perf_counter()
                store.search_text(w, k=20)
                lat.append(time.perf_counter() - t)
            fts_points.append((done, float(np.median(lat)) * 1000))
        if v % 50 == 0:
            say(f"  {done} h written ({time.perf_counter() - t0:.0f} s)")
    return {
        "n_videos": n_videos,
        "n_vectors": int(n_videos * (per_mem + per_txt)),
        "write_s": round(time.perf_counter() - t0, 1),
        "fts_points": fts_points,
    }


def adopt_library(args: argparse.Namespace, store: Store, root: Path, say) -> dict:
    """The first ``--hours`` of a library an interrupted longer write left (same generator,
    same order, so identical to writing ``--hours``); later videos and stray shards go."""
    n_videos = max(1, args.hours // args.video_hours)
    db = store._db.get()
    rows = db.execute("SELECT id, shard FROM videos ORDER BY id").fetchall()
    if len(rows) < n_videos or [r[0] for r in rows[:n_videos]] != list(range(1, n_videos + 1)):
        raise SystemExit(f"{root} does not hold videos 1..{n_videos}")
    with store._db.write() as wdb:
        wdb.execute("DELETE FROM videos WHERE id > ?", [n_videos])
    keep = {r[1] for r in rows[:n_videos]}
    for folder in (root / "shards").iterdir():
        if folder.name not in keep:
            shutil.rmtree(folder, ignore_errors=True)
    store._vectors.invalidate()
    mt = [(root / "shards" / s).stat().st_mtime for s in sorted(keep)]
    per = (
        PER_HOUR["feature_memories"] + PER_HOUR["summaries"] + PER_HOUR["texts"]
    ) * args.video_hours
    say(f"  adopted {n_videos} videos, removed {len(rows) - n_videos}")
    return {
        "n_videos": n_videos,
        "n_vectors": int(n_videos * per),
        "write_s": round(max(mt) - min(mt), 1),  # first to last shard written
        "fts_points": [],
    }


def build_and_truth(args: argparse.Namespace, store: Store, root: Path, say) -> dict:
    """Build the library indexes (first search, timed) and the exact top-10 of the recall
    queries (saved beside the library, so ``--phase measure`` needs no full scan)."""
    qm, qt = queries(args)
    t = time.perf_counter()
    store.nearest("memories", qm[0], k=10)
    store.nearest("texts", qt[0], k=10)
    build_s = time.perf_counter() - t
    say(f"  indexes built in {build_s:.0f} s")
    nr = min(args.recall_queries, args.queries)
    truth = {
        kind: exact_top10(store, kind, q[:nr]) for kind, q in (("memories", qm), ("texts", qt))
    }
    np.savez(root / TRUTH, **{k: np.array([sorted(s) for s in v]) for k, v in truth.items()})
    return {"build_s": round(build_s, 2)}


def queries(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    qm = Synth("memories").queries(np.random.default_rng(9), args.queries)
    qt = Synth("texts").queries(np.random.default_rng(10), args.queries)
    return qm, qt


def measure(args: argparse.Namespace, store: Store, root: Path, meta: dict, say) -> dict:
    """Latency of whole searches, recall against the saved exact top-10, FTS before/after."""
    qm, qt = queries(args)
    t = time.perf_counter()
    store.nearest("memories", qm[0], k=10)
    store.nearest("texts", qt[0], k=10)
    say(f"  first search (index load) {time.perf_counter() - t:.1f} s")
    vocab = TextGen(np.random.default_rng(6)).words
    words = vocab[50:2000]
    lat, got = [], {"memories": [], "texts": []}
    for i in range(args.queries):
        t = time.perf_counter()
        hm = store.nearest("memories", qm[i], k=10)
        ht = store.nearest("texts", qt[i], k=10)
        store.search_text(words[i % len(words)], k=20)
        lat.append((time.perf_counter() - t) * 1000)
        got["memories"].append({(h.video_id, h.row_id) for h in hm})
        got["texts"].append({(h.video_id, h.row_id) for h in ht})
    truth = np.load(root / TRUTH)
    recalls = []
    for kind in ("memories", "texts"):
        ex = [{(int(v), int(r)) for v, r in q} for q in truth[kind]]
        r = float(np.mean([len(e & g) / 10 for e, g in zip(ex, got[kind], strict=False)]))
        recalls.append(r)
        say(f"  recall@10 {kind}: {r:.3f}")
    nr = len(truth["memories"])
    qs = {"memories": qm[:nr], "texts": qt[:nr]}
    say(f"  re-ranking p50 before/after (same run): {json.dumps(rerank_compare(store, qs))}")
    if args.sweep:
        probes = [int(p) for p in args.sweep.split(",")]
        for row in probe_sweep(store, qs, truth, probes):
            say(f"  probe sweep: {json.dumps(row)}")
    if args.depths:
        depths = [tuple(int(x) for x in d.split(":")) for d in args.depths.split(",")]
        for row in depth_sweep(store, qs, truth, depths):
            say(f"  depth sweep: {json.dumps(row)}")
    if args.text_hours > 0 and not args.no_fts_compare:
        text_videos = max(1, min(meta["n_videos"], args.text_hours // args.video_hours))
        fts = fts_compare(store, vocab, text_videos)
        say(f"  full-text p50 before/after (same run): {json.dumps(fts)}")
    if meta.get("fts_points"):
        say(f"  full-text p50 while writing (h, ms): {meta['fts_points']}")
    types = {b.kind: b.index_type for b in store._vectors._built.values()}
    disk = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20
    return {
        "hours": args.hours,
        "vectors": meta["n_vectors"],
        "index": "+".join(f"{k}:{v}" for k, v in sorted(types.items())),
        "build_s": meta["build_s"],
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p95_ms": round(float(np.percentile(lat, 95)), 2),
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "disk_mb": round(disk, 1),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=int, required=True)
    ap.add_argument("--json", action="store_true", help="Only the JSON line on stdout.")
    ap.add_argument("--video-hours", type=int, default=1)
    ap.add_argument("--text-hours", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=100)
    ap.add_argument("--recall-queries", type=int, default=50)
    ap.add_argument("--index", default="auto", help="StoreConfig.index_type")
    ap.add_argument("--root", default=None, help="Library folder (default: a temp folder)")
    ap.add_argument("--keep", action="store_true", help="Keep the library folder.")
    ap.add_argument(
        "--adopt",
        action="store_true",
        help="write phase: take the first --hours of a library an interrupted (Ctrl-C) "
        "longer write left in --root (videos past them are removed) instead of writing",
    )
    ap.add_argument("--sweep", default="", help="nprobe values to sweep, e.g. 64,128,256")
    ap.add_argument(
        "--depths",
        default="",
        help="(exact re-rank, SQ8 refine) depths to sweep, e.g. 16:2000,64:4000",
    )
    ap.add_argument("--no-fts-compare", action="store_true", help="skip the full-text before/after")
    ap.add_argument(
        "--phase",
        choices=("all", "data", "write", "measure"),
        default="all",
        help="data: write the library into --root, no index; write: data (unless done) + "
        "build the indexes + exact truth (run it niced); measure: time searches on that "
        "library (run it under the bench lock)",
    )
    args = ap.parse_args(argv)
    if args.phase in ("write", "data"):  # index build progress (hourlens.memory_store)
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="  %(message)s")
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print
    if args.phase != "all" and args.root is None:
        ap.error("--phase write/measure need --root")
    root = Path(args.root or tempfile.mkdtemp(prefix="hourlens-scale-"))
    store = Store(root, config=from_env(StoreConfig, index_type=args.index))
    meta_path = root / META
    ident = {k: getattr(args, k) for k in ("hours", "video_hours", "text_hours", "index")}
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if meta.get("args") != ident:
        if args.phase == "measure":
            ap.error(f"{root} holds no library written with {ident}: run --phase write")
        if args.adopt:
            meta = {"args": ident, **adopt_library(args, store, root, say)}
        else:
            meta = {"args": ident, **write_library(args, store, say)}
        meta_path.write_text(json.dumps(meta))
        say(f"  written in {meta['write_s']:.0f} s")
    if "build_s" not in meta and args.phase != "data":
        if args.phase == "measure":
            ap.error(f"{root} holds no built index: run --phase write")
        meta.update(build_and_truth(args, store, root, say))
        meta_path.write_text(json.dumps(meta))
    out = None
    if args.phase in ("all", "measure"):
        out = measure(args, store, root, meta, say)
    store.close()
    if not args.keep and args.root is None:
        shutil.rmtree(root, ignore_errors=True)
    if out is not None:
        print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    raise SystemExit(main())
