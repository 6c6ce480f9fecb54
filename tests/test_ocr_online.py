"""On-screen text read during the frame pass: which frames, the budget, top-ups, items."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from hourlens.config import IndexConfig
from hourlens.indexer.decode import VideoProbe
from hourlens.indexer.ocr_online import OnlineOcr, segment_topups
from hourlens.indexer.ocr_regions import Line


def _probe(duration: float = 600.0) -> VideoProbe:
    return VideoProbe(
        path="video.mp4",
        duration=duration,
        fps=25.0,
        width=64,
        height=36,
        n_frames=int(duration * 25),
        has_audio=False,
        codec="h264",
        variable_frame_rate=False,
    )


def _text(value: int) -> str:
    """A distinct word per value (the tracker merges similar readings)."""
    return "".join(chr(97 + (value * 7 + 3 * i * i) % 26) for i in range(10))


class _Reader:
    """Stands in for RegionReader: 'reads' the frame's first pixel value as its text."""

    def __init__(self, share: float = 1.0, cost: float | None = None) -> None:
        self.share = share
        self.cost = share if cost is None else cost  # what a read really costs
        self.last_cost = 0.0
        self.reads = {"full": 0, "bands": 0, "reused": 0}
        self.threads: set[str] = set()
        self.whole: list[int] = []

    def plan(self, rgb):
        return [(0, rgb.shape[0])], self.share

    def estimate(self, share, rows=None, probe=True):
        return share

    def read(self, rgb, rows, probe=True):
        self.threads.add(threading.current_thread().name)
        self.reads["full"] += 1
        self.last_cost = self.cost
        return [Line(_text(int(rgb[0, 0, 0])), 0.99, 0.0, 10.0, 0.0)]

    def read_whole(self, rgb):
        self.whole.append(int(rgb[0, 0, 0]))
        self.last_cost = self.cost
        return [Line(_text(int(rgb[0, 0, 0])), 0.99, 0.0, 10.0, 0.0)]


class _Frame:
    def __init__(self, value: int) -> None:
        self.value = value

    def at_height(self, height: int) -> np.ndarray:
        return np.full((height, 8, 3), self.value, np.uint8)


def _online(reader: _Reader, **cfg) -> OnlineOcr:
    cfg.setdefault("ocr_budget_per_min", 0.0)
    return OnlineOcr(None, _probe(), IndexConfig(**cfg), reader=reader)  # type: ignore[arg-type]


def test_reads_new_text_at_once_then_at_most_once_per_interval_in_a_worker():
    reader = _Reader()
    ocr = _online(reader, ocr_min_interval_s=10.0)
    decisions = [(0.0, "none"), (1.0, "ocr"), (2.0, "ocr"), (5.0, "same"), (11.0, "ocr")]
    decisions += [(12.0, "none"), (13.0, "ocr"), (14.0, "ocr"), (30.0, "ocr")]
    picked = [t for t, d in decisions if ocr.offer(t, d, _Frame(int(t)))]
    # text appearing after "none" is read at once; otherwise one read per 10 s
    assert picked == [1.0, 11.0, 13.0, 30.0]
    stats: dict[str, float] = {}
    items = ocr.finish(decisions, [0.0], stats)
    assert reader.threads == {"hourlens-ocr"}
    assert {it.text for it in items} == {_text(1), _text(11), _text(13), _text(30)}
    assert stats["candidates"] == 4 and stats["full"] == 4 and stats["topups"] == 0


def test_budget_refuses_reads_past_the_per_minute_bound():
    reader = _Reader()
    ocr = _online(reader, ocr_min_interval_s=0.0, ocr_budget_per_min=2.0)
    decisions = [(float(t), "ocr") for t in range(60)]
    for t, d in decisions:
        ocr.offer(t, d, _Frame(t % 200))
    stats: dict[str, float] = {}
    ocr.finish(decisions, [0.0], stats)
    # a full bucket (2) plus the refill over 59 s (~2) — never one read per frame
    assert stats["frames_read"] <= 2 * 2 + 2 + 1e-6
    assert stats["refused"] >= 55


