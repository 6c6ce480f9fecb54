"""Video decoding: probe, streaming sampling at a fixed rate, random access, audio.

Two frame backends: ``pyav`` decodes the stream straight through and converts only
the frames it keeps; ``decord`` fetches the sampled frame indices with ``get_batch``.
``auto`` is PyAV, the faster of the two for a full pass (``bench/decode_speed.py``), and
PyAV also decodes what decord cannot (Ogg/Theora, AVI with packed B-frames, corrupt
streams). Random access (:func:`read_frames_at`) tries decord first.

Every unusable input raises :class:`~hourlens.errors.BadVideoError` with a one-line
message that starts with the file name; FFmpeg/decord exceptions never escape.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from ..errors import BadVideoError
from ._decode_av import (
    bad_video,
    decode_audio,
    decode_from,
    decode_tolerant,
    frame_to_rgb,
    is_vfr,
    open_video,
    rate,
    seek_back_to,
)
from .sampled import Luma, SampledFrame

__all__ = [
    "Luma",
    "SampledFrame",
    "VideoProbe",
    "extract_audio",
    "output_size",
    "probe_video",
    "read_frames_at",
    "sample_frames",
]

log = logging.getLogger(__name__)
# FFmpeg reports every corrupt packet through PyAV's "libav" loggers; decoding here skips
# such packets and turns fatal problems into one-line BadVideoErrors, so that chatter is
# muted (re-enable with logging.getLogger("libav").setLevel(logging.WARNING)).
logging.getLogger("libav").setLevel(logging.CRITICAL)

BACKENDS = ("auto", "pyav", "decord")
AUTO_BACKEND = "pyav"
"""What ``backend="auto"`` runs for a full pass: PyAV (sequential, skipping groups of
pictures that hold no sample) measured as fast as or faster than decord on real footage
(``bench/decode_speed.py``), and it reads every container FFmpeg reads."""
_EPS = 1e-6  # seconds: tolerance when comparing a frame time with a sample time
_DECORD_BATCH = 16  # frames per decord get_batch call (bounds memory)
_SEEK_AHEAD_S = 2.0  # read_frames_at (PyAV): decode forward instead of seeking within this


@dataclass(frozen=True, kw_only=True)
class VideoProbe:
    """What the container says about a video, plus a short look at its first packets.

    ``width``/``height`` are the coded frame size, swapped when the file asks for a 90°
    or 270° rotation; ``rotation`` (degrees counter-clockwise) and
    ``sample_aspect_ratio`` are applied to decoded frames.
    """

    path: str
    duration: float
    fps: float
    width: int
    height: int
    n_frames: int | None
    has_audio: bool
    codec: str
    variable_frame_rate: bool
    rotation: int = 0
    sample_aspect_ratio: float = 1.0


def probe_video(path: str | Path) -> VideoProbe:
    """Read a video's metadata and check that it holds a decodable video stream.

    Decodes the first frame (for its rotation and to prove the stream decodes) and looks
    at up to a few hundred packet timestamps to tell variable from constant frame rate.
    Duration comes from the stream or container metadata, else from the last packet.

    Args:
        path: The video file.

    Returns:
        The probe.

    Raises:
        BadVideoError: Missing, unreadable, empty, not a video, no video stream,
            truncated or corrupt beyond use, or no decodable frame.
    """
    with open_video(path) as h:
        s, cc = h.stream, h.stream.codec_context
        width, height = int(cc.width or 0), int(cc.height or 0)
        if width <= 0 or height <= 0:
            raise bad_video(h.path, "the video stream has no frame size (corrupt header)")
        pts, rotation = h.scan_start()
        nominal = rate(s.average_rate) or rate(s.guessed_rate) or rate(s.base_rate)
        deltas = np.diff(np.unique(pts)) if len(pts) > 1 else np.zeros(0)
        fps = nominal or (1.0 / float(np.median(deltas)) if deltas.size else 0.0)
        duration = h.duration_seconds()
        if rotation in (90, 270):
            width, height = height, width
        return VideoProbe(
            path=str(h.path),
            duration=duration,
            fps=fps,
            width=width,
            height=height,
            n_frames=int(s.frames) if s.frames and s.frames > 0 else None,
            has_audio=bool(h.container.streams.audio),
            codec=cc.name,
            variable_frame_rate=is_vfr(deltas, rate(s.average_rate), rate(s.base_rate)),
            rotation=rotation,
            sample_aspect_ratio=rate(s.sample_aspect_ratio) or 1.0,
        )


def output_size(probe: VideoProbe, height: int | None) -> tuple[int, int]:
    """Output (width, height) for frames scaled to ``height`` (None: native height).

    The display aspect ratio (rotation and sample aspect ratio included) is kept and
    the width rounded to an even number.
    """
    out_h = int(height) if height else probe.height
    if out_h <= 0:
        raise ValueError(f"height must be positive, got {height}")
    sar = probe.sample_aspect_ratio
    disp_w = probe.width * (sar if probe.rotation not in (90, 270) else 1.0)
    disp_h = probe.height * (sar if probe.rotation in (90, 270) else 1.0)
    return max(2, round(disp_w * out_h / disp_h / 2) * 2), out_h


def sample_frames(
    path: str | Path,
    *,
    fps: float = 1.0,
    height: int | None = 256,
    backend: str = "auto",
    probe: VideoProbe | None = None,
    threads: int | None = None,
    lazy: bool = False,
    window: tuple[float, float] | None = None,
) -> Iterator[SampledFrame]:
    """Stream frames sampled at ``fps`` (lazily: the video is never held whole).

    Sample ``k`` is the first decoded frame whose presentation time is >= ``k / fps``,
    using real timestamps, so variable frame rate is sampled on true times. A frame that
    is first at or after several sample times (a gap in the video) is emitted once.
    Undecodable packets are skipped; a video whose stream breaks off ends early.

    Args:
        path: The video file.
        fps: Samples per second of video.
        height: Output frame height (aspect kept, width even); None keeps the native size.
        backend: ``"auto"``, ``"pyav"`` or ``"decord"``. If decord cannot read the file,
            or fails part-way, PyAV carries on from the last emitted frame.
        probe: The file's probe, if already known.
        threads: Decoder threads; None lets FFmpeg choose (about one per core, the
            fastest when nothing else runs).
        lazy: Hand PyAV frames out before their RGB conversion (see
            :class:`SampledFrame`), keeping the decoded picture for
            :meth:`SampledFrame.at_height`. The caller must then call ``release()`` or
            ``drop()`` on each frame before advancing the iterator: a decoded picture must
            not outlive its decoder.
        window: ``(start, end)`` seconds: only the samples of ``start <= t < end``, the
            same frames a whole pass emits there when ``start`` is on the sample grid
            (``k / fps``); decoding starts at the keyframe before ``start`` (PyAV).

    Returns:
        A generator of :class:`SampledFrame` in increasing time order.

    Raises:
        BadVideoError: The file is unusable (raised by this call), or no frame at all
            could be decoded (raised while iterating).
        ValueError: Unknown backend or non-positive ``fps``.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown decode backend {backend!r}; expected one of {BACKENDS}")
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    probe = probe or probe_video(path)  # bad files fail here, before iteration starts
    size = output_size(probe, height)
    chosen = AUTO_BACKEND if backend == "auto" else backend
    if window is not None:
        return _sample_window(path, fps, size, probe.rotation, window, threads, lazy)
    return _sample(path, fps, size, probe, chosen, threads, lazy)


