"""Near-duplicate frame reuse: static shots reuse, changes and slow drift re-encode."""

from __future__ import annotations

import time

import numpy as np
import pytest

from hourlens.indexer.dedup import FrameDeduper


def textured_frame(seed: int = 0, h: int = 256, w: int = 455) -> np.ndarray:
    """A frame with smooth structure (like real footage) plus some fine texture."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(xx / (17 + seed)) * np.cos(yy / (23 + seed))
    rgb = np.stack([base, base * 0.8 + 20, 255 - base], axis=-1)
    rgb += rng.normal(0, 4, size=rgb.shape)
    return np.clip(rgb, 0, 255).astype(np.uint8)


def test_identical_frames_are_reused() -> None:
    dedup = FrameDeduper()
    frame = textured_frame()
    results = [dedup.is_duplicate(frame.copy()) for _ in range(5)]
    assert results == [False, True, True, True, True]  # the first frame is never a duplicate
    assert (dedup.checked, dedup.reused) == (5, 4)


def test_noise_level_changes_are_reused() -> None:
    rng = np.random.default_rng(1)
    dedup = FrameDeduper(threshold=2.0)
    frame = textured_frame()
    assert not dedup.is_duplicate(frame)
    for _ in range(10):
        jitter = rng.integers(-1, 2, size=frame.shape)  # ±1 grey per pixel and channel
        noisy = np.clip(frame.astype(np.int16) + jitter, 0, 255).astype(np.uint8)
        assert dedup.is_duplicate(noisy)
    assert dedup.reused == 10


def test_scene_change_is_not_reused_and_becomes_reference() -> None:
    dedup = FrameDeduper()
    a, b = textured_frame(0), textured_frame(5)
    assert not dedup.is_duplicate(a)
    assert not dedup.is_duplicate(b)  # cut
    assert dedup.is_duplicate(b)  # compared with the new reference now
    assert not dedup.is_duplicate(a)


def test_slow_drift_is_eventually_reencoded() -> None:
    """+0.6 grey a frame never exceeds the threshold frame-to-frame, but does vs the
    last kept frame, so the fade is re-encoded every few frames."""
    dedup = FrameDeduper(threshold=2.0)
    frame = textured_frame().astype(np.float32)
    kept = [
        i
        for i in range(40)
        if not dedup.is_duplicate(np.clip(frame + 0.6 * i, 0, 255).astype(np.uint8))
    ]
    assert kept[0] == 0
    assert len(kept) >= 8  # without the drift guard only frame 0 would be encoded
    assert max(np.diff(kept)) <= 5


def test_threshold_zero_disables_reuse() -> None:
    dedup = FrameDeduper(threshold=0)
    frame = textured_frame()
    assert not any(dedup.is_duplicate(frame) for _ in range(5))
    assert (dedup.checked, dedup.reused) == (5, 0)


def test_reset_forgets_the_reference() -> None:
    dedup = FrameDeduper()
    frame = textured_frame()
    assert not dedup.is_duplicate(frame)
    dedup.reset()
    assert not dedup.is_duplicate(frame)
    assert dedup.is_duplicate(frame)


@pytest.mark.parametrize("shape", [(256, 455, 3), (10, 7, 3), (720, 1280, 3), (1, 1, 3)])
def test_thumbnail_shape_and_scale(shape: tuple[int, int, int]) -> None:
    dedup = FrameDeduper(size=32)
    thumb = dedup.thumbnail(np.full(shape, 200, dtype=np.uint8))
    assert thumb.shape == (32, 32) and thumb.dtype == np.float32
    np.testing.assert_allclose(thumb, 200.0, atol=1e-3)  # grey weights sum to 1


def test_thumbnail_is_cheap() -> None:
    dedup = FrameDeduper()
    frames = [textured_frame(s) for s in range(4)]
    dedup.is_duplicate(frames[0])
    start = time.perf_counter()
    for i in range(200):
        dedup.is_duplicate(frames[i % 4])
    per_frame = (time.perf_counter() - start) / 200
    assert per_frame < 0.005  # ~0.12 ms measured on 455x256; generous for a busy CI box


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        FrameDeduper(threshold=-1)
    with pytest.raises(ValueError):
        FrameDeduper(size=0)


def test_luma_test_matches_rgb_test() -> None:
    """On the luma plane (limited range, as decoders give it) the same frames count as
    duplicates as on RGB."""
    frames = [textured_frame(0)] * 3 + [textured_frame(1)] * 2 + [textured_frame(0)]
    on_rgb, on_luma = FrameDeduper(), FrameDeduper()
    for f in frames:
        grey = f[..., 0] * 0.299 + f[..., 1] * 0.587 + f[..., 2] * 0.114
        limited = np.round(16 + grey * 219 / 255).astype(np.uint8)
        assert on_rgb.is_duplicate(f) == on_luma.is_duplicate_luma(limited, 16.0, 255 / 219)
    assert on_luma.reused == 3


def test_sampled_frames_convert_lazily(tmp_path) -> None:
    """PyAV frames are converted to RGB on first access only; their luma needs no
    conversion and agrees with the RGB grey; a dropped frame frees its pixels."""
    from media import make_scene_video

    from hourlens.indexer.decode import sample_frames

    path = tmp_path / "clip.mp4"
    make_scene_video(path, [(2.0, "hopper"), (2.0, "bars")], fps=10)
    frames = sample_frames(path, fps=1, height=96, backend="pyav", lazy=True)
    fr = next(frames)
    assert fr._rgb is None  # not converted yet
    luma = fr.luma()
    assert luma is not None
    assert fr._rgb is None and luma.plane.ndim == 2 and luma.black == 16.0
    rgb = fr.rgb
    grey = rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114
    dedup = FrameDeduper()
    from_luma = (dedup.thumbnail(luma.plane) - luma.black) * luma.scale
    assert float(np.abs(from_luma - dedup.thumbnail(grey)).mean()) < 4.0
    assert fr.rgb is rgb  # converted once
    second = next(frames)
    second.drop()
    with pytest.raises(ValueError, match="dropped"):
        _ = second.rgb
    frames.close()
    assert next(sample_frames(path, fps=1, height=96, backend="pyav"))._rgb is not None
