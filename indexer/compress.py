"""Dynamic compression budget (Video-XL) and memory bank compression (MA-LMM).

Each segment ``i`` of ``n_i`` frames gets a memory budget ``k_i = ceil(n_i / alpha_i)``:
busy segments (low neighbour similarity) get a small ``alpha`` and so more memories,
static ones a large ``alpha``. Memory bank compression then repeatedly averages the
most similar *adjacent* pair of vectors until ``k_i`` remain; each result keeps the
frames (and so the time span) it covers. The segment's summary token is the
frame-weighted mean of its memories.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Compressed:
    """Result of memory bank compression of one segment.

    Attributes:
        vectors: ``(k, d)`` float32 memories, L2-normalised.
        groups: ``(k, 2)`` int frame ranges ``[first, last)`` relative to the segment.
        counts: ``(k,)`` frames merged into each memory.
    """

    vectors: np.ndarray
    groups: np.ndarray
    counts: np.ndarray


def busyness(sims: np.ndarray) -> float:
    """How much a segment changes: ``1 - mean`` of its internal neighbour similarities."""
    s = np.asarray(sims, dtype=np.float64)
    return float(1.0 - s.mean()) if len(s) else 0.0


def compression_rates(
    busy: np.ndarray, reference: np.ndarray, *, alpha_min: float, alpha_max: float
) -> np.ndarray:
    """Map segment busyness to compression rates ``alpha`` in ``[alpha_min, alpha_max]``.

    The scale is set by the video's own per-gap changes (``reference`` = ``1 - s`` of every
    gap): a segment as busy as the video's 90th percentile gets ``alpha_min``, one as
    calm as its 10th percentile gets ``alpha_max``, linearly in between.

    Args:
        busy: Per-segment busyness.
        reference: Per-gap ``1 - s`` for the whole video.
        alpha_min: Rate of the busiest segments (frames per memory).
        alpha_max: Rate of the calmest segments.

    Returns:
        Per-segment alpha.
    """
    busy = np.asarray(busy, dtype=np.float64)
    if len(reference) == 0:
        return np.full(len(busy), float(alpha_max))
    lo, hi = np.percentile(reference, [10, 90])
    x = np.clip((busy - lo) / max(hi - lo, 1e-9), 0.0, 1.0)
    return alpha_max - (alpha_max - alpha_min) * x


def memory_budget(n_frames: int, alpha: float) -> int:
    """``k = ceil(n / alpha)``, at least 1."""
    return max(1, math.ceil(n_frames / max(alpha, 1e-9)))


def _normalise(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def memory_bank_compress(features: np.ndarray, k: int) -> Compressed:
    """MA-LMM memory bank compression: merge the most similar adjacent pair until k remain.

    Merging averages the two vectors weighted by how many frames each already holds, so
    a memory is the mean of the frames it covers.

    Args:
        features: ``(n, d)`` frame features of one segment, in time order.
        k: Number of memories to keep (clipped to ``[1, n]``).

    Returns:
        The compressed memories with their frame groups.
    """
    feats = np.asarray(features, dtype=np.float64)
    n = len(feats)
    if n == 0:
        return Compressed(
            np.zeros((0, feats.shape[1] if feats.ndim == 2 else 0), np.float32),
            np.zeros((0, 2), np.int64),
            np.zeros(0, np.int64),
        )
    k = int(min(max(k, 1), n))
    sums = feats.copy()  # running sums; the mean is sums / counts
    counts = np.ones(n, dtype=np.int64)
    firsts = np.arange(n)
    unit = _normalise(feats)
    sims = np.einsum("ij,ij->i", unit[:-1], unit[1:]) if n > 1 else np.zeros(0)
    sims = sims.tolist()
    sums_l = list(sums)
    counts_l = counts.tolist()
    firsts_l = firsts.tolist()
    while len(sums_l) > k:
        j = int(np.argmax(sims))  # merge j and j+1
        sums_l[j] = sums_l[j] + sums_l[j + 1]
        counts_l[j] += counts_l[j + 1]
        del sums_l[j + 1], counts_l[j + 1], firsts_l[j + 1], sims[j]
        mean_j = _normalise(sums_l[j] / counts_l[j])
        if j > 0:
            sims[j - 1] = float(_normalise(sums_l[j - 1] / counts_l[j - 1]) @ mean_j)
        if j < len(sums_l) - 1:
            sims[j] = float(mean_j @ _normalise(sums_l[j + 1] / counts_l[j + 1]))
    counts_a = np.asarray(counts_l, dtype=np.int64)
    vectors = _normalise(np.stack(sums_l) / counts_a[:, None]).astype(np.float32)
    starts = np.asarray(firsts_l, dtype=np.int64)
    groups = np.stack([starts, starts + counts_a], axis=1)
    return Compressed(vectors, groups, counts_a)


def summary_token(compressed: Compressed) -> np.ndarray:
    """Clip-level summary token: the frame-weighted mean of the memories, normalised."""
    w = compressed.counts.astype(np.float64)[:, None]
    return _normalise((compressed.vectors * w).sum(axis=0) / max(w.sum(), 1.0)).astype(np.float32)


def medoid(features: np.ndarray) -> int:
    """Index of the row most similar to the (normalised) mean: the segment's keyframe."""
    f = _normalise(np.asarray(features, dtype=np.float64))
    return int(np.argmax(f @ _normalise(f.mean(axis=0))))
