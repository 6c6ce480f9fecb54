"""A small real video with speech for the web player's tests, and a library over it.

``make_talk`` writes a 60 s video (six 10 s scenes, one of them a slide with text) whose
audio speaks three sentences with espeak-ng (tones when espeak-ng is missing), as H.264 +
AAC MP4 with interleaved packets and the index up front, or as VP8 + Vorbis WebM.
``write_talk`` records it in a library through the real Store API, with the transcript,
on-screen text, tags, captions, chapters and keyframes (JPEGs of the actual frames) that
an indexer would find, so the tests need no model.
"""

from __future__ import annotations

import io
import shutil
import subprocess
import wave
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from agent_fixtures import ENCODER, toy_embed
from media import scene_image
from PIL import Image, ImageDraw, ImageFont

from hourlens.memory_store import Store

SR = 16000
FPS = 5
SIZE = (640, 360)
DURATION = 60.0
SLIDE = "Coffee break at ten"
SCENES = [  # (start, end, kind, caption, tag)
    (0.0, 10.0, "hopper", "a woman in uniform looking at the camera", "military uniform"),
    (10.0, 20.0, "slide", "a slide with white text on a dark background", "web site"),
    (20.0, 30.0, "china", "a pagoda by a lake", "palace"),
    (30.0, 40.0, "flower", "a close-up of a pink flower", "daisy"),
    (40.0, 50.0, "bars", "colour bars", "television"),
    (50.0, 60.0, "circles", "coloured circles on a dark background", "balloon"),
]
SAY = [
    (2.0, "Welcome to the rocket lecture."),
    (22.0, "The coffee is ready in the kitchen."),
    (42.0, "Look at the flowers in the garden."),
]
CHAPTERS = [(0.0, 30.0, "Welcome and slides"), (30.0, 60.0, "Flowers and colours")]


def _font(size: int) -> Any:
    path = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default()


def _slide() -> np.ndarray:
    img = Image.new("RGB", SIZE, (22, 26, 34))
    ImageDraw.Draw(img).text((60, 150), SLIDE, fill=(235, 235, 235), font=_font(40))
    return np.asarray(img)


