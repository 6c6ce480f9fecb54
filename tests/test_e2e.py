"""End to end with the packaged offline models: a generated video with real speech
(espeak-ng) and an on-screen sentence is indexed by the CLI, then questioned."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from media import _write, scene_image, spoken_track
from PIL import Image, ImageDraw, ImageFont

from hourlens.cli import cli

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="needs espeak-ng"),
]

SR = 16000
SIZE = (640, 360)
FPS = 5
SAY = [
    (3.0, "The quick brown fox jumps over the lazy dog."),
    (21.0, "Please leave your message after the tone."),
    (37.0, "The weather today is sunny and warm."),
]
SLIDE = "Meeting moved to Thursday"
SLIDE_SPAN = (12.0, 18.0)
SCENES = [
    (0.0, 12.0, "hopper"),
    (12.0, 18.0, "slide"),
    (18.0, 30.0, "china"),
    (30.0, 45.0, "flower"),
]


def _font(size: int) -> ImageFont.ImageFont:
    for p in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",):
        if Path(p).exists():
            return ImageFont.truetype(p, size)
    return ImageFont.load_default(size)


def _slide() -> np.ndarray:
    img = Image.new("RGB", SIZE, (22, 26, 34))
    ImageDraw.Draw(img).text((40, 150), SLIDE, fill=(235, 235, 235), font=_font(36))
    return np.asarray(img)


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("e2e")
    duration = SCENES[-1][1]
    images = {k: (_slide() if k == "slide" else scene_image(k, SIZE)) for _, _, k in SCENES}
    rng = np.random.default_rng(0)

    def frame(i: int) -> np.ndarray:
        t = i / FPS
        kind = next(k for a, b, k in SCENES if a <= t < b)
        img = images[kind].astype(np.int16)
        if kind != "slide":
            img = img + rng.integers(-3, 4, size=img.shape)
        return np.clip(img, 0, 255).astype(np.uint8)

    video = tmp / "talk.mp4"
    _write(
        video,
        frame,
        int(duration * FPS),
        fps=FPS,
        size=SIZE,
        audio=spoken_track(tmp, SAY, duration, sr=SR),
        sr=SR,
    )
    lib = tmp / "lib"
    res = CliRunner().invoke(
        cli,
        ["--library", str(lib), "index", "--json", "--no-progress", str(video)],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    return lib, video


def _wer(ref: str, hyp: str) -> float:
    norm = [s.lower().replace(".", "").replace(",", "").split() for s in (ref, hyp)]
    r, h = norm
    d = np.arange(len(h) + 1)
    for i in range(1, len(r) + 1):
        prev, d[0] = d.copy(), i
        for j in range(1, len(h) + 1):
            d[j] = min(prev[j] + 1, d[j - 1] + 1, prev[j - 1] + (r[i - 1] != h[j - 1]))
    return d[len(h)] / max(len(r), 1)


def test_transcript_wer_and_times(library):
    lib, _ = library
    out = CliRunner().invoke(
        cli, ["--library", str(lib), "transcript", "talk.mp4", "--format", "json"]
    )
    lines = json.loads(out.stdout)
    assert lines, "no transcript"
    hyp = " ".join(ln["text"] for ln in lines)
    ref = " ".join(text for _, text in SAY)
    assert _wer(ref, hyp) <= 0.15, hyp
    for t, _ in SAY:
        assert min(abs(ln["start"] - t) for ln in lines) <= 1.0, (t, lines)


def test_ocr_reads_the_slide_within_its_span(library):
    lib, _ = library
    info = json.loads(
        CliRunner().invoke(cli, ["--library", str(lib), "show", "talk.mp4", "--json"]).stdout
    )
    texts = [(s["start"], s["end"], t) for s in info["segments"] for t in s["ocr"]]
    hits = [(a, b) for a, b, t in texts if t.lower().strip() == SLIDE.lower()]
    assert hits, texts
    assert any(a <= SLIDE_SPAN[1] and b >= SLIDE_SPAN[0] for a, b in hits)
    assert info["chapters"] and info["summary"]


def test_ask_with_packaged_llm_cites_the_right_time(library):
    lib, _ = library
    res = CliRunner().invoke(
        cli, ["--library", str(lib), "ask", "talk.mp4", "What is said at about 00:21?", "--json"]
    )
    assert res.exit_code == 0, res.output
    ans = json.loads(res.stdout)
    assert set(ans) == {"answer", "confidence", "citations", "steps"}
    assert "message" in ans["answer"].lower()
    assert ans["citations"] and all(0 <= c["start"] <= c["end"] <= 45.5 for c in ans["citations"])
    assert any(c["start"] <= 23 and c["end"] >= 20 for c in ans["citations"])
    res = CliRunner().invoke(
        cli,
        [
            "--library",
            str(lib),
            "ask",
            "talk.mp4",
            "When does the narrator talk about the weather?",
            "--json",
        ],
    )
    ans = json.loads(res.stdout)
    assert any(c["start"] <= 40 and c["end"] >= 36 for c in ans["citations"]), ans
