"""Test media written on the fly with PyAV: scene videos with known cuts and bad inputs.

Every generator is deterministic (fixed seeds), writes small files quickly, and needs no
network: photos come from files shipped by matplotlib and scikit-learn, with a generated
stand-in when those packages are absent.
"""

from __future__ import annotations

import subprocess
import sys
import wave
from collections.abc import Callable, Sequence
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageDraw

Size = tuple[int, int]  # (width, height)

PHOTO_KINDS = ("hopper", "china", "flower")
PATTERN_KINDS = ("bars", "checker", "gradient", "noise", "circles", "stripes", "blocks")
SCENE_KINDS = PHOTO_KINDS + PATTERN_KINDS + ("static",)
"""Accepted scene kinds; ``"static:<kind>"`` is also accepted (a still frame of <kind>)."""


def _photo_path(kind: str) -> Path | None:
    try:
        if kind == "hopper":
            import matplotlib

            return Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
        import sklearn

        return Path(sklearn.__file__).parent / "datasets" / "images" / f"{kind}.jpg"
    except ImportError:
        return None


def _pattern(kind: str, w: int, h: int) -> np.ndarray:
    """An HxWx3 uint8 picture of a generated kind."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rng = np.random.default_rng(sum(map(ord, kind)))
    if kind == "bars":
        # EBU bars: white, yellow, cyan, green, magenta, red, blue, black
        bits = [[i in (0, 1, 4, 5), i < 4, i % 2 == 0] for i in range(8)]
        colours = np.where(np.array(bits), 235, 16).astype(np.uint8)
        return colours[(xx * 8 // w).astype(int).clip(0, 7)]
    if kind == "checker":
        cell = max(8, w // 12)
        on = ((xx // cell + yy // cell) % 2).astype(bool)
        return np.where(on[..., None], [250, 250, 250], [20, 40, 120]).astype(np.uint8)
    if kind == "gradient":
        r, g = 255 * xx / max(w - 1, 1), 255 * yy / max(h - 1, 1)
        return np.stack([r, g, 255 - (r + g) / 2], axis=-1).astype(np.uint8)
    if kind == "noise":
        small = rng.integers(0, 256, size=(max(h // 8, 2), max(w // 8, 2), 3), dtype=np.uint8)
        return np.asarray(Image.fromarray(small).resize((w, h), Image.Resampling.BICUBIC))
    if kind in {"circles", "stripes", "blocks"}:
        bg = {"circles": (10, 10, 30), "stripes": (245, 240, 225), "blocks": (60, 60, 60)}[kind]
        img = Image.new("RGB", (w, h), bg)
        draw = ImageDraw.Draw(img)
        if kind == "circles":
            for _ in range(25):
                cx, cy, r = rng.integers(0, w), rng.integers(0, h), rng.integers(h // 20, h // 5)
                colour = tuple(int(c) for c in rng.integers(60, 256, 3))
                draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=colour)
        elif kind == "stripes":  # lines of dark "words", like a page of text
            line_h = max(6, h // 24)
            for y in range(line_h, h - line_h, 2 * line_h):
                x = int(rng.integers(4, 20))
                while x < w - 20:
                    word = int(rng.integers(10, 50))
                    draw.rectangle((x, y, min(x + word, w - 4), y + line_h), fill=(20, 20, 20))
                    x += word + int(rng.integers(6, 14))
        else:
            for _ in range(12):
                x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
                x1 = x0 + int(rng.integers(w // 8, w // 2))
                y1 = y0 + int(rng.integers(h // 8, h // 2))
                colour = tuple(int(c) for c in rng.integers(0, 256, 3))
                draw.rectangle((x0, y0, x1, y1), fill=colour)
        return np.asarray(img)
    raise ValueError(f"unknown scene kind {kind!r}; expected one of {SCENE_KINDS}")


def scene_image(kind: str, size: Size) -> np.ndarray:
    """The base picture of a scene kind at ``size`` (W, H), as HxWx3 uint8.

    Args:
        kind: One of :data:`SCENE_KINDS` (``"static"`` is the ``"blocks"`` picture).
        size: Output (width, height).

    Returns:
        The picture.
    """
    w, h = size
    base = kind.split(":", 1)[1] if kind.startswith("static:") else kind
    base = "blocks" if base == "static" else base
    if base in PHOTO_KINDS:
        src = _photo_path(base)
        if src is not None and src.exists():
            with Image.open(src) as im:
                im = im.convert("RGB")
                scale = min(im.width / w, im.height / h)  # centre crop to the aspect, then fit
                cw, ch = int(w * scale), int(h * scale)
                box = ((im.width - cw) // 2, (im.height - ch) // 2)
                im = im.crop((box[0], box[1], box[0] + cw, box[1] + ch))
                return np.asarray(im.resize((w, h), Image.Resampling.BILINEAR))
        # Package not installed: a smooth colour field unique to this kind stands in.
        return _pattern("noise", w, h)[:, ::-1] if base == "china" else _pattern("noise", w, h)
    return _pattern(base, w, h)


def _scene_frames(kind: str, n: int, size: Size, seed: int) -> Callable[[int], np.ndarray]:
    """A function giving frame ``i`` of ``n`` of one scene: slow pan + zoom + mild noise."""
    w, h = size
    if kind == "static" or kind.startswith("static:"):
        still = scene_image(kind, size)
        return lambda i: still
    big = scene_image(kind, (int(w * 1.3) // 2 * 2, int(h * 1.3) // 2 * 2))
    bh, bw = big.shape[:2]
    rng = np.random.default_rng(seed)

    def frame(i: int) -> np.ndarray:
        u = i / max(n - 1, 1)
        zoom = 1.0 - 0.12 * u  # crop shrinks a little: a slow zoom in
        cw, ch = int(w * 1.15 * zoom), int(h * 1.15 * zoom)
        x0 = int((bw - cw) * u)
        y0 = int((bh - ch) * (0.5 + 0.4 * np.sin(2 * np.pi * u)) * 0.99)
        crop = Image.fromarray(big[y0 : y0 + ch, x0 : x0 + cw]).resize(
            (w, h), Image.Resampling.BILINEAR
        )
        noisy = np.asarray(crop, dtype=np.int16) + rng.integers(-4, 5, size=(h, w, 3))
        return noisy.clip(0, 255).astype(np.uint8)

    return frame


def _add_video_stream(
    out: av.container.OutputContainer, codec: str, fps: float | Fraction, size: Size
) -> av.video.stream.VideoStream:
    stream = out.add_stream(codec, rate=Fraction(fps).limit_denominator(1001))
    stream.width, stream.height = size
    stream.pix_fmt = "yuv420p"
    if codec == "libx264":
        stream.options = {"preset": "ultrafast", "crf": "20", "g": "50"}
    return stream


def _add_audio(out: av.container.OutputContainer, audio: np.ndarray, sr: int) -> None:
    """Encode mono float audio in [-1, 1] as AAC into ``out`` (stream already added)."""
    stream = out.streams.audio[0]
    samples = np.asarray(audio, dtype=np.float32).reshape(-1).clip(-1, 1)
    step = 1024
    for start in range(0, len(samples), step):
        chunk = samples[start : start + step]
        frame = av.AudioFrame.from_ndarray(chunk[None, :], format="fltp", layout="mono")
        frame.sample_rate = sr
        frame.pts = start
        frame.time_base = Fraction(1, sr)
        out.mux(stream.encode(frame))
    out.mux(stream.encode(None))


def _write(
    path: str | Path,
    frames: Callable[[int], np.ndarray],
    n: int,
    *,
    fps: float,
    size: Size,
    codec: str = "libx264",
    audio: np.ndarray | None = None,
    sr: int = 16000,
    pts_ms: Sequence[int] | None = None,
    rotation: int = 0,
) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), "w") as out:
        stream = _add_video_stream(out, codec, fps, size)
        if rotation:
            stream.set_display_rotation(rotation)
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if audio is not None:
            out.add_stream("aac", rate=sr, layout="mono")
        for i in range(n):
            vf = av.VideoFrame.from_ndarray(frames(i), format="rgb24")
            if pts_ms is not None:
                vf.pts, vf.time_base = int(pts_ms[i]), Fraction(1, 1000)
            out.mux(stream.encode(vf))
        out.mux(stream.encode(None))
        if audio is not None:
            _add_audio(out, audio, sr)
    return path


def make_scene_video(
    path: str | Path,
    scenes: list[tuple[float, str]],
    *,
    fps: float = 10,
    size: Size = (320, 240),
    audio: np.ndarray | None = None,
    sr: int = 16000,
    codec: str = "libx264",
) -> list[float]:
    """Write an mp4 made of scenes of known durations and return its cut times.

    Args:
        path: Output file.
        scenes: ``(seconds, kind)`` per scene; ``kind`` is one of :data:`SCENE_KINDS`
            or ``"static:<kind>"``. Non-static scenes pan and zoom slowly with mild noise.
        fps: Frame rate.
        size: Frame (width, height); both must be even for yuv420p.
        audio: Optional mono float audio in [-1, 1] to mux as AAC.
        sr: Sample rate of ``audio``.
        codec: Video encoder name.

    Returns:
        The times (s) at which each scene after the first starts (frame-accurate).
    """
    counts = [max(1, round(sec * fps)) for sec, _ in scenes]
    makers = [
        _scene_frames(kind, c, size, seed=i)
        for i, ((_, kind), c) in enumerate(zip(scenes, counts, strict=True))
    ]
    starts = np.cumsum([0, *counts])
    owner = np.repeat(np.arange(len(scenes)), counts)

    def frame(i: int) -> np.ndarray:
        s = int(owner[i])
        return makers[s](i - int(starts[s]))

    _write(path, frame, int(starts[-1]), fps=fps, size=size, codec=codec, audio=audio, sr=sr)
    return [float(s) / fps for s in starts[1:-1]]


def tone(seconds: float, *, sr: int = 16000, freq: float = 440.0, amp: float = 0.3) -> np.ndarray:
    """A mono float32 sine tone."""
    t = np.arange(int(seconds * sr), dtype=np.float64) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def make_text_file(path: str | Path, text: str = "this is not a video\n" * 20) -> Path:
    """Write a plain text file."""
    path = Path(path)
    path.write_text(text)
    return path


def make_zero_byte(path: str | Path) -> Path:
    """Write an empty file."""
    path = Path(path)
    path.write_bytes(b"")
    return path


def make_jpeg(path: str | Path, size: Size = (320, 240)) -> Path:
    """Write a single still JPEG image."""
    path = Path(path)
    Image.fromarray(scene_image("circles", size)).save(path, format="JPEG", quality=90)
    return path


def make_truncated_mp4(src: str | Path, dst: str | Path, fraction: float = 0.5) -> Path:
    """Copy the first ``fraction`` of ``src``'s bytes to ``dst`` (the moov atom is lost)."""
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.write_bytes(data[: int(len(data) * fraction)])
    return dst


