"""Retrievers that turn memories into evidence: FTS, text vectors, phrases, time, visuals.

Every function is deterministic given the store and the models, returns
:class:`~hourlens.agent.evidence.Evidence` items with scores in [0, 1], and skips a
retriever whose model is unavailable.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from ..types import Segment, Video
from .evidence import Evidence, EvidenceKind, make_id
from .memo import VideoMemo, row_text, text_blocks
from .scope import Scope
from .textutil import content_words, phrase_match, tokens
from .visual import visual_rows_evidence

#: text-memory kind → (memo attribute, evidence kind)
#: A phrase is also matched against up to this many consecutive lines (less than 2 s apart).
MAX_JOINED_LINES = 4
TEXT_ROWS: dict[str, tuple[str, EvidenceKind]] = {
    "speech": ("transcript", "speech"),
    "ocr": ("ocr", "ocr"),
    "caption": ("captions", "caption"),
}


def scope_id(ctx: Scope) -> int | None:
    """The video id to restrict store queries to (None for library-wide questions)."""
    return ctx.videos[0].id if len(ctx.videos) == 1 else None


def keyframe_of(ctx: Scope, video_id: int, segment_id: int | None) -> str | None:
    """The stored keyframe JPEG of a segment, if any."""
    if segment_id is None:
        return None
    kfs = ctx.store.keyframes(video_id=video_id, segment_id=segment_id)
    return kfs[0].path if kfs else None


def row_evidence(
    video: Video,
    row: Any,
    kind: EvidenceKind,
    score: float,
    source: str,
    *,
    segment_id: int | None = None,
    option: str | None = None,
) -> Evidence:
    """Evidence for one text-memory row (transcript line, OCR item, caption)."""
    return Evidence(
        id=make_id(kind, video.id, row.start, row.end, text=row_text(row)),
        video_id=video.id,
        video=video.path,
        start=float(row.start),
        end=float(row.end),
        kind=kind,
        text=row_text(row),
        score=round(float(score), 4),
        level="line",
        segment_id=getattr(row, "segment_id", None) or segment_id,
        source=source,
        option=option,
    )


def segment_evidence(
    ctx: Scope, memo: VideoMemo, segment_id: int, score: float, source: str
) -> Evidence | None:
    """Segment-level evidence: the segment's caption, tags, speech and on-screen text."""
    seg = memo.by_id.get(segment_id)
    if seg is None:
        return None
    text, main = memo.segment_text(seg)
    kind: EvidenceKind = "visual" if main == "tag" else main  # type: ignore[assignment]
    v = memo.video
    return Evidence(
        id=make_id("seg", v.id, seg.start, seg.end),
        video_id=v.id,
        video=v.path,
        start=seg.start,
        end=seg.end,
        kind=kind,
        text=text,
        score=round(score, 4),
        level="segment",
        segment_id=seg.id,
        image=keyframe_of(ctx, v.id, seg.id),
        source=source,
    )


def label_relevance(
    ctx: Scope, query: str, encoder: str, labels: Sequence[tuple[str, float]]
) -> float:
    """How well classifier labels with probabilities match ``query`` (0-1).

    Uses the label space (class names close in meaning to the query) and, without it,
    plain word overlap between the query and the class names.
    """
    sims = {lab.lower(): s for lab, s in ctx.models.labels(query, encoder)} if encoder else {}
    words = set(content_words(query))
    rel = 0.0
    for label, prob in labels:
        sim = sims.get(label.lower(), 0.0)
        if not sim and words & set(tokens(label)):
            sim = 0.6
        rel += sim * math.sqrt(max(prob, 0.0))
    return min(1.0, rel)


def memory_evidence(
    ctx: Scope,
    vid: int,
    seg: Segment,
    *,
    window: tuple[float, float] | None = None,
    score: float = 0.3,
    query: str | None = None,
    source: str = "memories",
) -> list[Evidence]:
    """A segment's feature memories with their tags (one level below the segment).

    Scored ``score``, or by relevance of their tags to ``query`` when given.
    """
    memo = ctx.memo(vid)
    v = memo.video
    out = []
    for m in ctx.store.memories(video_id=vid, segment_id=seg.id, kind="feature"):
        if window is not None and not (m.start <= window[1] and m.end >= window[0]):
            continue
        tags = list({t.label: t for t in memo.memory_tags.get(m.id, [])}.values())[:3]
        if not tags:
            continue
        s = (
            score
            if query is None
            else 0.1
            + 0.8 * label_relevance(ctx, query, v.encoder or "", [(t.label, t.score) for t in tags])
        )
        out.append(
            Evidence(
                id=make_id("visual", vid, m.start, m.end),
                video_id=vid,
                video=v.path,
                start=m.start,
                end=m.end,
                kind="visual",
                text="looks like: " + ", ".join(f"{t.label} {t.score:.2f}" for t in tags),
                score=round(s, 4),
                level="memory",
                segment_id=seg.id,
                source=source,
            )
        )
    return out


