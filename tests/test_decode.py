"""Decoding: probe, sampling on real timestamps, both backends, random access, audio, and
a clean one-line BadVideoError for every kind of unusable input."""

from __future__ import annotations

import itertools
import math
import os
from pathlib import Path

import numpy as np
import pytest
from media import (
    VFR_TIMES,
    make_audio_only,
    make_corrupt_middle,
    make_garbage_payload,
    make_jpeg,
    make_large_resolution,
    make_rotated_video,
    make_scene_video,
    make_short_video,
    make_text_file,
    make_truncated_mp4,
    make_vfr_video,
    make_zero_byte,
)

from hourlens.errors import BadVideoError, HourlensError
from hourlens.indexer import decode
from hourlens.indexer.decode import (
    extract_audio,
    probe_video,
    read_frames_at,
    sample_frames,
)

VIDEO_FPS = 10  # frame rate of the scene_video fixture


def _diff(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.fixture(scope="module")
def small_clip(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("clip") / "clip.mp4"
    make_scene_video(path, [(2.0, "hopper"), (2.0, "bars")], fps=10)
    return path


def test_probe_scene_video(scene_video):
    path, cuts = scene_video
    p = probe_video(path)
    assert cuts == [7.5 * k for k in range(1, 8)]
    assert p.path == str(path)
    assert p.duration == pytest.approx(60.0, abs=0.15)
    assert p.fps == pytest.approx(VIDEO_FPS)
    assert (p.width, p.height) == (320, 240)
    assert p.n_frames == 600
    assert p.has_audio and p.codec == "h264"
    assert not p.variable_frame_rate and p.rotation == 0


@pytest.mark.parametrize("fps", [1.0, 2.0])
def test_sampling_times_follow_rule(scene_video, fps):
    path, _ = scene_video
    frames = list(sample_frames(path, fps=fps, backend="pyav"))
    assert len(frames) == round(60 * fps)
    for k, fr in enumerate(frames):
        assert fr.index == k
        assert 0 <= fr.t - k / fps < 1 / VIDEO_FPS
        assert fr.rgb.dtype == np.uint8 and fr.rgb.shape == (256, 342, 3)  # 4:3, even width


def test_sample_frames_is_lazy_and_validates_eagerly(scene_video, tmp_path):
    path, _ = scene_video
    gen = sample_frames(path, fps=1)
    first_two = list(itertools.islice(gen, 2))
    gen.close()
    assert [f.t for f in first_two] == [0.0, 1.0]
    with pytest.raises(BadVideoError):
        sample_frames(tmp_path / "nope.mp4")  # raised by the call, not on iteration
    with pytest.raises(ValueError):
        sample_frames(path, backend="ffmpeg")
    with pytest.raises(ValueError):
        sample_frames(path, fps=0)


def _thumb(rgb: np.ndarray, n: int = 4) -> np.ndarray:
    h, w = (rgb.shape[0] // n) * n, (rgb.shape[1] // n) * n
    return rgb[:h, :w].reshape(n, h // n, n, w // n, 3).mean(axis=(1, 3))


def test_scene_media_is_distinct_and_moving(scene_video):
    """Sanity of the generator: every frame looks most like its own scene; scenes move
    (except the static one, whose frames are identical)."""
    path, cuts = scene_video
    frames = list(sample_frames(path, fps=1))
    scene_of = [sum(f.t >= c for c in cuts) for f in frames]
    firsts = [_thumb(frames[scene_of.index(s)].rgb) for s in range(len(cuts) + 1)]
    for f, s in zip(frames, scene_of, strict=True):
        dists = [np.abs(_thumb(f.rgb) - ref).mean() for ref in firsts]
        assert int(np.argmin(dists)) == s, f.t
    static = [f.rgb for f, s in zip(frames, scene_of, strict=True) if s == 4]
    assert len(static) >= 7 and max(_diff(static[0], x) for x in static) < 1.0
    for s in (0, 1, 2, 3, 5, 6, 7):
        moving = [f.rgb for f, k in zip(frames, scene_of, strict=True) if k == s]
        assert all(_diff(a, b) > 2.0 for a, b in itertools.pairwise(moving)), s


def test_backends_agree(scene_video):
    path, _ = scene_video
    a = list(sample_frames(path, fps=1, backend="pyav"))
    b = list(sample_frames(path, fps=1, backend="decord"))
    assert len(a) == len(b) == 60
    for x, y in zip(a, b, strict=True):
        assert abs(x.t - y.t) <= 1 / VIDEO_FPS
        assert x.rgb.shape == y.rgb.shape
        assert _diff(x.rgb, y.rgb) < 8.0  # scaling filters differ slightly
    auto = [f.t for f in sample_frames(path, fps=1, backend="auto")]
    assert auto == [f.t for f in a]


def test_gop_skipping_changes_nothing(small_clip):
    p = probe_video(small_clip)
    size = decode.output_size(p, 128)
    for fps in (0.5, 1.0, 3.0):
        a = list(decode._sample_pyav(small_clip, fps, size, 0, skip_gops=False))
        b = list(decode._sample_pyav(small_clip, fps, size, 0, skip_gops=True))
        assert [f.t for f in a] == [f.t for f in b]
        assert all(np.array_equal(x.rgb, y.rgb) for x, y in zip(a, b, strict=True))


def test_decord_failure_midway_continues_with_pyav(scene_video, monkeypatch):
    path, _ = scene_video
    real = decode._sample_decord

    def breaks_after_five(*args, **kwargs):
        yield from itertools.islice(real(*args, **kwargs), 5)
        raise decode._DecordFailed("simulated failure")

    monkeypatch.setattr(decode, "_sample_decord", breaks_after_five)
    got = list(sample_frames(path, fps=1, backend="decord"))
    ref = list(sample_frames(path, fps=1, backend="pyav"))
    assert [f.index for f in got] == list(range(60))
    assert [f.t for f in got] == pytest.approx([f.t for f in ref], abs=1e-5)


def test_read_frames_at_matches_sampled_frames(scene_video, monkeypatch):
    path, _ = scene_video
    frames = list(sample_frames(path, fps=0.5, backend="pyav"))
    times = [f.t for f in frames][::-1] + [frames[3].t, 1e6, -5.0]
    got = read_frames_at(path, times)  # decord path
    assert len(got) == len(times)
    for img, fr in zip(got, frames[::-1], strict=False):
        assert _diff(img, fr.rgb) < 8.0
    assert _diff(got[-3], frames[3].rgb) < 8.0
    assert _diff(got[-1], frames[0].rgb) < 8.0  # before the start: the first frame

    def no_decord(*args, **kwargs):
        raise decode._DecordFailed("disabled for the test")

    monkeypatch.setattr(decode, "_decord_reader", no_decord)
    got = read_frames_at(path, times)  # PyAV path: same decoder, identical pixels
    for img, fr in zip(got, frames[::-1], strict=False):
        assert np.array_equal(img, fr.rgb)
    last = list(sample_frames(path, fps=VIDEO_FPS, backend="pyav"))[-1]
    assert last.t == pytest.approx(59.9)
    assert np.array_equal(got[-2], last.rgb)  # past the end: the last frame
    assert read_frames_at(path, []) == []


def test_vfr_sampled_on_real_times(tmp_path):
    path = tmp_path / "vfr.mp4"
    written = make_vfr_video(path)
    assert written == pytest.approx(list(VFR_TIMES))
    p = probe_video(path)
    assert p.variable_frame_rate
    assert p.duration == pytest.approx(6.1, abs=0.1)
    expect = [0.0, 1.45, 3.2, 4.0, 5.9, 6.0]  # first frame at/after 0, 1, 2(=3), 4, 5, 6 s
    for backend in ("pyav", "decord"):
        frames = list(sample_frames(path, fps=1, backend=backend))
        assert [f.t for f in frames] == pytest.approx(expect, abs=1e-3), backend
        levels = [int(f.rgb.mean().round()) for f in frames]
        want = [10 + 15 * VFR_TIMES.index(t) for t in expect]  # grey level marks the frame
        assert levels == pytest.approx(want, abs=3), backend


def test_large_resolution_scaled(tmp_path):
    path = make_large_resolution(tmp_path / "uhd.mp4")
    p = probe_video(path)
    assert (p.width, p.height) == (3840, 2160)
    for backend in ("pyav", "decord"):
        frames = list(sample_frames(path, fps=1, backend=backend))
        assert [f.t for f in frames] == [0.0, 1.0]
        assert all(f.rgb.shape == (256, 456, 3) for f in frames)
    assert read_frames_at(path, [1.5], height=128)[0].shape == (128, 228, 3)


def test_short_video_gives_a_frame(tmp_path):
    path = make_short_video(tmp_path / "short.mp4", seconds=0.5)
    p = probe_video(path)
    assert p.duration == pytest.approx(0.5, abs=0.05)
    assert [f.t for f in sample_frames(path, fps=1)] == [0.0]
    assert len(list(sample_frames(path, fps=4))) == 2  # t = 0.0 and 0.3 (first >= 0.25)


def test_rotation_applied(tmp_path):
    path = make_rotated_video(tmp_path / "rot.mp4", rotation=90)
    p = probe_video(path)
    assert (p.rotation, p.width, p.height) == (90, 120, 160)
    for backend in ("pyav", "decord"):
        img = next(sample_frames(path, fps=1, height=160, backend=backend)).rgb
        assert img.shape == (160, 120, 3)
        assert img[:, :10].mean() > 200 and img[:, 30:].mean() < 30  # band on the left


def test_corrupt_middle_decodes_what_it_can(scene_video, tmp_path):
    path, _ = scene_video
    bad = make_corrupt_middle(path, tmp_path / "corrupt.mp4", start=0.4, length=0.2)
    times = [f.t for f in sample_frames(bad, fps=1)]
    assert times[0] == 0.0 and times[-1] >= 55  # decoding resumes after the damage
    assert 20 <= len(times) < 60
    junk = make_garbage_payload(path, tmp_path / "junk.mp4")
    with pytest.raises(BadVideoError, match=r"junk\.mp4: no decodable video frames"):
        probe_video(junk)


def _bad_inputs(tmp: Path, good: Path) -> dict[str, tuple[Path, str]]:
    """name -> (path, expected words in the message)."""
    folder = tmp / "a_folder.mp4"
    folder.mkdir()
    return {
        "missing": (tmp / "missing.mp4", "no such file"),
        "zero": (make_zero_byte(tmp / "zero.mp4"), "empty"),
        "text": (make_text_file(tmp / "notes.txt"), "text file"),
        "text_as_mp4": (make_text_file(tmp / "notes.mp4"), "text file"),
        "text_as_nfo": (make_text_file(tmp / "readme.nfo"), "text file"),  # FFmpeg "tty"
        "jpeg": (make_jpeg(tmp / "photo.jpg"), "image"),
        "jpeg_as_mp4": (make_jpeg(tmp / "photo.mp4"), "image"),
        "truncated": (make_truncated_mp4(good, tmp / "truncated.mp4"), "truncated"),
        "audio_only": (make_audio_only(tmp / "tone.m4a"), "no video stream"),
        "directory": (folder, "directory"),
    }


def test_bad_inputs_raise_one_line_errors(tmp_path, small_clip):
    for name, (path, words) in _bad_inputs(tmp_path, small_clip).items():
        for call in (probe_video, sample_frames, lambda p: read_frames_at(p, [0.0])):
            with pytest.raises(BadVideoError) as info:
                call(path)
            msg = str(info.value)
            assert msg.startswith(f"{path.name}: "), (name, msg)
            assert words in msg and "\n" not in msg, (name, msg)
            assert isinstance(info.value, HourlensError)


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read a chmod 0 file")
def test_unreadable_file(tmp_path, small_clip):
    locked = tmp_path / "locked.mp4"
    locked.write_bytes(small_clip.read_bytes())
    locked.chmod(0)
    with pytest.raises(BadVideoError, match=r"locked\.mp4: permission denied"):
        probe_video(locked)


def test_unreadable_file_simulated(tmp_path, small_clip, monkeypatch):
    """The same check without relying on file modes (which root ignores)."""
    from hourlens.indexer import _decode_av

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(_decode_av, "open", denied, raising=False)
    with pytest.raises(BadVideoError, match=r"clip\.mp4: permission denied"):
        probe_video(small_clip)


def test_extract_audio(scene_video, tmp_path, small_clip):
    path, _ = scene_video
    audio = extract_audio(path, sr=16000)
    assert audio is not None and audio.dtype == np.float32 and audio.ndim == 1
    assert abs(len(audio) - 60 * 16000) < 0.1 * 16000
    assert np.abs(audio).max() <= 1.0
    rms = float(np.sqrt(np.mean(audio[16000:-16000] ** 2)))
    assert rms == pytest.approx(0.3 / math.sqrt(2), rel=0.1)  # the 0.3-amplitude tone
    spectrum = np.abs(np.fft.rfft(audio[16000:32000]))
    assert np.argmax(spectrum) == pytest.approx(440, abs=2)  # 1 s window: 1 Hz bins
    low = extract_audio(path, sr=8000)
    assert low is not None and abs(len(low) - 60 * 8000) < 0.1 * 8000
    assert extract_audio(small_clip) is None  # no audio stream
    tone_only = extract_audio(make_audio_only(tmp_path / "a.m4a", seconds=2.0))
    assert tone_only is not None and abs(len(tone_only) - 32000) < 1600
    with pytest.raises(BadVideoError, match="nope.wav: no such file"):
        extract_audio(tmp_path / "nope.wav")


def _bframe_clip(path: Path, seconds: float = 6.0, fps: int = 10) -> Path:
    """A clip with B-frames (x264 'medium' uses 3) inside a single group of pictures."""
    import av

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height = 160, 96
        stream.pix_fmt = "yuv420p"
        stream.options = {"preset": "medium", "bf": "3", "g": "1000", "crf": "23"}
        yy, xx = np.mgrid[0:96, 0:160]
        for i in range(int(seconds * fps)):
            rgb = np.stack([(xx + 4 * i) % 256, (yy * 2 + 3 * i) % 256, (xx + yy + i) % 256], -1)
            frame = av.VideoFrame.from_ndarray(rgb.astype(np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def test_nonref_skipping_decodes_less_and_changes_nothing(tmp_path):
    """Non-reference frames shown before the next sample time are not decoded, and every
    sampled frame is bit-identical to a full decode (threaded or not)."""
    clip = _bframe_clip(tmp_path / "bframes.mp4")
    with decode.open_video(clip) as h:
        everything = sum(1 for _ in decode.decode_tolerant(h))
    with decode.open_video(clip) as h:
        wanted_late = sum(1 for _ in decode.decode_tolerant(h, needed_from=lambda: 5.0))
    assert everything == 60
    assert wanted_late < everything - 10  # the B-frames before 5 s were skipped
    size = decode.output_size(probe_video(clip), 64)
    for threads in (1, None):
        for fps in (0.5, 1.0, 3.0):
            a = list(decode._sample_pyav(clip, fps, size, 0, skip_gops=False, threads=threads))
            b = list(decode._sample_pyav(clip, fps, size, 0, skip_gops=True, threads=threads))
            assert [f.t for f in a] == [f.t for f in b]
            assert all(np.array_equal(x.rgb, y.rgb) for x, y in zip(a, b, strict=True))


def test_decoder_threads(small_clip):
    one = list(sample_frames(small_clip, fps=2, threads=1))
    auto = list(sample_frames(small_clip, fps=2))
    assert [f.t for f in one] == [f.t for f in auto]
    assert all(np.array_equal(x.rgb, y.rgb) for x, y in zip(one, auto, strict=True))
    dec = list(sample_frames(small_clip, fps=2, backend="decord", threads=1))
    assert len(dec) == len(auto)
    with pytest.raises(ValueError):
        sample_frames(small_clip, threads=0)


def test_no_deadlock_when_torchvision_turned_pyav_logging_on(small_clip):
    """``import torchvision`` sets PyAV's log level to ERROR; a frame-threaded decoder
    closed mid-stream then deadlocked on the GIL. Opening a video turns it back off.
    Run in a subprocess so that a regression fails on its timeout instead of hanging."""
    import subprocess
    import sys

    code = f"""
import av, av.logging
av.logging.set_level(av.logging.ERROR)  # what importing torchvision does
from hourlens.indexer.decode import sample_frames
for _ in range(20):
    frames = sample_frames({str(small_clip)!r}, fps=1, height=64, lazy=True)
    first = next(frames)
    second = next(frames)
    second.drop()
    frames.close()
assert av.logging.get_level() is None
print("ok")
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "ok"
