"""Cheap visual facets from pixels, per sampled frame and per feature memory.

A facet is a number in [0, 1] that a word can ask for: dominant colours (``red``,
``orange``, ``yellow``, ``green``, ``blue``, ``purple``, ``pink``, ``brown``, ``white``,
``black``, ``grey``), ``greyscale``, ``dark`` and ``bright``, ``colourful``, ``motion``,
``sky``, ``water`` and ``vegetation`` cover, and ``face``/``people`` (OpenCV's bundled Haar
cascade, run once per segment on its keyframe). Text-heavy frames come
from the OCR items at search time (:mod:`hourlens.tools.visual`).

Per-frame statistics are computed in the frame pass's decode thread on a 48-pixel-high
copy of the frame (well under a millisecond); a memory's facets are the mean over its
frames. Every threshold below was set on generated frames (``tests/media.py``) and
checked on real photos (``tests/test_facets.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

log = logging.getLogger("hourlens.indexer")

#: Colour facets: hue ranges in degrees (chromatic pixels only).
HUES: dict[str, tuple[tuple[float, float], ...]] = {
    "red": ((0.0, 14.0), (340.0, 360.0)),
    "orange": ((14.0, 40.0),),
    "yellow": ((40.0, 68.0),),
    "green": ((68.0, 165.0),),
    "blue": ((165.0, 255.0),),
    "purple": ((255.0, 295.0),),
    "pink": ((295.0, 340.0),),
}
COLOURS = (*HUES, "brown", "white", "black", "grey")
#: Order of the per-frame statistics vector.
FRAME_STATS = (
    *COLOURS,
    "saturation",
    "value",
    "colourfulness",
    "motion",
    "sky",
    "water",
    "vegetation",
)
FACETS = (
    *COLOURS,
    "greyscale",
    "dark",
    "bright",
    "colourful",
    "motion",
    "sky",
    "water",
    "vegetation",
    "face",
    "people",
)
PROBE_HEIGHT = 48
#: A chromatic pixel: saturation and value at least these.
MIN_SAT, MIN_VAL = 0.28, 0.22
#: A colour "dominates" from this share of the frame (the facet is 1 at twice it).
COLOUR_SHARE = 0.18


def _hsv(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hue in degrees, saturation and value in [0, 1] of an ``(..., 3)`` uint8 image."""
    x = rgb.astype(np.float32) / 255.0
    mx, mn = x.max(axis=-1), x.min(axis=-1)
    d = mx - mn
    r, g, b = x[..., 0], x[..., 1], x[..., 2]
    safe = np.where(d > 1e-6, d, 1.0)
    h = np.where(
        mx == r,
        ((g - b) / safe) % 6.0,
        np.where(mx == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    h = np.where(d > 1e-6, h * 60.0, 0.0)
    s = np.where(mx > 1e-6, d / np.maximum(mx, 1e-6), 0.0)
    return h, s, mx


def _small(rgb: np.ndarray, height: int = PROBE_HEIGHT) -> np.ndarray:
    step = max(1, rgb.shape[0] // height)
    return rgb[::step, ::step]


def frame_stats(rgb: np.ndarray, prev_grey: np.ndarray | None = None) -> np.ndarray:
    """Per-frame statistics (:data:`FRAME_STATS` order) of an ``HxWx3`` uint8 frame.

    Args:
        rgb: The frame.
        prev_grey: :func:`probe_grey` of the previous fresh frame, for ``motion``.

    Returns:
        float32 vector; colour entries are shares of the frame.
    """
    small = _small(rgb)
    h, s, v = _hsv(small)
    chroma = (s >= MIN_SAT) & (v >= MIN_VAL)
    out = np.zeros(len(FRAME_STATS), np.float32)
    pos = {n: i for i, n in enumerate(FRAME_STATS)}
    for name, ranges in HUES.items():
        m = np.zeros(h.shape, bool)
        for lo, hi in ranges:
            m |= (h >= lo) & (h < hi)
        if name == "orange":  # dark orange reads as brown, dark red as maroon (red)
            m &= v >= 0.6
        elif name == "red":
            m &= v >= 0.3
        out[pos[name]] = (chroma & m).mean()
    brownish = chroma & (((h >= 10) & (h < 45) & (v < 0.6)) | ((h < 10) & (v < 0.3)))
    out[pos["brown"]] = brownish.mean()
    achrom = s < 0.15
    out[pos["white"]] = (achrom & (v > 0.82)).mean()
    out[pos["black"]] = (v < 0.12).mean()
    out[pos["grey"]] = (achrom & (v >= 0.12) & (v <= 0.82)).mean()
    out[pos["saturation"]] = float(s.mean())
    out[pos["value"]] = float(v.mean())
    x = small.astype(np.float32)
    rg = x[..., 0] - x[..., 1]
    yb = 0.5 * (x[..., 0] + x[..., 1]) - x[..., 2]
    # Hasler & Suesstrunk (2003) colourfulness: ~0 grey, ~33 moderately, > 59 highly colourful
    out[pos["colourfulness"]] = float(
        np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean())
    )
    if prev_grey is not None:
        grey = probe_grey(rgb)
        if grey.shape == prev_grey.shape:
            out[pos["motion"]] = float(np.abs(grey - prev_grey).mean())
    third = max(1, h.shape[0] // 3)
    top = slice(0, third)
    low = slice(h.shape[0] - max(1, h.shape[0] // 2), h.shape[0])
    skyish = ((h >= 185) & (h < 250) & (s >= 0.15) & (v >= 0.45)) | ((s < 0.1) & (v > 0.85))
    out[pos["sky"]] = skyish[top].mean()
    waterish = (h >= 170) & (h < 245) & (s >= 0.25) & (v >= 0.2)
    # a frame blue all over is more likely sky than water
    out[pos["water"]] = waterish[low].mean() * (1.0 - 0.8 * skyish[top].mean())
    out[pos["vegetation"]] = (chroma & (h >= 60) & (h < 160)).mean()
    return out


def probe_grey(rgb: np.ndarray) -> np.ndarray:
    """A 48-pixel-high grey copy of a frame (0-255 float32), for motion."""
    return _small(rgb).astype(np.float32).mean(axis=-1)


def still(stats: np.ndarray) -> np.ndarray:
    """The statistics of a frame repeated without change (no motion)."""
    out = stats.copy()
    out[FRAME_STATS.index("motion")] = 0.0
    return out


class FrameProbe:
    """Computes :func:`frame_stats` frame by frame (motion against the previous frame)."""

    def __init__(self) -> None:
        self._prev: np.ndarray | None = None

    def __call__(self, rgb: np.ndarray) -> np.ndarray:
        """Statistics of the next fresh frame."""
        out = frame_stats(rgb, self._prev)
        self._prev = probe_grey(rgb)
        return out


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(np.clip((x - lo) / max(hi - lo, 1e-9), 0.0, 1.0))


def memory_facets(stats: Sequence[np.ndarray], faces: int = 0) -> dict[str, float]:
    """Facets (:data:`FACETS`) of a memory from the statistics of its frames.

    Args:
        stats: :func:`frame_stats` of the memory's frames (reused frames repeat one).
        faces: Faces found on the memory's thumbnail (:func:`count_faces`).
    """
    if not len(stats):
        return {}
    m = np.mean(np.stack(stats), axis=0)
    pos = {n: i for i, n in enumerate(FRAME_STATS)}
    out = {c: _ramp(float(m[pos[c]]), COLOUR_SHARE / 2, COLOUR_SHARE * 2) for c in COLOURS}
    out["black"] = _ramp(float(m[pos["black"]]), 0.2, 0.6)
    sat, val = float(m[pos["saturation"]]), float(m[pos["value"]])
    out["greyscale"] = 1.0 - _ramp(sat, 0.03, 0.1)
    out["dark"] = 1.0 - _ramp(val, 0.15, 0.35)
    out["bright"] = _ramp(val, 0.6, 0.8)
    out["colourful"] = _ramp(float(m[pos["colourfulness"]]), 35.0, 70.0)
    out["motion"] = _ramp(float(np.mean([s[pos["motion"]] for s in stats])), 4.0, 25.0)
    out["sky"] = _ramp(float(m[pos["sky"]]), 0.25, 0.6)
    out["water"] = _ramp(float(m[pos["water"]]), 0.25, 0.6)
    out["vegetation"] = _ramp(float(m[pos["vegetation"]]), 0.15, 0.45)
    out["face"] = 1.0 if faces >= 1 else 0.0
    out["people"] = _ramp(float(faces), 0.0, 2.0)
    return {k: round(v, 3) for k, v in out.items()}


@dataclass(frozen=True)
class _Cascades:
    frontal: object


@lru_cache(maxsize=1)
def _cascades() -> _Cascades | None:
    try:
        import cv2
    except ImportError:
        log.info("OpenCV is not installed: no face facet")
        return None
    root = Path(getattr(getattr(cv2, "data", None), "haarcascades", "") or "")
    if not hasattr(cv2, "CascadeClassifier") or not (root / FRONTAL).is_file():
        log.info("this OpenCV has no Haar cascades: no face facet")
        return None
    return _Cascades(cv2.CascadeClassifier(str(root / FRONTAL)))


FRONTAL = "haarcascade_frontalface_default.xml"
#: Smallest face, as a share of the frame's height (smaller ones are mostly false alarms).
MIN_FACE = 0.12
#: ``minNeighbors`` of the cascade: higher is stricter.
FACE_NEIGHBOURS = 6
#: Images are scaled to this height before detection.
FACE_HEIGHT = 144


def count_faces(rgb: np.ndarray) -> int:
    """Frontal faces in an ``HxWx3`` uint8 image (OpenCV's bundled Haar cascade; 0 without
    it). About 30 ms on a 144-pixel-high copy, so it runs once per segment keyframe."""
    cas = _cascades()
    if cas is None or rgb.size == 0:
        return 0
    import cv2

    grey = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY)
    if grey.shape[0] > FACE_HEIGHT:  # faces of MIN_FACE or more survive the downscale
        w = round(grey.shape[1] * FACE_HEIGHT / grey.shape[0])
        grey = cv2.resize(grey, (w, FACE_HEIGHT), interpolation=cv2.INTER_AREA)
    grey = cv2.equalizeHist(grey)
    side = max(12, int(MIN_FACE * grey.shape[0]))
    kw = {"scaleFactor": 1.15, "minNeighbors": FACE_NEIGHBOURS, "minSize": (side, side)}
    return len(cas.frontal.detectMultiScale(grey, **kw))  # type: ignore[attr-defined]
