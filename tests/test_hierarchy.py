"""Chapter grouping and composed captions."""

from __future__ import annotations

import numpy as np

from hourlens.indexer.hierarchy import (
    SegmentText,
    compose_caption,
    compose_summary,
    group_chapters,
)


def _blocks(sizes, seg_len=20.0, dim=16, seed=0):
    rng = np.random.default_rng(seed)
    vecs = []
    for n in sizes:
        base = rng.normal(size=dim)
        for _ in range(n):
            v = base + 0.1 * rng.normal(size=dim)
            vecs.append(v / np.linalg.norm(v))
    starts = [i * seg_len for i in range(len(vecs))]
    ends = [s + seg_len for s in starts]
    return np.asarray(vecs), starts, ends


def test_chapters_follow_content_blocks():
    vecs, starts, ends = _blocks([5, 6, 4])
    ch = group_chapters(vecs, starts, ends, min_len=40, max_len=400, threshold=0.8)
    assert [(c.first, c.last) for c in ch] == [(0, 5), (5, 11), (11, 15)]
    assert ch[0].start == 0 and ch[-1].end == ends[-1]


def test_chapters_respect_min_and_max():
    vecs, starts, ends = _blocks([30], seg_len=20)
    ch = group_chapters(vecs, starts, ends, min_len=60, max_len=200, threshold=0.0)
    assert all(c.end - c.start <= 200 for c in ch)
    vecs, starts, ends = _blocks([1] * 10, seg_len=10)  # every segment different
    ch = group_chapters(vecs, starts, ends, min_len=30, max_len=300, threshold=0.99)
    assert all(c.end - c.start >= 30 for c in ch[:-1])
    assert sum(c.last - c.first for c in ch) == 10
    assert group_chapters(np.zeros((0, 4)), [], []) == []


def test_composed_texts():
    seg = SegmentText(
        index=0,
        start=0,
        end=10,
        tags=["military uniform", "suit"],
        ocr=["Hello world", "Hello world"],
        speech=["Good morning."],
    )
    cap = compose_caption(seg)
    assert "military uniform" in cap and '"Hello world"' in cap and "Good morning." in cap
    title, summary = compose_summary([seg, seg])
    assert title.startswith("military uniform") and "spoken" in summary
    assert compose_summary([])[1] == "No text or tags."
