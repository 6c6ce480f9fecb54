"""Evidence items gathered by the agent, and how they become prompts and citations.

An :class:`Evidence` is one time range of one video with the text the LLM sees about it
(a transcript line, an OCR item, a caption, a segment's tags...) and, for visual items,
an image a VLM can look at. Items are keyed by a stable ``id`` so that the graph's
reducer (:func:`merge_evidence`) can merge the evidence of several nodes without
duplicates.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ..timefmt import fmt_span
from ..types import Citation

EvidenceKind = Literal["speech", "ocr", "caption", "visual", "tag", "summary", "chapter"]
Level = Literal["video", "chapter", "segment", "memory", "frame", "line"]

#: Evidence kind → citation kind (the output contract knows four kinds).
CITATION_KIND: dict[str, Literal["visual", "speech", "ocr", "caption"]] = {
    "speech": "speech",
    "ocr": "ocr",
    "caption": "caption",
    "summary": "caption",
    "chapter": "caption",
    "visual": "visual",
    "tag": "visual",
}


@dataclass(frozen=True, kw_only=True)
class Evidence:
    """One piece of evidence: a time range of a video and what is known about it.

    Attributes:
        id: Stable key, e.g. ``"speech:3:120.50"``; equal ids merge.
        video_id: Library id of the video.
        video: Path of the video (what citations name).
        start: Start in seconds.
        end: End in seconds.
        kind: What the text is (speech, ocr, caption, visual, tag, summary, chapter).
        text: What the LLM sees about this range.
        score: Relevance in [0, 1] (higher is better); orders prompt space.
        level: Granularity (video, chapter, segment, memory, frame, line).
        segment_id: The segment the range belongs to, when known.
        image: A JPEG path (keyframe/thumbnail) or ``"frame:<video_id>:<t>"`` (a frame
            re-read at question time, cached in the context), for a VLM.
        source: Which retriever produced it (``fts``, ``time``, ``labels``, ``clip``...).
        option: For multiple-choice questions, the option this item supports.
    """

    id: str
    video_id: int
    video: str
    start: float
    end: float
    kind: EvidenceKind
    text: str
    score: float = 0.0
    level: Level = "segment"
    segment_id: int | None = None
    image: str | None = None
    source: str = ""
    option: str | None = None

    @property
    def mid(self) -> float:
        """The middle of the time range."""
        return (self.start + self.end) / 2


def make_id(
    kind: str, video_id: int, start: float, end: float | None = None, *, text: str | None = None
) -> str:
    """A stable evidence id from its kind, video, time range and (for text rows) text.

    Two text rows can share a time range (the lines of one slide, read as separate OCR
    items): their ``text`` keeps their ids apart, so merging evidence does not drop one.
    """
    tail = f":{end:.2f}" if end is not None else ""
    if text:
        norm = " ".join(text.lower().split())
        tail += "#" + hashlib.md5(norm.encode("utf-8")).hexdigest()[:8]
    return f"{kind}:{video_id}:{start:.2f}{tail}"


def merge_evidence(
    old: Sequence[Evidence] | None, new: Sequence[Evidence] | None
) -> list[Evidence]:
    """Graph reducer: add ``new`` items to ``old``; an id seen again keeps its best score.

    Args:
        old: Evidence gathered so far.
        new: Evidence from one node.

    Returns:
        The merged list, in first-seen order.
    """
    out: dict[str, Evidence] = {e.id: e for e in (old or [])}
    for e in new or []:
        prev = out.get(e.id)
        if prev is None:
            out[e.id] = e
        elif e.score > prev.score or (e.option and not prev.option):
            out[e.id] = replace(
                e,
                score=max(e.score, prev.score),
                option=e.option or prev.option,
                image=e.image or prev.image,
            )
    return list(out.values())


def best_first(items: Iterable[Evidence]) -> list[Evidence]:
    """Items by decreasing score, earlier first among equals."""
    return sorted(items, key=lambda e: (-e.score, e.start, e.id))


def select_for_prompt(
    items: Sequence[Evidence],
    *,
    max_items: int,
    max_chars: int,
    per_item_chars: int = 240,
    min_ratio: float = 0.25,
) -> list[Evidence]:
    """The evidence worth the prompt's space: best first within a count and character budget.

    An item that only repeats an overlapping chosen item is skipped; past the first four,
    items scoring under ``min_ratio`` of the best are left out. The chosen items are put
    back in time order (per video) so the LLM reads a timeline.

    Args:
        items: All evidence.
        max_items: At most this many.
        max_chars: Total characters of item texts.
        per_item_chars: Each text is cut to this length.
        min_ratio: Relative score floor (after four items).

    Returns:
        The chosen items, in (video, start) order.
    """
    chosen: list[Evidence] = []
    used = 0
    ranked = best_first(items)
    floor = ranked[0].score * min_ratio if ranked else 0.0
    for e in ranked:
        if len(chosen) >= max_items or (len(chosen) >= 4 and e.score < floor):
            break
        if any(_repeats(e, c) for c in chosen):
            continue
        cost = min(len(e.text), per_item_chars) + 24
        if chosen and used + cost > max_chars:
            continue
        chosen.append(e)
        used += cost
    return sorted(chosen, key=lambda e: (e.video, e.start, e.id))


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def _repeats(e: Evidence, c: Evidence) -> bool:
    """True when ``e`` says nothing that ``c`` (overlapping it) does not already say."""
    return (
        e.video_id == c.video_id
        and e.start < c.end
        and c.start < e.end
        and bool(e.text)
        and _norm(e.text) in _norm(c.text)
    )


def format_evidence(
    items: Sequence[Evidence], *, per_item_chars: int = 240, show_video: bool = False
) -> str:
    """Numbered evidence lines for a prompt: ``[3] 02:10–02:14 speech: "..."``.

    Args:
        items: Evidence in the order to number it (1-based).
        per_item_chars: Texts are cut to this length.
        show_video: Prefix each line with the video's file name (library-wide questions).

    Returns:
        One line per item.
    """
    lines = []
    for i, e in enumerate(items, 1):
        text = " ".join(e.text.split())
        if len(text) > per_item_chars:
            text = text[: per_item_chars - 1].rstrip() + "…"
        where = f"{_basename(e.video)} " if show_video else ""
        lines.append(f"[{i}] {where}{fmt_span(e.start, e.end)} {e.kind}: {text}")
    return "\n".join(lines)


def _basename(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def clip_span(
    start: float, end: float, duration: float | None, max_len: float
) -> tuple[float, float] | None:
    """Clip a range to ``[0, duration]`` and to at most ``max_len`` seconds (around its middle).

    Args:
        start: Range start.
        end: Range end.
        duration: Video duration; None or <= 0 means unknown (only 0 bounds the range).
        max_len: Longest allowed range.

    Returns:
        The clipped ``(start, end)``, or None when nothing of the range is inside the video.
    """
    lo, hi = min(start, end), max(start, end)
    lo = max(lo, 0.0)
    if duration and duration > 0:
        hi = min(hi, duration)
        if lo > duration:
            return None
    if hi < lo:
        return None
    if hi - lo > max_len:
        mid = (lo + hi) / 2
        lo, hi = mid - max_len / 2, mid + max_len / 2
    return round(lo, 3), round(hi, 3)


def to_citations(
    items: Sequence[Evidence],
    durations: dict[int, float],
    *,
    max_citations: int = 8,
    max_len: float = 60.0,
) -> list[Citation]:
    """Citations for the evidence an answer used, most relevant first.

    Each range is clipped to the video's ``[0, duration]`` and to ``max_len`` seconds;
    a range inside one already cited, or containing one (same video and kind), adds no
    precision and is dropped.

    Args:
        items: The used evidence, most relevant first.
        durations: Video id → duration.
        max_citations: At most this many citations.
        max_len: Longest citation in seconds.

    Returns:
        Citations with kinds mapped to visual/speech/ocr/caption.
    """
    out: list[Citation] = []
    for e in items:
        span = clip_span(e.start, e.end, durations.get(e.video_id), max_len)
        if span is None:
            continue
        kind = CITATION_KIND.get(e.kind, "visual")
        dup = any(
            c.video == e.video
            and c.kind == kind
            and (
                (c.start <= span[0] and span[1] <= c.end)
                or (span[0] <= c.start and c.end <= span[1])
            )
            for c in out
        )
        if dup:
            continue
        out.append(Citation(video=e.video, start=span[0], end=span[1], kind=kind))
        if len(out) >= max_citations:
            break
    return out
