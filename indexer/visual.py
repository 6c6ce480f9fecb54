"""Visual rows of a segment: per feature memory top class probabilities and pixel facets,
and the classes of crops of the segment's keyframe (centre and quadrants).

Whole-frame classification at 224 pixels misses an object that fills a quarter of the
frame; classifying the keyframe's centre and quadrants gives it the resolution to be
recognised. Crops run only on keyframes the whole-frame classifier is unsure about (top
class below ``IndexConfig.crop_max_top1``): a confident frame is dominated by one thing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .facets import count_faces, memory_facets
from .frames import FramePass

#: Class probabilities kept per visual row (sparse).
TOP_CLASSES = 50
#: Crop boxes as fractions of the frame: ``(name, x0, y0, x1, y1)``.
CROPS = (
    ("centre", 0.25, 0.25, 0.75, 0.75),
    ("top-left", 0.0, 0.0, 0.55, 0.55),
    ("top-right", 0.45, 0.0, 1.0, 0.55),
    ("bottom-left", 0.0, 0.45, 0.55, 1.0),
    ("bottom-right", 0.45, 0.45, 1.0, 1.0),
)


def top_classes(probs: np.ndarray, top: int = TOP_CLASSES) -> tuple[np.ndarray, np.ndarray]:
    """The ``top`` largest entries of a dense probability vector (indices, values), best
    first, zeros dropped."""
    top = min(top, len(probs))
    idx = np.argpartition(-probs, top - 1)[:top] if top < len(probs) else np.arange(len(probs))
    idx = idx[np.argsort(-probs[idx])]
    idx = idx[probs[idx] > 0]
    return idx.astype(np.int16), probs[idx].astype(np.float16)


def crop_views(rgb: np.ndarray) -> list[tuple[str, np.ndarray]]:
    """The :data:`CROPS` of an ``HxWx3`` image."""
    h, w = rgb.shape[:2]
    out = []
    for name, x0, y0, x1, y1 in CROPS:
        a, b = int(round(y0 * h)), max(int(round(y1 * h)), int(round(y0 * h)) + 2)
        c, d = int(round(x0 * w)), max(int(round(x1 * w)), int(round(x0 * w)) + 2)
        out.append((name, np.ascontiguousarray(rgb[a:b, c:d])))
    return out


@dataclass
class CropJob:
    """A keyframe waiting for its crops to be classified."""

    segment: int
    memory: int | None
    start: float
    end: float
    thumb: Path


def add_memory_rows(
    writer: Any,
    frames: FramePass,
    *,
    segment: int,
    memories: Sequence[tuple[int, int, int, float, float]],
    n_classes: int,
    keyframe: np.ndarray | None,
) -> int:
    """Add a visual row per feature memory of one segment.

    Args:
        writer: The video's writer.
        frames: The frame pass (class probabilities and facet statistics per frame).
        segment: Provisional segment key.
        memories: ``(memory key, first frame, last frame, start, end)`` per memory.
        n_classes: Classes of the encoder (0: no classifier).
        keyframe: The segment's keyframe (faces are counted on it), or None.

    Returns:
        Faces found on the keyframe.
    """
    faces = count_faces(keyframe) if keyframe is not None else 0
    for key, a, b, start, end in memories:
        idx = p = None
        if n_classes and frames.prob_idx:
            idx, p = top_classes(frames.sparse_mean(a, b, n_classes))
        facets = memory_facets(frames.facet_stats[a:b], faces) if frames.facet_stats else None
        writer.add_visual(
            segment=segment,
            memory=key,
            source="memory",
            start=start,
            end=end,
            class_idx=idx,
            class_p=p,
            facets=facets,
        )
    return faces


def classify_crops(writer: Any, encoder: Any, jobs: Sequence[CropJob], batch_size: int) -> int:
    """Classify the crops of every job's keyframe and add one visual row per crop.

    Returns:
        Crops classified.
    """
    from PIL import Image

    views: list[tuple[CropJob, str, np.ndarray]] = []
    for job in jobs:
        try:
            with Image.open(job.thumb) as im:
                rgb = np.asarray(im.convert("RGB"))
        except OSError:
            continue
        views += [(job, name, img) for name, img in crop_views(rgb)]
    step = max(1, batch_size)
    for i in range(0, len(views), step):
        chunk = views[i : i + step]
        enc = encoder.encode([img for _, _, img in chunk])
        if enc.probs is None:
            return 0
        for (job, name, _), probs in zip(chunk, enc.probs, strict=True):
            idx, p = top_classes(np.asarray(probs, np.float32))
            writer.add_visual(
                segment=job.segment,
                memory=job.memory,
                source=f"crop:{name}",
                start=job.start,
                end=job.end,
                class_idx=idx,
                class_p=p,
            )
    return len(views)
