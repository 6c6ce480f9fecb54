"""Memory lookups above single retrievers: the overview, options, counts and slides.

Deterministic by design (DESIGN §4b): an overview reads the top of the hierarchy, an
option is retrieved on its own, a count reads every transcript line, a slide is a plain
keyframe with on-screen text.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from .evidence import Evidence, make_id
from .memo import row_text
from .retrieve import fts_evidence, phrase_evidence, visual_evidence
from .scope import Scope
from .textutil import phrase_match, tokens


def overview_evidence(ctx: Scope, query: str, *, chapters: int = 3) -> list[Evidence]:
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
    ctx: Scope,
    query: str,
    modality: str,
    letter: str,
    *,
    k: int = 3,
    window: tuple[float, float] | None = None,
) -> list[Evidence]:
    """Evidence for one multiple-choice option, retrieved on its own and tagged ``letter``.

    A spoken or written option (``modality`` ``speech``/``ocr``) is a phrase search; any
    other is a visual description.
    """
    if modality in ("speech", "ocr"):
        found = phrase_evidence(ctx, query, modality, k=k, window=window, option=letter)
        if not found:
            found = [
                replace(e, option=letter)
                for e in fts_evidence(ctx, query, k=k, kinds=[modality], phrase=query)
            ]
        return found
    return visual_evidence(ctx, query, k=k, window=window, option=letter)


def anchor_window(anchor: Evidence, direction: str, length: float) -> tuple[float, float]:
    """The range right after (or before) an anchor item; ``around``: while it lasts and
    a little after (what is shown as a line is said)."""
    if direction == "before":
        return max(0.0, anchor.start - length), anchor.start
    if direction == "around":
        return anchor.start, anchor.end + min(length, 5.0)
    return anchor.end, anchor.end + length


def count_evidence(ctx: Scope, word: str) -> list[Evidence]:
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
    ctx: Scope, *, dark: bool | None = None, min_plain: float = 0.9
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
