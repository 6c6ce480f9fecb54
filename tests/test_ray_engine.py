"""The Ray engine against the serial one, on a local Ray (``ray.init(num_cpus=2)``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from media import make_scene_video, tone

from hourlens import IndexConfig, Library
from hourlens.config import RayConfig

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

pytestmark = pytest.mark.slow  # starts Ray and loads the packaged models in its workers

SR = 16000
VIDEOS = [
    [(6.0, "hopper"), (6.0, "bars"), (6.0, "china")],
    [(5.0, "checker"), (7.0, "flower")],
    [(8.0, "circles"), (6.0, "gradient"), (6.0, "stripes")],
]
SAY = "The quick brown fox jumps over the lazy dog."
CONFIG = IndexConfig(threads=1)  # the workers' threads: identical float results


def _speech(tmp: Path, seconds: float) -> np.ndarray:
    """A spoken sentence at 2 s (espeak-ng), else a tone."""
    if shutil.which("espeak-ng") is None:
        return tone(seconds)
    wav = tmp / "say.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(wav), SAY], check=True)
    with wave.open(str(wav)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
    x = np.interp(np.arange(0, len(x) * SR / rate) * rate / SR, np.arange(len(x)), x)
    track = np.zeros(int(seconds * SR), dtype=np.float32)
    track[2 * SR : 2 * SR + len(x)] = x[: len(track) - 2 * SR]
    return track


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    d = tmp_path_factory.mktemp("ray-media")
    out = []
    for i, scenes in enumerate(VIDEOS):
        seconds = sum(s for s, _ in scenes)
        audio = _speech(d, seconds) if i == 0 else tone(seconds)
        p = d / f"v{i}.mp4"
        make_scene_video(p, scenes, fps=10, size=(160, 120), audio=audio)
        out.append(p)
    return out


@pytest.fixture(scope="module")
def serial(tmp_path_factory, videos):
    lib = Library(tmp_path_factory.mktemp("serial") / "lib", index_config=CONFIG)
    assert [r.status for r in lib.index(videos)] == ["indexed"] * 3
    yield lib
    lib.close()


def _snapshot(lib: Library, path: Path) -> dict:
    store = lib.store
    v = lib.video(str(path))
    mems = store.memories(video_id=v.id)
    ids, vecs = store.vectors(v.id, "memories")
    return {
        "duration": v.duration,
        "segments": [(s.index, s.start, s.end, s.n_frames, s.budget) for s in store.segments(v.id)],
        "memories": [(m.kind, m.start, m.end, m.n_frames) for m in mems],
        "vectors": vecs,
        "transcript": [(ln.start, ln.end, ln.text) for ln in lib.transcript(v.id)],
        "describe": {
            k: lib.describe(v.id)[k] for k in ("memories", "transcript_lines", "ocr_items", "tags")
        },
    }


def _same(a: dict, b: dict) -> None:
    assert a["duration"] == b["duration"]
    assert a["segments"] == b["segments"]
    assert a["memories"] == b["memories"]
    np.testing.assert_allclose(a["vectors"], b["vectors"], atol=2e-3)
    assert a["transcript"] == b["transcript"]
    assert a["describe"] == b["describe"]


def _consistent(lib: Library) -> None:
    """No unfinished rows, no staging leftovers, every shard referenced."""
    store = lib.store
    assert not [v for v in store.videos() if v.status == "indexing"]
    assert set(store.recover().values()) == {0}  # nothing left over to clean
    assert not list(store.staging_dir.iterdir())
    rows = store._db.get().table("videos").rows_where("status = 'indexed'", select="shard")
    on_disk = {p.name for p in store.shards_dir.iterdir()}
    assert on_disk == {r["shard"] for r in rows}


def test_three_videos_match_serial(tmp_path, local_ray, videos, serial):
    lib = Library(tmp_path / "lib", index_config=CONFIG)
    events: list[tuple[str, dict]] = []
    res = lib.index(
        videos,
        engine="ray",
        ray_config=RayConfig(workers=2),
        progress=lambda e, i: events.append((e, i)),
    )
    assert sorted(r.video for r in res) == sorted(str(v) for v in videos)
    assert all(r.status == "indexed" for r in res), [r.error for r in res]
    for v in videos:
        _same(_snapshot(serial, v), _snapshot(lib, v))
    if shutil.which("espeak-ng"):
        assert "fox" in " ".join(t for *_, t in _snapshot(lib, videos[0])["transcript"]).lower()
    # the serial event sequence, one video at a time
    names = [e for e, _ in events]
    assert names[0] == "plan" and names.count("done") == 3
    per_video = names[1:]
    for _ in range(3):
        end = per_video.index("done")
        assert per_video[0] == "start" and set(per_video[1:end]) <= {"frames", "stage"}
        per_video = per_video[end + 1 :]
    starts = [i for e, i in events if e == "start"]
    frames: dict[str, int] = {}
    current = None
    for e, i in events:
        if e == "start":
            current = i["path"]
        elif e == "frames":
            frames[current] = frames.get(current, 0) + i["n"]
    assert {s["path"]: s["total"] for s in starts} == {
        str(v): sum(round(s) for s, _ in sc) for v, sc in zip(videos, VIDEOS, strict=True)
    }
    assert frames == {s["path"]: s["total"] for s in starts}
    # incremental: a second run skips everything without starting work
    again = lib.index(videos, engine="ray", ray_config=RayConfig(workers=2))
    assert [r.status for r in again] == ["skipped"] * 3
    _consistent(lib)
    lib.close()


def test_cli_engine_ray_json_lines(tmp_path, local_ray, videos):
    from hourlens.cli import cli

    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all" * 50)
    args = ["--library", str(tmp_path / "lib"), "index", "--json", "--no-progress"]
    run = CliRunner().invoke(
        cli, [*args, "--engine", "ray", "--workers", "2", str(videos[1]), str(bad)]
    )
    assert run.exit_code == 1, run.output
    lines = [json.loads(x) for x in run.stdout.splitlines()]
    by = {x["video"]: x for x in lines}
    assert set(by[str(videos[1])]) == {
        "video",
        "status",
        "duration",
        "segments",
        "seconds",
        "error",
    }
    assert by[str(videos[1])]["status"] == "indexed"
    assert by[str(bad.resolve())]["status"] == "failed" and by[str(bad.resolve())]["error"]
    lib = Library(tmp_path / "lib")
    failed = [v for v in lib.videos() if v.status == "failed"]
    assert [v.path for v in failed] == [str(bad.resolve())]  # its error row
    lib.close()


def _proc_title(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_killed_worker_is_retried(tmp_path, local_ray, videos, serial):
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to find the worker process")
    lib = Library(tmp_path / "lib", index_config=CONFIG)
    killed: list[int] = []

    def progress(event: str, info: dict) -> None:
        if event != "frames" or killed:
            return
        for pid in map(int, filter(str.isdigit, os.listdir("/proc"))):
            if "ray::IndexWorker.index_video" in _proc_title(pid):
                os.kill(pid, signal.SIGKILL)  # the worker dies mid-task
                killed.append(pid)
                return

    res = lib.index(
        videos, engine="ray", ray_config=RayConfig(workers=2, max_retries=2), progress=progress
    )
    assert killed, "no worker was running a video"
    assert all(r.status == "indexed" for r in res), [r.error for r in res]
    for v in videos:
        _same(_snapshot(serial, v), _snapshot(lib, v))
    _consistent(lib)
    lib.close()


def test_long_video_windows_match_serial(tmp_path, local_ray):
    """Windows of 40 s over 160 s: the same boundaries away from the window edges."""
    scenes = [
        (s, k)
        for s, k in zip(
            [9, 13, 8, 11, 7, 12, 10, 9, 14, 8, 12, 10, 9, 11, 9, 8],
            ["hopper", "bars", "china", "checker", "flower", "circles", "gradient", "stripes"] * 2,
            strict=True,
        )
    ]
    video = tmp_path / "long.mp4"
    cuts = make_scene_video(video, scenes, fps=5, size=(160, 120))
    cfg = IndexConfig(threads=1, asr="none", ocr=False, fps=1.0)
    ser = Library(tmp_path / "serial", index_config=cfg)
    assert ser.index(video)[0].status == "indexed"
    lib = Library(tmp_path / "ray", index_config=cfg)
    rc = RayConfig(workers=2, window_s=40.0)
    from hourlens.indexer.windows import plan_windows

    windows = plan_windows(video, 160.0, window_s=rc.window_s, fps=cfg.fps)
    assert len(windows) >= 3
    edges = [w[0] for w in windows[1:]]
    res = lib.index(video, engine="ray", ray_config=rc)
    assert res[0].status == "indexed", res[0].error
    a = [s.start for s in ser.store.segments(ser.video(video).id)][1:]
    b = [s.start for s in lib.store.segments(lib.video(video).id)][1:]

    def far(ts: list[float]) -> list[float]:
        return [t for t in ts if min(abs(t - e) for e in edges) > cfg.min_segment_s]

    assert far(a) == far(b)
    # every true cut is found by the windowed run, also those near a window edge
    for c in cuts:
        assert min(abs(c - t) for t in b) <= 1.0, (c, b, edges)
    # frames and memories cover the whole video once
    va, vb = ser.video(video), lib.video(video)
    assert va.duration == vb.duration
    np.testing.assert_array_equal(ser.store.frame_times(va.id), lib.store.frame_times(vb.id))
    ser.close()
    lib.close()
