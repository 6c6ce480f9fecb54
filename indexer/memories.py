"""Segments and memories of one video: segmentation of the frame pass, compression of
each segment into feature memories and a summary, tags, keyframe, visual rows and crops,
written through the video's writer."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..config import IndexConfig
from .compress import (
    busyness,
    compression_rates,
    medoid,
    memory_bank_compress,
    memory_budget,
    summary_token,
)
from .decode import VideoProbe
from .encoders import FrameEncoder
from .frames import FramePass
from .segment import SegmentSpan, segment_video
from .text_stage import SegmentInfo
from .visual import CropJob, add_memory_rows, classify_crops


@dataclass
class _Written:
    info: SegmentInfo
    n_memories: int
    crop: CropJob | None = None


def segments_and_memories(
    writer: Any,
    frames: FramePass,
    probe: VideoProbe,
    encoder: FrameEncoder,
    thumbs: Path,
    duration: float,
    c: IndexConfig,
) -> tuple[dict[str, Any], list[SegmentInfo]]:
    """Segment the frame pass, compress each segment into memories and write them
    (with tags, keyframe, visual rows, then the crops of unsure keyframes).

    Returns:
        ``(stats, segments)``: counts and timings, and what the text stage needs.
    """
    t0 = time.perf_counter()
    times = np.asarray(frames.times)
    sims = np.asarray(frames.sims, dtype=np.float64)
    spans = segment_video(
        times,
        sims,
        duration=duration,
        method=c.segmentation,
        min_len=c.min_segment_s,
        max_len=c.max_segment_s,
        std_factor=c.depth_std_factor,
        fixed_window=c.fixed_window_s,
    )
    t_seg = time.perf_counter() - t0
    busy = np.asarray([busyness(sims[s.first : s.last - 1]) for s in spans])
    alphas = compression_rates(busy, 1.0 - sims, alpha_min=c.alpha_min, alpha_max=c.alpha_max)
    t1 = time.perf_counter()
    infos = [
        _write_segment(c, writer, frames, span, float(alpha), encoder, thumbs)
        for span, alpha in zip(spans, alphas, strict=True)
    ]
    t2 = time.perf_counter()
    jobs = [i.crop for i in infos if i.crop is not None]
    crops = 0
    if jobs:
        with encoder.all_cores():  # the frame pass is over: its cores are free
            crops = classify_crops(writer, encoder, jobs, c.batch_size)
    stats = {
        "segments": len(spans),
        "memories": sum(i.n_memories for i in infos),
        "crops": crops,
        "seconds_segment": t_seg,
        "seconds_compress": t2 - t1,
        "seconds_crops": time.perf_counter() - t2,
    }
    return stats, [i.info for i in infos]


def _write_segment(
    c: IndexConfig,
    writer: Any,
    frames: FramePass,
    span: SegmentSpan,
    alpha: float,
    encoder: FrameEncoder,
    thumbs: Path,
) -> _Written:
    times = frames.times
    feats = writer.frame_features(span.first, span.last)
    k = memory_budget(span.n_frames, alpha)
    comp = memory_bank_compress(feats, k)
    seg = writer.add_segment(
        index=span.index,
        start=span.start,
        end=span.end,
        n_frames=span.n_frames,
        depth=span.depth,
        alpha=alpha,
        budget=len(comp.vectors),
    )
    labels = encoder.labels

    def tags_of(first: int, last: int) -> list[tuple[str, float]]:
        if not labels or not frames.prob_idx:
            return []
        mean = frames.sparse_mean(first, last, len(labels))
        top = np.argsort(-mean)[: c.tags_per_memory]
        return [(labels[i], round(float(mean[i]), 4)) for i in top if mean[i] >= 0.01]

    rows: list[tuple[int, int, int, float, float]] = []
    for (g0, g1), vec, count in zip(comp.groups, comp.vectors, comp.counts, strict=True):
        a, b = span.first + int(g0), span.first + int(g1)
        start = span.start if g0 == 0 else (times[a - 1] + times[a]) / 2
        end = span.end if b == span.last else (times[b - 1] + times[b]) / 2
        mkey = writer.add_memory(
            segment=seg,
            kind="feature",
            start=float(start),
            end=float(end),
            n_frames=int(count),
            vector=vec,
            tags=tags_of(a, b),
        )
        rows.append((mkey, a, b, float(start), float(end)))
    seg_tags = tags_of(span.first, span.last)
    summary = summary_token(comp)
    writer.add_memory(
        segment=seg,
        kind="summary",
        start=span.start,
        end=span.end,
        n_frames=span.n_frames,
        vector=summary,
        tags=[],
    )
    if seg_tags:
        writer.add_segment_tags(seg, seg_tags)
    key = span.first + medoid(feats)
    thumb = thumbs / f"{frames.thumb_of[key]}.jpg"
    if thumb.exists():
        writer.add_keyframe(segment=seg, t=float(times[key]), jpeg=thumb.read_bytes())
    crop = _visual_rows(c, writer, frames, seg, rows, key, thumb, len(labels or ()))
    info = SegmentInfo(
        key=seg,
        start=span.start,
        end=span.end,
        tags=[lab for lab, _ in seg_tags],
        summary=summary,
        keyframe=thumb if thumb.exists() else None,
    )
    return _Written(info=info, n_memories=len(comp.vectors), crop=crop)


def _visual_rows(
    c: IndexConfig,
    writer: Any,
    frames: FramePass,
    seg: int,
    rows: list[tuple[int, int, int, float, float]],
    key: int,
    thumb: Path,
    n_classes: int,
) -> CropJob | None:
    """Visual rows of the segment's memories; a crop job for an unsure keyframe."""
    keyframe = None
    if c.facets and thumb.exists():
        from PIL import Image

        with Image.open(thumb) as im:
            keyframe = np.asarray(im.convert("RGB"))
    add_memory_rows(
        writer, frames, segment=seg, memories=rows, n_classes=n_classes, keyframe=keyframe
    )
    if not (c.crops and n_classes and frames.prob_val and thumb.exists()):
        return None
    if float(frames.prob_val[key].max()) >= c.crop_max_top1:
        return None
    mkey, _, _, start, end = next((r for r in rows if r[1] <= key < r[2]), rows[0])
    return CropJob(segment=seg, memory=mkey, start=start, end=end, thumb=thumb)
