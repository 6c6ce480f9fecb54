"""The coarse levels of the memory hierarchy (VideoLucy): chapters and the video summary.

Chapters group neighbouring segments whose summary tokens stay similar, within a length
range, so an hour gives roughly 10–30 chapters. Without a vision-language model, every
level's text is composed from what the index holds (visual tags, on-screen text, speech);
an LLM, when configured, rewrites chapter and video summaries from that evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, kw_only=True)
class SegmentText:
    """What the index knows about one segment, as text."""

    index: int
    start: float
    end: float
    tags: list[str]
    ocr: list[str]
    speech: list[str]


@dataclass(frozen=True, kw_only=True)
class ChapterSpan:
    """A run of segments ``[first, last)``."""

    index: int
    first: int
    last: int
    start: float
    end: float


def group_chapters(
    summaries: np.ndarray,
    starts: Sequence[float],
    ends: Sequence[float],
    *,
    min_len: float = 60.0,
    max_len: float = 300.0,
    threshold: float = 0.8,
) -> list[ChapterSpan]:
    """Group consecutive segments into chapters.

    A segment joins the open chapter while its summary token is at least ``threshold``
    similar to the chapter's mean and the chapter is shorter than ``max_len``; a chapter
    shorter than ``min_len`` always takes the next segment.

    Args:
        summaries: ``(n, d)`` normalised segment summary tokens, in time order.
        starts: Segment start times.
        ends: Segment end times.
        min_len: Minimum chapter length in seconds (except the last chapter).
        max_len: Maximum chapter length in seconds (a single longer segment stays whole).
        threshold: Cosine similarity needed to extend a chapter past ``min_len``.

    Returns:
        Contiguous chapters covering all segments.
    """
    n = len(starts)
    if n == 0:
        return []
    vecs = np.asarray(summaries, dtype=np.float64)
    chapters: list[ChapterSpan] = []
    first = 0
    acc = vecs[0].copy()
    for i in range(1, n):
        length = ends[i - 1] - starts[first]
        mean = acc / max(np.linalg.norm(acc), 1e-12)
        sim = float(vecs[i] @ mean)
        grow = length < min_len or (sim >= threshold and ends[i] - starts[first] <= max_len)
        if grow:
            acc += vecs[i]
            continue
        chapters.append(
            ChapterSpan(
                index=len(chapters),
                first=first,
                last=i,
                start=float(starts[first]),
                end=float(ends[i - 1]),
            )
        )
        first, acc = i, vecs[i].copy()
    chapters.append(
        ChapterSpan(
            index=len(chapters),
            first=first,
            last=n,
            start=float(starts[first]),
            end=float(ends[n - 1]),
        )
    )
    return chapters


def _top(items: Sequence[str], k: int) -> list[str]:
    seen: dict[str, int] = {}
    for it in items:
        key = it.strip()
        if key:
            seen[key] = seen.get(key, 0) + 1
    return [t for t, _ in sorted(seen.items(), key=lambda p: -p[1])[:k]]


def compose_caption(seg: SegmentText, *, max_chars: int = 400) -> str:
    """A segment's text memory composed from its tags, on-screen text and speech."""
    parts = []
    if seg.tags:
        parts.append("Looks like: " + ", ".join(seg.tags[:5]) + ".")
    if seg.ocr:
        parts.append("On screen: " + " | ".join(f'"{t}"' for t in _top(seg.ocr, 3)) + ".")
    if seg.speech:
        parts.append("Said: " + " ".join(seg.speech))
    text = " ".join(parts)
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def compose_summary(segs: Sequence[SegmentText], *, max_chars: int = 600) -> tuple[str, str]:
    """Title and summary of a run of segments, composed without an LLM."""
    tags = _top([t for s in segs for t in s.tags[:3]], 4)
    ocr = _top([t for s in segs for t in s.ocr], 2)
    speech = [t for s in segs for t in s.speech]
    title = ", ".join(tags[:3]) if tags else (ocr[0] if ocr else "untitled")
    parts = []
    if tags:
        parts.append("Mostly: " + ", ".join(tags) + ".")
    if ocr:
        parts.append("On screen: " + " | ".join(f'"{t}"' for t in ocr) + ".")
    if speech:
        parts.append(f'{len(speech)} spoken lines, e.g. "{speech[0]}"')
    text = " ".join(parts) or "No text or tags."
    return title, (text if len(text) <= max_chars else text[: max_chars - 1] + "…")