def _sample_window(
    path: str | Path,
    fps: float,
    size: tuple[int, int],
    rotation: int,
    window: tuple[float, float],
    threads: int | None,
    lazy: bool,
) -> Iterator[SampledFrame]:
    start, end = float(window[0]), float(window[1])
    # ``after`` half a sample before ``start`` makes sample ``start * fps`` the next one
    after = start - 0.5 / fps if start > 0 else None
    frames = _sample_pyav(path, fps, size, rotation, after=after, threads=threads, lazy=lazy)
    try:
        for fr in frames:
            if fr.t >= end:
                fr.drop()
                return
            yield fr
    finally:
        close = getattr(frames, "close", None)
        if close is not None:
            close()


def _sample(
    path: str | Path,
    fps: float,
    size: tuple[int, int],
    probe: VideoProbe,
    backend: str,
    threads: int | None,
    lazy: bool = False,
) -> Iterator[SampledFrame]:
    emitted, last_t = 0, None
    if backend == "decord":
        try:
            for fr in _sample_decord(path, fps, size, probe.duration, threads):
                emitted, last_t = emitted + 1, fr.t
                yield fr
            return
        except _DecordFailed as exc:
            log.warning("decord failed on %s (%s); continuing with PyAV", path, exc)
    yield from _sample_pyav(
        path,
        fps,
        size,
        probe.rotation,
        after=last_t,
        first_index=emitted,
        threads=threads,
        lazy=lazy,
    )


