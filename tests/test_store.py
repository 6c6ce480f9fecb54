"""Memory store: schema migrations, writes and reads of every table, re-index, lookups,
removal, text search with hostile input, failure policy, thread safety."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pytest
from sqlite_utils import Database

from hourlens.errors import HourlensError, NotIndexedError
from hourlens.memory_store import Store

DIM = 16


def unit(rng: np.random.Generator, n: int, dim: int = DIM) -> np.ndarray:
    v = rng.normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def write_video(
    store: Store,
    path: Path | str,
    *,
    seed: int = 0,
    n_frames: int = 60,
    seg_len: int = 10,
    tag: str = "tabby cat",
    speech: str = "the rocket lifts off from the launch pad",
    content_hash: str = "h",
    commit: bool = True,
):
    """A synthetic video: 1 frame/s, segments of ``seg_len`` s, 2 memories + 1 summary each."""
    rng = np.random.default_rng(seed)
    feats = unit(rng, n_frames)
    w = store.begin_video(path, size=100 + seed, mtime=1000.0 + seed, content_hash=content_hash)
    for i in range(0, n_frames, 7):  # several appends
        w.append_frames(np.arange(i, min(i + 7, n_frames), dtype=float), feats[i : i + 7])
    for s, a in enumerate(range(0, n_frames, seg_len)):
        b = min(a + seg_len, n_frames)
        key = w.add_segment(
            index=s, start=a, end=b, n_frames=b - a, depth=0.1 * s, alpha=2.0, budget=2
        )
        mid = (a + b) // 2
        w.add_memory(
            segment=key,
            kind="feature",
            start=a,
            end=mid,
            n_frames=mid - a,
            vector=feats[a],
            tags=[(tag, 0.9)] if s == 0 else [],
        )
        w.add_memory(
            segment=key, kind="feature", start=mid, end=b, n_frames=b - mid, vector=feats[mid]
        )
        w.add_memory(
            segment=key, kind="summary", start=a, end=b, n_frames=b - a, vector=feats[a:b].mean(0)
        )
        w.add_segment_tags(key, [(f"label{s}", 0.5)])
        w.add_keyframe(segment=key, t=float(a), jpeg=b"\xff\xd8fake" + bytes([s]))
    lines = w.add_transcript_lines(
        [
            {"start": 12.0, "end": 15.5, "text": speech, "words": [["the", 12.0, 12.2]]},
            {"start": 31.0, "end": 33.0, "text": "a completely different sentence"},
        ],
        language="en",
    )
    w.add_ocr_items([{"start": 40.0, "end": 41.0, "text": "EXIT 42", "score": 0.7}])
    w.add_captions([{"start": 0.0, "end": 10.0, "text": "a cat sleeps on a sofa"}])
    w.add_captions([{"start": 0.0, "end": n_frames, "text": "a video about cats"}], level="video")
    w.add_chapters([{"start": 0.0, "end": 30.0, "title": "Intro", "summary": "cats appear"}])
    w.add_texts_vectors("speech", lines, unit(rng, 2, 8), model="mini")
    if not commit:
        return w, feats
    video = w.commit(
        duration=float(n_frames),
        fps=25.0,
        width=64,
        height=48,
        encoder="enc",
        encoder_dim=DIM,
        stats={"frames": n_frames},
    )
    return video, feats


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "lib") as st:
        yield st


def test_write_and_read_every_table(store: Store, tmp_path: Path):
    video, feats = write_video(store, tmp_path / "a.mp4")
    assert video.status == "indexed" and video.duration == 60.0 and video.encoder == "enc"
    assert store.videos() == [video] and store.videos("failed") == []
    segs = store.segments(video.id)
    assert [s.index for s in segs] == list(range(6)) and segs[1].start == 10.0
    assert len(store.memories(video.id, kind="feature")) == 12
    assert len(store.memories(segment_id=segs[0].id)) == 3
    kfs = store.keyframes(video.id)
    assert len(kfs) == 6 and Path(kfs[2].path).read_bytes() == b"\xff\xd8fake\x02"
    assert Path(kfs[0].path).is_relative_to(store.shards_dir)
    tags = store.tags(video.id)
    assert tags[0].label == "tabby cat" and tags[0].memory_id is not None
    assert [t.label for t in store.tags(video.id, segment_id=segs[3].id)] == ["label3"]
    assert len(store.tags(video.id, limit=2)) == 2
    lines = store.transcript(video.id, 10, 20)
    assert [ln.text for ln in lines] == ["the rocket lifts off from the launch pad"]
    assert store.transcript("a.mp4")[1].start == 31.0
    assert store.ocr_items(video.id)[0].text == "EXIT 42"
    assert store.ocr_items(video.id)[0].segment_id == segs[4].id  # assigned by time
    assert [c.level for c in store.captions(video.id)] == ["segment", "video"]
    assert store.captions(video.id, level="video")[0].segment_id is None
    assert store.captions(video.id, level="segment")[0].segment_id == segs[0].id
    assert store.chapters(video.id)[0].title == "Intro"
    ids, vecs = store.vectors(video.id, "frames")
    assert ids.tolist() == list(range(60)) and np.allclose(vecs, feats, atol=2e-3)
    assert store.frame_times(video.id).tolist() == list(range(60))
    st = store.stats()
    assert st["videos"] == {"indexed": 1} and st["segments"] == 6
    assert st["vectors"] == {"frames": 60, "memories": 12, "summaries": 6, "texts": 2}
    assert st["bytes"]["shards"] > 60 * DIM * 2 and st["bytes"]["staging"] == 0
    run = store._db.get().execute("SELECT status, stats FROM index_runs").fetchone()
    assert run["status"] == "indexed" and '"frames": 60' in run["stats"]


def test_segment_time_ranges(store: Store, tmp_path: Path):
    video, _ = write_video(store, tmp_path / "a.mp4")
    idx = lambda a, b: [s.index for s in store.segments(video.id, a, b)]  # noqa: E731
    assert idx(15, 25) == [1, 2]
    assert idx(10, 20) == [1]  # touching boundaries do not overlap
    assert idx(20, 20) == [2]  # a point query returns the segment starting there
    assert idx(None, 5) == [0] and idx(55, None) == [5]
    with pytest.raises(ValueError):
        store.segments(video.id, 5, 1)


def test_frame_features_read_back(store: Store, tmp_path: Path):
    w, feats = write_video(store, tmp_path / "a.mp4", commit=False)
    assert w.n_frames == 60
    assert np.allclose(w.frame_features(5, 17), feats[5:17], atol=2e-3)
    assert w.frame_features(3, 3).shape == (0, DIM)
    with pytest.raises(ValueError):
        w.append_frames(np.array([100.0]), np.ones((1, DIM + 1)))
    with pytest.raises(ValueError):
        w.append_frames(np.array([1.0]), np.ones((1, DIM)))  # time goes backwards
    w.abort()
    assert store.videos() == [] and list(store.staging_dir.iterdir()) == []


def test_reindex_replaces_rows_and_shard(store: Store, tmp_path: Path):
    path = tmp_path / "a.mp4"
    old, _ = write_video(store, path, seed=1, tag="old tag", content_hash="h1")
    old_shard = list(store.shards_dir.iterdir())
    w, _ = write_video(
        store, path, seed=2, tag="new tag", n_frames=30, content_hash="h2", commit=False
    )
    # while re-indexing, the previous index stays live
    assert [v.status for v in store.videos()] == ["indexed"]
    assert store.resolve_video("a.mp4").id == old.id
    assert store.search_text("old tag")[0].text == "old tag"
    assert [v.status for v in store.videos("indexing")] == ["indexing"]
    new = w.commit(duration=30.0, fps=25, width=64, height=48, encoder="enc", encoder_dim=DIM)
    assert new.id == old.id and new.content_hash == "h2"
    assert store.videos() == [new]
    assert len(store.segments(new.id)) == 3
    assert not [h for h in store.search_text("old tag") if h.text == "old tag"]
    assert store.search_text("new tag")[0].video == str(path)
    shards = list(store.shards_dir.iterdir())
    assert len(shards) == 1 and shards != old_shard
    assert len(store.frame_times(new.id)) == 30
    counts = store._db.get().execute("SELECT count(*) FROM texts_fts").fetchone()[0]
    assert counts == store.stats()["tags"] + 2 + 1 + 2 + 1  # tags, lines, ocr, captions, chapter


def test_lookup_unchanged_and_hash(store: Store, tmp_path: Path):
    path = tmp_path / "a.mp4"
    path.write_bytes(b"video bytes")
    video, _ = write_video(store, path, content_hash="abc")
    assert store.lookup_unchanged(path, 100, 1000.0) == video
    assert store.lookup_unchanged(path, 100, 1001.0) is None
    assert store.lookup_unchanged(tmp_path / "other.mp4", 100, 1000.0) is None
    assert store.lookup_hash(path, "zzz") is None
    touched = store.lookup_hash(str(path), "abc")  # mtime changed only: refreshed from disk
    assert touched is not None and touched.id == video.id
    assert store.lookup_unchanged(path, path.stat().st_size, path.stat().st_mtime) is not None
    assert store.lookup_hash(path, "abc", size=5, mtime=7.0).size == 5


def test_get_and_resolve_video(store: Store, tmp_path: Path):
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    a, _ = write_video(store, tmp_path / "x" / "talk.mp4")
    b, _ = write_video(store, tmp_path / "y" / "talk.mp4", seed=1)
    c, _ = write_video(store, tmp_path / "y" / "launch.mkv", seed=2)
    assert store.get_video(a.id) == a and store.get_video(str(b.id)) == b
    assert store.get_video(str(tmp_path / "x" / "talk.mp4")) == a
    assert store.get_video("launch.mkv") == c and store.get_video("launch") == c
    assert store.get_video("y/talk.mp4") == b
    assert store.get_video("talk.mp4") is None  # ambiguous
    assert store.get_video(12345) is None
    with pytest.raises(NotIndexedError, match="several"):
        store.resolve_video("talk.mp4")
    with pytest.raises(NotIndexedError, match="launch.mkv"):
        store.resolve_video("lanch.mkv")
    store.mark_failed(tmp_path / "bad.mp4", size=1, mtime=1, content_hash="", error="not a video")
    assert store.get_video("bad.mp4").status == "failed"
    with pytest.raises(NotIndexedError, match="not a video"):
        store.resolve_video("bad.mp4")


def test_remove_video(store: Store, tmp_path: Path):
    a, _ = write_video(store, tmp_path / "a.mp4")
    b, _ = write_video(store, tmp_path / "b.mp4", seed=1, tag="zebra")
    thumbs = [Path(k.path) for k in store.keyframes(a.id)]
    assert store.remove_video("a.mp4") == a
    assert store.videos() == [b]
    assert not any(p.exists() for p in thumbs)
    assert len(list(store.shards_dir.iterdir())) == 1
    assert store.memories(a.id) == [] and store.transcript(b.id)
    assert {h.video for h in store.search_text("rocket zebra cat")} == {str(tmp_path / "b.mp4")}
    with pytest.raises(NotIndexedError):
        store.remove_video("a.mp4")


@pytest.mark.parametrize(
    "query",
    [
        '"',
        '"rocket',
        "AND",
        "rocket AND",
        "OR NOT",
        "*",
        "rock*",
        "-rocket",
        "rocket -pad",
        "NEAR(rocket pad)",
        "text:rocket",
        "^rocket",
        "(rocket",
        "ロケット 🚀",
        "Rocket's",
        "",
        "   ",
        "\x00",
        "launch-pad",
        "a" * 5000,
        "rocket " * 100,
    ],
)
def test_search_text_hostile_queries(store: Store, tmp_path: Path, query: str):
    write_video(store, tmp_path / "a.mp4")
    hits = store.search_text(query, k=5)
    assert isinstance(hits, list) and len(hits) <= 5
    if "rocket" in query.lower():
        assert hits and hits[0].kind == "speech" and "rocket" in hits[0].text


def test_search_text_kinds_scope_and_unicode(store: Store, tmp_path: Path):
    a, _ = write_video(store, tmp_path / "a.mp4", speech="Le café est très chaud")
    write_video(store, tmp_path / "b.mp4", seed=1, speech="rocket rocket")
    assert store.search_text("cafe tres")[0].video == str(tmp_path / "a.mp4")
    assert {h.kind for h in store.search_text("exit cats intro sofa")} >= {"ocr", "caption"}
    assert {h.video for h in store.search_text("cats tabby", video_id=a.id)} == {a.path}
    assert store.search_text("rocket", video_id=a.id) == []
    tag_hits = [h for h in store.search_text("tabby") if h.kind == "tag"]
    assert len(tag_hits) == 2 and all(h.segment_id is not None for h in tag_hits)
    assert store.search_text("rockets")[0].video == str(tmp_path / "b.mp4")  # stemming
    assert store.search_text("cats", k=0) == []


def test_failure_policy(store: Store, tmp_path: Path):
    path = tmp_path / "a.mp4"
    good, _ = write_video(store, path, content_hash="same")
    # forced re-index of unchanged content fails: keep the good index
    with (
        pytest.raises(RuntimeError),
        store.begin_video(path, size=1, mtime=2, content_hash="same") as w,
    ):
        w.append_frames(np.zeros(1), np.ones((1, DIM)))
        raise RuntimeError("encoder crashed")
    assert store.resolve_video(path) == good
    assert list(store.staging_dir.iterdir()) == []
    # changed content fails: old rows and shard go, the path keeps its id as 'failed'
    with (
        pytest.raises(ValueError),
        store.begin_video(path, size=1, mtime=3, content_hash="changed"),
    ):
        raise ValueError("corrupt stream")
    failed = store.get_video(path)
    assert failed.id == good.id and failed.status == "failed" and "corrupt" in failed.error
    assert store.segments(good.id) == [] and list(store.shards_dir.iterdir()) == []
    assert store.videos("indexed") == []
    # a new file that fails gets a failed row; a later success replaces it
    with (
        pytest.raises(KeyError),
        store.begin_video(tmp_path / "n.mp4", size=1, mtime=1, content_hash="n"),
    ):
        raise KeyError("boom")
    assert store.get_video("n.mp4").status == "failed"
    fixed, _ = write_video(store, tmp_path / "n.mp4")
    assert fixed.id == store.get_video("n.mp4").id and fixed.status == "indexed"


def test_second_writer_for_same_path_is_refused(store: Store, tmp_path: Path):
    w = store.begin_video(tmp_path / "a.mp4", size=1, mtime=1, content_hash="x")
    with pytest.raises(HourlensError, match="already being indexed"):
        store.begin_video(tmp_path / "a.mp4", size=1, mtime=1, content_hash="x")
    w.abort()
    store.begin_video(tmp_path / "a.mp4", size=1, mtime=1, content_hash="x").abort()
    assert store.videos() == []
    with pytest.raises(RuntimeError):
        w.add_segment(index=0, start=0, end=1, n_frames=1, depth=0, alpha=1, budget=1)


def test_threads_read_while_one_commits(tmp_path: Path):
    store = Store(tmp_path)
    first, feats = write_video(store, tmp_path / "first.mp4")
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                assert len(store.segments(first.id)) == 6
                assert store.search_text("rocket")
                hit = store.nearest("frames", feats[7], k=1, video_id=first.id)[0]
                assert hit.row_id == 7
                assert store.nearest("summaries", feats[3], k=3)
                assert store.get_video("first.mp4").status == "indexed"
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    try:
        for i in range(3):
            write_video(store, tmp_path / f"v{i}.mp4", seed=10 + i)
            write_video(store, tmp_path / "first.mp4", seed=0)  # re-index under the readers
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors[0]
    assert len(store.videos("indexed")) == 4
    store.close()


def test_schema_through_sqlite_utils(store: Store):
    db = Database(store.root / "library.db")
    cascade, set_null = "CASCADE", "SET NULL"
    expected = {  # table -> (columns, {column: (other table, ON DELETE)})
        "segments": (
            ["id", "video_id", "idx", "start", "end", "n_frames", "depth", "alpha", "budget"],
            {"video_id": ("videos", cascade)},
        ),
        "memories": (
            ["id", "video_id", "segment_id", "kind", "start", "end", "n_frames"],
            {"video_id": ("videos", cascade), "segment_id": ("segments", cascade)},
        ),
        "keyframes": (
            ["id", "video_id", "segment_id", "t", "path"],
            {"video_id": ("videos", cascade), "segment_id": ("segments", cascade)},
        ),
        "tags": (
            ["id", "video_id", "segment_id", "memory_id", "label", "score", "start", "end"],
            {
                "video_id": ("videos", cascade),
                "segment_id": ("segments", cascade),
                "memory_id": ("memories", cascade),
            },
        ),
        "transcript_lines": (
            ["id", "video_id", "segment_id", "start", "end", "text", "words", "language"]
            + ["source"],
            {"video_id": ("videos", cascade), "segment_id": ("segments", set_null)},
        ),
        "ocr_items": (
            ["id", "video_id", "segment_id", "start", "end", "text", "score"],
            {"video_id": ("videos", cascade), "segment_id": ("segments", set_null)},
        ),
        "captions": (
            ["id", "video_id", "segment_id", "level", "start", "end", "text", "source"],
            {"video_id": ("videos", cascade), "segment_id": ("segments", set_null)},
        ),
        "chapters": (
            ["id", "video_id", "idx", "start", "end", "title", "summary"],
            {"video_id": ("videos", cascade)},
        ),
        "index_runs": (
            ["id", "started_at", "finished_at", "video_id", "path", "status", "seconds"]
            + ["stats"],
            {},
        ),
    }
    for name, (columns, refs) in expected.items():
        table = db[name]
        assert [c.name for c in table.columns] == columns, name
        assert table.pks == ["id"], name
        fks = {fk.column: (fk.other_table, fk.on_delete) for fk in table.foreign_keys}
        assert fks == refs, name
        assert all(fk.other_column == "id" for fk in table.foreign_keys), name
    assert db["tags"].columns_dict["score"] is float
    not_null = {c.name for c in db["tags"].columns if c.notnull}
    assert not_null == set(expected["tags"][0]) - {"id", "memory_id"}
    videos = db["videos"]
    assert "text_encoder" in videos.columns_dict and videos.foreign_keys == []
    assert [c.check for c in videos.checks] == ["status IN ('indexing', 'indexed', 'failed')"]
    indexes = {i.name: i for i in videos.indexes}
    assert indexes["videos_path_done"].unique and indexes["videos_path_done"].partial
    assert {i.name for i in db["segments"].indexes} == {"segments_video_start"}
    assert {i.name for i in db["tags"].indexes} == {
        "tags_video_start",
        "tags_segment",
        "tags_memory",
    }
    assert db["texts_fts"].virtual_table_using == "FTS5"
    db.close()


def test_sqlite_utils_writes_stay_in_the_open_transaction(store: Store, tmp_path: Path):
    video, _ = write_video(store, tmp_path / "a.mp4")
    seg = {"video_id": video.id, "idx": 9, "start": 0.0, "end": 1.0, "n_frames": 1}
    seg |= {"depth": 0.0, "alpha": 1.0, "budget": 1}
    n_tags = store.stats()["tags"]
    other = sqlite3.connect(store.root / "library.db")
    with pytest.raises(RuntimeError, match="boom"), store._db.write() as db:
        db.table("tags").delete_where("video_id = ?", [video.id])
        db.table("index_runs").insert({"started_at": "now", "status": "test"})
        db.table("videos").update(video.id, {"error": "oops"})
        db.table("segments").insert_all([seg] * 300)  # several batches
        assert db.conn.in_transaction
        assert other.execute("SELECT count(*) FROM tags").fetchone()[0] == n_tags
        assert other.execute("SELECT count(*) FROM index_runs").fetchone()[0] == 1
        raise RuntimeError("boom")
    other.close()
    assert store.stats()["tags"] == n_tags and store.stats()["segments"] == 6
    assert store.get_video(video.id).error is None
    assert store.search_text("tabby")  # the FTS rows of the tags came back too


def test_commit_is_one_transaction(store: Store, tmp_path: Path):
    write_video(store, tmp_path / "a.mp4", seed=1)
    w, _ = write_video(store, tmp_path / "a.mp4", seed=2, commit=False)  # a re-index
    statements: list[str] = []
    conn = store._db.get().conn
    conn.set_trace_callback(statements.append)
    try:
        w.commit(duration=60.0, fps=25, width=64, height=48, encoder="enc", encoder_dim=DIM)
    finally:
        conn.set_trace_callback(None)
    begin = statements.index("BEGIN IMMEDIATE")
    ends = [s for s in statements if s.split()[0].upper() in ("BEGIN", "COMMIT", "ROLLBACK")]
    assert ends == ["BEGIN IMMEDIATE", "COMMIT"]
    body = statements[begin : statements.index("COMMIT")]
    # sqlite-utils' delete_where / insert_all ran inside, in savepoints
    assert any(s.startswith('delete from "videos"') for s in body)
    assert any(s.startswith('INSERT INTO "tags"') for s in body)
    assert any(s.startswith("SAVEPOINT sqlite_utils_") for s in body)
    assert [v.id for v in store.videos()] == [1] and len(store.segments(1)) == 6


def test_fts_query_drops_stopwords_unless_nothing_else():
    from hourlens.memory_store.fts import fts_match

    assert fts_match("a woman in a navy uniform") == '"woman" OR "navy" OR "uniform"'
    assert fts_match("the") == '"the"'
    assert fts_match("!!!") is None
