"""OCR that re-reads only the bands whose text changed, within a budget per minute."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from hourlens.indexer.ocr_regions import (
    Line,
    OcrBudget,
    RegionReader,
    _bands,
    reading_order,
)

DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    if DEJAVU.exists():
        return ImageFont.truetype(str(DEJAVU), size)
    return ImageFont.load_default(size=size)


def _frame(lines: dict[int, str]) -> np.ndarray:
    """854x480 dark frame with ``{y: text}`` lines."""
    img = Image.new("RGB", (854, 480), (18, 22, 30))
    draw = ImageDraw.Draw(img)
    for y, text in lines.items():
        draw.text((40, y), text, font=_font(32), fill=(235, 235, 235))
    return np.asarray(img)


class _Engine:
    """Reads what ``_frame`` drew: a line per text row found in the pixels it is given."""

    def __init__(self, truth: dict[int, str]) -> None:
        self.truth = truth
        self.calls: list[tuple[int, int]] = []

    def detect(self, rgb):
        return int((rgb.max(axis=2) > 128).any())

    def read_boxes(self, rgb, cache=None, y_offset=0.0):
        h = rgb.shape[0]
        self.calls.append(rgb.shape[:2])
        ink = (rgb.max(axis=2) > 128).any(axis=1)
        rows = np.flatnonzero(ink)
        if not len(rows):
            return []
        # runs of ink rows are lines; name them by the truth line drawn nearest
        out, start = [], rows[0]
        for a, b in zip(rows, [*rows[1:], None], strict=True):
            if b is None or b > a + 1:
                out.append((start, a + 1))
                start = b
        if cache is not None:
            cache.recognised += len(out)  # as the real engine counts its recognitions
        return [(f"line@{lo}/{h}", 0.99, (float(lo), float(hi), 40.0)) for lo, hi in out]


def test_bands_widen_and_merge_changed_rows():
    rows = np.zeros(10, bool)
    rows[[2, 3, 7]] = True
    assert _bands(rows) == [(1, 5), (6, 9)]
    rows[5] = True
    assert _bands(rows) == [(1, 9)]
    assert _bands(np.zeros(4, bool)) == []


def test_unchanged_text_is_not_read_again_and_changed_lines_are_read_as_bands():
    first = {60: "The agenda for today", 300: "Slide 1 of 12"}
    reader = RegionReader(engine=_Engine(first), det_short_side=0)
    f1 = _frame(first)
    rows, share = reader.plan(f1)
    assert rows == [(0, 480)] and share == 1.0
    lines = reader.read(f1, rows)
    assert len(lines) == 2 and reader.reads == {
        "full": 1,
        "bands": 0,
        "reused": 0,
        "probed_empty": 0,
    }

    rows, share = reader.plan(f1.copy())  # the same frame again: nothing to read
    assert (rows, share) == ([], 0.0)
    assert reader.read(f1.copy(), rows) == lines and reader.reads["reused"] == 1
    assert reader.engine.calls == [(480, 854)]  # one whole-frame read so far

    second = {60: "The agenda for today", 300: "Slide 2 of 12"}  # only the bottom line
    f2 = _frame(second)
    rows, share = reader.plan(f2)
    assert len(rows) == 1 and 0 < share < 0.3
    top, bottom = rows[0]
    assert top < 300 < bottom and top > 100  # the band holds the changed line only
    got = reader.read(f2, rows)
    assert reader.reads["bands"] == 1 and reader.engine.calls[1] == (bottom - top, 854)
    assert got[0] == lines[0]  # the unchanged line is kept as read
    assert len(got) == 2 and 280 < got[1].top < 320  # the band's line, in frame rows


def test_a_frame_that_changed_everywhere_is_read_whole():
    reader = RegionReader(engine=_Engine({}))
    f1 = _frame({40: "first", 140: "second", 240: "third", 340: "fourth"})
    reader.read(f1, reader.plan(f1)[0])
    f2 = _frame({40: "uno", 140: "dos", 240: "tres", 340: "cuatro"})
    rows, share = reader.plan(f2)
    assert rows == [(0, 480)] and share == 1.0


def test_reading_order_is_rows_then_left_to_right():
    a = Line("right", 1.0, 10, 30, 400)
    b = Line("left", 1.0, 12, 32, 20)
    c = Line("below", 1.0, 100, 120, 10)
    assert [ln.text for ln in reading_order([c, a, b])] == ["left", "right", "below"]


def test_budget_bounds_reads_per_minute_of_video():
    budget = OcrBudget(per_min=2.0)
    assert budget.allow(0.0, 1.0) and budget.allow(1.0, 1.0)  # the bucket starts full
    assert not budget.allow(2.0, 1.0)  # spent
    assert budget.allow(2.5, 0.0)  # nothing to read costs nothing
    assert budget.allow(32.0, 1.0)  # 30 s of video refilled one read
    assert not budget.allow(33.0, 0.5)
    assert budget.allow(50.0, 0.5)
    assert budget.refused == 2 and budget.spent == pytest.approx(3.5)
    # whatever is asked, an hour of video gets at most per_min * 60 (+ one burst)
    b = OcrBudget(per_min=3.0)
    allowed = sum(b.allow(t, 1.0) for t in np.arange(0, 3600, 1.0))
    assert allowed <= 3 * 60 + 3
    # the first read of a new scene may borrow one bucket; the debt is then repaid
    b = OcrBudget(per_min=2.0)
    assert b.allow(0.0, 1.0) and b.allow(0.0, 1.0) and not b.allow(0.0, 1.0)
    assert b.allow(0.0, 1.0, first=True) and b.allow(0.0, 1.0, first=True)
    assert not b.allow(0.0, 0.5, first=True)  # at most one bucket of debt
    assert not b.allow(59.0, 1.0)  # a minute refills the debt only
    assert b.allow(90.0, 1.0)
    b = OcrBudget(per_min=3.0)
    allowed = sum(b.allow(t, 1.0, first=t % 7 == 0) for t in np.arange(0, 3600, 1.0))
    assert allowed <= 3 * 60 + 2 * 3
    unbounded = OcrBudget(per_min=0)
    assert all(unbounded.allow(t, 1.0) for t in range(100))


def test_frames_are_scaled_for_the_detector_and_lines_mapped_back():
    reader = RegionReader(engine=_Engine({}))  # default: short side up to 736 px
    f = _frame({200: "Scaled"})
    lines = reader.read(f, reader.plan(f)[0])
    assert reader.engine.calls == [(736, 1309)]
    (line,) = lines
    assert 195 <= line.top < line.bottom <= 245  # in the frame's own rows


@pytest.mark.slow
def test_rapidocr_band_reads_give_the_whole_frame_reading():
    pytest.importorskip("rapidocr")
    from hourlens.indexer.ocr import OcrEngine, normalise_text

    before = {60: "The quarterly report is due on Friday", 300: "Room 42 at 3 PM"}
    after = {60: "The quarterly report is due on Friday", 300: "Room 17 at 5 PM"}
    reader = RegionReader(probe_short_side=384)
    f1, f2 = _frame(before), _frame(after)
    first = reader.read(f1, reader.plan(f1)[0])
    rows, share = reader.plan(f2)
    assert 0 < share < 0.3
    second = reader.read(f2, rows)
    assert reader.reads == {"full": 1, "bands": 1, "reused": 0, "probed_empty": 0}
    whole = [normalise_text(t) for t, _ in OcrEngine().read(f2)]
    assert [normalise_text(ln.text) for ln in second] == whole
    assert [normalise_text(ln.text) for ln in first] == [
        normalise_text(before[60]),
        normalise_text(before[300]),
    ]
    assert whole == [normalise_text(after[60]), normalise_text(after[300])]


def test_the_probe_ends_a_read_that_finds_no_text_and_each_read_costs_what_it_did():
    blank = np.full((480, 854, 3), (18, 22, 30), np.uint8)
    engine = _Engine({})
    reader = RegionReader(engine=engine, probe_short_side=384, line_cost=0.05)
    assert reader.read(blank, reader.plan(blank)[0]) == []
    assert engine.calls == [] and reader.reads["probed_empty"] == 1  # never detected
    ratio = (384 / 480 / (736 / 480)) ** 2  # the probe's pixels over the detector's
    assert reader.last_cost == pytest.approx(ratio)
    assert reader.estimate(1.0) == pytest.approx(1.0 + ratio)
    f = _frame({60: "one line", 200: "and another", 340: "and a third"})
    lines = reader.read(f, reader.plan(f)[0])
    assert len(lines) == 3 and engine.calls == [(736, 1309)]
    assert reader.last_cost == pytest.approx(ratio + 1.0 + 3 * 0.05)  # no cache: 3 lines
    unprobed = RegionReader(engine=_Engine({}))
    unprobed.read(blank, unprobed.plan(blank)[0])
    assert unprobed.engine.calls == [(736, 1309)] and unprobed.last_cost == 1.0


def test_a_read_that_cost_more_than_asked_puts_the_budget_in_debt():
    b = OcrBudget(per_min=2.0)
    assert b.allow(0.0, 1.0)
    b.settle(1.5)  # it cost 2.5: the bucket (2) is 0.5 in debt
    assert b.spent == pytest.approx(2.5)
    assert not b.allow(10.0, 0.3)  # refilled to -0.17: no read
    assert b.allow(45.0, 0.3)  # refilled to 1.0
    b.settle(-0.2)  # it cost less: the rest is paid back
    assert b.spent == pytest.approx(2.6)
    assert b.allow(45.0, 0.9)


@pytest.mark.slow
def test_the_int8_detector_reads_what_float32_reads():
    pytest.importorskip("rapidocr")
    from hourlens.indexer.ocr import OcrEngine, normalise_text

    lines = {60: "The quarterly report is due on Friday", 200: "Room 42 at 3 PM", 340: "Exit 7"}
    f = _frame(lines)
    fp32 = [normalise_text(t) for t, _ in OcrEngine().read(f)]
    engine = OcrEngine(int8=True)  # made on first use (once per machine), then cached
    got = [normalise_text(t) for t, _ in engine.read(f)]
    assert fp32 == [normalise_text(v) for v in lines.values()]
    assert got == fp32
    det = engine._ocr()._load_det_model().session.session
    assert "/int8/" in det._model_path  # the int8 copy read it


def test_a_read_without_the_probe_runs_the_detector_and_costs_no_probe():
    blank = np.full((480, 854, 3), (18, 22, 30), np.uint8)
    engine = _Engine({})
    reader = RegionReader(engine=engine, probe_short_side=384)
    reader.plan(blank)
    assert reader.estimate(1.0, probe=False) == pytest.approx(1.0)
    assert reader.read(blank, probe=False) == []
    assert engine.calls == [(736, 1309)] and reader.reads["probed_empty"] == 0
    assert reader.last_cost == pytest.approx(1.0)
