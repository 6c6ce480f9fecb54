"""Window planning, stitching and the worker's record/replay, without Ray."""

from __future__ import annotations

import math
import sys

import numpy as np
import pytest
from media import make_scene_video

from hourlens import IndexConfig, Library, MissingDependencyError
from hourlens.indexer.decode import probe_video
from hourlens.indexer.encoders import load_encoder
from hourlens.indexer.frames import run_frame_pass
from hourlens.indexer.ray_worker import Recording, RecordingStore, replay
from hourlens.indexer.windows import plan_windows, run_window_pass, stitch
from hourlens.types import IndexResult

SCENES = [(9.0, "hopper"), (11.0, "bars"), (8.0, "china"), (12.0, "checker"), (10.0, "flower")]


@pytest.fixture(scope="module")
def long_video(tmp_path_factory):
    path = tmp_path_factory.mktemp("win") / "long.mp4"
    cuts = make_scene_video(path, SCENES, fps=5, size=(160, 120))
    return path, cuts


@pytest.fixture(scope="module")
def encoder():
    return load_encoder("efficientnet_lite0", threads=1)


def test_plan_windows_cuts_at_keyframes_on_the_sample_grid(long_video):
    path, _ = long_video
    assert plan_windows(path, 50.0, window_s=40.0, fps=1.0) == [(0.0, math.inf)]
    wins = plan_windows(path, 50.0, window_s=15.0, fps=2.0)
    assert len(wins) >= 2 and wins[0][0] == 0.0 and wins[-1][1] == math.inf
    for (a, b), (c, _) in zip(wins, wins[1:], strict=False):
        assert b == c and b - a >= 7.5
        assert (b * 2.0) == pytest.approx(round(b * 2.0))  # on the sample grid


def test_window_passes_stitch_to_the_whole_pass(tmp_path, long_video, encoder):
    """Same frames and times; features equal except at a window's first frame."""
    path, _ = long_video
    probe = probe_video(path)
    cfg = IndexConfig(fps=1.0, threads=1, ocr=False)
    whole: list[np.ndarray] = []
    (tmp_path / "t").mkdir()
    fp = run_frame_pass(
        path,
        probe,
        config=cfg,
        encoder=encoder,
        append=lambda _t, f: whole.append(f.copy()),
        thumbs_dir=tmp_path / "t",
    )
    wins = plan_windows(path, probe.duration, window_s=15.0, fps=cfg.fps)
    parts = []
    for i, w in enumerate(wins):
        (tmp_path / f"w{i}").mkdir()
        parts.append(
            run_window_pass(path, probe, w, config=cfg, encoder=encoder, scratch=tmp_path / f"w{i}")
        )
    st = stitch(parts[::-1])  # any order
    assert st.frames.times == fp.times
    assert len(st.frames.sims) == len(fp.sims) == len(fp.times) - 1
    assert st.frames.encoded + st.frames.reused == len(fp.times)
    x = np.concatenate(whole)
    firsts = {fp.times.index(next(t for t in fp.times if t >= w[0])) for w in wins}
    for i in range(len(x)):
        if i not in firsts:  # a reused neighbour feature at the edge may differ
            np.testing.assert_allclose(st.features[i], x[i], atol=1e-5)
    assert len(st.frames.thumb_of) == len(fp.times)
    assert set(st.frames.thumb_of) <= set(st.thumbs)


def test_recording_replays_to_the_serial_index(tmp_path, long_video, encoder):
    from hourlens.indexer.pipeline import Indexer

    path, _ = long_video
    cfg = IndexConfig(threads=1, asr="none", ocr=False)
    serial = Library(tmp_path / "serial", index_config=cfg)
    assert Indexer(serial.store, cfg, encoder=encoder).index_file(path).status == "indexed"
    scratch = Library(tmp_path / "scratch", index_config=cfg)
    placeholder = IndexResult(video="", status="failed", duration=None, segments=0, seconds=0.0)
    rec = Recording(result=placeholder)
    res = Indexer(RecordingStore(scratch.store, rec), cfg, encoder=encoder).index_file(
        path, force=True
    )
    assert res.status == "indexed" and rec.commit is not None and rec.calls
    assert scratch.videos() == []  # the scratch library kept nothing
    lib = Library(tmp_path / "lib", index_config=cfg)
    replay(lib.store, str(path.resolve()), rec)
    a, b = serial.video(path.name), lib.video(path.name)
    assert (a.duration, a.content_hash, a.encoder) == (b.duration, b.content_hash, b.encoder)
    seg = [(s.start, s.end, s.n_frames) for s in serial.store.segments(a.id)]
    assert seg == [(s.start, s.end, s.n_frames) for s in lib.store.segments(b.id)]
    np.testing.assert_allclose(
        serial.store.vectors(a.id, "memories")[1], lib.store.vectors(b.id, "memories")[1], atol=1e-6
    )
    for x in (serial, scratch, lib):
        x.close()


def test_router_forwards_one_video_at_a_time():
    from hourlens.indexer.ray_engine import _Router

    got: list[tuple[str, object]] = []
    r = _Router(lambda e, i: got.append((e, i.get("path") or i.get("n"))))
    r.push(0, "start", {"path": "a"})
    r.push(1, "start", {"path": "b"})
    r.push(1, "frames", {"n": 5})
    r.push(0, "frames", {"n": 3})
    r.push(1, "done", {"result": None})
    assert got == [("start", "a"), ("frames", 3)]
    r.push(0, "done", {"result": None})
    r.push(0, "frames", {"n": 9})  # late events of a finished video are dropped
    assert got == [
        ("start", "a"),
        ("frames", 3),
        ("done", None),
        ("start", "b"),
        ("frames", 5),
        ("done", None),
    ]


def test_engine_ray_without_ray_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    lib = Library(tmp_path / "lib")
    with pytest.raises(MissingDependencyError, match=r"hourlens\[ray\]"):
        lib.index(tmp_path, engine="ray")
    with pytest.raises(ValueError, match="unknown engine"):
        lib.index(tmp_path, engine="spark")
    lib.close()


def test_scratch_of_dead_workers_is_swept(tmp_path):
    import os
    import subprocess
    import sys

    from hourlens.indexer.ray_worker import SCRATCH_PREFIX, sweep_stale_scratch

    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    dead = tmp_path / f"{SCRATCH_PREFIX}{child.pid}-abc"
    (dead / "library").mkdir(parents=True)
    live = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-xyz"
    live.mkdir()
    odd = tmp_path / f"{SCRATCH_PREFIX}notapid-1"
    odd.mkdir()
    assert sweep_stale_scratch(tmp_path) == [dead]
    assert live.is_dir() and odd.is_dir() and not dead.exists()


def test_worker_threads_fit_the_cpus_it_reserved():
    from hourlens.indexer.ray_worker import worker_config

    auto = worker_config(IndexConfig(), cpus=4, gpu=False)
    assert (auto.threads, auto.ocr_threads, auto.device) == (4, 2, "cpu")
    one = worker_config(IndexConfig(), cpus=1, gpu=True)
    assert (one.threads, one.ocr_threads, one.device) == (1, 1, "cuda")
    mine = worker_config(IndexConfig(threads=3, ocr_threads=5), cpus=1, gpu=False)
    assert (mine.threads, mine.ocr_threads) == (3, 5)
