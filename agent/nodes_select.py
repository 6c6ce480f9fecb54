"""Adaptive memory selection (VideoStreaming): score every segment, keep an adaptive top-k.

The question indicator is embedded by the sentence embedder (always) and by CLIP's text
tower (when a CLIP encoder indexed the video) and scored against every segment's summary
token, its text memories and its tags (through the label space). The rankings, plus the
segments the coarse look's evidence points into, are fused by weighted reciprocal rank
fusion; ``k`` is then chosen where the fused scores drop most (the elbow), within
``[min_segments, max_segments]``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from ..tools.evidence import Evidence
from .context import Context
from .plan import Plan
from .state import Candidate

RRF_K = 60
SegKey = tuple[int, int]  # (video_id, segment_id)
Ranking = list[tuple[SegKey, float]]

#: Routes whose coarse evidence already points at the answer: no similarity ranking.
TARGETED = frozenset(
    {"time_lookup", "follow_up", "speech_when", "ocr_when", "order", "cross_modal"}
)


def adaptive_k(scores: Sequence[float], lo: int, hi: int) -> int:
    """How many of the best-first ``scores`` to keep: cut at the largest drop.

    Args:
        scores: Scores, best first.
        lo: Keep at least this many (when available).
        hi: Keep at most this many.

    Returns:
        The number to keep. A flat distribution (largest drop under a tenth of the best
        score) keeps ``hi``: nothing stands out, so look wider.
    """
    n = len(scores)
    lo, hi = max(1, lo), max(1, hi)
    if n <= lo:
        return n
    top = list(scores[: hi + 1])
    gaps = [top[i] - top[i + 1] for i in range(min(hi, len(top) - 1))]
    if not gaps:
        return min(n, hi)
    j = max(range(len(gaps)), key=lambda i: gaps[i])
    if gaps[j] < 0.1 * max(top[0], 1e-9):
        return min(n, hi)
    return min(max(lo, j + 1), hi)


def fuse_rankings(
    rankings: dict[str, Ranking], weights: dict[str, float]
) -> list[tuple[SegKey, float, tuple[str, ...]]]:
    """Weighted reciprocal rank fusion of segment rankings.

    Returns:
        ``(segment key, fused score, retriever names)``, best first.
    """
    fused: dict[SegKey, float] = defaultdict(float)
    names: dict[SegKey, list[str]] = defaultdict(list)
    for name, ranking in rankings.items():
        w = weights.get(name, 1.0)
        for rank, (key, _score) in enumerate(ranking):
            fused[key] += w / (RRF_K + rank + 1)
            names[key].append(name)
    order = sorted(fused, key=lambda key: -fused[key])
    return [(key, fused[key], tuple(names[key])) for key in order]


def _best_per_segment(pairs: list[tuple[SegKey, float]]) -> Ranking:
    best: dict[SegKey, float] = {}
    for key, s in pairs:
        if s > best.get(key, -math.inf):
            best[key] = s
    return sorted(best.items(), key=lambda p: -p[1])


def evidence_ranking(ctx: Context, evidence: Sequence[Evidence]) -> Ranking:
    """Segments the evidence points into, by their best item's score."""
    pairs: list[tuple[SegKey, float]] = []
    for e in evidence:
        if e.level in ("video", "chapter") or e.video_id not in ctx.durations:
            continue
        seg_id = e.segment_id
        if seg_id is None:
            seg = ctx.memo(e.video_id).segment_at(e.mid)
            seg_id = seg.id if seg is not None else None
        if seg_id is not None:
            pairs.append(((e.video_id, seg_id), e.score))
    return _best_per_segment(pairs)