def fts_evidence(
    ctx: Scope,
    query: str,
    *,
    k: int,
    kinds: Iterable[str] | None = None,
    phrase: str | None = None,
) -> list[Evidence]:
    """Full-text hits over tags, speech, OCR and captions.

    Args:
        ctx: Run context.
        query: Words to search (OR-ed by the store, BM25-ranked).
        k: Hits to keep.
        kinds: Only these hit kinds (``tag``, ``speech``, ``ocr``, ``caption``).
        phrase: Re-score hits by how well their text contains this phrase.
    """
    words = content_words(query)
    if not words:
        return []
    wanted = set(kinds) if kinds is not None else None
    by_path = {v.path: v for v in ctx.videos}
    out: list[Evidence] = []
    for hit in ctx.store.search_text(" ".join(words), video_id=scope_id(ctx), k=k * 3):
        v = by_path.get(hit.video)
        if v is None or (wanted is not None and hit.kind not in wanted) or not ctx.allows(hit.kind):
            continue
        kind: EvidenceKind = "visual" if hit.kind == "tag" else hit.kind
        found = set(tokens(hit.text or ""))
        coverage = sum(w in found for w in words) / len(words)
        score = 0.6 * hit.score * coverage
        if phrase and hit.text:
            score = max(score, phrase_match(phrase, hit.text))
        text = f"looks like: {hit.text}" if hit.kind == "tag" else hit.text or ""
        out.append(
            Evidence(
                id=make_id(
                    kind, v.id, hit.start, hit.end, text=None if hit.kind == "tag" else hit.text
                ),
                video_id=v.id,
                video=v.path,
                start=hit.start,
                end=hit.end,
                kind=kind,
                text=text,
                score=round(score, 4),
                level="memory" if hit.kind == "tag" else "line",
                segment_id=hit.segment_id,
                source="fts",
            )
        )
        if len(out) >= k:
            break
    return out


def text_vector_evidence(
    ctx: Scope, query: str, *, k: int, kinds: Iterable[str] | None = None
) -> list[Evidence]:
    """Nearest text memories (speech, OCR, captions, chapters) by sentence embedding."""
    qv = ctx.models.embed([query])
    if qv is None:
        return []
    wanted = set(kinds) if kinds is not None else None
    out: list[Evidence] = []
    for vh in ctx.store.nearest("texts", qv[0], k=k * 2, video_id=scope_id(ctx)):
        tk = vh.text_kind or "caption"
        if vh.video_id not in ctx.durations or (wanted is not None and tk not in wanted):
            continue
        memo = ctx.memo(vh.video_id)
        if tk == "chapter":
            rows, kind = memo.chapters, "chapter"
        else:
            attr, kind = TEXT_ROWS.get(tk, ("captions", "caption"))
            rows = getattr(memo, attr)
        row = next(
            (r for r in rows if abs(r.start - vh.start) < 1e-3 and abs(r.end - vh.end) < 1e-3), None
        )
        if row is None:
            continue
        out.append(
            row_evidence(
                memo.video,
                row,
                kind,  # type: ignore[arg-type]
                max(0.0, vh.score),
                "vector",
                segment_id=vh.segment_id,
            )
        )
        if len(out) >= k:
            break
    return out


