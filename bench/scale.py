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
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scale_data import DIMS, PER_HOUR, Synth

from hourlens.config import StoreConfig
from hourlens.memory_store import Store
from hourlens.memory_store.db import now_iso
from hourlens.memory_store.shards import write_kind, write_manifest
from hourlens.memory_store.staging import new_token, shard_name

SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "gu", "he", "ji"]


def vocabulary(n: int = 20_000) -> list[str]:
    """Deterministic pseudo-words (Zipf-ranked by position)."""
    rng = np.random.default_rng(11)
    words: set[str] = set()
    while len(words) < n:
        k = int(rng.integers(2, 5))
        words.add("".join(rng.choice(SYLLABLES, size=k)))
    return sorted(words, key=lambda w: (len(w), w))


class TextGen:
    """Zipfian sentences over :func:`vocabulary`."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.words = vocabulary()
        p = 1.0 / np.arange(1, len(self.words) + 1)
        self.p = p / p.sum()
        self.rng = rng

    def sentences(self, n: int, length: int = 9) -> list[str]:
        idx = self.rng.choice(len(self.words), size=(n, length), p=self.p)
        return [" ".join(self.words[i] for i in row) for row in idx]


def add_real_hour(store: Store, name: str, mem: np.ndarray, txt: np.ndarray, tg: TextGen) -> None:
    """One video through the real writer, with real-shaped rows."""
    hours = len(mem) / (PER_HOUR["feature_memories"] + PER_HOUR["summaries"])
    dur = 3600.0 * hours
    n_seg = PER_HOUR["segments"] * round(hours)
    rng = tg.rng
    w = store.begin_video(store.root / name, size=1, mtime=1.0, content_hash=name)
    bounds = np.linspace(0.0, dur, n_seg + 1)
    feats = len(mem) - n_seg
    owner = np.sort(rng.integers(0, n_seg, size=feats))
    labels = [f"label{i}" for i in range(1000)]
    tags_per = max(1, (PER_HOUR["tags"] * round(hours) - n_seg * 6) // max(feats, 1))
    j = 0
    for s in range(n_seg):
        a, b = float(bounds[s]), float(bounds[s + 1])
        seg = w.add_segment(index=s, start=a, end=b, n_frames=10, depth=0.1, alpha=4, budget=3)
        mine = np.flatnonzero(owner == s)
        for _ in mine:
            tags = [(labels[int(t)], 0.1) for t in rng.choice(1000, tags_per, replace=False)]
            w.add_memory(
                segment=seg, kind="feature", start=a, end=b, n_frames=3, vector=mem[j], tags=tags
            )
            j += 1
        w.add_memory(segment=seg, kind="summary", start=a, end=b, n_frames=10, vector=mem[j])
        j += 1
        w.add_segment_tags(seg, [(labels[int(t)], 0.2) for t in rng.choice(1000, 6)])

    def spans(n: int) -> list[tuple[float, float]]:
        t = np.sort(rng.uniform(0, dur - 5, size=n))
        return [(float(x), float(x) + 4.0) for x in t]

    h = round(hours)
    k = 0
    for kind, count, add in (
        ("speech", PER_HOUR["transcript_lines"] * h, w.add_transcript_lines),
        ("ocr", PER_HOUR["ocr_items"] * h, w.add_ocr_items),
        ("caption", PER_HOUR["captions"] * h, w.add_captions),
    ):
        rows = [
            {"start": a, "end": b, "text": t}
            for (a, b), t in zip(spans(count), tg.sentences(count), strict=True)
        ]
        keys = add(rows)
        w.add_texts_vectors(kind, keys, txt[k : k + len(keys)], model="all-MiniLM-L6-v2")
        k += len(keys)
    n_ch = len(txt) - k
    ch = np.linspace(0.0, dur, n_ch + 1)
    titles = tg.sentences(n_ch, 4)
    keys = w.add_chapters(
        [{"start": float(ch[i]), "end": float(ch[i + 1]), "title": titles[i]} for i in range(n_ch)]
    )
    w.add_texts_vectors("chapter", keys, txt[k:], model="all-MiniLM-L6-v2")
    w.commit(
        duration=dur,
        fps=30,
        width=1280,
        height=720,
        encoder="efficientnet_lite0",
        encoder_dim=DIMS["memories"],
    )


def add_vector_hour(store: Store, name: str, vid: int, mem: np.ndarray, txt: np.ndarray) -> None:
    """One video as a vector shard and a video row (no text rows)."""
    token = new_token()
    folder = store.shards_dir / shard_name(vid, token)
    folder.mkdir()
    dur = 3600.0 * len(mem) / (PER_HOUR["feature_memories"] + PER_HOUR["summaries"])
    kinds = {}
    for kind, x in (("memories", mem), ("texts", txt)):
        n = len(x)
        t = np.linspace(0, dur, n + 1)
        write_kind(
            folder,
            kind,
            ids=np.arange(vid * 10_000_000, vid * 10_000_000 + n),
            spans=np.stack([t[:-1], t[1:]], 1),
            segs=np.full(n, -1),
            vectors=x,
            text_kinds=np.zeros(n, np.int8) if kind == "texts" else None,
        )
        kinds[kind] = {"dim": int(x.shape[1]), "count": n}
    write_manifest(folder, {"video_id": vid, "kinds": kinds, "encoder": "efficientnet_lite0"})
    stamp = now_iso()
    with store._db.write() as db:
        db.table("videos").insert(
            {
                "id": vid,
                "path": str(store.root / name),
                "content_hash": name,
                "size": 1,
                "mtime": 1.0,
                "duration": dur,
                "fps": 30.0,
                "width": 1280,
                "height": 720,
                "status": "indexed",
                "encoder": "efficientnet_lite0",
                "encoder_dim": DIMS["memories"],
                "text_encoder": "all-MiniLM-L6-v2",
                "shard": folder.name,
                "indexed_at": stamp,
                "updated_at": stamp,
            }
        )


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
    args = ap.parse_args(argv)
    say = (lambda *a: print(*a, file=sys.stderr, flush=True)) if args.json else print
    root = Path(args.root or tempfile.mkdtemp(prefix="hourlens-scale-"))
    cfg = StoreConfig(index_type=args.index)
    store = Store(root, config=cfg)
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
    write_s = time.perf_counter() - t0
    qm = synth["memories"].queries(np.random.default_rng(9), args.queries)
    qt = synth["texts"].queries(np.random.default_rng(10), args.queries)
    t = time.perf_counter()
    store.nearest("memories", qm[0], k=10)
    store.nearest("texts", qt[0], k=10)
    build_s = time.perf_counter() - t
    lat, got_m, got_t = [], [], []
    for i in range(args.queries):
        t = time.perf_counter()
        hm = store.nearest("memories", qm[i], k=10)
        ht = store.nearest("texts", qt[i], k=10)
        store.search_text(words[i % len(words)], k=20)
        lat.append((time.perf_counter() - t) * 1000)
        got_m.append({(h.video_id, h.row_id) for h in hm})
        got_t.append({(h.video_id, h.row_id) for h in ht})
    nr = min(args.recall_queries, args.queries)
    recalls = []
    for kind, q, got in (("memories", qm, got_m), ("texts", qt, got_t)):
        ex = exact_top10(store, kind, q[:nr])
        r = float(np.mean([len(e & g) / 10 for e, g in zip(ex, got[:nr], strict=True)]))
        recalls.append(r)
        say(f"  recall@10 {kind}: {r:.3f}")
    types = {k: b.index_type for b in store._vectors._built.values() for k in [b.kind]}
    n_vec = n_videos * (per_mem + per_txt)
    disk = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20
    if fts_points:
        h, ms = fts_points[-1]
        say(f"  full-text p50 {ms:.1f} ms at {h} h of text rows: {fts_points}")
        if args.hours > h:
            say(
                f"  full-text p50 extrapolated (linear in rows) to {args.hours} h: "
                f"{ms * args.hours / h:.1f} ms"
            )
    say(f"  written in {write_s:.0f} s; index types {types}")
    out = {
        "hours": args.hours,
        "vectors": int(n_vec),
        "index": "+".join(f"{k}:{v}" for k, v in sorted(types.items())),
        "build_s": round(build_s, 2),
        "p50_ms": round(float(np.percentile(lat, 50)), 2),
        "p95_ms": round(float(np.percentile(lat, 95)), 2),
        "recall_at_10": round(float(np.mean(recalls)), 4),
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "disk_mb": round(disk, 1),
    }
    store.close()
    if not args.keep and args.root is None:
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    raise SystemExit(main())