def make_corrupt_middle(
    src: str | Path, dst: str | Path, *, start: float = 0.4, length: float = 0.2, seed: int = 0
) -> Path:
    """Copy ``src`` to ``dst`` with a stretch of its bytes overwritten by random garbage.

    Args:
        src: A video file.
        dst: Output file.
        start: Where the garbage starts, as a fraction of the file size.
        length: How much is overwritten, as a fraction of the file size.
        seed: Random seed.

    Returns:
        ``dst``.
    """
    data = bytearray(Path(src).read_bytes())
    a, b = int(len(data) * start), int(len(data) * (start + length))
    data[a:b] = np.random.default_rng(seed).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    dst = Path(dst)
    dst.write_bytes(bytes(data))
    return dst


def make_garbage_payload(src: str | Path, dst: str | Path, seed: int = 0) -> Path:
    """Copy an mp4 with its media data (``mdat`` payload) replaced by random bytes.

    The header and index (``moov``) stay intact, so the file opens and probes, but no
    packet decodes.
    """
    data = bytearray(Path(src).read_bytes())
    pos = 0
    while pos + 8 <= len(data):
        size, kind = int.from_bytes(data[pos : pos + 4], "big"), bytes(data[pos + 4 : pos + 8])
        header = 8
        if size == 1:
            size, header = int.from_bytes(data[pos + 8 : pos + 16], "big"), 16
        elif size == 0:
            size = len(data) - pos
        if kind == b"mdat":
            a, b = pos + header, pos + size
            rng = np.random.default_rng(seed)
            data[a:b] = rng.integers(0, 256, b - a, dtype=np.uint8).tobytes()
        pos += max(size, 8)
    dst = Path(dst)
    dst.write_bytes(bytes(data))
    return dst