def phrase_evidence(
    ctx: Scope,
    phrase: str,
    modality: str,
    *,
    k: int,
    window: tuple[float, float] | None = None,
    min_score: float = 0.3,
    option: str | None = None,
) -> list[Evidence]:
    """Transcript lines (or OCR items) containing ``phrase``, by token overlap.

    Robust to ASR slips and line splits where FTS ranks by rare words only: every row is
    scored by phrase recall (blended with F1); two neighbouring lines are also tried
    together (up to :data:`MAX_JOINED_LINES`), for a sentence the recogniser split.
    """
    attr, kind = TEXT_ROWS["ocr" if modality == "ocr" else "speech"]
    out: list[Evidence] = []
    for v in ctx.videos:
        memo = ctx.memo(v.id)
        rows = getattr(memo, attr)
        if window is not None:
            rows = memo.within(rows, *window)
        scored: list[tuple[float, Any, Any]] = []
        for i, r in enumerate(rows):
            s = phrase_match(phrase, row_text(r))
            scored.append((s, r, None))
            text, last, best = row_text(r), r, s
            for nxt in rows[i + 1 : i + MAX_JOINED_LINES]:  # a sentence split over lines
                if nxt.start - last.end >= 2.0:
                    break
                text, last = text + " " + row_text(nxt), nxt
                s2 = phrase_match(phrase, text)
                if s2 > best + 0.1:
                    scored.append((s2, r, (last, text)))
                    best = s2
        for s, r, joined in sorted(scored, key=lambda p: -p[0])[:k]:
            if s < min_score:
                break
            ev = row_evidence(v, r, kind, s, "phrase", option=option)
            if joined is not None:
                last, text = joined
                ev = replace(
                    ev,
                    id=make_id(kind, v.id, r.start, last.end),
                    end=float(last.end),
                    text=text,
                )
            out.append(ev)
    return sorted(out, key=lambda e: -e.score)[:k]


def time_evidence(
    ctx: Scope, t: float, modality: str, half_window: float, *, until: float | None = None
) -> list[Evidence]:
    """Memories around time ``t`` of the kind asked for (a lookup, not a similarity search).

    Score falls with the distance between the row and ``[t, until]`` (the time asked
    about; ``until`` for an imprecise time such as "minute 53" = 53:00-53:59); 1 when
    the row overlaps it.
    """
    kinds = {"speech": ["speech"], "ocr": ["ocr"], "visual": ["caption"]}.get(
        modality, ["speech", "ocr", "caption"]
    )
    out: list[Evidence] = []
    end = t if until is None else max(t, until)
    lo, hi = t - half_window, end + half_window
    for v in ctx.videos:
        memo = ctx.memo(v.id)
        for tk in kinds:
            attr, kind = TEXT_ROWS[tk]
            rows = memo.within(getattr(memo, attr), lo, hi)
            for r in text_blocks(rows) if tk == "ocr" else rows:
                dist = max(0.0, r.start - end, t - r.end)
                out.append(row_evidence(v, r, kind, 1.0 / (1.0 + dist / 3.0), "time"))
        if modality in ("visual", "any"):
            seg = memo.segment_at(t)
            if seg is not None:
                ev = segment_evidence(ctx, memo, seg.id, 0.7, "time")
                if ev is not None:
                    out.append(ev)
                out += memory_evidence(ctx, v.id, seg, window=(t, t), score=0.85, source="time")
    return out


def window_evidence(
    ctx: Scope, video_id: int, start: float, end: float, modality: str
) -> list[Evidence]:
    """Everything remembered inside ``[start, end]`` of one video (follow-up questions)."""
    memo = ctx.memo(video_id)
    v = memo.video
    kinds = {"speech": ["speech"], "ocr": ["ocr"], "visual": ["caption"]}.get(
        modality, ["speech", "ocr", "caption"]
    )
    out: list[Evidence] = []
    for tk in kinds:
        attr, kind = TEXT_ROWS[tk]
        for r in memo.within(getattr(memo, attr), start, end):
            out.append(row_evidence(v, r, kind, 0.8, "window"))
    if modality in ("visual", "any"):
        for seg in memo.within(memo.segments, start, end):
            ev = segment_evidence(ctx, memo, seg.id, 0.7, "window")
            if ev is not None:
                out.append(ev)
    return out


def _clip_scale(cos: float) -> float:
    """CLIP text-image cosines live around 0.15-0.35; map them to [0, 1]."""
    return max(0.0, min(1.0, (cos - 0.12) * 4.0))