def _speech_line(text: str) -> np.ndarray:
    """One sentence as float audio at ``SR`` (espeak-ng, or a tone of similar length)."""
    if shutil.which("espeak-ng") is None:
        t = np.arange(int(0.09 * len(text) * SR)) / SR
        return (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    out = subprocess.run(
        ["espeak-ng", "-v", "en-us", "-s", "150", "--stdout", text],
        check=True,
        capture_output=True,
    )
    with wave.open(io.BytesIO(out.stdout)) as w:
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768
    return np.interp(np.arange(0, len(x) * SR / rate) * rate / SR, np.arange(len(x)), x).astype(
        np.float32
    )


def speech_track() -> tuple[np.ndarray, list[tuple[float, float, str]]]:
    """The audio track and its transcript lines ``(start, end, text)``."""
    track = np.zeros(int(DURATION * SR), np.float32)
    lines = []
    for t, text in SAY:
        x = _speech_line(text)
        i = int(t * SR)
        track[i : i + len(x)] += x[: len(track) - i]
        lines.append((t, round(t + len(x) / SR, 2), text))
    return track, lines


def frames() -> dict[str, np.ndarray]:
    """The picture of each scene kind."""
    return {k: (_slide() if k == "slide" else scene_image(k, SIZE)) for _, _, k, *_ in SCENES}


def make_talk(path: str | Path, *, webm: bool = False) -> tuple[Path, list[Any]]:
    """Write the talk video; returns its path and transcript lines."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures = frames()
    audio, lines = speech_track()
    opts = {} if webm else {"movflags": "+faststart"}
    with av.open(str(path), "w", options=opts) as out:
        vs = out.add_stream("libvpx" if webm else "libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        if not webm:
            vs.options = {"preset": "ultrafast", "crf": "23", "g": str(FPS * 2)}
        aus: Any = out.add_stream("libvorbis" if webm else "aac", rate=SR, layout="mono")
        a_fmt = "fltp"
        step = 1024
        a_pos = 0
        for i in range(int(DURATION * FPS)):
            t = i / FPS
            kind = next(k for a, b, k, *_ in SCENES if a <= t < b)
            vf = av.VideoFrame.from_ndarray(pictures[kind], format="rgb24")
            vf.pts = i
            out.mux(vs.encode(vf))
            while a_pos < min(len(audio), int((t + 1 / FPS) * SR)):  # interleave by time
                chunk = audio[a_pos : a_pos + step]
                af = av.AudioFrame.from_ndarray(chunk[None, :], format=a_fmt, layout="mono")
                af.sample_rate, af.pts, af.time_base = SR, a_pos, Fraction(1, SR)
                out.mux(aus.encode(af))
                a_pos += step
        out.mux(vs.encode(None))
        out.mux(aus.encode(None))
    return path, lines


def _jpeg(picture: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(picture).resize((320, 180)).save(buf, format="JPEG", quality=85)
    return buf.getvalue()


def write_talk(store: Store, path: str | Path, lines: list[tuple[float, float, str]]) -> Any:
    """Record the talk video in ``store`` as an indexer would have (no models needed)."""
    pictures = frames()
    rng = np.random.default_rng(0)
    dim = 16
    feats = rng.normal(size=(int(DURATION), dim)).astype(np.float32)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    st = Path(path).stat()
    w = store.begin_video(path, size=st.st_size, mtime=st.st_mtime, content_hash="talk0")
    w.append_frames(np.arange(DURATION), feats)
    for s, (a, b, kind, _caption, tag) in enumerate(SCENES):
        key = w.add_segment(index=s, start=a, end=b, n_frames=10, depth=0.1, alpha=6.0, budget=2)
        for m0 in (a, a + 5):
            w.add_memory(
                segment=key,
                kind="feature",
                start=m0,
                end=m0 + 5,
                n_frames=5,
                vector=feats[int(m0)],
                tags=[(tag, 0.6), ("television", 0.1)],
            )
        w.add_memory(
            segment=key,
            kind="summary",
            start=a,
            end=b,
            n_frames=10,
            vector=feats[int(a) : int(b)].mean(0),
        )
        w.add_segment_tags(key, [(tag, 0.55), ("television", 0.1)])
        w.add_keyframe(segment=key, t=a + 5.0, jpeg=_jpeg(pictures[kind]))
    ids = w.add_transcript_lines(
        [{"start": a, "end": b, "text": t} for a, b, t in lines], language="en"
    )
    w.add_texts_vectors("speech", ids, toy_embed([t for *_, t in lines]), model="toy")
    ocr = w.add_ocr_items([{"start": 10.0, "end": 20.0, "text": SLIDE, "score": 0.95}])
    w.add_texts_vectors("ocr", ocr, toy_embed([SLIDE]), model="toy")
    w.add_captions([{"start": a, "end": b, "text": c} for a, b, _, c, _ in SCENES])
    w.add_chapters(
        [{"start": a, "end": b, "title": t, "summary": t.lower()} for a, b, t in CHAPTERS]
    )
    return w.commit(
        duration=DURATION,
        fps=float(FPS),
        width=SIZE[0],
        height=SIZE[1],
        encoder=ENCODER,
        encoder_dim=dim,
    )


def build_talk_library(root: Path, *, webm: bool = False) -> tuple[Path, Path, list[Any]]:
    """The talk video in ``root`` and a library over it in ``root/lib``."""
    video, lines = make_talk(root / ("talk.webm" if webm else "talk.mp4"), webm=webm)
    with Store(root / "lib") as st:
        write_talk(st, video, lines)
    return root / "lib", video, lines