def make_audio_only(path: str | Path, seconds: float = 2.0, sr: int = 16000) -> Path:
    """Write an m4a/mp4 holding only an AAC tone (no video stream)."""
    path = Path(path)
    with av.open(str(path), "w", format="mp4") as out:
        out.add_stream("aac", rate=sr, layout="mono")
        _add_audio(out, tone(seconds, sr=sr), sr)
    return path


def make_large_resolution(
    path: str | Path, size: Size = (3840, 2160), seconds: float = 2.0, fps: float = 5
) -> Path:
    """Write a short, very high resolution video (default 4K UHD)."""
    still = scene_image("gradient", size)
    bar = max(2, size[0] // 40)

    def frame(i: int) -> np.ndarray:  # a moving dark bar over the gradient
        img = still.copy()
        x = (i * 4 * bar) % size[0]
        img[:, x : x + bar] = 0
        return img

    return _write(path, frame, max(1, round(seconds * fps)), fps=fps, size=size)


VFR_TIMES = (0.0, 0.1, 0.2, 0.3, 1.45, 1.5, 1.55, 1.6, 3.2, 3.25, 4.0, 4.1, 5.9, 6.0, 6.05)
"""Frame times (s) of :func:`make_vfr_video`: bursts and gaps, far from any fixed rate."""


def make_vfr_video(
    path: str | Path, times: Sequence[float] = VFR_TIMES, size: Size = (160, 120)
) -> list[float]:
    """Write a variable-frame-rate mp4 whose frames sit at ``times`` (ms precision).

    Frame ``i`` is a flat grey of level ``10 + 15 * i`` so tests can tell frames apart.

    Returns:
        The frame times as written (s).
    """
    pts = [round(t * 1000) for t in times]
    levels = [min(250, 10 + 15 * i) for i in range(len(pts))]
    w, h = size

    def frame(i: int) -> np.ndarray:
        return np.full((h, w, 3), levels[i], dtype=np.uint8)

    _write(path, frame, len(pts), fps=10, size=size, pts_ms=pts)
    return [p / 1000 for p in pts]


def make_short_video(
    path: str | Path, seconds: float = 0.5, fps: float = 10, size: Size = (160, 120)
) -> Path:
    """Write a video shorter than a second (at least one frame)."""
    maker = _scene_frames("checker", max(1, round(seconds * fps)), size, seed=0)
    return _write(path, maker, max(1, round(seconds * fps)), fps=fps, size=size)


def make_rotated_video(path: str | Path, rotation: int = 90, size: Size = (160, 120)) -> Path:
    """Write a video whose display matrix asks for a ``rotation`` (degrees) on display.

    The coded frames are ``size`` (W, H) with a white band along their top rows, so after
    a 90° rotation the band runs down the left side of the upright picture.
    """
    w, h = size
    img = np.zeros((h, w, 3), dtype=np.uint8)
    img[: h // 8] = 255
    return _write(path, lambda i: img, 5, fps=10, size=size, rotation=rotation)


def spoken_track(
    tmp: Path, say: Sequence[tuple[float, str]], seconds: float, *, sr: int = 16000
) -> np.ndarray:
    """A mono track of ``seconds`` with each ``(t, sentence)`` spoken by espeak-ng at ``t``.

    Args:
        tmp: A folder for the intermediate WAV files.
        say: Start time (s) and text of each sentence.
        seconds: Track length.
        sr: Sample rate.
    """
    track = np.zeros(int(seconds * sr), dtype=np.float32)
    for i, (t, text) in enumerate(say):
        wav = tmp / f"say{i}.wav"
        subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(wav), text], check=True)
        with wave.open(str(wav)) as w:
            rate = w.getframerate()
            x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
        x = np.interp(np.arange(0, len(x) * sr / rate) * rate / sr, np.arange(len(x)), x)
        start = int(t * sr)
        track[start : start + len(x)] += x[: len(track) - start].astype(np.float32)
    return track


sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from asr_quality import wer  # noqa: E402

word_error_rate = wer
"""Word error rate over word lists: the bench's (``bench/asr_quality.py``), one for both."""
