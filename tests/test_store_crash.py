"""Crash safety: a writer killed with SIGKILL at the worst moments never damages the
previous index or other videos, and the next open cleans every leftover.

Each case runs a child process that indexes (or re-indexes) a video and kills itself
with ``SIGKILL`` at a chosen point: mid frame streaming, right after the shard folder was
renamed into ``shards/`` but before the SQLite ``COMMIT``, or right after ``COMMIT`` but
before the replaced shard was deleted.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from hourlens.memory_store import Store

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="POSIX only")

DIM = 16

CHILD = textwrap.dedent(
    """
    import os, shutil, signal, sys
    import numpy as np
    from hourlens.memory_store import Store

    root, name, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    die = lambda: os.kill(os.getpid(), signal.SIGKILL)
    st = Store(root)
    rng = np.random.default_rng(99)
    w = st.begin_video(os.path.join(root, name), size=1, mtime=2.0, content_hash="new")
    for i in range(20):
        f = rng.normal(size=(10, {dim})).astype("f4")
        w.append_frames(np.arange(i * 10, i * 10 + 10, dtype=float), f)
        if mode == "mid_frames" and i == 12:
            die()
    seg = w.add_segment(index=0, start=0, end=200, n_frames=200, depth=0, alpha=1, budget=1)
    w.add_memory(segment=seg, kind="summary", start=0, end=200, n_frames=200,
                 vector=w.frame_features(0, 200).mean(0), tags=[("crashtag", 0.9)])
    w.add_keyframe(segment=seg, t=1.0, jpeg=b"jpeg")
    real_replace, real_rmtree = os.replace, shutil.rmtree

    def replace(src, dst):
        real_replace(src, dst)
        if mode == "after_rename" and "shards" in str(dst):
            die()

    def rmtree(path, *args, **kwargs):
        if mode == "after_commit" and "shards" in str(path):
            die()
        real_rmtree(path, *args, **kwargs)

    os.replace, shutil.rmtree = replace, rmtree
    w.commit(duration=200, fps=1, width=8, height=8, encoder="enc", encoder_dim={dim})
    print("committed")
    """
).replace("{dim}", str(DIM))


def write_first(store: Store, name: str) -> np.ndarray:
    rng = np.random.default_rng(1)
    feats = rng.normal(size=(30, DIM)).astype(np.float32)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    w = store.begin_video(store.root / name, size=1, mtime=1.0, content_hash="old")
    w.append_frames(np.arange(30, dtype=float), feats)
    for s in range(3):
        seg = w.add_segment(
            index=s, start=10 * s, end=10 * s + 10, n_frames=10, depth=0, alpha=1, budget=1
        )
        w.add_memory(
            segment=seg,
            kind="feature",
            start=10 * s,
            end=10 * s + 10,
            n_frames=10,
            vector=feats[10 * s],
            tags=[("goodtag", 0.8)],
        )
        w.add_keyframe(segment=seg, t=10.0 * s, jpeg=b"jpeg")
    w.commit(duration=30, fps=1, width=8, height=8, encoder="enc", encoder_dim=DIM)
    return feats


def run_child(root: Path, name: str, mode: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", CHILD, str(root), name, mode],
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_clean(store: Store) -> None:
    rows = store._db.get().execute("SELECT status, shard FROM videos").fetchall()
    assert "indexing" not in {r["status"] for r in rows}
    referenced = {r["shard"] for r in rows if r["shard"]}
    assert {p.name for p in store.shards_dir.iterdir()} == referenced
    assert list(store.staging_dir.iterdir()) == []


def assert_first_intact(store: Store, feats: np.ndarray) -> None:
    v = store.resolve_video("first.mp4")
    assert v.content_hash == "old" and len(store.segments(v.id)) == 3
    assert all(Path(k.path).read_bytes() == b"jpeg" for k in store.keyframes(v.id))
    assert store.search_text("goodtag")[0].video == v.path
    hit = store.nearest("frames", feats[12], k=1)[0]
    assert (hit.video_id, hit.row_id) == (v.id, 12)
    assert store.nearest("memories", feats[20], k=1)[0].video_id == v.id


@pytest.mark.parametrize("mode", ["mid_frames", "after_rename"])
@pytest.mark.parametrize("target", ["second.mp4", "first.mp4"])
def test_killed_writer_leaves_previous_index_intact(tmp_path: Path, mode: str, target: str):
    with Store(tmp_path) as st:
        feats = write_first(st, "first.mp4")
    proc = run_child(tmp_path, target, mode)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    staged = {p.suffix for p in (tmp_path / "staging").iterdir()}
    shards = list((tmp_path / "shards").iterdir())
    if mode == "mid_frames":  # the crash really left something behind
        assert staged == {"", ".lock"} and len(shards) == 1
    else:
        assert staged == {".lock"} and len(shards) == 2
    with Store(tmp_path) as st:
        assert_clean(st)
        assert_first_intact(st, feats)
        assert [v.path for v in st.videos()] == [str(tmp_path / "first.mp4")]
        assert st.search_text("crashtag") == []
        run = st._db.get().execute("SELECT status FROM index_runs ORDER BY id DESC").fetchone()
        assert run["status"] == "crashed"
    # the indexer simply redoes the file
    assert run_child(tmp_path, target, "none").stdout.strip() == "committed"
    with Store(tmp_path) as st:
        assert_clean(st)
        assert st.search_text("crashtag")[0].video == str(tmp_path / target)


def test_killed_after_commit_keeps_new_index(tmp_path: Path):
    with Store(tmp_path) as st:
        write_first(st, "first.mp4")
        old_id = st.resolve_video("first.mp4").id
    proc = run_child(tmp_path, "first.mp4", "after_commit")
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(list((tmp_path / "shards").iterdir())) == 2  # the replaced shard is left over
    with Store(tmp_path) as st:
        assert_clean(st)
        v = st.resolve_video("first.mp4")
        assert v.id == old_id and v.content_hash == "new"
        assert st.search_text("goodtag") == [] and st.search_text("crashtag")
        assert len(st.frame_times(v.id)) == 200


def test_open_does_not_recover_a_live_writer(tmp_path: Path):
    st = Store(tmp_path)
    feats = write_first(st, "first.mp4")
    w = st.begin_video(tmp_path / "second.mp4", size=1, mtime=1, content_hash="x")
    w.append_frames(np.arange(3, dtype=float), feats[:3])
    scratch = w.scratch_dir
    other = Store(tmp_path)  # recovery runs here and must see the lock held
    assert [v.status for v in other.videos()] == ["indexed", "indexing"]
    assert (tmp_path / "staging" / w.token).is_dir() and scratch.is_dir()
    seg = w.add_segment(index=0, start=0, end=3, n_frames=3, depth=0, alpha=1, budget=1)
    w.add_memory(segment=seg, kind="summary", start=0, end=3, n_frames=3, vector=feats[0])
    w.commit(duration=3, fps=1, width=8, height=8, encoder="enc", encoder_dim=DIM)
    assert other.resolve_video("second.mp4").status == "indexed"
    assert_clean(other)
    assert not scratch.exists()
    other.close()
    st.close()


def test_unknown_stale_staging_entries_are_removed(tmp_path: Path):
    Store(tmp_path).close()
    stale, fresh = tmp_path / "staging" / "thumbs-old", tmp_path / "staging" / "thumbs-new"
    stale.mkdir()
    fresh.mkdir()
    os.utime(stale, (1, 1))
    with Store(tmp_path):
        assert not stale.exists() and fresh.exists()
