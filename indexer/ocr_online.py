"""On-screen text read during the frame pass, by a worker thread beside it.

Reading text is most of the CPU work of an index (≈0.5-1.5 CPU-s a frame against
milliseconds for decoding and encoding one), and it used to start only after the frame
pass, leaving the other core idle. :class:`OnlineOcr` takes the frames to read from the
decode thread as the OCR gate decides (:meth:`OnlineOcr.offer`), converted straight from
the decoded picture at the OCR height, and reads them in its own thread with its own
ONNX Runtime threads, while decoding and frame encoding go on.

Which frames: when a new scene opens — text appears (the frame before showed none) or the
picture changes at once (:attr:`~hourlens.indexer.dedup.FrameDeduper.change` of at least
``ocr_scene_change``: a cut, a new slide) — the first frame with text once the picture
has settled (changed less than that since its predecessor: not the middle of a dissolve)
is read, and may borrow from the budget, as the first read of a segment does in
:func:`~hourlens.indexer.text_stage.run_ocr`; otherwise a frame the gate sends to OCR
("ocr": the text changed) is read at least ``ocr_min_interval_s`` after the last read.
Segments are only known after the pass, so
:meth:`OnlineOcr.finish` then tops up: a segment whose text frames got no read has its
first one read, by random access — the rule of
:func:`~hourlens.indexer.text_stage.pick_ocr_times` ("the first text frame of every
segment, then at most one every ``min_interval``"), reached online. Every read goes
through the same :class:`~hourlens.indexer.ocr_regions.OcrBudget` (top-ups within what
the budget allows over the whole video), so the work stays bounded per minute of video
whatever the content. A read asks the budget for what it is expected to cost and then
pays what it did (:attr:`~hourlens.indexer.ocr_regions.RegionReader.last_cost`: a frame
the probe finds empty costs about a quarter of a read, each recognised line a little);
a re-read of a scene asks for the lines it will likely recognise again, so it runs only
while the reserve for new scenes stays untouched.
"""

from __future__ import annotations

import bisect
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import IndexConfig
from .decode import VideoProbe, read_frames_at
from .encoders.base import available_cores
from .ocr import OcrItem, OcrTracker

log = logging.getLogger("hourlens.indexer")

QUEUE_FRAMES = 16
"""Frames waiting for the OCR worker; when full, the decode thread waits (back-pressure:
the frame pass never runs further ahead of OCR than this)."""
EMPTY_RESCAN = 3.0
"""A scene whose last read found no text (texture the cheap gate took for text) is
re-read at most every this many ``ocr_min_interval_s``: the budget goes to scenes that
show text, while a caption appearing later in the scene is still read."""
SCENE_RESERVE = 1.0
"""Whole-frame reads of the budget kept for new scenes: a periodic re-read of the same
scene runs only while more than this is left, so a slide after a stretch of busy footage
still finds the budget to be read."""
DEFERRED_FRAMES = 4
"""New scenes whose first read the budget refused are kept (their pictures, at the OCR
height) and read, oldest first, as soon as the budget holds a read again, unless the
scene was read meanwhile: a slide shown right after a burst of busy reads is read late
instead of not at all, ahead of periodic re-reads. At most this many wait (the oldest
is dropped); those left at the end are read within the video's bound."""
OCR_MAX_HEIGHT = 720
"""Frames are read at their own height up to this many pixels."""


