"""The coarse look: the video/chapter overview plus the route's own lookups.

Deterministic by design (DESIGN §4b): a time question reads the rows at that time, a
phrase question matches the transcript, a visual question goes through CLIP or the label
space, a multiple-choice question retrieves each option separately.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from .context import Context
from .evidence import Evidence, make_id
from .memo import row_text
from .nodes_retrieve import (
    fts_evidence,
    phrase_evidence,
    text_vector_evidence,
    time_evidence,
    visual_evidence,
    window_evidence,
)
from .state import Option, Route, Turn
from .textutil import phrase_match, tokens


def overview_evidence(ctx: Context, query: str, *, chapters: int = 3) -> list[Evidence]:
    """The top of the memory hierarchy: the video summary and the best-matching chapters."""
    out: list[Evidence] = []
    for v in ctx.videos:
        memo = ctx.memo(v.id)
        summary = memo.video_summary()
        if summary:
            out.append(
                Evidence(
                    id=make_id("summary", v.id, 0.0, v.duration),
                    video_id=v.id,
                    video=v.path,
                    start=0.0,
                    end=v.duration,
                    kind="summary",
                    text=summary,
                    score=0.3,
                    level="video",
                    source="overview",
                )
            )
        scored = sorted(
            ((phrase_match(query, row_text(c)), c) for c in memo.chapters), key=lambda p: -p[0]
        )[:chapters]
        for s, c in scored:
            out.append(
                Evidence(
                    id=make_id("chapter", v.id, c.start, c.end),
                    video_id=v.id,
                    video=v.path,
                    start=c.start,
                    end=c.end,
                    kind="chapter",
                    text=row_text(c),
                    score=round(0.15 + 0.5 * s, 4),
                    level="chapter",
                    source="overview",
                )
            )
    return out


def option_evidence(
    ctx: Context, opt: Option, *, k: int = 3, window: tuple[float, float] | None = None
) -> list[Evidence]:
    """Evidence for one multiple-choice option, retrieved on its own."""
    if opt.modality in ("speech", "ocr"):
        found = phrase_evidence(ctx, opt.query, opt.modality, k=k, window=window, option=opt.letter)
        if not found:
            found = [
                replace(e, option=opt.letter)
                for e in fts_evidence(ctx, opt.query, k=k, kinds=[opt.modality], phrase=opt.query)
            ]
        return found
    return visual_evidence(ctx, opt.query, k=k, window=window, option=opt.letter)


def anchor_window(anchor: Evidence, direction: str, length: float) -> tuple[float, float]:
    """The range right after (or before) an anchor item."""
    if direction == "before":
        return max(0.0, anchor.start - length), anchor.start
    return anchor.end, anchor.end + length


def count_evidence(ctx: Context, word: str) -> list[Evidence]:
    """Every transcript line saying ``word`` (one item per line; ``text`` keeps the line)."""
    want = tokens(word)
    out: list[Evidence] = []
    if not want:
        return out
    for v in ctx.videos:
        for r in ctx.memo(v.id).transcript:
            toks = tokens(r.text)
            n = sum(toks[i : i + len(want)] == want for i in range(len(toks) - len(want) + 1))
            if n:
                out.append(
                    Evidence(
                        id=make_id("speech", v.id, r.start, r.end),
                        video_id=v.id,
                        video=v.path,
                        start=r.start,
                        end=r.end,
                        kind="speech",
                        text=r.text,
                        score=0.9,
                        level="line",
                        source=f"count:{n}",
                    )
                )
    return out


def plain_fraction(path: str) -> tuple[float, float]:
    """How plain an image is: the fraction of pixels within 12 grey levels of the median,
    and that median (0-255). ``(0, 0)`` when it cannot be read."""
    from PIL import Image

    try:
        with Image.open(path) as im:
            grey = np.asarray(im.convert("L"), dtype=np.float32)
    except OSError:
        return 0.0, 0.0
    med = float(np.median(grey))
    return float((np.abs(grey - med) <= 12).mean()), med


def slide_evidence(
    ctx: Context, *, dark: bool | None = None, min_plain: float = 0.9
) -> list[Evidence]:
    """Every showing of a text slide: a segment whose keyframe is a plain background
    (``dark``: median grey under 100; ``False``: over 155) with on-screen text of two
    words or more. Neighbouring segments with the same text are one showing.

    Returns:
        One ``ocr`` item per showing, ``source="count:1"``.
    """
    out: list[Evidence] = []
    for v in ctx.videos:
        memo = ctx.memo(v.id)
        prev: Evidence | None = None
        for seg in memo.segments:
            text = " ".join(row_text(r) for r in memo.within(memo.ocr, seg.start, seg.end))
            kfs = (
                ctx.store.keyframes(video_id=v.id, segment_id=seg.id)
                if len(tokens(text)) >= 2
                else []
            )
            plain, med = plain_fraction(kfs[0].path) if kfs else (0.0, 0.0)
            if plain < min_plain or (dark is True and med >= 100) or (dark is False and med <= 155):
                prev = None
                continue
            if (
                prev is not None
                and prev.end >= seg.start - 0.5
                and phrase_match(text, prev.text) >= 0.8
            ):
                out[-1] = prev = replace(prev, end=seg.end)
                continue
            prev = Evidence(
                id=make_id("slide", v.id, seg.start),
                video_id=v.id,
                video=v.path,
                start=seg.start,
                end=seg.end,
                kind="ocr",
                text=text,
                score=0.9,
                level="segment",
                segment_id=seg.id,
                source="count:1",
            )
            out.append(prev)
    return out


def _follow_video(ctx: Context, history: Sequence[Turn]) -> int | None:
    path = history[-1].citations[0].video if history and history[-1].citations else None
    for v in ctx.videos:
        if v.path == path:
            return v.id
    return ctx.videos[0].id if len(ctx.videos) == 1 else None


def coarse_evidence(
    ctx: Context, route: Route, question: str, history: Sequence[Turn]
) -> tuple[list[Evidence], str]:
    """The coarse look for a route.

    Returns:
        ``(evidence, detail for the trace)``.
    """
    c = ctx.config
    k = c.coarse_k
    q = route.query or question
    kind = route.kind
    if kind == "time_lookup" and route.time is not None:
        ev = time_evidence(ctx, route.time, route.modality, c.time_window_s)
        return ev, f"{len(ev)} memories around {route.time:.0f}s ({route.modality})"
    if kind == "follow_up" and route.window is not None:
        vid = _follow_video(ctx, history)
        ev = window_evidence(ctx, vid, *route.window, route.modality) if vid is not None else []
        return ev, (
            f"{len(ev)} memories {route.direction} the previous answer "
            f"({route.window[0]:.0f}-{route.window[1]:.0f}s)"
        )
    if kind in ("speech_when", "ocr_when"):
        mod = "ocr" if kind == "ocr_when" else "speech"
        ev = phrase_evidence(ctx, q, mod, k=5)
        ev += fts_evidence(ctx, q, k=k, kinds=[mod], phrase=q)
        ev += text_vector_evidence(ctx, q, k=5, kinds=[mod])
        return ev, f"{len(ev)} {mod} matches for the phrase"
    if kind == "visual_when":
        ev = visual_evidence(ctx, q, k=k)
        ev += fts_evidence(ctx, q, k=k, kinds=["tag", "caption"], phrase=q)
        return ev, f"{len(ev)} visual matches for '{q}'"
    if kind == "order":
        ev = [e for o in route.options for e in option_evidence(ctx, o)]
        return ev, f"{len(ev)} matches for {len(route.options)} options"
    if kind == "cross_modal":
        mod = "ocr" if route.modality == "ocr" else "speech"
        anchors = phrase_evidence(ctx, q, mod, k=1)
        if not anchors:
            anchors = fts_evidence(ctx, q, k=1, kinds=[mod], phrase=q)
        if not anchors:
            ev = [e for o in route.options for e in option_evidence(ctx, o)]
            return ev, "anchor sentence not found; options searched everywhere"
        anchor = replace(anchors[0], score=max(anchors[0].score, 0.7), source="anchor")
        window = anchor_window(anchor, route.direction, c.follow_window_s)
        ev = [anchor] + [e for o in route.options for e in option_evidence(ctx, o, window=window)]
        return ev, (
            f"anchor at {anchor.start:.0f}s; options scored {route.direction} it "
            f"({window[0]:.0f}-{window[1]:.0f}s)"
        )
    if kind == "count" and route.count_word:
        ev = count_evidence(ctx, route.count_word)
        return ev, f"{len(ev)} transcript lines with '{route.count_word}'"
    if kind == "count" and route.modality == "ocr":
        low = question.lower()
        dark = (
            True
            if re.search(r"\b(dark|black)\b", low)
            else False
            if re.search(r"\b(white|light|bright)\b", low)
            else None
        )
        ev = slide_evidence(ctx, dark=dark)
        return ev, f"{len(ev)} showings of a text slide"
    ev = overview_evidence(ctx, q)
    ev += fts_evidence(ctx, q, k=k, phrase=q if len(tokens(q)) > 1 else None)
    ev += text_vector_evidence(ctx, question, k=k // 2)
    if route.modality in ("visual", "any"):
        ev += visual_evidence(ctx, q, k=k // 2)
    if route.options:
        ev += [e for o in route.options for e in option_evidence(ctx, o, k=2)]
    return ev, f"overview + {len(ev)} hits for '{_short(q)}'"


def _short(text: str, n: int = 40) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= n else text[: n - 1] + "…"