def test_segments_without_a_read_get_their_first_text_frame_read_after_the_pass(monkeypatch):
    decisions = [(0.0, "none"), (1.0, "ocr"), (2.0, "ocr"), (3.0, "ocr"), (4.0, "ocr")]
    assert segment_topups(decisions, [0.0, 2.5], offered=[1.0]) == [3.0]
    assert segment_topups(decisions, [0.0, 2.5], offered=[1.0, 4.0]) == []
    assert segment_topups([(0.0, "none"), (3.0, "same")], [0.0, 2.5], offered=[]) == []

    fetched: list[list[float]] = []

    def fake_read(path, times, *, height):
        fetched.append(list(times))
        return [np.full((height, 8, 3), 100 + int(t), np.uint8) for t in times]

    monkeypatch.setattr("hourlens.indexer.ocr_online.read_frames_at", fake_read)
    reader = _Reader()
    ocr = _online(reader, ocr_min_interval_s=10.0)
    for t, d in decisions:
        ocr.offer(t, d, _Frame(int(t)))
    stats: dict[str, float] = {}
    items = ocr.finish(decisions, [0.0, 2.5], stats)
    assert fetched == [[3.0]] and reader.whole == [103]
    assert stats["topups"] == 1
    assert [it.text for it in items] == [_text(1), _text(103)]


def test_topups_stay_within_the_videos_budget(monkeypatch):
    monkeypatch.setattr(
        "hourlens.indexer.ocr_online.read_frames_at",
        lambda path, times, *, height: [np.zeros((height, 8, 3), np.uint8) for _ in times],
    )
    reader = _Reader()
    ocr = _online(reader, ocr_budget_per_min=1.0)
    ocr.duration = 60.0  # bound: 1/min over 1 min + 2 buckets = 3 reads
    decisions = [(float(t), "ocr") for t in range(10)]
    stats: dict[str, float] = {}
    ocr.finish(decisions, [float(t) for t in range(10)], stats)
    assert stats["topups"] == 3 and stats["refused"] == 7


def test_a_failing_reader_never_blocks_the_decode_thread_and_fails_the_index():
    class Broken(_Reader):
        def plan(self, rgb):
            raise RuntimeError("ocr model missing")

    ocr = _online(Broken(), ocr_min_interval_s=0.0)
    decisions = [(float(t), "ocr") for t in range(100)]  # far more than the queue holds
    for t, d in decisions:
        ocr.offer(t, d, _Frame(1))
    with pytest.raises(RuntimeError, match="ocr model missing"):
        ocr.finish(decisions, [0.0])


def test_frames_convert_again_at_another_height(tmp_path):
    from media import make_scene_video

    from hourlens.indexer.decode import sample_frames

    path = tmp_path / "clip.mp4"
    make_scene_video(path, [(2.0, "hopper"), (2.0, "bars")], fps=10)
    frames = sample_frames(path, fps=1, height=64, backend="pyav", lazy=True)
    fr = next(frames)
    small = fr.rgb
    big = fr.at_height(128)
    assert big is not None and big.shape[0] == 128 and small.shape[0] == 64
    assert abs(big.shape[1] / 128 - small.shape[1] / 64) < 0.05
    fr.release()
    assert fr.at_height(128) is None and fr.rgb is small
    frames.close()


def test_a_new_scene_is_read_once_settled_and_may_borrow_from_the_budget():
    reader = _Reader()
    ocr = _online(reader, ocr_min_interval_s=10.0, ocr_scene_change=30.0, ocr_budget_per_min=1.0)
    offers = [(0.0, "ocr", 0.0), (1.0, "ocr", 5.0), (2.0, "ocr", 45.0), (3.0, "same", 2.0)]
    offers += [(4.0, "ocr", 50.0), (5.0, "ocr", 3.0), (6.0, "same", 1.0)]
    picked = [t for t, d, ch in offers if ocr.offer(t, d, _Frame(int(t)), ch)]
    # 1: a small change inside the interval; 2 and 4: cuts, read once the picture settles
    assert picked == [0.0, 3.0, 5.0]
    stats: dict[str, float] = {}
    ocr.finish([(t, d) for t, d, _ in offers], [0.0], stats)
    # the bucket holds one read; a new scene may run it one bucket into debt, no further:
    # the third waits, and is read at the end within the video's bound
    assert stats["full"] == 2 and reader.whole == [5]
    assert stats["deferred_reads"] == 1 and stats["refused"] == 0