def _sample_pyav(
    path: str | Path,
    fps: float,
    size: tuple[int, int],
    rotation: int,
    *,
    after: float | None = None,
    first_index: int = 0,
    skip_gops: bool = True,
    threads: int | None = None,
    lazy: bool = False,
) -> Iterator[SampledFrame]:
    """PyAV backend: sequential decode, converting only the kept frames (with ``lazy``,
    on first access: see :class:`SampledFrame`).

    With ``skip_gops``, groups of pictures that end before the next sample time are not
    decoded at all (a large saving when keyframes are closer together than samples).
    """
    index = first_index
    next_t = 0.0 if after is None else (math.floor(after * fps + _EPS) + 1) / fps

    def convert(frame: av.VideoFrame) -> np.ndarray:
        return frame_to_rgb(frame, size, rotation)

    def rescale(frame: av.VideoFrame, height: int) -> np.ndarray:
        width = max(2, round(size[0] * height / max(1, size[1]) / 2) * 2)
        return frame_to_rgb(frame, (width, height), rotation)

    with open_video(path) as h:
        if threads is not None:
            h.stream.codec_context.thread_count = threads
        h.stream.thread_type = "AUTO"
        if after is not None:
            seek_back_to(h, after)
        frames = decode_tolerant(h, needed_from=(lambda: next_t) if skip_gops else None)
        for t, frame in frames:
            if t + _EPS < next_t:
                continue
            if lazy:
                yield SampledFrame(index, t, frame=frame, convert=convert, rescale=rescale)
            else:
                yield SampledFrame(index, t, convert(frame))
            index += 1
            next_t = (math.floor(t * fps + _EPS) + 1) / fps
    if index == 0:
        raise bad_video(path, "no decodable video frames")


class _DecordFailed(Exception):
    """decord could not open or decode the file (PyAV takes over)."""


def _decord_reader(
    path: str | Path, size: tuple[int, int] | None, duration: float, threads: int | None = None
) -> tuple[object, np.ndarray]:
    """Open ``path`` with decord; return the reader and its frame start times (checked)."""
    try:
        import decord

        decord.logging.set_level(decord.logging.QUIET)  # its FFmpeg would print to stderr
        kw = {"width": size[0], "height": size[1]} if size else {}
        vr = decord.VideoReader(str(path), ctx=decord.cpu(0), num_threads=threads or 0, **kw)
        starts = np.asarray(vr.get_frame_timestamp(np.arange(len(vr))), dtype=np.float64)
        starts = starts.reshape(-1, 2)[:, 0]
    except Exception as exc:  # decord raises DECORDError, RuntimeError, ...
        raise _DecordFailed(
            str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        ) from None
    limit = max(duration, 1.0) * 1.5 + 10
    if (
        not len(starts)
        or not np.all(np.isfinite(starts))
        or starts.min() < -1
        or starts.max() > limit
        or np.any(np.diff(starts) < -1e-3)
    ):
        raise _DecordFailed("implausible frame timestamps")
    return vr, starts


def _sample_decord(
    path: str | Path, fps: float, size: tuple[int, int], duration: float, threads: int | None
) -> Iterator[SampledFrame]:
    """decord backend: ``get_batch`` at the sampled frame indices, in small chunks."""
    vr, starts = _decord_reader(path, size, duration, threads)
    picks, next_t = [], 0.0
    for i, t in enumerate(starts.tolist()):
        if t + _EPS >= next_t:
            picks.append(i)
            next_t = (math.floor(t * fps + _EPS) + 1) / fps
    for c0 in range(0, len(picks), _DECORD_BATCH):
        chunk = picks[c0 : c0 + _DECORD_BATCH]
        try:
            batch = vr.get_batch(chunk).asnumpy()  # type: ignore[attr-defined]
        except Exception as exc:
            raise _DecordFailed(
                str(exc).splitlines()[0][:200] if str(exc) else "get_batch"
            ) from None
        for j, i in enumerate(chunk):
            yield SampledFrame(c0 + j, float(starts[i]), np.ascontiguousarray(batch[j]))


