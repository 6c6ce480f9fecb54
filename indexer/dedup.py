"""Near-duplicate frame detection, so static shots reuse the last encoded feature.

The idea is STC-Cacher's: in a static shot consecutive frames barely change, so the
encoder's output for the last *encoded* frame stands in for them. A frame is compared
with the frame whose feature would be reused (the last kept one), not with its
predecessor, so a slow fade or pan accumulates difference and eventually triggers a
re-encode instead of drifting forever.
"""

from __future__ import annotations

import numpy as np

_GREY = (np.float32(0.299), np.float32(0.587), np.float32(0.114))
_SAMPLES = 4  # samples per thumbnail cell along each axis (16 pixels averaged per cell)


class FrameDeduper:
    """Decides whether a frame is a near duplicate of the last *encoded* frame (static shot)
    so its feature can be reused (STC-Cacher idea).

    Attributes:
        threshold: Mean absolute grey difference (0-255) under which a frame is a duplicate;
            0 disables reuse.
        size: Side of the grey thumbnail compared.
        reused: Frames reported as duplicates so far.
        checked: Frames checked so far.
        change: Mean absolute grey difference (0-255) of the last frame checked to the
            frame checked before it (0 for the first): a cheap scene-change signal.
    """

    def __init__(self, threshold: float = 2.0, size: int = 32) -> None:
        """Create a deduper with no reference frame yet.

        Args:
            threshold: Mean absolute difference (0-255 scale) of the ``size x size`` grey
                thumbnails under which a frame counts as a duplicate; 0 disables reuse.
            size: Thumbnail side in pixels.
        """
        if threshold < 0:
            raise ValueError(f"threshold must be >= 0, got {threshold}")
        if size < 1:
            raise ValueError(f"size must be >= 1, got {size}")
        self.threshold = float(threshold)
        self.size = int(size)
        self.reused = 0
        self.checked = 0
        self.change = 0.0
        self._ref: np.ndarray | None = None
        self._prev: np.ndarray | None = None
        self._index_cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def thumbnail(self, rgb: np.ndarray) -> np.ndarray:
        """Grey ``size x size`` float32 thumbnail of an ``HxWx3`` uint8 RGB frame (or of
        an ``HxW`` grey one).

        Each cell is the mean of a ``4 x 4`` grid of pixels sampled evenly inside it
        (strided sampling, then a reshape-mean): about 0.1 ms on a 455x256 frame.
        """
        h, w = rgb.shape[:2]
        idx = self._index_cache.get((h, w))
        if idx is None:
            n = self.size * _SAMPLES
            ys = ((np.arange(n) + 0.5) * (h / n)).astype(np.intp)
            xs = ((np.arange(n) + 0.5) * (w / n)).astype(np.intp)
            idx = self._index_cache[(h, w)] = (ys, xs)
        sub = rgb.take(idx[0], axis=0).take(idx[1], axis=1)
        if sub.ndim == 2:
            grey: np.ndarray = sub.astype(np.float32)
        else:
            grey = sub[..., 0] * _GREY[0] + sub[..., 1] * _GREY[1] + sub[..., 2] * _GREY[2]
        k = _SAMPLES
        return grey.reshape(self.size, k, self.size, k).mean(axis=(1, 3), dtype=np.float32)

    def is_duplicate(self, rgb: np.ndarray) -> bool:
        """Whether ``rgb`` is close enough to the last kept frame to reuse its feature.

        The first frame is never a duplicate. When this returns False, ``rgb`` becomes
        the new reference (the caller encodes it).

        Args:
            rgb: ``HxWx3`` uint8 RGB frame.

        Returns:
            True when the caller should reuse the last encoded feature.
        """
        return self._check(self.thumbnail(rgb))

    def is_duplicate_luma(self, plane: np.ndarray, black: float = 0.0, scale: float = 1.0) -> bool:
        """:meth:`is_duplicate` on a frame's luma plane, before any RGB conversion.

        Luma is the grey that :meth:`thumbnail` computes from RGB (BT.601 weights), so
        the same threshold applies; a duplicate then never needs converting at all.

        Args:
            plane: ``HxW`` uint8 luma.
            black: Code value of black (16 for limited-range video).
            scale: Factor taking ``plane - black`` to the 0-255 scale.
        """
        thumb = self.thumbnail(plane)
        if black or scale != 1.0:
            thumb = (thumb - np.float32(black)) * np.float32(scale)
        return self._check(thumb)

    def _check(self, thumb: np.ndarray) -> bool:
        self.checked += 1
        prev, self._prev = self._prev, thumb
        self.change = float(np.abs(thumb - prev).mean()) if prev is not None else 0.0
        if self.threshold <= 0:
            return False
        ref = self._ref
        if ref is not None and float(np.abs(thumb - ref).mean()) < self.threshold:
            self.reused += 1
            return True
        self._ref = thumb
        return False

    def reset(self) -> None:
        """Forget the reference frame (e.g. at a new video); counters are kept."""
        self._ref = self._prev = None
