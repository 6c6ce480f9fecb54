"""Writers of ``bench/scale.py``'s synthetic library: real-shaped text hours through the
real writer, vector-only hours as shards and a video row, Zipfian pseudo-text."""

from __future__ import annotations

import numpy as np
from scale_data import DIMS, PER_HOUR

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
