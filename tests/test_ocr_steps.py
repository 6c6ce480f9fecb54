"""RapidOCR's steps one at a time: the line cache (unchanged lines are not recognised
again) and the split read giving what a plain RapidOCR call gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from hourlens.indexer.ocr_steps import LineCache, _Entry, same_look, signature

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    if DEJAVU.exists():
        return ImageFont.truetype(str(DEJAVU), size)
    return ImageFont.load_default(size=size)


def _crop(text: str, noise: float = 0.0, seed: int = 0) -> np.ndarray:
    """A BGR text crop as the detector would cut it (white text on a dark band)."""
    img = Image.new("RGB", (260, 40), (20, 24, 30))
    ImageDraw.Draw(img).text((6, 4), text, font=_font(26), fill=(235, 235, 235))
    a = np.asarray(img).astype(np.float32)
    if noise:
        a += np.random.default_rng(seed).normal(0.0, noise, a.shape)
    return np.clip(a, 0, 255).astype(np.uint8)[..., ::-1]


def test_a_line_looks_the_same_through_noise_but_not_when_one_digit_changes():
    a, b = signature(_crop("Room 18 at 5 PM")), signature(_crop("Room 18 at 5 PM", 4.0, 1))
    assert a.shape == b.shape and a.shape[0] == 24
    assert same_look(a, b, 20.0)  # compression-like noise
    assert not same_look(a, signature(_crop("Room 19 at 5 PM")), 20.0)  # one digit
    assert not same_look(a, signature(_crop("Room 18")), 20.0)  # another width
    crop = _crop("Room 18 at 5 PM")
    assert same_look(a, signature(crop[:, :-2]), 20.0)  # a box 2 px narrower


def test_the_cache_keeps_a_reading_by_place_and_look_and_forgets_a_read_band():
    cache = LineCache()
    sig = signature(_crop("Inbox (33)"))
    cache.replace(0, 480, [_Entry((40.0, 100.0, 300.0, 130.0), sig, "Inbox (33)", 0.99)])
    hit = cache.lookup((41.0, 101.0, 299.0, 131.0), signature(_crop("Inbox (33)", 3.0)))
    assert hit is not None and hit.text == "Inbox (33)"
    assert cache.lookup((41.0, 160.0, 299.0, 191.0), sig) is None  # elsewhere on screen
    assert cache.lookup((41.0, 101.0, 299.0, 131.0), signature(_crop("Inbox (36)"))) is None
    cache.replace(200, 300, [])  # a band below: the line stays
    assert cache.lookup((40.0, 100.0, 300.0, 130.0), sig) is not None
    cache.replace(90, 140, [])  # its band was read again and found nothing
    assert cache.lookup((40.0, 100.0, 300.0, 130.0), sig) is None
    off = LineCache(enabled=False)
    off.replace(0, 480, [_Entry((40.0, 100.0, 300.0, 130.0), sig, "Inbox (33)", 0.99)])
    assert off.lookup((40.0, 100.0, 300.0, 130.0), sig) is None


def _frame(lines: dict[int, str]) -> np.ndarray:
    img = Image.new("RGB", (1309, 736), (18, 22, 30))
    draw = ImageDraw.Draw(img)
    for y, text in lines.items():
        draw.text((60, y), text, font=_font(40), fill=(235, 235, 235))
    return np.asarray(img)


@pytest.mark.slow
def test_split_read_gives_rapidocr_reading_and_recognises_only_changed_lines():
    pytest.importorskip("rapidocr")
    from hourlens.indexer.ocr import OcrEngine
    from hourlens.indexer.ocr_regions import BAND_PARAMS

    engine = OcrEngine(params=BAND_PARAMS, spinning=False)
    one = {80: "The quarterly report is due on Friday", 400: "Room 42 at 3 PM"}
    two = {80: "The quarterly report is due on Friday", 400: "Room 17 at 5 PM"}
    cache = LineCache()
    for lines in (one, two):
        f = _frame(lines)
        plain = engine.read_boxes(f)
        assert [t for t, _, _ in engine.read_boxes(f, cache=LineCache())] == [
            t for t, _, _ in plain
        ]
        got = engine.read_boxes(f, cache=cache)
        assert [t for t, _, _ in got] == [t for t, _, _ in plain] == list(lines.values())
    # the title was recognised once: the second frame recognised only the changed line
    assert cache.reused >= 1 and cache.recognised <= 3
    again = engine.read_boxes(_frame(two), cache=cache)
    assert [t for t, _, _ in again] == list(two.values())
    assert cache.reused >= 3  # the same frame once more: nothing recognised
    assert engine.detect(np.zeros((320, 568, 3), np.uint8)) == 0
    assert engine.detect(_frame(one)[::2, ::2]) >= 2