def read_frames_at(
    path: str | Path, times: Sequence[float], *, height: int | None = 256
) -> list[np.ndarray]:
    """Random access: the frame shown at each time (the last frame starting at or before it).

    Times before the first frame give the first frame; times past the end the last one.
    decord is tried first; PyAV (seek to the previous keyframe, decode forward) is the
    fallback.

    Args:
        path: The video file.
        times: Seconds from the start, in any order (duplicates allowed).
        height: Output height (aspect kept, width even); None keeps the native size.

    Returns:
        One HxWx3 uint8 array per requested time, in the order of ``times``.

    Raises:
        BadVideoError: The file is unusable or no frame could be decoded.
    """
    if not len(times):
        return []
    probe = probe_video(path)
    size = output_size(probe, height)
    wanted = sorted({float(t) for t in times})
    try:
        vr, starts = _decord_reader(path, size, probe.duration)
        # decord's times are float32: allow a quarter frame so an exact frame time (e.g. a
        # SampledFrame.t) maps to that frame even an hour into the video.
        gaps = np.diff(starts)
        tol = min(0.25 * float(np.median(gaps)), 0.01) if gaps.size else _EPS
        idx = np.searchsorted(starts, np.asarray(wanted) + max(tol, _EPS), side="right") - 1
        idx = idx.clip(0, len(starts) - 1)
        uniq = sorted(set(idx.tolist()))
        batch = vr.get_batch(uniq).asnumpy()  # type: ignore[attr-defined]
        by_idx = {i: np.ascontiguousarray(batch[j]) for j, i in enumerate(uniq)}
        got = {t: by_idx[int(i)] for t, i in zip(wanted, idx, strict=True)}
    except Exception as exc:  # _DecordFailed or a get_batch error: use PyAV
        log.debug("decord random access failed on %s (%s); using PyAV", path, exc)
        got = _read_pyav(path, wanted, size, probe)
    return [got[float(t)] for t in times]


def _read_pyav(
    path: str | Path, wanted: list[float], size: tuple[int, int], probe: VideoProbe
) -> dict[float, np.ndarray]:
    """PyAV random access for sorted ``wanted`` times: seek, then decode forward."""
    got: dict[float, np.ndarray] = {}
    with open_video(path) as h:
        h.stream.thread_type = "AUTO"
        frames: Iterator[tuple[float, av.VideoFrame]] | None = None
        prev: tuple[float, av.VideoFrame] | None = None
        ahead: tuple[float, av.VideoFrame] | None = None
        pos = -math.inf
        for t in wanted:
            tq = min(t, probe.duration) if probe.duration > 0 else t
            if frames is None or tq > pos + _SEEK_AHEAD_S:
                frames, prev, ahead = decode_from(h, tq), None, None
            while True:
                if ahead is None:
                    ahead = next(frames, None)
                if ahead is None or ahead[0] > tq + _EPS:
                    break
                if prev is None or ahead[0] > prev[0] + _EPS:  # same time twice: keep first
                    prev = ahead
                ahead = None
            chosen = prev or ahead
            if chosen is None:
                raise bad_video(path, "no decodable video frames")
            got[t] = frame_to_rgb(chosen[1], size, probe.rotation)
            pos = tq
    return got


def extract_audio(path: str | Path, *, sr: int = 16000) -> np.ndarray | None:
    """Decode the first audio stream to mono float32 in [-1, 1] at ``sr`` Hz (streaming).

    Args:
        path: A video (or audio) file.
        sr: Output sample rate.

    Returns:
        The samples, or None when the file has no audio stream or none of it decodes.

    Raises:
        BadVideoError: The file is missing, unreadable, empty or not a media file.
    """
    return decode_audio(path, sr)


__all__ = ["BACKENDS", "BadVideoError", "SampledFrame", "VideoProbe", "extract_audio"]
__all__ += ["output_size", "probe_video", "read_frames_at", "sample_frames"]
