"""Depth-score semantic segmentation (Video-XL; VideoLLaMB SceneTilling).

The input is the cosine similarity of neighbouring sampled frames, ``s[i] =
cos(f[i], f[i+1])`` (one float per gap, so a whole hour is a few kilobytes). Two
scores are supported:

* ``simple``: ``D[i] = 1 - s[i]``; boundaries are local maxima of ``D`` in a window.
* ``texttiling`` (default): ``depth[i] = lpeak[i] + rpeak[i] - 2 s[i]`` where lpeak and
  rpeak are the highest similarities reached climbing left and right from ``i``;
  boundaries where ``depth[i] > mean + factor * std``.

Both then enforce a minimum segment length (strongest boundaries win) and a maximum
one (long segments are split at their strongest internal gap), so an hour gives tens
to a few hundred segments that follow the content: stable stretches become long
segments, busy ones short.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

METHODS = ("texttiling", "simple", "fixed")


@dataclass(frozen=True, kw_only=True)
class SegmentSpan:
    """A segment as a range of sampled frames and a time span.

    Attributes:
        index: Position of the segment in the video (0-based).
        first: Index of the first sampled frame in the segment.
        last: Index one past the last sampled frame (``frames[first:last]``).
        start: Start time in seconds.
        end: End time in seconds.
        depth: Score of the boundary that opens this segment (0 for the first one).
    """

    index: int
    first: int
    last: int
    start: float
    end: float
    depth: float

    @property
    def n_frames(self) -> int:
        """Number of sampled frames in the segment."""
        return self.last - self.first


def adjacent_similarity(features: np.ndarray) -> np.ndarray:
    """Cosine similarity of each pair of neighbouring rows.

    Args:
        features: ``(n, d)`` array; rows need not be normalised.

    Returns:
        ``(n - 1,)`` float array.
    """
    f = np.asarray(features, dtype=np.float32)
    if len(f) < 2:
        return np.zeros(0, dtype=np.float32)
    norms = np.linalg.norm(f, axis=1, keepdims=True)
    f = f / np.maximum(norms, 1e-12)
    return np.einsum("ij,ij->i", f[:-1], f[1:]).astype(np.float32)


def simple_scores(sims: np.ndarray) -> np.ndarray:
    """``D = 1 - s``."""
    return 1.0 - np.asarray(sims, dtype=np.float64)


def texttiling_scores(sims: np.ndarray) -> np.ndarray:
    """TextTiling depth ``lpeak + rpeak - 2 s`` of every gap.

    ``lpeak[i]`` is the similarity reached by climbing left from gap ``i`` while the
    similarity does not decrease; ``rpeak`` likewise to the right. Computed in O(n).

    Args:
        sims: ``(m,)`` neighbour similarities.

    Returns:
        ``(m,)`` depth scores (>= 0).
    """
    s = np.asarray(sims, dtype=np.float64)
    m = len(s)
    lpeak = np.empty(m)
    rpeak = np.empty(m)
    for i in range(m):
        lpeak[i] = s[i] if i == 0 or s[i - 1] < s[i] else lpeak[i - 1]
    for i in range(m - 1, -1, -1):
        rpeak[i] = s[i] if i == m - 1 or s[i + 1] < s[i] else rpeak[i + 1]
    return lpeak + rpeak - 2.0 * s


def _candidates(
    scores: np.ndarray, method: str, std_factor: float, min_score: float, window: int
) -> np.ndarray:
    if len(scores) == 0:
        return np.zeros(0, dtype=np.int64)
    thresh = max(float(scores.mean() + std_factor * scores.std()), min_score)
    above = scores > thresh
    if method == "simple":
        # local maxima of D in a +-window neighbourhood
        padded = np.pad(scores, window, mode="constant", constant_values=-np.inf)
        view = np.lib.stride_tricks.sliding_window_view(padded, 2 * window + 1)
        above &= scores >= view.max(axis=1)
    return np.flatnonzero(above)


def _gap_time(times: np.ndarray, gap: int) -> float:
    """Boundary time of gap ``gap`` (between frames gap and gap+1): the midpoint."""
    return float((times[gap] + times[gap + 1]) / 2.0)


def _enforce_min(
    cands: np.ndarray, scores: np.ndarray, times: np.ndarray, duration: float, min_len: float
) -> list[int]:
    """Keep the strongest boundaries so that no segment is shorter than ``min_len``."""
    chosen: list[float] = []
    kept: list[int] = []
    for gap in sorted(cands.tolist(), key=lambda g: -scores[g]):
        t = _gap_time(times, gap)
        if t < min_len or duration - t < min_len:
            continue
        if any(abs(t - c) < min_len for c in chosen):
            continue
        chosen.append(t)
        kept.append(gap)
    return sorted(kept)


def _enforce_max(
    bounds: list[int],
    scores: np.ndarray,
    times: np.ndarray,
    duration: float,
    max_len: float,
    min_len: float,
) -> list[int]:
    """Split segments longer than ``max_len`` at their strongest internal gaps."""
    out = set(bounds)
    edges = [-1, *sorted(bounds), len(times) - 1]
    stack = list(zip(edges[:-1], edges[1:], strict=True))
    while stack:
        a, b = stack.pop()  # segment covers frames a+1 .. b (gap indices a and b bound it)
        t0 = 0.0 if a < 0 else _gap_time(times, a)
        t1 = duration if b >= len(times) - 1 else _gap_time(times, b)
        if t1 - t0 <= max_len or b - a < 2:
            continue
        inner = np.arange(a + 1, b)
        inner_t = (times[inner] + times[inner + 1]) / 2.0
        ok = inner[(inner_t - t0 >= min_len) & (t1 - inner_t >= min_len)]
        if len(ok) == 0:
            ok = inner
        split = int(ok[np.argmax(scores[ok])])
        if np.ptp(scores[ok]) < 1e-6:  # flat: split in the middle
            split = int(ok[len(ok) // 2])
        out.add(split)
        stack.extend([(a, split), (split, b)])
    return sorted(out)


def segment_video(
    times: np.ndarray,
    sims: np.ndarray,
    *,
    duration: float,
    method: str = "texttiling",
    min_len: float = 3.0,
    max_len: float = 90.0,
    std_factor: float = 0.5,
    min_score: float = 0.05,
    fixed_window: float = 30.0,
) -> list[SegmentSpan]:
    """Cut a video into segments from its neighbour similarities.

    Args:
        times: ``(n,)`` timestamps of the sampled frames, increasing.
        sims: ``(n - 1,)`` cosine similarity of neighbouring frames.
        duration: Video length in seconds (the last segment ends there).
        method: ``texttiling``, ``simple`` or ``fixed`` (windows of ``fixed_window``).
        min_len: Minimum segment length in seconds.
        max_len: Maximum segment length in seconds.
        std_factor: Threshold is ``mean + std_factor * std`` of the scores.
        min_score: Absolute floor of the score of a boundary, so a uniform shot is not
            cut by noise.
        fixed_window: Window length for ``method="fixed"``.

    Returns:
        Contiguous segments covering ``[0, duration]``.

    Raises:
        ValueError: On an unknown method or inconsistent array sizes.
    """
    times = np.asarray(times, dtype=np.float64)
    sims = np.asarray(sims, dtype=np.float64)
    n = len(times)
    if method not in METHODS:
        raise ValueError(f"unknown segmentation method {method!r}; use one of {METHODS}")
    if n == 0:
        return []
    if len(sims) != n - 1:
        raise ValueError(f"expected {n - 1} similarities for {n} frames, got {len(sims)}")
    duration = max(float(duration), float(times[-1]))
    if method == "fixed":
        scores = np.zeros(max(n - 1, 0))
        bounds: list[int] = []
        nxt = fixed_window
        for gap in range(n - 1):
            if times[gap + 1] >= nxt:
                bounds.append(gap)
                nxt = times[gap + 1] + fixed_window
    else:
        scores = texttiling_scores(sims) if method == "texttiling" else simple_scores(sims)
        window = (
            max(1, int(round(min_len / max(np.median(np.diff(times)), 1e-3) / 2))) if n > 1 else 1
        )
        cands = _candidates(scores, method, std_factor, min_score, window)
        bounds = _enforce_min(cands, scores, times, duration, min_len)
        bounds = _enforce_max(bounds, scores, times, duration, max_len, min_len)
    return _spans(bounds, scores, times, duration)


def _spans(
    bounds: list[int], scores: np.ndarray, times: np.ndarray, duration: float
) -> list[SegmentSpan]:
    spans: list[SegmentSpan] = []
    first, start, depth = 0, 0.0, 0.0
    for gap in bounds:
        t = _gap_time(times, gap)
        spans.append(
            SegmentSpan(
                index=len(spans), first=first, last=gap + 1, start=start, end=t, depth=depth
            )
        )
        first, start, depth = gap + 1, t, float(scores[gap])
    spans.append(
        SegmentSpan(
            index=len(spans), first=first, last=len(times), start=start, end=duration, depth=depth
        )
    )
    return spans


def expected_segments(duration: float, min_len: float, max_len: float) -> tuple[int, int]:
    """Bounds on the number of segments the length limits allow."""
    return max(1, math.ceil(duration / max_len)), max(1, math.floor(duration / min_len))