def spread_ranking(ctx: Context, n: int) -> Ranking:
    """About ``n`` segments evenly spread over the videos in scope (the last resort)."""
    segs = [(v.id, s) for v in ctx.videos for s in ctx.memo(v.id).segments]
    if not segs:
        return []
    step = max(1, len(segs) // max(n, 1))
    return [((vid, s.id), 0.0) for vid, s in segs[step // 2 :: step][:n]]


def similarity_rankings(ctx: Context, query: str) -> dict[str, Ranking]:
    """Every segment scored against the question: summary tokens, text memories, labels."""
    out: dict[str, Ranking] = {}
    summaries: list[tuple[SegKey, float]] = []
    labels: list[tuple[SegKey, float]] = []
    for v in ctx.videos:
        memo = ctx.memo(v.id)
        n = max(len(memo.segments), 1)
        enc = v.encoder or "" if ctx.allows("visual") else ""
        if enc.startswith("open_clip"):
            qv = ctx.models.clip_text(enc, [query])
            if qv is not None:
                summaries += [
                    ((v.id, vh.segment_id), vh.score)
                    for vh in ctx.store.nearest("summaries", qv[0], k=n, video_id=v.id)
                    if vh.segment_id is not None
                ]
        elif enc:
            sims = {lab.lower(): s for lab, s in ctx.models.labels(query, enc)}
            if sims:
                per: dict[SegKey, float] = defaultdict(float)
                for t in memo.tags:
                    if t.memory_id is None and t.label.lower() in sims:
                        per[(v.id, t.segment_id)] += sims[t.label.lower()] * t.score
                labels += list(per.items())
    if summaries:
        out["summary_tokens"] = _best_per_segment(summaries)
    if labels:
        out["labels"] = _best_per_segment(labels)
    qt = ctx.models.embed([query])
    if qt is not None:
        pairs: list[tuple[SegKey, float]] = []
        scope = ctx.videos[0].id if len(ctx.videos) == 1 else None
        for vh in ctx.store.nearest("texts", qt[0], k=64, video_id=scope):
            if vh.video_id not in ctx.durations or not ctx.allows(vh.text_kind or "caption"):
                continue
            seg_id = vh.segment_id
            if seg_id is None:
                seg = ctx.memo(vh.video_id).segment_at((vh.start + vh.end) / 2)
                seg_id = seg.id if seg is not None else None
            if seg_id is not None:
                pairs.append(((vh.video_id, seg_id), vh.score))
        if pairs:
            out["text_embeddings"] = _best_per_segment(pairs)
    return out


def _weights(plan: Plan) -> dict[str, float]:
    if plan.modality == "visual" or plan.kind == "visual_when":
        return {"summary_tokens": 1.5, "labels": 1.5, "text_embeddings": 0.7, "evidence": 1.0}
    if plan.modality in ("speech", "ocr"):
        return {"summary_tokens": 0.5, "labels": 0.5, "text_embeddings": 1.5, "evidence": 1.5}
    return {"summary_tokens": 1.0, "labels": 1.0, "text_embeddings": 1.0, "evidence": 1.2}


def select_segments(
    ctx: Context, plan: Plan, evidence: Sequence[Evidence]
) -> tuple[list[Candidate], dict[str, int]]:
    """Adaptive top-k segments for the question.

    Args:
        ctx: Run context.
        plan: The question's plan (targeted routes rank by their evidence only).
        evidence: The coarse look's evidence.

    Returns:
        ``(candidates best first, size of each ranking)``.
    """
    rankings: dict[str, Ranking] = {}
    ev_rank = evidence_ranking(ctx, evidence)
    if ev_rank:
        rankings["evidence"] = ev_rank
    if plan.kind not in TARGETED or not ev_rank:
        rankings.update(similarity_rankings(ctx, plan.target))
    if not rankings:  # nothing matched anywhere: look at segments spread over the videos
        rankings["spread"] = spread_ranking(ctx, ctx.config.max_segments)
    fused = fuse_rankings(rankings, _weights(plan))
    if not fused:
        return [], {}
    c = ctx.config
    k = adaptive_k([s for _, s, _ in fused], c.min_segments, c.max_segments)
    top = fused[0][1]
    out: list[Candidate] = []
    for (vid, seg_id), score, names in fused[:k]:
        seg = ctx.memo(vid).by_id.get(seg_id)
        if seg is not None:
            out.append(
                Candidate(
                    video_id=vid,
                    segment_id=seg_id,
                    start=seg.start,
                    end=seg.end,
                    score=round(score / top, 4),
                    sources=names,
                )
            )
    return out, {name: len(r) for name, r in rankings.items()}
