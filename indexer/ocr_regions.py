"""OCR that reads only what changed, within a budget per minute of video.

Reading a whole frame costs ≈0.3-0.7 s on a 2-core CPU, and ordinary footage (a
screencast, a talk with slides, credits) shows text most of the time, so the OCR time
must not follow the amount of text. :class:`RegionReader` compares each frame it is
asked to read with the last frame it read, on the same cheap stroke thumbnail the gate
uses (:mod:`hourlens.indexer.ocr`):

* text cells whose pixels did not change keep their earlier reading (text already read
  is not read again);
* the rows of cells that changed are read as horizontal bands of the frame — text lines
  run horizontally, so a band never cuts a line, and a band is widened to cover any
  earlier line it touches — and their lines replace the earlier ones there;
* when most of the frame changed, the whole frame is read.

Frames and bands are scaled the same way before the detector (by default as RapidOCR
would scale the whole frame: its short side to 736 px), so a line is detected at the
same size either way; a smaller ``det_short_side`` trades small text for speed. Two
things make a read cheaper without changing what it reads:

* a **probe** first runs the detector alone on a small copy (short side
  ``probe_short_side``, 384 px: about a quarter of the detector's work); when it finds
  no text box the read ends there with no lines. Most frames the cheap gate passes on
  ordinary footage show texture, not text: of 100 whole-frame reads of the 60-minute
  dev build, 66 found no line, the probe ended 48 of them, and none of the 48 had a
  line of four or more letters or digits;
* boxes that look as they did where they were read before keep that reading instead of
  being recognised again (:class:`~hourlens.indexer.ocr_steps.LineCache`).

:class:`OcrBudget` then bounds the work: each read costs what it did, in whole-frame
detector reads (:meth:`RegionReader.read` sets :attr:`RegionReader.last_cost`: the
probe's and the detector's share of the frame, plus ``line_cost`` per line recognised),
and a bucket refilled at ``per_min`` per minute of video (holding at most one minute's
worth) decides whether a read may run; a refused read keeps the last reading, as the
gate's "same" does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .ocr import CELL, TEXT_THRESHOLD, OcrEngine, _stroke_cells, _thumb
from .ocr_steps import LineCache

FULL_READ_SHARE = 0.6
"""Read the whole frame when the changed bands cover more than this share of it."""
DETECTOR_SHORT_SIDE = 736
"""RapidOCR's default detector scaling: a frame's short side is brought up to this many
pixels (``Det.limit_type: min``). :class:`RegionReader` scales frames and bands itself,
the same way, before the detector."""
BAND_PARAMS = {"Det.limit_type": "max", "Det.limit_side_len": 2000}
"""Engine settings: no rescaling by the detector (its input comes pre-scaled)."""
PROBE_SHORT_SIDE = 384
"""Short side of the probe's copy of a frame (0: no probe). On 100 whole-frame reads of
the 60-minute dev build, 320 px ended 41 empty reads but missed a subtitle; 384 px ended
48 and missed nothing."""
LINE_COST = 0.04
"""Recognising one line, in whole-frame detector reads (measured: ≈0.05 CPU-s a line
against ≈1.15 CPU-s for the detector on an 854x480 frame at short side 736)."""


@dataclass(frozen=True)
class Line:
    """One line of text read on a frame: ``top``/``bottom``/``left`` in frame pixels."""

    text: str
    score: float
    top: float
    bottom: float
    left: float


def _bands(changed_rows: np.ndarray, margin: int = 1) -> list[tuple[int, int]]:
    """Runs of changed cell rows ``[first, last)``, each widened by ``margin`` rows and
    merged when they touch."""
    rows = np.flatnonzero(changed_rows)
    out: list[tuple[int, int]] = []
    n = len(changed_rows)
    for r in rows:
        lo, hi = max(0, int(r) - margin), min(n, int(r) + 1 + margin)
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out: list[tuple[float, float]] = []
    for lo, hi in sorted(spans):
        if out and lo <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def reading_order(lines: Sequence[Line]) -> list[Line]:
    """Lines top-to-bottom, and left-to-right within a visual row."""
    rows: list[list[Line]] = []
    for ln in sorted(lines, key=lambda x: (x.top + x.bottom) / 2):
        centre, height = (ln.top + ln.bottom) / 2, max(ln.bottom - ln.top, 1.0)
        if rows:
            prev = rows[-1]
            prev_centre = float(np.mean([(p.top + p.bottom) / 2 for p in prev]))
            if abs(centre - prev_centre) <= 0.5 * height:
                prev.append(ln)
                continue
        rows.append([ln])
    return [ln for row in rows for ln in sorted(row, key=lambda x: x.left)]


@dataclass
class RegionReader:
    """Reads frames in time order, re-reading only the bands whose text changed.

    Args:
        engine: Reads pre-scaled frames and bands (:data:`BAND_PARAMS`).
        det_short_side: A frame's short side is scaled up to this many pixels before
            the detector (never down); 0 keeps the frame's own size.
        max_change: Largest mean absolute grey difference (0-255) of a text cell for it
            to count as unchanged (as :class:`~hourlens.indexer.ocr.OcrGate`).
        weak: Cells with at least ``weak * TEXT_THRESHOLD`` stroke density are text cells.
        probe_short_side: The probe's copy of a frame or band has the frame's short side
            at this many pixels (0: no probe; see the module docstring).
        line_cost: Cost of recognising one line, in whole-frame detector reads.
        cache: Earlier readings of boxes (``LineCache(enabled=False)``: none reused).

    Attributes:
        reads: ``{"full": n, "bands": n, "reused": n, "probed_empty": n}`` so far.
        last_cost: What the last :meth:`read` or :meth:`read_whole` cost, in whole-frame
            detector reads.
    """

    engine: OcrEngine = field(default_factory=lambda: OcrEngine(params=BAND_PARAMS))
    det_short_side: int = DETECTOR_SHORT_SIDE
    max_change: float = 10.0
    weak: float = 0.25
    probe_short_side: int = 0
    line_cost: float = LINE_COST
    cache: LineCache = field(default_factory=LineCache)
    reads: dict[str, int] = field(
        default_factory=lambda: {"full": 0, "bands": 0, "reused": 0, "probed_empty": 0}
    )
    last_cost: float = 0.0
    _dims: tuple[int, int] = (480, 854)
    _last: tuple[np.ndarray, np.ndarray, list[Line]] | None = field(default=None, repr=False)
    _pending: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def plan(self, rgb: np.ndarray) -> tuple[list[tuple[int, int]], float]:
        """The frame rows to read and their share of the frame (no OCR yet).

        Returns:
            ``([(top, bottom)], share)``: ``[(0, H)]`` and 1.0 for a whole-frame read, no
            bands and 0.0 when every text cell looks as in the last frame read.
        """
        h = rgb.shape[0]
        self._dims = (h, rgb.shape[1])
        grey = _thumb(rgb)
        cells = _stroke_cells(grey)
        self._pending = (grey, cells)
        if self._last is None or self._last[0].shape != grey.shape:
            return [(0, h)], 1.0
        prev_grey, prev_cells, prev_lines = self._last
        floor = TEXT_THRESHOLD * self.weak
        texty = (cells >= floor) | (prev_cells >= floor)
        ch, cw = cells.shape
        diff = np.abs(grey[: ch * CELL, : cw * CELL] - prev_grey[: ch * CELL, : cw * CELL])
        diff = diff.reshape(ch, CELL, cw, CELL).mean(axis=(1, 3))
        changed = (texty & (diff > self.max_change)).any(axis=1)
        if not changed.any():
            return [], 0.0
        scale = h / grey.shape[0]
        spans = [(lo * CELL * scale, hi * CELL * scale) for lo, hi in _bands(changed)]
        for _ in range(3):  # widen to the earlier lines a band touches (they are re-read)
            grown = _merge(
                spans
                + [
                    (ln.top - 2, ln.bottom + 2)
                    for ln in prev_lines
                    if any(ln.top < hi and ln.bottom > lo for lo, hi in spans)
                ]
            )
            if grown == spans:
                break
            spans = grown
        rows = [(max(0, int(lo)), min(h, int(np.ceil(hi)))) for lo, hi in spans]
        rows = [(lo, hi) for lo, hi in rows if hi > lo]
        share = sum(hi - lo for lo, hi in rows) / h
        if share > FULL_READ_SHARE:
            return [(0, h)], 1.0
        return rows, share

    def estimate(
        self, share: float, rows: list[tuple[int, int]] | None = None, *, probe: bool = True
    ) -> float:
        """What a read of ``share`` of the frame is expected to cost, asked of a budget
        before it runs: probe (unless ``probe`` is False) and detector, plus (given the
        ``rows`` to read) recognising as many lines as the last reading had there."""
        h, w = self._dims
        cost = share * (1.0 + (self._probe_ratio(h, w) if probe else 0.0))
        if rows and self._last is not None:
            n = sum(1 for ln in self._last[2] if any(ln.top < b and ln.bottom > a for a, b in rows))
            cost += self.line_cost * n
        return cost

    def read(
        self, rgb: np.ndarray, rows: list[tuple[int, int]] | None = None, *, probe: bool = True
    ) -> list[Line]:
        """Read a frame (after :meth:`plan`, whose rows it uses unless given).

        ``probe=False`` skips the probe (the caller knows the scene shows text: a probe
        would only find it again, at about a quarter of the detector's cost).

        Returns:
            The frame's lines in reading order: re-read bands plus the earlier lines
            outside them.
        """
        if rows is None or self._pending is None:
            rows, _ = self.plan(rgb)
        assert self._pending is not None
        grey, cells = self._pending
        self._pending = None
        h = rgb.shape[0]
        self.last_cost = 0.0
        if rows == [(0, h)] or self._last is None:
            lines = self._read_band(rgb, 0, h, probe)
            self.reads["full"] += 1
        elif not rows:
            lines = list(self._last[2])
            self.reads["reused"] += 1
        else:
            kept = [
                ln
                for ln in self._last[2]
                if not any(ln.top < hi and ln.bottom > lo for lo, hi in rows)
            ]
            fresh = [ln for lo, hi in rows for ln in self._read_band(rgb, lo, hi, probe)]
            lines = reading_order(kept + fresh)
            self.reads["bands"] += 1
        self._last = (grey, cells, lines)
        return lines

    def read_whole(self, rgb: np.ndarray) -> list[Line]:
        """Read a whole frame out of turn (e.g. an earlier frame): the frame later reads
        are compared with stays the last one read by :meth:`read`."""
        self.last_cost = 0.0
        return self._read_full(rgb)

    def keep(self) -> list[Line]:
        """The last reading, for a frame whose read was refused (budget spent)."""
        return list(self._last[2]) if self._last is not None else []

    def _read_full(self, rgb: np.ndarray) -> list[Line]:
        return self._read_band(rgb, 0, rgb.shape[0])

    def _scale(self, h: int, w: int) -> float:
        return max(1.0, self.det_short_side / min(h, w))  # as a whole-frame read scales

    def _probe_ratio(self, h: int, w: int) -> float:
        """The probe's cost over the detector's, for the same rows (pixels scale)."""
        if self.probe_short_side <= 0:
            return 0.0
        return min(1.0, (self.probe_short_side / min(h, w) / self._scale(h, w)) ** 2)

    def _resized(self, band: np.ndarray, scale: float) -> np.ndarray:
        from PIL import Image

        if scale == 1.0:
            return band
        h, w = band.shape[:2]
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        return np.asarray(Image.fromarray(band).resize(size, Image.Resampling.BILINEAR))

    def _read_band(self, rgb: np.ndarray, top: int, bottom: int, probe: bool = True) -> list[Line]:
        h, w = rgb.shape[:2]
        share = (bottom - top) / h
        band = np.ascontiguousarray(rgb[top:bottom])
        if probe and self.probe_short_side > 0:
            self.last_cost += share * self._probe_ratio(h, w)
            small = self._resized(band, self.probe_short_side / min(h, w))
            if not self.engine.detect(small):
                self.reads["probed_empty"] += 1
                return []
        scale = self._scale(h, w)
        self.last_cost += share
        before = self.cache.recognised
        found = self.engine.read_boxes(
            self._resized(band, scale), cache=self.cache, y_offset=top * scale
        )
        self.last_cost += self.line_cost * (self.cache.recognised - before)
        return [
            Line(t, s, top + y0 / scale, top + y1 / scale, x0 / scale)
            for t, s, (y0, y1, x0) in found
        ]


@dataclass
class OcrBudget:
    """A bucket of whole-frame reads, refilled at ``per_min`` per minute of video.

    Args:
        per_min: Whole-frame reads per minute of video (0 or less: no limit).
        burst_min: The bucket holds at most this many minutes of reads (starts full).
        reserve: Whole-frame reads kept in the bucket for the first reads of new scenes:
            other reads run only while more than this is left after them.
    """

    per_min: float
    burst_min: float = 1.0
    reserve: float = 0.0
    spent: float = 0.0
    refused: int = 0
    _tokens: float | None = None
    _t: float | None = None

    def allow(self, t: float, cost: float, *, first: bool = False) -> bool:
        """Whether a read costing ``cost`` whole frames may run at video time ``t``;
        if so, it is paid for.

        ``first`` marks the first read of a new scene (segment): it may run the bucket
        into debt of up to one bucket, so a slide shown right after a burst of reads is
        still read; later reads wait until the debt is refilled. Over any stretch of
        video the reads stay within ``per_min`` a minute plus two buckets.
        """
        if self.per_min <= 0:
            self.spent += cost
            return True
        tokens, cap = self._refill(t), self.per_min * self.burst_min
        floor = -cap if first else min(self.reserve, cap)
        if cost > tokens - floor + 1e-9:
            self.refused += 1
            return False
        self._tokens = tokens - cost
        self.spent += cost
        return True

    def afford(self, t: float, cost: float) -> bool:
        """Pay ``cost`` at video time ``t`` if the bucket holds it without borrowing (it
        may use the reserve: for a new scene's read that waited); ``False`` is not counted
        as a refusal (the read waits, it is not dropped)."""
        if self.per_min <= 0:
            self.spent += cost
            return True
        tokens = self._refill(t)
        if cost > tokens + 1e-9:
            return False
        self._tokens = tokens - cost
        self.spent += cost
        return True

    def _refill(self, t: float) -> float:
        """Refill the bucket up to video time ``t``; returns what it holds."""
        cap = self.per_min * self.burst_min
        if self._tokens is None or self._t is None:
            self._tokens = cap
        else:
            self._tokens = min(cap, self._tokens + self.per_min * max(0.0, t - self._t) / 60.0)
        self._t = t
        return self._tokens

    def settle(self, delta: float) -> None:
        """A read allowed at an estimated cost cost ``delta`` more (or, negative, less):
        the bucket pays the difference (it may go into debt; later reads then wait)."""
        self.spent += delta
        if self.per_min > 0 and self._tokens is not None:
            self._tokens -= delta