def ocr_threads(config: IndexConfig) -> int:
    """ONNX Runtime threads of the OCR models: ``config.ocr_threads``, or (0) half the
    cores, at least one — the frame pass runs on the other half meanwhile."""
    return config.ocr_threads if config.ocr_threads > 0 else max(1, available_cores() // 2)


def make_reader(config: IndexConfig, threads: int | None = None) -> Any:
    """A :class:`~hourlens.indexer.ocr_regions.RegionReader` with ``config``'s settings
    (``threads``: ONNX Runtime threads, default :func:`ocr_threads`)."""
    from .ocr_regions import RegionReader
    from .ocr_steps import LineCache

    return RegionReader(
        engine=make_engine(config, threads),
        det_short_side=config.ocr_det_short_side,
        probe_short_side=config.ocr_probe_short_side,
        line_cost=config.ocr_line_cost,
        cache=LineCache(enabled=config.ocr_line_cache),
    )


def make_engine(config: IndexConfig, threads: int | None = None) -> Any:
    """The OCR engine of :func:`make_reader`: pre-scaled input, ``threads`` ONNX Runtime
    threads that sleep rather than spin when idle (they share the cores with the pass),
    the detector in int8 where ``config.int8`` says so."""
    from .int8 import use_int8
    from .ocr import OcrEngine
    from .ocr_regions import BAND_PARAMS

    n = threads or ocr_threads(config)
    params = {
        **BAND_PARAMS,
        "EngineConfig.onnxruntime.intra_op_num_threads": n,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    }
    return OcrEngine(params=params, spinning=False, int8=use_int8(config.int8))


def ocr_height(probe: VideoProbe) -> int:
    """Height at which a video's frames are read."""
    return min(probe.height, OCR_MAX_HEIGHT) if probe.height else OCR_MAX_HEIGHT


def segment_topups(
    decisions: Sequence[tuple[float, str]],
    segment_starts: Sequence[float],
    offered: Sequence[float],
) -> list[float]:
    """The first text frame (``"ocr"``) of every segment none of whose frames was offered.

    Args:
        decisions: ``(t, "none"|"same"|"ocr")`` per sampled frame, in time order.
        segment_starts: Segment start times, increasing.
        offered: Times already read (or offered to the budget), increasing.

    Returns:
        Times to read, increasing.
    """
    covered = {bisect.bisect_right(segment_starts, t) - 1 for t in offered}
    out: list[float] = []
    seen: set[int] = set()
    for t, d in decisions:
        if d != "ocr":
            continue
        seg = bisect.bisect_right(segment_starts, t) - 1
        if seg not in covered and seg not in seen:
            seen.add(seg)
            out.append(t)
    return out


@dataclass
class OcrWindowState:
    """What an :class:`OnlineOcr` read in one time window: plain data, shipped between
    processes by the Ray engine (:meth:`OnlineOcr.state`, :meth:`OnlineOcr.absorb`)."""

    readings: dict[float, list[tuple[str, float]]]
    offered: list[float]
    spent: float
    refused: int
    skipped: int
    busy_s: float
    reads: dict[str, int] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


def _line_counts(reader: Any) -> dict[str, int]:
    """A reader's line-cache counts (``lines_recognised``, ``lines_kept``), if it has one."""
    cache = getattr(reader, "cache", None)
    if cache is None:
        return {}
    return {"lines_recognised": cache.recognised, "lines_kept": cache.reused}


class OnlineOcr:
    """Reads on-screen text during the frame pass (see the module docstring).

    Call :meth:`offer` for every sampled frame in time order (from the decode thread),
    then :meth:`finish` once the segments are known; :meth:`close` stops the worker
    early (a failed pass).

    Args:
        path: The video.
        probe: Its probe.
        config: Settings (``ocr_min_interval_s``, ``max_ocr_frames``,
            ``ocr_budget_per_min``, ``ocr_det_short_side``, ``ocr_threads``).
        reader: A region reader (default: :func:`make_reader`).
    """

    def __init__(
        self, path: Path, probe: VideoProbe, config: IndexConfig, *, reader: Any = None
    ) -> None:
        from .ocr_regions import OcrBudget

        self.path = path
        self.config = config
        self.height = ocr_height(probe)
        self.duration = float(probe.duration or 0.0)
        self.budget = OcrBudget(config.ocr_budget_per_min, reserve=SCENE_RESERVE)
        self.readings: dict[float, list[tuple[str, float]]] = {}
        self.offered: list[float] = []
        self.busy_s = 0.0
        self._reader = reader
        self._prev = "none"
        self._scene = False
        self._scene_id = 0
        self._empty: dict[int, float] = {}  # scene → time of its last read that found no text
        self._deferred: list[tuple[float, np.ndarray, int]] = []  # refused new scenes
        self._read_scenes: set[int] = set()
        self._texty: set[int] = set()  # scenes whose last read found text: no probe
        self.deferred_reads = 0
        self._now = 0.0  # video time of the last frame the worker took
        self.skipped = 0
        self.carried_reads: Counter[str] = Counter()  # read counts of absorbed windows
        self.carried_lines: Counter[str] = Counter()  # and their line-cache counts
        self._last = -float("inf")
        self._exc: BaseException | None = None
        self._q: queue.Queue[Any] = queue.Queue(QUEUE_FRAMES)
        self._thread = threading.Thread(target=self._work, name="hourlens-ocr", daemon=True)
        self._thread.start()

    @property
    def reader(self) -> Any:
        if self._reader is None:
            self._reader = make_reader(self.config)
        return self._reader

    # -- decode thread -------------------------------------------------------------------

    def offer(self, t: float, decision: str, frame: Any = None, change: float = 0.0) -> bool:
        """Consider the frame at ``t`` with the gate's ``decision``; queue it if picked.

        Args:
            t: Frame time (seconds).
            decision: ``"none"``, ``"same"`` or ``"ocr"``.
            frame: The :class:`~hourlens.indexer.sampled.SampledFrame` (still holding
                its decoded picture), or None to fetch the frame later by time.
            change: How much the picture changed since the previous frame (mean
                absolute grey difference, 0-255).

        Returns:
            Whether the frame was queued for reading.
        """
        settled = change < self.config.ocr_scene_change
        if (self._prev == "none" and decision != "none") or not settled:
            if not self._scene:
                self._scene_id += 1
            self._scene = True  # a new scene: read its text once the picture settles
        self._prev = decision
        if len(self.offered) >= self.config.max_ocr_frames:
            return False
        first = self._scene and settled and decision in ("ocr", "same")
        if not first and not (
            decision == "ocr" and t - self._last >= self.config.ocr_min_interval_s
        ):
            return False
        self._scene = self._scene and not first
        self._last = t
        self.offered.append(t)
        rgb = frame.at_height(self.height) if frame is not None else None
        self._q.put((t, rgb, first, self._scene_id))
        return True

    # -- worker --------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            if self._exc is not None:
                continue  # keep draining so the decode thread never blocks
            t, rgb, first, scene = item
            t0 = time.perf_counter()
            try:
                self._now = t
                self._read_deferred(t)
                empty = self._empty.get(scene)
                rescan = EMPTY_RESCAN * self.config.ocr_min_interval_s
                if not first and empty is not None and t - empty < rescan:
                    self.skipped += 1  # this scene showed no text a moment ago
                    continue
                if rgb is None:
                    rgb = read_frames_at(self.path, [t], height=self.height)[0]
                self._read(t, rgb, first, scene)
            except BaseException as exc:  # noqa: BLE001 - re-raised by finish()
                self._exc = exc
            self.busy_s += time.perf_counter() - t0

    def _read(self, t: float, rgb: np.ndarray, first: bool, scene: int) -> None:
        reader = self.reader
        rows, share = reader.plan(rgb)
        # a re-read of a scene that showed text needs no probe (it would find it again)
        probe = first or scene not in self._texty
        # a re-read asks for the lines it will likely recognise again, so the reserve
        # stays for new scenes; a new scene's read asks only for what it must pay
        estimate = reader.estimate(share, None if first else rows, probe=probe)
        if self.budget.allow(t, estimate, first=first):  # else the last reading holds
            lines = reader.read(rgb, rows, probe=probe)
            self.readings[t] = [(ln.text, ln.score) for ln in lines]
            self.budget.settle(reader.last_cost - estimate)  # what the read really cost
            self._read_scenes.add(scene)
            if self.readings[t]:
                self._empty.pop(scene, None)
                self._texty.add(scene)
            else:
                self._empty[scene] = t
                self._texty.discard(scene)
            log.debug(
                "ocr %.1f s: read %.2f of the frame, %d lines", t, share, len(self.readings[t])
            )
        else:
            log.debug("ocr %.1f s: over budget (%.2f of the frame)", t, share)
            if first:  # kept, to be read when the budget refills
                self._deferred.append((t, rgb, scene))
                del self._deferred[:-DEFERRED_FRAMES]

    def _read_deferred(self, now: float, bound: float | None = None) -> None:
        """Read the waiting new scenes (oldest first) the budget affords at video time
        ``now`` — or, given ``bound``, while the video's total stays within it."""
        reader = self.reader
        while self._deferred:
            t, rgb, scene = self._deferred[0]
            if scene in self._read_scenes:  # read meanwhile: its text is known
                self._deferred.pop(0)
                continue
            cost = reader.estimate(1.0)
            if bound is None:
                if not self.budget.afford(now, cost):
                    return
            elif self._fits(cost, bound):
                self.budget.spent += cost
            else:
                return
            self._deferred.pop(0)
            lines = reader.read_whole(rgb)  # out of turn: bands still compare with the last
            self.budget.settle(reader.last_cost - cost)
            self.readings[t] = [(ln.text, ln.score) for ln in lines]
            self._read_scenes.add(scene)
            self.budget.refused -= 1  # read after all
            self.deferred_reads += 1
            log.debug("ocr %.1f s: read after waiting, %d lines", t, len(lines))

    # -- after the pass ------------------------------------------------------------------

    def close(self) -> None:
        """Stop the worker (frames still queued are dropped)."""
        self._exc = self._exc or RuntimeError("closed")
        self._stop()

    def _stop(self) -> None:
        if self._thread.is_alive():
            self._q.put(None)
            self._thread.join()

    def finish(
        self,
        decisions: Sequence[tuple[float, str]],
        segment_starts: Sequence[float],
        stats: dict[str, float] | None = None,
    ) -> list[OcrItem]:
        """Wait for the worker, read the segments' missing first text frames, and merge
        the readings into timed items.

        Args:
            decisions: The gate's ``(t, decision)`` per sampled frame, in time order.
            segment_starts: Segment start times, increasing.
            stats: Filled with the read counts (as
                :func:`~hourlens.indexer.text_stage.run_ocr`) plus ``topups`` and
                ``busy_s`` (seconds the worker spent reading).

        Returns:
            On-screen text items with time spans.
        """
        self._stop()
        if self._exc is not None:
            raise self._exc
        self._read_deferred(self._now, bound=self._bound())
        topups = segment_topups(decisions, segment_starts, self.offered)
        done = self._topup(topups) if topups else 0
        if stats is not None:
            reads = Counter(self.carried_reads)
            reads.update(self._reader.reads if self._reader is not None else {})
            stats.update({"full": 0, "bands": 0, "reused": 0, **reads})
            lines = Counter(self.carried_lines)
            lines.update(_line_counts(self._reader))
            stats.update(lines)
            stats.update(
                {
                    "candidates": len(self.offered) + len(topups),
                    "topups": done,
                    "refused": self.budget.refused,
                    "skipped_empty": self.skipped,
                    "deferred_reads": self.deferred_reads,
                    "frames_read": round(self.budget.spent, 2),
                    "busy_s": round(self.busy_s, 2),
                }
            )
        tracker = OcrTracker()
        for t, d in decisions:
            if t in self.readings:
                tracker.add(t, self.readings[t])
            elif d == "none":
                tracker.add(t, [])
            else:  # text present: the last reading holds until the next read
                tracker.extend(t)
        return tracker.finish()

    def state(self) -> OcrWindowState:
        """Wait for the worker and return what it read (one window's share of a video,
        for :meth:`absorb`)."""
        self._stop()
        if self._exc is not None:
            raise self._exc
        self._read_deferred(self._now)  # what the window's budget still affords
        return OcrWindowState(
            readings=dict(self.readings),
            offered=list(self.offered),
            spent=self.budget.spent,
            refused=self.budget.refused,
            skipped=self.skipped,
            busy_s=self.busy_s,
            reads=dict(self._reader.reads) if self._reader is not None else {},
            lines=_line_counts(self._reader),
        )

    def absorb(self, states: Sequence[OcrWindowState]) -> None:
        """Take over what the windows of this video read (their instances ran in other
        processes); no frame is offered here after this, and :meth:`finish` tops up and
        merges as if this instance had read them all."""
        self._stop()
        for s in states:
            self.readings.update(s.readings)
            self.offered.extend(s.offered)
            self.budget.spent += s.spent
            self.budget.refused += s.refused
            self.skipped += s.skipped
            self.busy_s += s.busy_s
            self.carried_reads.update(s.reads)
            self.carried_lines.update(s.lines)
        self.offered.sort()

    def _bound(self) -> float:
        """The most the whole video may spend: the budget over its length plus two
        buckets (:meth:`~hourlens.indexer.ocr_regions.OcrBudget.allow`)."""
        per_min = self.config.ocr_budget_per_min
        return per_min * (self.duration / 60.0 + 2.0 * self.budget.burst_min)

    def _fits(self, cost: float, bound: float) -> bool:
        """Whether a read costing ``cost`` keeps the video's total within ``bound``."""
        return self.budget.per_min <= 0 or self.budget.spent + cost <= bound + 1e-9

    def _topup(self, times: list[float]) -> int:
        """Read ``times`` whole (each after a frame the worker did not read), as long as
        the video's total stays within the budget's bound; returns the reads done."""
        bound = self._bound()
        t0 = time.perf_counter()
        reader = self.reader
        done = 0
        for i in range(0, len(times), 8):
            chunk = times[i : i + 8]
            if not self._fits(reader.estimate(1.0), bound):
                break
            frames = read_frames_at(self.path, chunk, height=self.height)
            for t, rgb in zip(chunk, frames, strict=True):
                if not self._fits(reader.estimate(1.0), bound):
                    break
                lines = reader.read_whole(rgb)
                self.readings[t] = [(ln.text, ln.score) for ln in lines]
                self.budget.spent += reader.last_cost
                done += 1
        self.budget.refused += len(times) - done
        self.busy_s += time.perf_counter() - t0
        return done