def test_a_refused_new_scene_is_read_when_the_budget_refills_before_rereads():
    reader = _Reader()
    ocr = _online(reader, ocr_min_interval_s=10.0, ocr_scene_change=30.0, ocr_budget_per_min=1.0)
    offers = [(0.0, "ocr", 0.0), (1.0, "ocr", 50.0), (2.0, "ocr", 2.0), (3.0, "ocr", 50.0)]
    offers += [(4.0, "ocr", 2.0), (5.0, "same", 0.0), (200.0, "ocr", 1.0)]
    picked = [t for t, d, ch in offers if ocr.offer(t, d, _Frame(int(t)), ch)]
    assert picked == [0.0, 2.0, 4.0, 200.0]
    stats: dict[str, float] = {}
    items = ocr.finish([(t, d) for t, d, _ in offers], [0.0], stats)
    # 0 and 2 read (2 borrowing); 4 refused and kept; at 200 s the bucket has refilled:
    # the waiting scene is read first (its own picture), the periodic re-read refused
    assert reader.whole == [4] and stats["full"] == 2
    assert stats["deferred_reads"] == 1 and stats["refused"] == 1
    assert _text(4) in {it.text for it in items}


def test_deduper_reports_the_change_from_the_previous_frame():
    from hourlens.indexer.dedup import FrameDeduper

    dd = FrameDeduper()
    dark, light = np.zeros((64, 64, 3), np.uint8), np.full((64, 64, 3), 200, np.uint8)
    dd.is_duplicate(dark)
    assert dd.change == 0.0
    dd.is_duplicate(light)
    assert dd.change == pytest.approx(200.0, abs=1.0)
    dd.is_duplicate(light)
    assert dd.change == pytest.approx(0.0, abs=1e-6)


def test_periodic_rereads_leave_a_reserve_for_new_scenes():
    from hourlens.indexer.ocr_regions import OcrBudget

    b = OcrBudget(2.0, reserve=1.0)
    assert b.allow(0.0, 1.0)  # 2 → 1 left
    assert not b.allow(1.0, 1.0)  # a re-read may not touch the reserve
    assert b.allow(2.0, 1.0, first=True)  # a new scene may


def test_a_scene_found_empty_is_re_read_only_after_a_longer_wait():
    class Empty(_Reader):
        def read(self, rgb, rows, probe=True):
            self.reads["full"] += 1
            return []

    reader = Empty()
    ocr = _online(reader, ocr_min_interval_s=10.0)
    offers = [(0.0, "ocr"), (10.0, "ocr"), (20.0, "ocr"), (30.0, "ocr"), (40.0, "ocr")]
    for t, d in offers:
        assert ocr.offer(t, d, _Frame(1))
    stats: dict[str, float] = {}
    ocr.finish(offers, [0.0], stats)
    # read at 0 (nothing there): 10 and 20 skipped, 30 re-read (3 intervals), 40 skipped
    assert stats["full"] == 2 and stats["skipped_empty"] == 3


def test_reads_are_charged_what_they_cost_so_costly_reads_leave_room_for_fewer():
    offers = [(float(t), "ocr") for t in range(0, 600, 10)]

    def reads(cost: float) -> int:
        reader = _Reader(share=1.0, cost=cost)
        ocr = _online(reader, ocr_budget_per_min=2.0, ocr_min_interval_s=10.0)
        for t, d in offers:
            ocr.offer(t, d, _Frame(int(t) % 250))
        stats: dict[str, float] = {}
        ocr.finish(offers, [0.0], stats)
        assert stats["frames_read"] <= 2.0 * (10 + 2) + cost  # the bound, in cost
        return int(stats["full"])

    cheap, costly = reads(0.3), reads(2.0)  # e.g. probed empty vs many lines
    assert cheap == len(offers) and costly < len(offers) / 2


def test_a_scene_that_showed_text_is_re_read_without_the_probe():
    class Probing(_Reader):
        def __init__(self) -> None:
            super().__init__()
            self.probes: list[tuple[int, bool]] = []

        def read(self, rgb, rows, probe=True):
            self.probes.append((int(rgb[0, 0, 0]), probe))
            if int(rgb[0, 0, 0]) == 30:  # the text is gone at 30 s
                return []
            return super().read(rgb, rows, probe)

    reader = Probing()
    ocr = _online(reader, ocr_min_interval_s=10.0)
    offers = [(0.0, "none"), (5.0, "ocr"), (15.0, "ocr"), (30.0, "ocr"), (65.0, "ocr")]
    for t, d in offers:
        ocr.offer(t, d, _Frame(int(t)))
    ocr.finish(offers, [0.0], {})
    # the scene's first read probes; it showed text, so 15 and 30 do not; 30 found
    # nothing, so the next read (after the longer wait for an empty scene) probes again
    assert reader.probes == [(5, True), (15, False), (30, False), (65, True)]
