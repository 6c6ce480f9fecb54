"""End-to-end indexing with the real packaged encoder on generated videos."""

from __future__ import annotations

import numpy as np
import pytest
from media import make_scene_video
from test_segment import boundary_f1

from hourlens import IndexConfig, Library
from hourlens.indexer.encoders import load_encoder

SCENES = [
    (7.0, "hopper"),
    (9.0, "bars"),
    (6.0, "china"),
    (11.0, "checker"),
    (5.0, "flower"),
    (8.0, "circles"),
    (6.0, "gradient"),
    (10.0, "stripes"),
]


@pytest.fixture(scope="module")
def cut_video(tmp_path_factory):
    d = tmp_path_factory.mktemp("cuts")
    path = d / "cuts.mp4"
    cuts = make_scene_video(path, SCENES, fps=10, size=(320, 240))
    return path, cuts


@pytest.fixture(scope="module")
def encoder():
    return load_encoder("efficientnet_lite0")


@pytest.mark.parametrize("method", ["texttiling", "simple"])
def test_segmentation_boundary_f1_on_real_features(tmp_path, cut_video, encoder, method):
    path, cuts = cut_video
    lib = Library(
        tmp_path / "lib", index_config=IndexConfig(segmentation=method, min_segment_s=3.0)
    )
    from hourlens.indexer.pipeline import Indexer

    indexer = Indexer(lib.store, lib.index_config, encoder=encoder)
    res = indexer.index_file(path)
    assert res.status == "indexed", res.error
    segs = lib.store.segments(lib.video(path).id)
    found = [s.start for s in segs[1:]]
    f1 = boundary_f1(found, cuts, tol=1.0)
    assert f1 >= 0.9, (method, found, cuts)
    lib.close()


def test_index_writes_memories_tags_keyframes(tmp_path, cut_video, encoder):
    from hourlens.indexer.pipeline import Indexer

    path, _ = cut_video
    lib = Library(tmp_path / "lib")
    res = Indexer(lib.store, IndexConfig(), encoder=encoder).index_file(path)
    assert res.status == "indexed" and res.segments >= 6
    v = lib.video(path.name)
    assert v.encoder == "efficientnet_lite0" and v.duration == pytest.approx(62.0, abs=0.5)
    segs = lib.store.segments(v.id)
    mems = lib.store.memories(video_id=v.id, kind="feature")
    sums = lib.store.memories(video_id=v.id, kind="summary")
    assert len(sums) == len(segs)
    # every segment's memories cover it exactly, within its budget
    for s in segs:
        own = sorted((m for m in mems if m.segment_id == s.id), key=lambda m: m.start)
        assert 1 <= len(own) <= s.budget
        assert own[0].start == pytest.approx(s.start) and own[-1].end == pytest.approx(s.end)
        assert sum(m.n_frames for m in own) == s.n_frames
    kfs = lib.store.keyframes(video_id=v.id)
    assert len(kfs) == len(segs)
    for kf in kfs[:3]:
        with open(kf.path, "rb") as fh:
            assert fh.read(3) == b"\xff\xd8\xff"  # a JPEG
    # the photo of Grace Hopper (first scene) is tagged as a uniform-like class
    first_tags = {t.label for t in lib.store.tags(v.id, segment_id=segs[0].id)}
    assert first_tags, "segment tags missing"
    ids, vecs = lib.store.vectors(v.id, "memories")
    assert sorted(ids.tolist()) == sorted(m.id for m in mems)
    np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-2)
    ids, _ = lib.store.vectors(v.id, "summaries")
    assert sorted(ids.tolist()) == sorted(m.id for m in sums)
    lib.close()


def test_static_video_reuses_features(tmp_path, encoder):
    from hourlens.indexer.pipeline import Indexer

    path = tmp_path / "static.mp4"
    make_scene_video(path, [(20.0, "static:china"), (10.0, "bars")], fps=5)
    lib = Library(tmp_path / "lib")
    idx = Indexer(lib.store, IndexConfig(), encoder=encoder)
    assert idx.index_file(path).status == "indexed"
    st = idx.last_stats
    assert st["reused"] >= 15, st
    assert st["encoded"] + st["reused"] == st["frames"]
    lib.close()


def test_incremental_skip_and_reindex(tmp_path, encoder):
    from hourlens.indexer.pipeline import Indexer

    path = tmp_path / "v.mp4"
    make_scene_video(path, [(4.0, "bars"), (4.0, "china")], fps=5)
    lib = Library(tmp_path / "lib")
    idx = Indexer(lib.store, IndexConfig(), encoder=encoder)
    assert idx.index_file(path).status == "indexed"
    assert idx.index_file(path).status == "skipped"
    first = lib.video(path)
    make_scene_video(path, [(4.0, "checker"), (6.0, "flower")], fps=5)
    res = idx.index_file(path)
    assert res.status == "indexed"
    second = lib.video(path)
    assert second.content_hash != first.content_hash
    assert second.duration == pytest.approx(10.0, abs=0.3)
    assert len(lib.videos()) == 1
    lib.close()


def test_a_known_fingerprint_is_not_hashed_again(tmp_path, monkeypatch, cut_video):
    """The Ray engine's workers reuse the driver's content hash while size and mtime hold."""
    from hourlens.indexer import pipeline

    path, _ = cut_video
    lib = Library(tmp_path / "lib")
    ix = pipeline.Indexer(lib.store, IndexConfig())
    first: dict = {}
    assert ix.check_unchanged(path, True, first, 0.0) is None
    assert first["hash"].startswith("blake2b:")
    calls: list = []
    monkeypatch.setattr(pipeline, "content_hash", lambda p: calls.append(p) or "blake2b:new")
    again: dict = {}
    assert ix.check_unchanged(path, True, again, 0.0, known=first) is None
    assert calls == [] and again == first
    changed: dict = {}
    ix.check_unchanged(path, True, changed, 0.0, known={**first, "mtime": first["mtime"] - 5})
    assert calls == [path] and changed["hash"] == "blake2b:new"
    lib.close()
