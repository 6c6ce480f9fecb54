"""Compressed library indexes (IVF-PQ, HNSW-PQ): chosen past the threshold, built shard by
shard, exact after re-ranking, persisted; plus the parameter rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_vectors import add_video

from hourlens.config import StoreConfig
from hourlens.memory_store import Store
from hourlens.memory_store.ann import compressed_params, rerank

pytest.importorskip("faiss")


def clustered(rng: np.random.Generator, n: int, dim: int, centres: int = 20) -> np.ndarray:
    c = rng.normal(size=(centres, dim)).astype(np.float32)
    x = c[rng.integers(0, centres, n)] + 0.3 * rng.normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    """Four videos of 64-d frames, 3,000 frames (PQ training stays quick)."""
    root = tmp_path_factory.mktemp("ann")
    rng = np.random.default_rng(3)
    data = [clustered(rng, 750, 64) for _ in range(4)]
    with Store(root, config=StoreConfig(index_type="flat")) as st:
        for i, d in enumerate(data):
            add_video(st, f"v{i}.mp4", d, mem_per_seg=50)
    queries = np.vstack([d[rng.choice(750, 8)] for d in data])
    queries += 0.05 * rng.normal(size=queries.shape).astype(np.float32)
    return root, queries


def _top10(store: Store, q: np.ndarray) -> list[tuple[int, int]]:
    return [(h.video_id, h.row_id) for h in store.nearest("frames", q, k=10)]


@pytest.mark.parametrize("compressed", ["ivfpq", "hnswpq"])
def test_compressed_auto_past_threshold_recall_and_exact_scores(library, compressed):
    root, queries = library
    with Store(root, config=StoreConfig(index_type="flat")) as st:
        exact = [_top10(st, q) for q in queries]
        exact_scores = [st.nearest("frames", q, k=10)[0].score for q in queries]
    cfg = StoreConfig(ann_threshold=100, compress_threshold=1000, compressed_type=compressed)
    with Store(root, config=cfg) as st:
        built = st._vectors._get_index("frames", 64, _shards(st))
        assert built is not None and built.index_type == compressed and built.params is not None
        hits = [st.nearest("frames", q, k=10) for q in queries]
    recall = np.mean(
        [
            len(set(e) & {(h.video_id, h.row_id) for h in g}) / 10
            for e, g in zip(exact, hits, strict=True)
        ]
    )
    assert recall >= 0.9, recall
    # re-ranked scores are the exact cosines (float16 shards)
    for g, s in zip(hits, exact_scores, strict=True):
        assert g[0].score == pytest.approx(s, abs=2e-3)
        assert [h.score for h in g] == sorted((h.score for h in g), reverse=True)
    assert list((root / "index").glob("frames-d64-*.faiss"))


def _shards(st: Store) -> list:
    from hourlens.memory_store.vectors import ShardRef

    rows = st._db.get().table("videos").rows_where("status = 'indexed'", select="id, shard")
    return sorted(
        (ShardRef(r["id"], r["shard"], st.shards_dir / r["shard"]) for r in rows),
        key=lambda s: (s.video_id, s.name),
    )


def test_compressed_index_is_reused_from_disk(library, monkeypatch):
    root, queries = library
    cfg = StoreConfig(index_type="ivfpq")
    with Store(root, config=cfg) as st:
        first = _top10(st, queries[0])
    import hourlens.memory_store.vectors as vectors

    def no_build(*a, **k):
        raise AssertionError("the saved index should have been loaded")

    monkeypatch.setattr(vectors, "build_compressed", no_build)
    with Store(root, config=cfg) as st:
        assert _top10(st, queries[0]) == first
    # re-rank count and probe budget are query-time settings of the same saved index
    with Store(root, config=StoreConfig(index_type="ivfpq", ann_rerank=37)) as st:
        assert _top10(st, queries[0])
        (built,) = {b.kind: b for b in st._vectors._built.values()}.values()
        assert built.params is not None and built.params.rerank == 37


def test_compressed_params_follow_size_and_dim():
    small, big = compressed_params("ivfpq", 10_000, 1280), compressed_params("ivfpq", 9e6, 1280)
    assert small.pca == big.pca == 256 and small.pq_m == 32
    assert small.nlist == 256 and big.nlist == 8192 and small.nprobe == 64
    assert big.nprobe == 239  # ~262 k codes scanned, not a quarter of 9 M
    assert compressed_params("ivfpq", 9e6, 1280, max_scan=10**9).nprobe == 2048
    text = compressed_params("ivfpq", 12_800_000, 384)
    assert text.pca == 128 and text.pq_m == 32 and text.rerank == 32
    assert big.rerank == 128 and big.refine == text.refine == 8000
    assert compressed_params("ivfpq", 10_000, 64).pca == 0
    assert big.factory == "IVF8192_HNSW32,PQ32"
    with pytest.raises(ValueError):
        compressed_params("lsh", 10, 8)


def test_compressed_index_keeps_sq8_codes_of_every_row_in_ram(library, monkeypatch):
    """The refine stage holds one byte per (PCA) dimension per row, added in batches; the
    refine depth is a query-time setting; an index saved without the stage is rebuilt."""
    import faiss

    import hourlens.memory_store.ann as ann
    from hourlens.memory_store.ann import index_parts

    root, queries = library
    monkeypatch.setattr(ann, "ADD_BATCH", 700)  # several shards per add, one split
    for f in (root / "index").glob("*.faiss"):
        f.unlink()
    with Store(root, config=StoreConfig(index_type="ivfpq", ann_refine=321)) as st:
        first = _top10(st, queries[0])
        (built,) = st._vectors._built.values()
        refine, base = index_parts(faiss, built.index)
        assert refine is not None and base.ntotal == built.index.ntotal == 3000
        codes = faiss.downcast_index(refine.refine_index)
        assert codes.code_size == 64 and codes.ntotal == 3000  # SQ8 of 64-d, every row
        assert refine.k_factor == pytest.approx(321 / built.params.rerank)
    (saved,) = (root / "index").glob("frames-d64-*.faiss")
    faiss.write_index(base, str(saved))  # an index without the refine stage
    with Store(root, config=StoreConfig(index_type="ivfpq")) as st:
        assert _top10(st, queries[0]) == first
        (built,) = st._vectors._built.values()
        assert index_parts(faiss, built.index)[0] is not None


def test_rerank_orders_candidates_exactly():
    rng = np.random.default_rng(0)
    shards = [clustered(rng, 30, 16), clustered(rng, 20, 16)]
    offsets = np.array([0, 30, 50])
    q = shards[1][5]

    def gather(s: np.ndarray, r: np.ndarray) -> np.ndarray:
        return np.stack([shards[a][b] for a, b in zip(s, r, strict=True)])

    scores, rows = rerank(q, np.array([3, 35, -1, 49, 35]), offsets, gather, 2)
    assert rows[0] == 35 and scores[0] == pytest.approx(1.0, abs=1e-5)
    assert len(rows) == 2 and scores[0] >= scores[1]


def test_sharded_libraries_are_searched_together(tmp_path):
    """Two libraries (shards of one archive) answer one search, fused by rank."""
    from hourlens import Library

    rng = np.random.default_rng(4)
    for name in ("east", "west"):
        with Store(tmp_path / name) as st:
            add_video(st, f"{name}.mp4", clustered(rng, 40, 16))
    east = Library(tmp_path / "east")
    hits = east.search("hello", k=10, libraries=[tmp_path / "west"])
    assert {Path(h.video).name for h in hits} == {"east.mp4", "west.mp4"}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)
    assert {Path(h.video).name for h in east.search("hello", k=10)} == {"east.mp4"}
    with pytest.raises(ValueError):
        east.search("hello", video="east.mp4", libraries=[tmp_path / "west"])
    east.close()


def test_row_reader_gathers_runs_and_scattered_rows(tmp_path):
    from hourlens.memory_store.ann import RowReader

    rng = np.random.default_rng(7)
    arrays = [rng.standard_normal((n, 12)).astype("<f2") for n in (40, 3, 90)]
    paths = []
    for i, a in enumerate(arrays):
        paths.append(tmp_path / f"s{i}.f16.npy")
        np.save(paths[-1], a)
    reader = RowReader(paths, gap=4)
    shards = np.array([2, 0, 2, 2, 1, 0, 2, 0, 1])
    rows = np.array([89, 5, 0, 1, 2, 6, 40, 39, 0])  # runs, a gap, shard ends, any order
    got = reader.gather(shards, rows)
    assert got.dtype == np.float16 and got.shape == (9, 12)
    assert np.array_equal(got, np.stack([arrays[s][r] for s, r in zip(shards, rows, strict=True)]))
    assert np.array_equal(reader.rows(1, np.array([2, 0])), arrays[1][[2, 0]].astype(np.float32))
    np.save(paths[1], rng.standard_normal((3, 5)).astype("<f2"))
    with pytest.raises(ValueError, match="dim"):
        RowReader(paths).gather(np.array([0, 1]), np.array([0, 0]))


def test_library_search_reuses_the_shard_list_until_the_library_changes(tmp_path, monkeypatch):
    """A query does not rebuild the shard refs and index identity of every video (~100 ms
    per search at 10,000 videos); a committed video is seen by the next query."""
    from hourlens.memory_store.vectors import VectorIndex

    rng = np.random.default_rng(9)
    calls = []
    real = VectorIndex.dim_of
    monkeypatch.setattr(
        VectorIndex, "dim_of", lambda self, s, k: calls.append(s) or real(self, s, k)
    )
    with Store(tmp_path / "lib", config=StoreConfig(index_type="flat")) as st:
        for i in range(3):
            add_video(st, f"v{i}.mp4", clustered(rng, 30, 16))
        q = rng.normal(size=16).astype(np.float32)
        first = _top10(st, q)
        assert len(calls) == 3
        calls.clear()
        assert _top10(st, q) == first and calls == []
        new = clustered(rng, 30, 16)
        vid = add_video(st, "v3.mp4", new)
        hits = st.nearest("frames", new[4], k=1)
        assert len(calls) == 4 and hits[0].video_id == vid
