"""RapidOCR's steps one at a time: detect, crop, recognise — so reading can skip work.

RapidOCR runs its text detector over the image, crops every box it finds and runs the
recogniser on each crop. :func:`detect_boxes` runs only the detector (a cheap look at a
small copy of a frame says whether there is any text at all: most frames the cheap
stroke gate passes on ordinary footage show texture, not text), and :func:`read_lines`
runs all three steps but asks a :class:`LineCache` first: a box found where a line was
read before, that looks the same (every 4x4 cell of its grey crop, 24 px high, within
``max_change`` grey levels), keeps that reading instead of being recognised again — a
title bar, a side panel or a menu that stays on screen costs the recogniser nothing.
The steps and their filters are RapidOCR's own (``RapidOCR.__call__``), so a frame read
this way gives the lines a plain call gives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

SIG_HEIGHT = 24
"""Crops are compared as grey copies this many pixels high (width by aspect)..."""
SIG_CELL = 4
"""...cell by cell (this many pixels square). On 90 boxes of a text-heavy hour read 10 s
apart at the same place, an unchanged line's largest cell difference was 4-7 grey levels
and a changed one's (one digit of a counter) at least 58."""
MAX_SIG_WIDTH = 768


def signature(crop: np.ndarray) -> np.ndarray:
    """Grey copy of a text crop scaled to :data:`SIG_HEIGHT` px high (float32); a crop a
    few pixels wider or narrower gives the same columns plus or minus a few at the end."""
    import cv2

    grey = crop if crop.ndim == 2 else cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    grey = grey[:, : max(1, MAX_SIG_WIDTH * grey.shape[0] // SIG_HEIGHT)]
    s = SIG_HEIGHT / max(grey.shape[0], 1)  # one scale for both axes: columns line up
    out = cv2.resize(grey, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    if out.shape[0] != SIG_HEIGHT:  # rounding
        out = cv2.resize(out, (out.shape[1], SIG_HEIGHT), interpolation=cv2.INTER_AREA)
    return out.astype(np.float32)


def same_look(a: np.ndarray, b: np.ndarray, max_change: float) -> bool:
    """Whether two signatures show the same text: widths within 2 px (compared over the
    narrower, from the left) and every :data:`SIG_CELL` cell's mean absolute difference
    at most ``max_change``."""
    if a.shape[0] != b.shape[0] or abs(a.shape[1] - b.shape[1]) > 2:
        return False
    w = min(a.shape[1], b.shape[1])
    diff = np.abs(a[:, :w] - b[:, :w])
    h, wc = diff.shape[0] // SIG_CELL * SIG_CELL, w // SIG_CELL * SIG_CELL
    cells = diff[:h, :wc].reshape(h // SIG_CELL, SIG_CELL, wc // SIG_CELL, SIG_CELL)
    worst = float(cells.mean(axis=(1, 3)).max(initial=0.0))
    if wc < w:  # the last columns, narrower than a cell
        worst = max(worst, float(diff[:, wc:].mean()))
    return worst <= max_change


@dataclass
class _Entry:
    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in reader pixels
    sig: np.ndarray
    text: str
    score: float


@dataclass
class LineCache:
    """Readings of the boxes of earlier reads, by place and look (see the module).

    Args:
        max_change: Largest mean absolute grey difference (0-255) of any block of a
            box's signature for it to count as the same text.
        tol: A box matches an earlier one whose edges are within this share of its
            height (at least 2 px) of its own.
        enabled: False: never reuse (every box is recognised; the counts still run).

    Attributes:
        recognised: Boxes sent to the recogniser so far.
        reused: Boxes whose earlier reading was kept.
    """

    max_change: float = 20.0
    tol: float = 0.25
    enabled: bool = True
    recognised: int = 0
    reused: int = 0
    _entries: list[_Entry] = field(default_factory=list, repr=False)

    def lookup(self, box: tuple[float, float, float, float], sig: np.ndarray) -> _Entry | None:
        """The earlier reading of a box at ``box`` looking like ``sig``, if any."""
        if not self.enabled:
            return None
        tol = max(2.0, self.tol * (box[3] - box[1]))
        for e in self._entries:
            if all(abs(p - q) <= tol for p, q in zip(e.box, box, strict=True)) and same_look(
                sig, e.sig, self.max_change
            ):
                return e
        return None

    def replace(self, top: float, bottom: float, entries: list[_Entry]) -> None:
        """Forget the boxes between rows ``top`` and ``bottom`` (reader pixels), then
        keep ``entries`` (the boxes just read there)."""
        self._entries = [e for e in self._entries if e.box[3] <= top or e.box[1] >= bottom]
        self._entries.extend(entries)


def _prepared(ocr: Any, bgr: np.ndarray) -> tuple[np.ndarray, dict[str, Any]]:
    """RapidOCR's preprocessing and vertical padding of a detector input."""
    from rapidocr.utils.process_img import apply_vertical_padding

    img, op = ocr.preprocess_img(bgr)
    if ocr.cfg.Global.use_vertical_padding:
        return apply_vertical_padding(img, op, ocr.width_height_ratio, ocr.min_height)
    op["padding_1"] = {"top": 0, "left": 0}
    return img, op


def detect_boxes(ocr: Any, bgr: np.ndarray) -> int:
    """Text boxes RapidOCR's detector finds in ``bgr`` (no recognition)."""
    img, _ = _prepared(ocr, bgr)
    boxes = ocr._load_det_model()(img).boxes
    return 0 if boxes is None else len(boxes)


def read_lines(
    ocr: Any, bgr: np.ndarray, cache: LineCache, *, y_offset: float = 0.0
) -> tuple[np.ndarray, list[tuple[str, float]]]:
    """Detect, crop and recognise as ``RapidOCR.__call__`` does (classifier off), asking
    ``cache`` before recognising a box.

    Args:
        ocr: A ``RapidOCR`` instance.
        bgr: The detector input.
        cache: Earlier readings; updated with this read's boxes.
        y_offset: Where ``bgr``'s first row lies in the reader's frame (cache places).

    Returns:
        ``(boxes, [(text, score)])``: the boxes (``N x 4 x 2``, in ``bgr`` pixels) and
        readings that pass RapidOCR's own filters (non-empty, ``text_score``).
    """
    from rapidocr.ch_ppocr_rec import TextRecInput
    from rapidocr.utils.process_img import map_boxes_to_original

    h, w = bgr.shape[:2]
    img, op = _prepared(ocr, bgr)
    det = ocr._load_det_model()(img)
    if det.boxes is None or not len(det.boxes):
        cache.replace(y_offset, y_offset + h, [])
        return np.zeros((0, 4, 2), np.float32), []
    crops = ocr.crop_text_regions(img, det.boxes)
    boxes = map_boxes_to_original(np.array(det.boxes, dtype=np.float32), op, h, w)
    places = [
        (
            float(b[:, 0].min()),
            float(b[:, 1].min()) + y_offset,
            float(b[:, 0].max()),
            float(b[:, 1].max()) + y_offset,
        )
        for b in boxes
    ]
    sigs = [signature(c) for c in crops]
    found: list[tuple[str, float] | None] = []
    for place, sig in zip(places, sigs, strict=True):
        hit = cache.lookup(place, sig)
        found.append((hit.text, hit.score) if hit is not None else None)
    todo = [i for i, f in enumerate(found) if f is None]
    if todo:
        rec = ocr._load_rec_model()(TextRecInput(img=[crops[i] for i in todo]))
        for i, text, score in zip(todo, rec.txts, rec.scores, strict=True):
            found[i] = (str(text), float(score))
    cache.recognised += len(todo)
    cache.reused += len(found) - len(todo)
    readings = [f for f in found if f is not None]
    cache.replace(
        y_offset,
        y_offset + h,
        [_Entry(p, s, t, sc) for p, s, (t, sc) in zip(places, sigs, readings, strict=True)],
    )
    keep = [i for i, (t, s) in enumerate(readings) if t.strip() and s >= ocr.cfg.Global.text_score]
    return boxes[keep], [readings[i] for i in keep]


def rebuild_sessions(ocr: Any, *, spinning: bool = True, det_model: Any = None) -> None:
    """Rebuild RapidOCR's detector and recogniser sessions with the same threads.

    Args:
        ocr: A ``RapidOCR`` instance.
        spinning: False: idle intra-op threads sleep instead of spin-waiting, so they do
            not burn the core the frame pass needs (``session.intra_op.allow_spinning``).
        det_model: Another detector model file to load (the int8 copy of
            :mod:`~hourlens.indexer.ocr_int8`); default the one RapidOCR loaded.
    """
    import onnxruntime as ort

    for model, path in ((ocr._load_det_model(), det_model), (ocr._load_rec_model(), None)):
        old = model.session.session
        prev = old.get_session_options()
        opts = ort.SessionOptions()
        opts.log_severity_level = 4
        opts.enable_cpu_mem_arena = prev.enable_cpu_mem_arena
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = prev.intra_op_num_threads
        opts.inter_op_num_threads = prev.inter_op_num_threads
        if not spinning:
            opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        model.session.session = ort.InferenceSession(
            str(path or old._model_path), opts, providers=old.get_providers()
        )
