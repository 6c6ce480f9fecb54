"""Per-question cache of one video's rows (segments, transcript, OCR, captions, tags).

An hour of video has tens to a few hundred segments and at most a few thousand text rows,
so reading them once per question is cheap (milliseconds) and lets the agent do time
lookups, phrase matching and counting in memory instead of many small queries.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from functools import cached_property
from types import SimpleNamespace
from typing import Any

from ..types import Segment, Tag, TranscriptLine, Video


def row_text(row: Any) -> str:
    """The text of a text-memory row (``text``, or a chapter's ``title. summary``)."""
    text = getattr(row, "text", None)
    if text:
        return str(text)
    title = getattr(row, "title", "") or ""
    summary = getattr(row, "summary", "") or ""
    return f"{title}. {summary}".strip(" .") if summary else str(title)


class VideoMemo:
    """Lazily loaded rows of one video.

    Args:
        store: The library store (read API of :class:`~hourlens.memory_store.Store`).
        video: The video.
        modalities: The memories to read (``speech``, ``ocr``, ``visual``); rows of the
            others read as empty (tags, captions and chapters are ``visual``).
    """

    def __init__(
        self, store: Any, video: Video, *, modalities: Iterable[str] = ("speech", "ocr", "visual")
    ) -> None:
        self.store = store
        self.video = video
        self.modalities = frozenset(modalities)

    @cached_property
    def segments(self) -> list[Segment]:
        """Segments in time order."""
        return sorted(self.store.segments(self.video.id), key=lambda s: (s.start, s.id))

    @cached_property
    def _starts(self) -> list[float]:
        return [s.start for s in self.segments]

    @cached_property
    def by_id(self) -> dict[int, Segment]:
        """Segment id → segment."""
        return {s.id: s for s in self.segments}

    @cached_property
    def transcript(self) -> list[TranscriptLine]:
        """All transcript lines, in time order."""
        if "speech" not in self.modalities:
            return []
        return sorted(self.store.transcript(self.video.id), key=lambda r: (r.start, r.end))

    @cached_property
    def ocr(self) -> list[Any]:
        """All OCR items, in time order."""
        if "ocr" not in self.modalities:
            return []
        return sorted(self.store.ocr_items(self.video.id), key=lambda r: (r.start, r.end))

    @cached_property
    def captions(self) -> list[Any]:
        """All captions (segment, chapter and video level), in time order."""
        if "visual" not in self.modalities:
            return []
        return sorted(self.store.captions(self.video.id), key=lambda r: (r.start, r.end))

    @cached_property
    def chapters(self) -> list[Any]:
        """Chapters in order."""
        if "visual" not in self.modalities:
            return []
        return sorted(self.store.chapters(self.video.id), key=lambda r: (r.start, r.end))

    @cached_property
    def tags(self) -> list[Tag]:
        """All tags (segment-level and memory-level)."""
        if "visual" not in self.modalities:
            return []
        return list(self.store.tags(self.video.id))

    @cached_property
    def segment_tags(self) -> dict[int, list[Tag]]:
        """Segment id → its segment-level tags, best first."""
        out: dict[int, list[Tag]] = {}
        for t in sorted(self.tags, key=lambda t: -t.score):
            if t.memory_id is None:
                out.setdefault(t.segment_id, []).append(t)
        return out

    @cached_property
    def memory_tags(self) -> dict[int, list[Tag]]:
        """Memory id → its tags, best first."""
        out: dict[int, list[Tag]] = {}
        for t in sorted(self.tags, key=lambda t: -t.score):
            if t.memory_id is not None:
                out.setdefault(t.memory_id, []).append(t)
        return out

    def segment_at(self, t: float) -> Segment | None:
        """The segment covering time ``t`` (the nearest one when ``t`` falls in a gap)."""
        segs = self.segments
        if not segs:
            return None
        i = bisect.bisect_right(self._starts, t) - 1
        if i < 0:
            return segs[0]
        seg = segs[i]
        if t <= seg.end or i + 1 >= len(segs):
            return seg
        nxt = segs[i + 1]
        return seg if t - seg.end <= nxt.start - t else nxt

    def neighbours(self, segment_id: int) -> list[Segment]:
        """The segments just before and after ``segment_id``."""
        segs = self.segments
        for i, s in enumerate(segs):
            if s.id == segment_id:
                return [segs[j] for j in (i - 1, i + 1) if 0 <= j < len(segs)]
        return []

    def within(self, rows: list[Any], start: float, end: float) -> list[Any]:
        """Rows of ``rows`` (time-ordered) overlapping ``[start, end]``."""
        return [
            r
            for r in rows
            if r.start < end and r.end > start or (r.start == r.end and start <= r.start <= end)
        ]

    def video_summary(self) -> str:
        """The video-level caption, if the index has one."""
        for c in self.captions:
            if getattr(c, "level", "segment") == "video":
                return row_text(c)
        return ""

    def segment_text(self, seg: Segment, *, max_chars: int = 220) -> tuple[str, str]:
        """A short description of a segment from its memories, and its main modality.

        Combines the segment caption, top tags, speech and on-screen text inside its span.

        Returns:
            ``(text, kind)`` where kind is ``caption``, ``speech``, ``ocr`` or ``tag``.
        """
        parts: list[tuple[str, str]] = []
        caps = [
            c
            for c in self.within(self.captions, seg.start, seg.end)
            if getattr(c, "level", "segment") == "segment"
        ]
        if caps:
            parts.append(("caption", "; ".join(row_text(c) for c in caps[:2])))
        lines = self.within(self.transcript, seg.start, seg.end)
        if lines:
            parts.append(("speech", "says: " + " ".join(r.text for r in lines[:4])))
        ocr = self.within(self.ocr, seg.start, seg.end)
        if ocr:
            parts.append(("ocr", "on screen: " + " | ".join(row_text(r) for r in ocr[:3])))
        labels = list(dict.fromkeys(t.label for t in self.segment_tags.get(seg.id, [])))[:3]
        if labels:
            parts.append(("tag", "looks like: " + ", ".join(labels)))
        if not parts:
            return "(no text memories)", "tag"
        text = "; ".join(p[1] for p in parts)
        if len(text) > max_chars:
            text = text[: max_chars - 1].rstrip() + "…"
        return text, parts[0][0]


def text_blocks(rows: Sequence[Any]) -> list[Any]:
    """Time-ordered OCR rows with the lines of one block joined: consecutive rows shown over
    the same span (within 0.5 s), like the two lines of one slide, become one row."""
    out: list[Any] = []
    for r in rows:
        prev = out[-1] if out else None
        if prev is not None and abs(r.start - prev.start) <= 0.5 and abs(r.end - prev.end) <= 0.5:
            out[-1] = SimpleNamespace(
                start=prev.start,
                end=prev.end,
                text=f"{row_text(prev)} {row_text(r)}",
                segment_id=getattr(prev, "segment_id", None),
            )
        else:
            out.append(r)
    return out
