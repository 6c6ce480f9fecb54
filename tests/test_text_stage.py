"""Choosing which frames to OCR."""

from __future__ import annotations

from hourlens.indexer.text_stage import pick_ocr_times


def test_first_text_frame_of_each_segment_then_rate_limited():
    decisions = [(float(t), "ocr") for t in range(40)]
    times = pick_ocr_times(decisions, [0.0, 25.0], min_interval=10, limit=100)
    assert times == [0.0, 10.0, 20.0, 25.0, 35.0]


def test_only_ocr_decisions_and_limit():
    decisions = [(0.0, "none"), (1.0, "same"), (2.0, "ocr"), (3.0, "ocr"), (30.0, "ocr")]
    assert pick_ocr_times(decisions, [0.0], min_interval=5, limit=100) == [2.0, 30.0]
    assert pick_ocr_times(decisions, [0.0], min_interval=0, limit=2) == [2.0, 3.0]
    assert pick_ocr_times([], [0.0], min_interval=5, limit=10) == []
