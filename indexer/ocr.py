"""On-screen text: a cheap "is there text?" test, OCR (RapidOCR) and a tracker that turns
per-frame readings into timed text items.

OCR costs ≈0.3-0.7 s a frame on a 2-core CPU, so it must not run on every sampled frame
(DESIGN §4b). :func:`text_likely` (≈3 ms) looks for thin high-contrast strokes — pairs
of opposite intensity edges a few pixels apart, packed densely into a few cells of a
small grey thumbnail — and :class:`OcrGate` adds "has the text layer changed since the
last frame read?", so a static slide is read once. :class:`OcrTracker` fuzzy-merges the
same text seen in consecutive observations into one :class:`OcrItem` with a time span.

RapidOCR (``pip install rapidocr``) ships its PP-OCR ONNX models inside the wheel and
runs offline; its default Chinese+Latin recogniser reads English exactly.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import numpy as np

from ..errors import MissingDependencyError

THUMB_WIDTH = 428
CELL = 16
MAX_STROKE = 8
TEXT_THRESHOLD = 0.04
"""Mean stroke-pixel density of the three densest thumbnail cells above which a frame
may hold text. On a 10-min test video (595 frames at 1 fps) every frame with text
(180) scored ≥ 0.045 while 39% of the text-free frames scored below 0.04."""
MIN_SCORE = 0.8
MIN_CHARS = 2
MERGE_SIMILARITY = 0.8


@dataclass(frozen=True, kw_only=True)
class OcrItem:
    """One piece of on-screen text and when it was seen.

    ``start``/``end`` are the first and last observation (frame time, seconds) in which
    the text was read; ``score`` is the mean recognition confidence.
    """

    start: float
    end: float
    text: str
    score: float


def _thumb(rgb: np.ndarray, width: int = THUMB_WIDTH) -> np.ndarray:
    """Grey thumbnail ``width`` pixels wide, float32."""
    from PIL import Image

    img = Image.fromarray(np.ascontiguousarray(rgb, dtype=np.uint8)).convert("L")
    if img.width > width:
        img = img.resize(
            (width, max(1, round(width * img.height / img.width))), Image.Resampling.BILINEAR
        )
    return np.asarray(img, dtype=np.float32)


def _stroke_cells(grey: np.ndarray) -> np.ndarray:
    """Density of thin-stroke pixels in each ``CELL`` x ``CELL`` cell of a grey thumbnail.

    A stroke pixel starts an edge that is answered by an opposite edge at most
    ``MAX_STROKE`` pixels to its right: the two sides of a glyph stroke. The edge
    threshold follows the frame's contrast, so grey-on-grey captions count too.
    """
    lo, hi = np.percentile(grey, [2, 98])
    thr = float(np.clip(0.3 * (hi - lo), 16.0, 48.0))
    dx = np.diff(grey, axis=1)
    up, down = dx > thr, dx < -thr
    stroke = np.zeros_like(up)
    for k in range(1, MAX_STROKE + 1):
        stroke[:, :-k] |= (up[:, :-k] & down[:, k:]) | (down[:, :-k] & up[:, k:])
    h, w = (stroke.shape[0] // CELL) * CELL, (stroke.shape[1] // CELL) * CELL
    if h == 0 or w == 0:
        return np.zeros((1, 1), np.float32)
    cells = stroke[:h, :w].reshape(h // CELL, CELL, w // CELL, CELL)
    return cells.mean(axis=(1, 3), dtype=np.float32)


def _text_score(cells: np.ndarray) -> float:
    top = np.sort(cells.ravel())[::-1][:3]
    return float(top.mean()) if top.size else 0.0


def text_likely(rgb: np.ndarray, *, threshold: float = TEXT_THRESHOLD) -> bool:
    """Cheap test (a few ms) that a frame may contain readable text.

    Built for recall: it may pass textured scenes, but skipping OCR on frames it
    rejects loses (almost) no text.

    Args:
        rgb: ``(H, W, 3)`` uint8 RGB frame.
        threshold: Stroke density needed (see ``TEXT_THRESHOLD``).

    Returns:
        ``True`` if the frame is worth reading.
    """
    return _text_score(_stroke_cells(_thumb(rgb))) >= threshold


@dataclass
class OcrGate:
    """Decides, frame by frame in time order, whether OCR is needed.

    ``check`` returns ``"none"`` (no text likely: report an empty observation),
    ``"same"`` (text likely, but the text cells look as in the last frame sent to OCR:
    reuse its reading, e.g. :meth:`OcrTracker.extend`) or ``"ocr"`` (read this frame).

    On a 10-min test video at 1 fps it sent 324 of 595 frames to OCR; of the 147 Latin
    text items that OCR of every frame found, it missed only a two-frame "OFF" switch
    label (and misreadings of a Cyrillic caption).

    Attributes:
        threshold: :func:`text_likely` threshold.
        max_change: Largest mean absolute grey difference (0-255) of any thumbnail cell
            holding strokes (in either frame) for the text to count as unchanged.
        min_overlap: Intersection-over-union of the text cells needed for "same".
        weak: Cells with at least ``weak * threshold`` stroke density are compared.
    """

    threshold: float = TEXT_THRESHOLD
    max_change: float = 10.0
    min_overlap: float = 0.8
    weak: float = 0.25
    _last: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def check(self, rgb: np.ndarray) -> Literal["none", "same", "ocr"]:
        """Classify one frame (see the class docstring)."""
        grey = _thumb(rgb)
        cells = _stroke_cells(grey)
        if _text_score(cells) < self.threshold:
            self._last = None
            return "none"
        if self._last is not None and self._last[0].shape == grey.shape:
            prev_grey, prev_cells = self._last
            mask, prev_mask = cells >= self.threshold, prev_cells >= self.threshold
            overlap = (mask & prev_mask).sum() / max(1, (mask | prev_mask).sum())
            # Compare pixels wherever either frame has any strokes: small new text too.
            area = (cells >= self.threshold * self.weak) | (
                prev_cells >= self.threshold * self.weak
            )
            h, w = cells.shape[0] * CELL, cells.shape[1] * CELL
            diff = np.abs(grey[:h, :w] - prev_grey[:h, :w])
            diff = diff.reshape(cells.shape[0], CELL, cells.shape[1], CELL).mean(axis=(1, 3))
            if overlap >= self.min_overlap and diff[area].max() <= self.max_change:
                return "same"
        self._last = (grey, cells)
        return "ocr"


@lru_cache(maxsize=4)
def _rapidocr(
    params_key: tuple[tuple[str, Any], ...], spinning: bool = True, int8: bool = False
) -> Any:
    try:
        from rapidocr import RapidOCR
    except ImportError as exc:
        raise MissingDependencyError("rapidocr", "ocr", "on-screen text (OCR)") from exc
    ocr = RapidOCR(params={"Global.log_level": "error", **dict(params_key)})
    det_model = None
    if int8:
        from .ocr_int8 import int8_detector

        det_model = int8_detector(ocr)
    if not spinning or det_model is not None:
        from .ocr_steps import rebuild_sessions

        rebuild_sessions(ocr, spinning=spinning, det_model=det_model)
    return ocr


def _reading_order(boxes: np.ndarray) -> list[int]:
    """Indices of text boxes top-to-bottom, and left-to-right within a visual row."""
    pts = np.asarray(boxes, dtype=np.float32).reshape(len(boxes), -1, 2)
    top, bottom, left = pts[:, :, 1].min(1), pts[:, :, 1].max(1), pts[:, :, 0].min(1)
    centre, height = (top + bottom) / 2, np.maximum(bottom - top, 1.0)
    rows: list[list[int]] = []
    for i in np.argsort(centre, kind="stable"):
        if rows and abs(centre[i] - np.mean(centre[rows[-1]])) <= 0.5 * height[i]:
            rows[-1].append(int(i))
        else:
            rows.append([int(i)])
    return [i for row in rows for i in sorted(row, key=lambda j: left[j])]


REC_MIN_WIDTH = 96
"""The recogniser's input is a batch of lines scaled to 48 px high and padded to the
widest line of the batch, but to no less than this many pixels. RapidOCR (as PaddleOCR)
pads to at least 320, so a batch of short words (menus, labels, numbers) ran on mostly
padding. At 96, on 76 held-out frames of the 60-minute dev build the OCR read: a whole
read (int8 detector and recogniser) took 0.68-0.77 of the CPU time, 64 of the 76 frames
read identically, and the rest differed in menu fragments and mahjong tiles (word recall
of the 320 readings' words 0.93; the same frames scaled 2 % larger: 0.83-0.84)."""
DEFAULT_PARAMS: dict[str, Any] = {
    "Global.use_cls": False,
    "Rec.rec_img_shape": (3, 48, REC_MIN_WIDTH),
}
"""RapidOCR settings hourlens changes from RapidOCR's own defaults."""


class OcrEngine:
    """RapidOCR behind a small interface; the model loads on first use and is shared.

    RapidOCR's 180° text-direction classifier is off by default (:data:`DEFAULT_PARAMS`):
    text on video frames is upright, and on 119 frames of the 60-min niah video the
    classifier only ever turned real lines upside down (10 lines lost, e.g. a name on a
    slide), while costing 11% of the OCR time.

    Args:
        min_score: Lines recognised with lower confidence are dropped.
        min_chars: Lines with fewer letters/digits are dropped (stray glyphs on textures).
        params: RapidOCR settings over :data:`DEFAULT_PARAMS`, e.g.
            ``{"Det.limit_side_len": 640}`` (27% faster on 854x480 frames but 6% of the
            lines of small text lost) or ``{"Global.use_cls": True}``.
        spinning: False: ONNX Runtime's idle intra-op threads sleep instead of
            spin-waiting (for a reader running beside other work).
        int8: Run the text detector's int8 copy (:mod:`~hourlens.indexer.ocr_int8`;
            about half the CPU time on CPUs with int8 dot-product instructions), made on
            first use; float32 if it cannot be made.
    """

    def __init__(
        self,
        *,
        min_score: float = MIN_SCORE,
        min_chars: int = MIN_CHARS,
        params: dict[str, Any] | None = None,
        spinning: bool = True,
        int8: bool = False,
    ) -> None:
        self.min_score = min_score
        self.min_chars = min_chars
        self.spinning = spinning
        self.int8 = int8
        self._params = tuple(sorted({**DEFAULT_PARAMS, **(params or {})}.items()))

    def _ocr(self) -> Any:
        return _rapidocr(self._params, self.spinning, self.int8)

    def detect(self, rgb: np.ndarray) -> int:
        """How many text boxes the detector finds in ``rgb`` (no recognition)."""
        from .ocr_steps import detect_boxes

        return detect_boxes(self._ocr(), np.ascontiguousarray(np.asarray(rgb, np.uint8)[..., ::-1]))

    def read(self, rgb: np.ndarray) -> list[tuple[str, float]]:
        """Read the text lines of a frame.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB frame.

        Returns:
            ``(text, confidence)`` per line, in reading order.
        """
        return [(text, score) for text, score, _ in self.read_boxes(rgb)]

    def read_boxes(
        self, rgb: np.ndarray, *, cache: Any = None, y_offset: float = 0.0
    ) -> list[tuple[str, float, tuple[float, float, float]]]:
        """Like :meth:`read`, with each line's ``(top, bottom, left)`` in frame pixels.

        Args:
            rgb: ``(H, W, 3)`` uint8 RGB image.
            cache: A :class:`~hourlens.indexer.ocr_steps.LineCache`: boxes that look as
                where they were read before keep that reading (not recognised again).
            y_offset: Where ``rgb``'s first row lies in the frame the cache follows.
        """
        bgr = np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8)[..., ::-1])
        ocr = self._ocr()
        if cache is not None and not ocr.use_cls:
            from .ocr_steps import read_lines

            boxes, found = read_lines(ocr, bgr, cache, y_offset=y_offset)
            txts, scores = [t for t, _ in found], [s for _, s in found]
        else:
            out = ocr(bgr)
            if out.txts is None or out.boxes is None or not len(out.txts):
                return []
            boxes, txts, scores = out.boxes, list(out.txts), list(out.scores)
        if not len(txts):
            return []
        pts = np.asarray(boxes, dtype=np.float32).reshape(len(boxes), -1, 2)
        lines = []
        for i in _reading_order(boxes):
            text, score = " ".join(str(txts[i]).split()), float(scores[i])
            if score >= self.min_score and len(re.findall(r"\w", text)) >= self.min_chars:
                box = (
                    float(pts[i, :, 1].min()),
                    float(pts[i, :, 1].max()),
                    float(pts[i, :, 0].min()),
                )
                lines.append((text, score, box))
        return lines


