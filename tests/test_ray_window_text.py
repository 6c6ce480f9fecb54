"""A long video over a local Ray in time windows: each window reads its own speech and
on-screen text, and the merged text matches a serial run's."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from media import _write, scene_image, spoken_track, word_error_rate
from PIL import Image, ImageDraw, ImageFont

from hourlens import IndexConfig, Library
from hourlens.config import RayConfig

ray = pytest.importorskip("ray", reason="the ray extra is not installed")

pytestmark = [
    pytest.mark.slow,  # starts Ray and loads the packaged models in its workers
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng"),
]

SR = 16000
SIZE = (640, 360)
FPS = 5
DURATION = 96.0
WINDOW_S = 30.0
# the second sentence starts before the first window edge (about 30 s) and ends after it
SAY = [
    (4.0, "The quick brown fox jumps over the lazy dog."),
    (28.0, "Please leave your message after the tone."),
    (70.0, "The weather today is sunny and warm."),
]
SLIDES = [(12.0, 18.0, "Meeting moved to Thursday"), (40.0, 46.0, "Budget review at noon")]
SLIDES += [(78.0, 84.0, "Lunch is in the garden")]
BACKGROUND = ["hopper", "china", "flower"]
CONFIG = IndexConfig(threads=1, ocr_budget_per_min=0.0)


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    p = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
    return ImageFont.truetype(str(p), size) if p.exists() else ImageFont.load_default(size)


def _slide(text: str) -> np.ndarray:
    img = Image.new("RGB", SIZE, (22, 26, 34))
    ImageDraw.Draw(img).text((40, 150), text, fill=(235, 235, 235), font=_font(36))
    return np.asarray(img)


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("ray-text")
    backgrounds = [scene_image(k, SIZE) for k in BACKGROUND]
    slides = [_slide(text) for *_, text in SLIDES]
    rng = np.random.default_rng(0)

    def frame(i: int) -> np.ndarray:
        t = i / FPS
        for k, (a, b, _) in enumerate(SLIDES):
            if a <= t < b:
                return slides[k]
        img = backgrounds[int(t // 32) % len(backgrounds)].astype(np.int16)
        return np.clip(img + rng.integers(-3, 4, size=img.shape), 0, 255).astype(np.uint8)

    path = tmp / "talk.mp4"
    _write(
        path,
        frame,
        int(DURATION * FPS),
        fps=FPS,
        size=SIZE,
        audio=spoken_track(tmp, SAY, DURATION, sr=SR),
        sr=SR,
    )
    return path


def _text(
    lib: Library, path: Path
) -> tuple[list[tuple[float, str]], list[tuple[float, float, str]]]:
    v = lib.video(str(path))
    speech = [(ln.start, ln.text.lower()) for ln in lib.transcript(v.id)]
    ocr = [(it.start, it.end, it.text.lower()) for it in lib.store.ocr_items(v.id)]
    return speech, ocr


def _words(text: str) -> list[str]:
    return text.lower().replace(".", "").replace(",", "").split()


def test_windows_read_their_own_speech_and_text(tmp_path, local_ray, video):
    from hourlens.indexer.windows import plan_windows

    windows = plan_windows(video, DURATION, window_s=WINDOW_S, fps=CONFIG.fps)
    assert len(windows) == 3
    edge = windows[1][0]
    assert SAY[1][0] < edge < SAY[1][0] + 2.5  # the sentence runs across the edge

    serial = Library(tmp_path / "serial", index_config=CONFIG)
    assert serial.index(video)[0].status == "indexed"
    lib = Library(tmp_path / "ray", index_config=CONFIG)
    res = lib.index(video, engine="ray", ray_config=RayConfig(workers=2, window_s=WINDOW_S))
    assert res[0].status == "indexed", res[0].error

    ser_speech, ser_ocr = _text(serial, video)
    ray_speech, ray_ocr = _text(lib, video)
    # every sentence heard once, near its time, the one across the edge included
    spoken = [w for _, text in ray_speech for w in _words(text)]
    for t, sentence in SAY:
        key = max(_words(sentence), key=len)
        assert spoken.count(key) == 1, (key, ray_speech)
        assert any(abs(s - t) <= 1.5 and key in text for s, text in ray_speech), ray_speech
    # the windows' audio is cut differently: Whisper may hear a word differently
    assert word_error_rate([w for _, x in ser_speech for w in _words(x)], spoken) <= 0.15
    # every slide read within its span, as the serial run reads it
    for a, b, text in SLIDES:
        for got in (ray_ocr, ser_ocr):
            assert any(s < b and e > a and text.lower() in t for s, e, t in got), got
    serial.close()
    lib.close()
