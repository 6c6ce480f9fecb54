"""PyAV helpers of :mod:`hourlens.indexer.decode`: checked opening, error messages,
tolerant decoding with corrected timestamps, frame conversion and seeking."""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import av.logging
import numpy as np

from ..errors import BadVideoError

# Demuxers that open things which are not videos: ANSI art / text, and still images.
_TEXT_FORMATS = frozenset({"tty", "bin", "adf", "idf", "xbin"})
_IMAGE_FORMATS = frozenset({"image2", "image2pipe"})
_IMAGE_MAGIC = {b"\xff\xd8\xff": "JPEG", b"\x89PNG": "PNG", b"GIF8": "GIF", b"BM": "BMP"}
_SCAN_PACKETS = 240  # packets read by the probe (timestamps, first decodable frame)
_MAX_HELD = 256  # packets held back at most while looking for the next keyframe


def bad_video(path: str | Path, problem: str) -> BadVideoError:
    """A :class:`BadVideoError` reading ``"<file name>: <problem>"`` (one line)."""
    return BadVideoError(f"{Path(path).name}: {problem}")


def check_file(path: str | Path) -> Path:
    """Check that ``path`` is an existing, readable, non-empty regular file.

    Args:
        path: The file.

    Returns:
        ``path`` as a :class:`Path`.

    Raises:
        BadVideoError: It is not.
    """
    p = Path(path)
    if not p.exists():
        raise bad_video(p, "no such file or directory")
    if p.is_dir():
        raise bad_video(p, "is a directory, not a video file")
    if not p.is_file():
        raise bad_video(p, "not a regular file")
    try:
        with open(p, "rb") as fh:
            head = fh.read(1)
    except PermissionError:
        raise bad_video(p, "permission denied (the file is not readable)") from None
    except OSError as exc:
        raise bad_video(p, f"cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise bad_video(p, "empty file (0 bytes)")
    return p


def _why_unopenable(p: Path) -> str:
    """Explain why FFmpeg cannot open ``p``, judging from its first bytes."""
    with open(p, "rb") as fh:
        head = fh.read(4096)
    for magic, kind in _IMAGE_MAGIC.items():
        if head.startswith(magic):
            return f"a {kind} image, not a video"
    if head[4:8] == b"ftyp":
        return "corrupt or truncated MP4/MOV file (its index cannot be read)"
    if head[:4] in (b"\x1a\x45\xdf\xa3", b"RIFF", b"OggS"):
        return "corrupt or truncated video file (its header cannot be read)"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        text = ""
    if text and sum(c.isprintable() or c.isspace() for c in text) >= 0.95 * len(text):
        return "a text file, not a video"
    return "not a video (unknown format, or a corrupt or truncated file)"


@dataclass
class VideoHandle:
    """An open container and its chosen video stream."""

    path: Path
    container: av.container.InputContainer
    stream: av.video.stream.VideoStream

    @property
    def start_pts(self) -> int:
        """Timestamp of the start of the stream (frame times are measured from it)."""
        st = self.stream.start_time
        return int(st) if st is not None else 0

    def seconds(self, pts: int) -> float:
        """Seconds from the start of the stream of a timestamp in stream time base."""
        return float((pts - self.start_pts) * self._time_base)

    @property
    def _time_base(self) -> Fraction:
        tb = self.stream.time_base
        return tb if tb is not None else Fraction(1, 1000)

    def scan_start(self) -> tuple[list[int], int]:
        """Packet timestamps of the first packets and the rotation of the first frame.

        Raises:
            BadVideoError: The stream ended before any frame decoded.
        """
        pts: list[int] = []
        frames = decode_tolerant(self, packet_pts=pts)
        try:
            first = next(frames, None)
        finally:
            frames.close()
        if first is None:
            raise bad_video(self.path, "no decodable video frames")
        rotation = int(round(getattr(first[1], "rotation", 0) or 0)) % 360
        for n, packet in enumerate(_safe_demux(self)):
            if packet.pts is not None:
                pts.append(int(packet.pts))
            if len(pts) >= _SCAN_PACKETS or n >= 4 * _SCAN_PACKETS:
                break
        return pts, rotation if rotation % 90 == 0 else 0

    def duration_seconds(self) -> float:
        """Duration from the stream or container metadata, else from the last packet."""
        s = self.stream
        if s.duration and s.duration > 0:
            return float(s.duration * self._time_base)
        if self.container.duration and self.container.duration > 0:
            return float(self.container.duration) / av.time_base
        last = None
        for start in (3600.0 * 24 * 365, 0.0):  # jump near the end first, else scan it all
            seek_seconds(self, start)
            for packet in _safe_demux(self):
                if packet.pts is not None:
                    end = packet.pts + (packet.duration or 0)
                    last = end if last is None else max(last, end)
            if last is not None:
                break
        seek_seconds(self, 0.0)
        return max(0.0, self.seconds(last)) if last is not None else 0.0


@contextmanager
def open_video(path: str | Path) -> Iterator[VideoHandle]:
    """Open ``path`` and pick its first real video stream (cover art is not video).

    Raises:
        BadVideoError: Missing, unreadable, empty, not a video, or no video stream.
    """
    p = check_file(path)
    container = open_container(p)
    try:
        fmt = container.format.name
        if fmt in _TEXT_FORMATS:
            raise bad_video(p, "a text file, not a video")
        if fmt in _IMAGE_FORMATS or fmt.endswith("_pipe"):
            raise bad_video(p, "a still image, not a video")
        attached = av.stream.Disposition.attached_pic
        videos = [s for s in container.streams.video if not (s.disposition & attached)]
        if not videos:
            kind = " (audio only)" if container.streams.audio else ""
            raise bad_video(p, f"no video stream{kind}")
        stream = videos[0]
        if stream.codec_context is None:
            raise bad_video(p, "unsupported video codec (no decoder available)")
        yield VideoHandle(p, container, stream)
    finally:
        container.close()


def _safe_demux(h: VideoHandle) -> Iterator[av.Packet]:
    """Demux the video stream, ending quietly where the file is truncated or corrupt."""
    try:
        yield from h.container.demux(h.stream)
    except (av.FFmpegError, OSError, ValueError):
        return


class _PtsGuesser:
    """FFmpeg's ``guess_correct_pts``: use pts unless they are less monotonic than dts."""

    def __init__(self) -> None:
        self.faulty_pts = self.faulty_dts = 0
        self.last_pts = self.last_dts = -math.inf

    def __call__(self, pts: int | None, dts: int | None) -> int | None:
        if dts is not None:
            self.faulty_dts += dts <= self.last_dts
            self.last_dts = dts
        elif pts is not None:
            self.last_dts = pts
        if pts is not None:
            self.faulty_pts += pts <= self.last_pts
            self.last_pts = pts
        elif dts is not None:
            self.last_pts = dts
        if pts is not None and (self.faulty_pts <= self.faulty_dts or dts is None):
            return pts
        return dts


def decode_tolerant(
    h: VideoHandle,
    packet_pts: list[int] | None = None,
    needed_from: Callable[[], float] | None = None,
) -> Generator[tuple[float, av.VideoFrame], None, None]:
    """Decode the video stream from the current position, skipping corrupt packets.

    Args:
        h: The open video.
        packet_pts: If given, receives the pts of every demuxed packet.
        needed_from: If given, a callable giving the earliest time still wanted; whole
            runs of packets that end before a keyframe at or before that time are not
            decoded (see :func:`_skip_unneeded`), and neither are non-reference frames
            (most B-frames) shown before it: no other frame is predicted from them, so
            every frame still decoded is bit-identical.

    Yields:
        ``(t, frame)`` with ``t`` in seconds from the stream start (best-effort pts;
        frames without any timestamp continue from the previous one at the stream rate).
    """
    guess = _PtsGuesser()
    rate = float(h.stream.average_rate or h.stream.guessed_rate or 25)
    last_t: float | None = None
    packets = _safe_demux(h)
    if needed_from is not None:
        packets = _skip_unneeded(h, packets, needed_from)
    ctx = h.stream.codec_context
    skipping = False
    try:
        for packet in packets:
            if packet_pts is not None and packet.pts is not None:
                packet_pts.append(int(packet.pts))
            if needed_from is not None:
                pts = packet.pts
                unwanted = pts is not None and h.seconds(pts) < needed_from() - 1e-6
                if unwanted != skipping:
                    ctx.skip_frame = "NONREF" if unwanted else "DEFAULT"
                    skipping = unwanted
            try:
                frames = packet.decode()
            except (av.FFmpegError, ValueError):
                continue  # a corrupt packet: skip it, keep decoding
            for frame in frames:
                ts = guess(frame.pts, frame.dts)
                if ts is None:  # no timestamp at all: one frame after the previous one
                    ts_s = 0.0 if last_t is None else last_t + 1.0 / rate
                t = h.seconds(ts) if ts is not None else ts_s
                last_t = t
                yield t, frame
    finally:
        if skipping:  # leave the decoder as it was found (e.g. for a seek and re-decode)
            ctx.skip_frame = "DEFAULT"


def _skip_unneeded(
    h: VideoHandle, packets: Iterator[av.Packet], needed_from: Callable[[], float]
) -> Iterator[av.Packet]:
    """Drop packets whose frames cannot be wanted, a group of pictures at a time.

    Packets are held back from the last decoded one up to the next keyframe. If that
    keyframe is displayed at or before ``needed_from()``, every held packet shows an
    earlier frame that no later frame depends on, so they are dropped undecoded; as soon
    as a held packet reaches the wanted time, they are all decoded. With keyframes more
    often than samples (short GOPs, intra-only codecs), most frames are never decoded.
    """
    held: list[av.Packet] = []
    for packet in packets:
        if packet.is_keyframe and held:
            if packet.pts is None or h.seconds(packet.pts) > needed_from() - 1e-6:
                yield from held
            held = []
        held.append(packet)
        if (
            packet.pts is None
            or packet.size == 0
            or len(held) >= _MAX_HELD
            or h.seconds(packet.pts) >= needed_from() - 1e-6
        ):
            yield from held
            held = []
    yield from held


def seek_back_to(h: VideoHandle, t: float) -> None:
    """Seek so that decoding starts with a frame displayed at or before ``t``.

    Seeking lands on a keyframe; some demuxers (AVI with packed B-frames) land just after
    the requested time, so this backs off further until it is early enough.
    """
    back = 0.0
    while t - back > 0:
        seek_seconds(h, t - back)
        frames = decode_tolerant(h)
        try:
            first = next(frames, None)
        finally:
            frames.close()
        if first is not None and first[0] <= t + 1e-6:
            break
        back = max(1.0, back * 4)
    seek_seconds(h, max(0.0, t - back))


def decode_from(h: VideoHandle, t: float) -> Generator[tuple[float, av.VideoFrame], None, None]:
    """Seek with :func:`seek_back_to` and decode from there (see :func:`decode_tolerant`)."""
    seek_back_to(h, t)
    return decode_tolerant(h)


def seek_seconds(h: VideoHandle, t: float) -> None:
    """Seek the video stream to the keyframe at or before ``t`` seconds (from start)."""
    target = h.start_pts + int(max(0.0, t) / float(h._time_base))
    try:
        h.container.seek(target, stream=h.stream, backward=True, any_frame=False)
    except (av.FFmpegError, OSError, ValueError, OverflowError):
        with suppress(av.FFmpegError, OSError, ValueError):
            h.container.seek(0, stream=h.stream, backward=True)


def frame_to_rgb(frame: av.VideoFrame, size: tuple[int, int], rotation: int) -> np.ndarray:
    """Convert a decoded frame to HxWx3 uint8 RGB of display ``size`` (W, H), upright."""
    w, h = size
    k = (rotation // 90) % 4
    cw, ch = (h, w) if k % 2 else (w, h)  # scale in coded orientation, then rotate
    rgb: np.ndarray = frame.to_ndarray(width=cw, height=ch, format="rgb24", interpolation="AREA")
    if k:
        rgb = np.ascontiguousarray(np.rot90(rgb, k))
    return rgb


def rate(value: object) -> float:
    """A positive finite float from an FFmpeg rational (0.0 for None/0/NaN)."""
    try:
        f = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return 0.0
    return f if math.isfinite(f) and f > 0 else 0.0


def is_vfr(deltas: np.ndarray, avg_rate: float, real_rate: float) -> bool:
    """Frame rate varies if packet spacing does, or average and nominal rates disagree."""
    if avg_rate and real_rate and abs(avg_rate - real_rate) / real_rate > 0.02:
        return True
    if deltas.size >= 2:
        lo, hi = np.percentile(deltas, [5, 95])
        return bool(hi > 1.5 * max(lo, 1e-9))
    return False


def quiet_pyav_logging() -> None:
    """Put PyAV's logging back to its default, off (FFmpeg's messages are ignored).

    ``import torchvision`` (pulled in by timm and open_clip) turns PyAV logging on at
    ERROR level, which routes every FFmpeg message through a Python callback that needs
    the GIL. A frame-threaded decoder closed mid-stream can log from a worker thread
    while the closing thread holds the GIL and waits for that worker: a deadlock (seen
    here; PyAV issues #751, #909). hourlens words its own errors and needs no FFmpeg log.
    """
    if av.logging.get_level() is not None:
        av.logging.set_level(None)


def open_container(p: Path) -> av.container.InputContainer:
    """Open ``p`` with PyAV, turning every failure into a one-line :class:`BadVideoError`."""
    quiet_pyav_logging()
    try:
        return av.open(str(p), metadata_errors="ignore")
    except PermissionError:
        raise bad_video(p, "permission denied (the file is not readable)") from None
    except (av.FFmpegError, OSError, ValueError, UnicodeError):
        raise bad_video(p, _why_unopenable(p)) from None


def decode_audio(path: str | Path, sr: int) -> np.ndarray | None:
    """Body of :func:`hourlens.indexer.decode.extract_audio` (streaming, resampled)."""
    p = check_file(path)
    container = open_container(p)
    with container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        est = int(max(float(container.duration or 0) / av.time_base, 1.0) * sr) + sr
        buf, n = np.empty(est, dtype=np.float32), 0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)

        def push(frames: list[av.AudioFrame]) -> None:
            nonlocal buf, n
            for out in frames:
                chunk = out.to_ndarray().reshape(-1)
                if n + len(chunk) > len(buf):
                    buf = np.resize(buf, max(n + len(chunk), int(len(buf) * 1.5)))
                buf[n : n + len(chunk)] = chunk
                n += len(chunk)

        try:
            for packet in container.demux(stream):
                try:
                    decoded = packet.decode()
                except av.FFmpegError:
                    continue  # a corrupt packet: skip it
                for frame in decoded:
                    try:
                        push(resampler.resample(frame))
                    except ValueError:  # input format changed mid-stream: new resampler
                        push(resampler.resample(None))
                        resampler = av.AudioResampler(format="flt", layout="mono", rate=sr)
                        push(resampler.resample(frame))
            push(resampler.resample(None))
        except av.FFmpegError:
            pass  # truncated or corrupt stream: keep what decoded
    if n == 0:
        return None
    return np.clip(buf[:n], -1.0, 1.0, out=buf[:n])
