"""On-screen text: the cheap text test, the OCR gate, RapidOCR reading and the tracker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from hourlens.indexer.ocr import (
    OcrEngine,
    OcrGate,
    OcrItem,
    OcrTracker,
    _reading_order,
    normalise_text,
    text_likely,
)

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
SENTENCE = "The quarterly report is due on Friday"


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    if DEJAVU.exists():
        return ImageFont.truetype(str(DEJAVU), size)
    return ImageFont.load_default(size=size)


def _slide(lines: list[str], *, size: int = 40, bg=(18, 22, 30), fg=(235, 235, 235)) -> np.ndarray:
    img = Image.new("RGB", (854, 480), bg)
    draw = ImageDraw.Draw(img)
    y = 150
    for line in lines:
        draw.text((40, y), line, font=_font(size), fill=fg)
        y += size + 40
    return np.asarray(img)


def _plain_frames() -> list[np.ndarray]:
    """Frames without text: flat, a gradient, soft blobs, mild noise."""
    yy, xx = np.mgrid[0:480, 0:854].astype(np.float32)
    grad = np.stack([xx / 854 * 255, yy / 480 * 255, np.full_like(xx, 90)], -1)
    blobs = 120 + 80 * np.sin(xx / 60) * np.cos(yy / 45)
    noise = 128 + np.random.default_rng(0).normal(0, 4, (480, 854))
    return [
        np.full((480, 854, 3), 30, np.uint8),
        grad.astype(np.uint8),
        np.repeat(blobs[..., None], 3, -1).astype(np.uint8),
        np.repeat(noise[..., None], 3, -1).clip(0, 255).astype(np.uint8),
    ]


def test_text_likely_separates_text_from_plain_frames():
    assert text_likely(_slide([SENTENCE]))
    assert text_likely(_slide(["small caption"], size=16))
    assert text_likely(_slide(["grey on grey"], bg=(90, 90, 90), fg=(150, 150, 150)))
    assert text_likely(_slide(["dark on light"], bg=(240, 240, 240), fg=(10, 10, 10)))
    assert text_likely(_slide(["BIG"], size=140))
    for frame in _plain_frames():
        assert not text_likely(frame)


def test_gate_reads_a_static_slide_once():
    gate = OcrGate()
    slide, other = _slide([SENTENCE]), _slide(["Budget moved to Thursday at noon"])
    noisy = slide.astype(np.int16) + np.random.default_rng(1).integers(-3, 4, slide.shape)
    noisy = noisy.clip(0, 255).astype(np.uint8)
    added = _slide([SENTENCE, "New bullet point"])
    got = [gate.check(f) for f in (slide, slide, noisy, other, _plain_frames()[0], other, added)]
    assert got == ["ocr", "same", "same", "ocr", "none", "ocr", "ocr"]


def test_reading_order_is_rows_then_left_to_right():
    def box(x, y, w=100, h=20):
        return [[x, y], [x + w, y], [x + w, y + h], [x, y + h]]

    boxes = np.array([box(300, 102), box(10, 100), box(10, 200), box(150, 98, h=24)])
    assert _reading_order(boxes) == [1, 3, 0, 2]


def test_tracker_merges_fuzzy_readings_and_ends_items():
    tr = OcrTracker()
    tr.add(0.0, [])
    tr.add(1.0, [("Quarterly report", 0.99), ("Page 1", 0.95)])
    tr.add(2.0, [("Quarterly rep0rt", 0.90), ("Page 1", 0.97)])  # one misread glyph
    tr.extend(3.0)  # the gate said "same"
    tr.add(4.0, [("quarterly  REPORT", 0.98)])  # case/space variants still merge
    tr.add(5.0, [])
    tr.add(6.0, [("Quarterly report", 0.99)])  # back again: a new item
    items = tr.finish()
    assert items == [
        OcrItem(start=1.0, end=4.0, text="Quarterly report", score=pytest.approx(0.9567, 1e-3)),
        OcrItem(start=1.0, end=3.0, text="Page 1", score=0.96),
        OcrItem(start=6.0, end=6.0, text="Quarterly report", score=0.99),
    ]
    assert OcrTracker().finish() == []


def test_tracker_keeps_different_texts_apart():
    tr = OcrTracker()
    tr.add(0.0, [("Quarterly report", 0.99)])
    tr.add(1.0, [("Annual summary", 0.99)])
    assert [(i.text, i.start, i.end) for i in tr.finish()] == [
        ("Quarterly report", 0.0, 0.0),
        ("Annual summary", 1.0, 1.0),
    ]


@pytest.mark.slow
def test_ocr_reads_a_rendered_slide_exactly():
    pytest.importorskip("rapidocr")
    engine = OcrEngine()
    frame = _slide([SENTENCE, "Room 42 at 3 PM"])
    engine.read(frame)  # load the models
    lines = engine.read(frame)
    assert [normalise_text(t) for t, _ in lines] == [
        normalise_text(SENTENCE),
        normalise_text("Room 42 at 3 PM"),
    ]
    assert all(0.8 <= s <= 1.0 for _, s in lines)
    assert engine.read(_plain_frames()[0]) == []  # speed: bench/index_speed.py, not here


def test_engine_params_default_and_override():
    from hourlens.indexer.ocr import DEFAULT_PARAMS

    shape = ("Rec.rec_img_shape", (3, 48, 96))
    assert dict(OcrEngine()._params) == DEFAULT_PARAMS == dict([("Global.use_cls", False), shape])
    mine = dict(OcrEngine(params={"Global.use_cls": True, "Det.limit_side_len": 640})._params)
    assert mine == {"Global.use_cls": True, "Det.limit_side_len": 640, shape[0]: shape[1]}