def visual_evidence(
    ctx: Scope,
    query: str,
    *,
    k: int,
    window: tuple[float, float] | None = None,
    video_ids: Sequence[int] | None = None,
    option: str | None = None,
) -> list[Evidence]:
    """Visual retrieval at memory precision: CLIP text→image, the label space, captions.

    * CLIP videos: the query through CLIP's text tower against feature memories;
    * classifier videos: class names close to the query (sentence embedder), weighted by
      each memory's tag probability (DESIGN §4b);
    * any video: segment captions containing the query's words.

    Args:
        ctx: Run context.
        query: A visual description ("a red motorcycle").
        k: Items to keep.
        window: Only memories overlapping this time range.
        video_ids: Only these videos (default: all in scope).
        option: Multiple-choice letter to tag the items with.
    """
    if not ctx.allows("visual"):
        return []
    out: list[Evidence] = []
    vids = [v for v in ctx.videos if video_ids is None or v.id in video_ids]
    for v in vids:
        memo = ctx.memo(v.id)
        enc = v.encoder or ""
        if enc.startswith("open_clip"):
            qv = ctx.models.clip_text(enc, [query])
            if qv is not None:
                for vh in ctx.store.nearest("memories", qv[0], k=max(4 * k, 64), video_id=v.id):
                    if window is None or (vh.start < window[1] and vh.end > window[0]):
                        out.append(
                            Evidence(
                                id=make_id("visual", v.id, vh.start, vh.end),
                                video_id=v.id,
                                video=v.path,
                                start=vh.start,
                                end=vh.end,
                                kind="visual",
                                text=f"frames matching '{query}' (clip {vh.score:.2f})",
                                score=round(_clip_scale(vh.score), 4),
                                level="memory",
                                segment_id=vh.segment_id,
                                source="clip",
                                option=option,
                            )
                        )
        elif enc:  # the label space and pixel facets; tags for libraries without them
            ranked = visual_rows_evidence(ctx, v, query, k=k, window=window, option=option)
            out.extend(ranked or _label_evidence(ctx, memo, query, window, option))
        for c in memo.captions if window is None else memo.within(memo.captions, *window):
            if getattr(c, "level", "segment") == "video":
                continue
            s = phrase_match(query, row_text(c))
            if s >= 0.5:
                out.append(row_evidence(v, c, "caption", s * 0.9, "caption", option=option))
    if window is not None:  # items mostly outside the window count for less
        out = [replace(e, score=round(e.score * _inside(e, window), 4)) for e in out]
    out.sort(key=lambda e: (-e.score, e.start))
    for i, e in enumerate(out[:k]):
        if e.image is None and e.segment_id is not None:
            out[i] = replace(e, image=keyframe_of(ctx, e.video_id, e.segment_id))
    return out[:k]


def _inside(e: Evidence, window: tuple[float, float]) -> float:
    """The fraction of an item's span inside ``window``."""
    length = e.end - e.start
    if length <= 0:
        return 1.0 if window[0] <= e.start <= window[1] else 0.0
    return max(0.0, min(e.end, window[1]) - max(e.start, window[0])) / length


def _label_evidence(
    ctx: Scope,
    memo: VideoMemo,
    query: str,
    window: tuple[float, float] | None,
    option: str | None,
) -> list[Evidence]:
    labels = ctx.models.labels(query, memo.video.encoder or "")
    if not labels:
        return []
    sims = {lab.lower(): sim for lab, sim in labels}
    v = memo.video
    spans: dict[tuple[float, float], tuple[float, list[str], int]] = {}
    for t in memo.tags:
        sim = sims.get(t.label.lower())
        if sim is None or (window is not None and not (t.start < window[1] and t.end > window[0])):
            continue
        # memory-level tags are sharper than a whole segment's mean
        s = sim * math.sqrt(max(t.score, 0.0)) * (1.0 if t.memory_id is not None else 0.85)
        key = (t.start, t.end)
        prev = spans.get(key, (0.0, [], t.segment_id))
        spans[key] = (prev[0] + s, [*prev[1], f"{t.label} {t.score:.2f}"], t.segment_id)
    return [
        Evidence(
            id=make_id("visual", v.id, a, b),
            video_id=v.id,
            video=v.path,
            start=a,
            end=b,
            kind="visual",
            text="looks like: " + ", ".join(names[:4]),
            score=round(min(1.0, s), 4),
            level="memory",
            segment_id=seg,
            source="labels",
            option=option,
        )
        for (a, b), (s, names, seg) in spans.items()
    ]