def normalise_text(text: str) -> str:
    """Case-folded text with runs of whitespace collapsed."""
    return " ".join(text.casefold().split())


def text_similarity(a: str, b: str) -> float:
    """Similarity in [0, 1] of two normalised strings (difflib ratio)."""
    if a == b:
        return 1.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass
class _Track:
    start: float
    end: float
    order: int
    last: str
    readings: dict[str, list[float]] = field(default_factory=dict)

    def see(self, t: float, text: str, score: float) -> None:
        self.end = t
        self.last = normalise_text(text)
        self.readings.setdefault(text, []).append(score)

    def item(self) -> OcrItem:
        text, scores = max(self.readings.items(), key=lambda kv: (len(kv[1]), sum(kv[1])))
        all_scores = [s for ss in self.readings.values() for s in ss]
        score = float(np.mean(all_scores))
        return OcrItem(start=self.start, end=self.end, text=text, score=round(score, 4))


class OcrTracker:
    """Merges the same text seen in consecutive observations into timed items.

    Call :meth:`add` for every observed frame in time order (with ``[]`` for frames
    without text), :meth:`extend` for frames known to show the previous reading again,
    then :meth:`finish`. A line continues an open item when its normalised text is at
    least ``similarity`` similar to the item's last reading; an item ends at the first
    observation that does not contain it.

    Args:
        similarity: Fuzzy-match threshold (difflib ratio on normalised text).
    """

    def __init__(self, *, similarity: float = MERGE_SIMILARITY) -> None:
        self.similarity = similarity
        self._open: list[_Track] = []
        self._done: list[_Track] = []
        self._count = 0

    def add(self, t: float, lines: Sequence[tuple[str, float]]) -> None:
        """Record the lines read at time ``t`` (seconds)."""
        still_open: list[_Track] = []
        free = list(self._open)
        for text, score in lines:
            norm = normalise_text(text)
            if not norm:
                continue
            sims = [text_similarity(norm, tr.last) for tr in free]
            best = int(np.argmax(sims)) if sims else -1
            if best >= 0 and sims[best] >= self.similarity:
                track = free.pop(best)
            else:
                track = _Track(start=t, end=t, order=self._count, last=norm)
                self._count += 1
            track.see(t, text, score)
            still_open.append(track)
        self._done.extend(free)
        self._open = still_open

    def extend(self, t: float) -> None:
        """The frame at ``t`` shows the same text as the last observation."""
        for track in self._open:
            track.end = t

    def finish(self) -> list[OcrItem]:
        """Close every item and return all of them, ordered by start time."""
        self._done.extend(self._open)
        self._open = []
        return [tr.item() for tr in sorted(self._done, key=lambda tr: (tr.start, tr.order))]
