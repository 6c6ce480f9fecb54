"""Vector shards and FAISS search: exact top-1, flat vs HNSW/IVF, persistence,
cache invalidation, dimensions kept apart, encoder filter, missing faiss."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from hourlens.config import StoreConfig
from hourlens.errors import MissingDependencyError
from hourlens.memory_store import Store


def unit(rng: np.random.Generator, n: int, dim: int) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def add_video(
    store: Store, name: str, feats: np.ndarray, *, encoder: str = "enc", mem_per_seg: int = 5
) -> int:
    """Frames = ``feats`` at 1 fps; one segment per ``mem_per_seg`` frames, each frame also
    a feature memory; one summary per segment; two speech lines with text vectors."""
    n, dim = feats.shape
    w = store.begin_video(store.root / name, size=n, mtime=1.0, content_hash=name)
    w.append_frames(np.arange(n, dtype=float), feats)
    for s, a in enumerate(range(0, n, mem_per_seg)):
        b = min(a + mem_per_seg, n)
        seg = w.add_segment(index=s, start=a, end=b, n_frames=b - a, depth=0, alpha=1, budget=1)
        for i in range(a, b):
            w.add_memory(
                segment=seg, kind="feature", start=i, end=i + 1, n_frames=1, vector=feats[i]
            )
        w.add_memory(
            segment=seg, kind="summary", start=a, end=b, n_frames=b - a, vector=feats[a:b].sum(0)
        )
    keys = w.add_transcript_lines(
        [{"start": 1, "end": 2, "text": "hello"}, {"start": 3, "end": 4, "text": "world"}]
    )
    w.add_texts_vectors("speech", keys, feats[:2, :8] + 1.0, model="mini")
    return w.commit(
        duration=float(n), fps=1, width=8, height=8, encoder=encoder, encoder_dim=dim
    ).id


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_nearest_exact_top1_is_the_planted_vector(tmp_path: Path, rng):
    st = Store(tmp_path, config=StoreConfig(index_type="auto"))
    a, b = unit(rng, 40, 32), unit(rng, 50, 32)
    va, vb = add_video(st, "a.mp4", a), add_video(st, "b.mp4", b)
    noisy = b[17] + 0.05 * rng.normal(size=32)
    top = st.nearest("frames", noisy, k=3)
    assert (top[0].video_id, top[0].row_id, top[0].start, top[0].end) == (vb, 17, 17.0, 18.0)
    assert top[0].score > 0.9 and top[0].score >= top[1].score >= top[2].score
    assert top[0].segment_id == st.segments(vb, 17, 17)[0].id
    mem = st.nearest("memories", a[3], k=1)[0]
    assert mem.video_id == va and st.memories(va)[0].id <= mem.row_id
    assert (mem.start, mem.end) == (3.0, 4.0)
    only_a = st.nearest("frames", b[17], k=5, video_id=va)
    assert {h.video_id for h in only_a} == {va} and len(only_a) == 5
    assert st.nearest("frames", a[39], k=1, video_id=va)[0].row_id == 39
    assert st.nearest("frames", a[0], k=1000)[-1].score <= st.nearest("frames", a[0], k=1)[0].score
    summary = st.nearest("summaries", b[5:10].sum(0), k=1)[0]
    assert (summary.video_id, summary.start, summary.end) == (vb, 5.0, 10.0)
    text = st.nearest("texts", b[1, :8] + 1.0, k=1)[0]
    assert text.text_kind == "speech" and text.video_id == vb and text.start == 3.0
    assert st.nearest("frames", a[0], k=0) == []
    with pytest.raises(ValueError):
        st.nearest("frames", np.zeros(32))
    with pytest.raises(ValueError):
        st.nearest("pixels", a[0])
    st.close()


def test_commit_invalidates_the_cache(tmp_path: Path, rng):
    st = Store(tmp_path)
    a = unit(rng, 30, 16)
    add_video(st, "a.mp4", a)
    probe = unit(rng, 1, 16)[0]
    assert st.nearest("frames", probe, k=1)[0].score < 0.99
    vb = add_video(st, "b.mp4", np.vstack([unit(rng, 5, 16), probe[None]]))
    assert st.nearest("frames", probe, k=1)[0].video_id == vb
    st.remove_video(vb)
    assert st.nearest("frames", probe, k=1)[0].video_id != vb
    st.close()


def test_dimensions_and_encoders_are_kept_apart(tmp_path: Path, rng):
    st = Store(tmp_path)
    v16 = add_video(st, "small.mp4", unit(rng, 20, 16), encoder="e16")
    v32 = add_video(st, "big.mp4", unit(rng, 20, 32), encoder="e32")
    v32b = add_video(st, "big2.mp4", unit(rng, 20, 32), encoder="other32")
    assert {h.video_id for h in st.nearest("frames", unit(rng, 1, 16)[0], k=50)} == {v16}
    assert {h.video_id for h in st.nearest("frames", unit(rng, 1, 32)[0], k=50)} == {v32, v32b}
    assert {h.video_id for h in st.nearest("frames", unit(rng, 1, 32)[0], k=50, encoder="e32")} == {
        v32
    }
    assert st.nearest("frames", unit(rng, 1, 16)[0], k=5, video_id=v32) == []
    assert st.nearest("frames", unit(rng, 1, 64)[0], k=5) == []
    assert len(st.nearest("texts", np.ones(8), k=10, encoder="mini")) == 6
    ids, vecs = st.vectors(v32, "memories")
    assert vecs.shape == (20, 32) and len(ids) == 20
    st.close()


def test_flat_and_ann_agree_on_top1(tmp_path: Path, rng):
    data = [unit(rng, 600, 24) for _ in range(3)]
    st = Store(tmp_path, config=StoreConfig(index_type="flat"))
    for i, d in enumerate(data):
        add_video(st, f"v{i}.mp4", d, mem_per_seg=20)
    queries = np.vstack([d[rng.choice(600, 10)] for d in data])
    queries += 0.1 * rng.normal(size=queries.shape).astype(np.float32)
    exact = [st.nearest("frames", q, k=1)[0] for q in queries]
    for index_type in ("auto", "hnsw", "ivf"):
        cfg = StoreConfig(index_type=index_type, ann_threshold=500)
        with Store(tmp_path, config=cfg) as ann:
            got = [ann.nearest("frames", q, k=1)[0] for q in queries]
        same = sum(
            (g.video_id, g.row_id) == (e.video_id, e.row_id)
            for g, e in zip(got, exact, strict=True)
        )
        assert same >= 0.9 * len(queries), (index_type, same)
    assert list((tmp_path / "index").glob("frames-d24-*.faiss"))
    st.close()


def test_ann_index_is_persisted_and_reused(tmp_path: Path, rng, monkeypatch):
    cfg = StoreConfig(index_type="hnsw")
    st = Store(tmp_path, config=cfg)
    feats = unit(rng, 300, 16)
    add_video(st, "a.mp4", feats, mem_per_seg=30)
    assert st.nearest("frames", feats[42], k=1)[0].row_id == 42
    files = list((tmp_path / "index").glob("frames-d16-*.faiss"))
    assert len(files) == 1
    st.close()
    import faiss

    def no_build(*args, **kwargs):
        raise AssertionError("the saved index should have been loaded")

    monkeypatch.setattr(faiss, "IndexHNSWFlat", no_build)
    with Store(tmp_path, config=cfg) as again:
        assert again.nearest("frames", feats[42], k=1)[0].row_id == 42


def test_missing_faiss_is_a_clear_error(tmp_path: Path, rng, monkeypatch):
    st = Store(tmp_path)
    feats = unit(rng, 10, 8)
    vid = add_video(st, "a.mp4", feats)
    monkeypatch.setitem(sys.modules, "faiss", None)
    with pytest.raises(MissingDependencyError, match=r"hourlens\[cpu\]"):
        st.nearest("frames", feats[0], k=1)
    assert st.nearest("frames", feats[3], k=1, video_id=vid)[0].row_id == 3  # numpy path
    st.close()
