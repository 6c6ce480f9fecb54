"""Backtracking one level finer (VideoLucy deep memory backtracking).

For the chosen segments: their feature memories and tags, their keyframes, denser frames
re-read from the source at question time (stored thumbnails when the source is gone),
question-conditioned captions when a VLM is present, the neighbouring segments and the
transcript around them. What the sufficiency check said was missing becomes an extra
query, and on visual questions the LLM may rewrite the target into the index's visual
vocabulary.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from ..timefmt import fmt_span
from ..tools.evidence import Evidence, make_id
from ..tools.retrieve import (
    fts_evidence,
    label_relevance,
    memory_evidence,
    row_evidence,
    segment_evidence,
    text_vector_evidence,
    visual_evidence,
)
from ..tools.textutil import phrase_match
from ..types import Segment
from .context import Context
from .plan import Plan
from .state import Candidate, Judgement

log = logging.getLogger("hourlens.agent")
AROUND_S = 10.0
#: Score factor of evidence found through the LLM's rewrite of a visual target.
REWRITE_WEIGHT = 0.8


def visual_query(plan: Plan, question: str) -> str:
    """What frames should look like: the visual options of a multiple-choice question, else
    the plan's query."""
    opts = [o.query for o in plan.options if o.modality == "visual"]
    return "; ".join(opts) if opts else plan.target or question


def pick_segments(
    ctx: Context,
    candidates: Sequence[Candidate],
    evidence: Sequence[Evidence],
    expanded: Sequence[int],
    judgement: Judgement | None,
) -> list[tuple[int, int]]:
    """The next segments to go down into: used evidence first, then candidates, then
    neighbours of segments already expanded.

    Returns:
        ``(video_id, segment_id)`` pairs, at most ``expand_per_round``.
    """
    done = set(expanded)
    order: list[tuple[int, int]] = []
    by_id = {e.id: e for e in evidence}
    used = [by_id[i] for i in (judgement.used if judgement else ()) if i in by_id]
    for e in used:
        seg = e.segment_id if e.segment_id is not None else _seg_at(ctx, e)
        if seg is not None:
            order.append((e.video_id, seg))
    order += [(c.video_id, c.segment_id) for c in candidates]
    for vid in {c.video_id for c in candidates}:
        memo = ctx.memo(vid)
        for sid in list(done):
            if sid in memo.by_id:
                order += [(vid, n.id) for n in memo.neighbours(sid)]
    out: list[tuple[int, int]] = []
    for key in order:
        if key[1] not in done and key not in out:
            out.append(key)
        if len(out) >= ctx.config.expand_per_round:
            break
    return out


def _seg_at(ctx: Context, e: Evidence) -> int | None:
    if e.video_id not in ctx.durations:
        return None
    seg = ctx.memo(e.video_id).segment_at(e.mid)
    return seg.id if seg is not None else None


def around_evidence(ctx: Context, vid: int, seg: Segment, query: str) -> list[Evidence]:
    """Transcript lines and OCR items in and around the segment, scored by the query."""
    memo = ctx.memo(vid)
    lo, hi = seg.start - AROUND_S, seg.end + AROUND_S
    out = []
    for rows, kind in ((memo.transcript, "speech"), (memo.ocr, "ocr")):
        for r in memo.within(rows, lo, hi):
            out.append(
                row_evidence(
                    memo.video,
                    r,
                    kind,
                    0.3 + 0.5 * phrase_match(query, r.text),
                    "around",
                    segment_id=seg.id,
                )
            )
    for n in memo.neighbours(seg.id):
        ev = segment_evidence(ctx, memo, n.id, 0.3, "neighbour")
        if ev is not None:
            out.append(ev)
    return out


def _thumbnails(ctx: Context, vid: int, seg: Segment) -> list[tuple[float, np.ndarray, str]]:
    from PIL import Image

    out = []
    for kf in ctx.store.keyframes(video_id=vid, segment_id=seg.id):
        try:
            with Image.open(kf.path) as im:
                out.append((kf.t, np.asarray(im.convert("RGB")), kf.path))
        except OSError:
            continue
    return out


def dense_frames(ctx: Context, vid: int, seg: Segment) -> list[tuple[float, np.ndarray, str]]:
    """Frames spread over the segment, re-read from the source (thumbnails if it is gone).

    Returns:
        ``(time, frame, image ref)``; frames re-read are cached under ``frame:<vid>:<t>``.
    """
    v = ctx.video(vid)
    n = max(1, ctx.config.dense_frames)
    times = [round(seg.start + (seg.end - seg.start) * (i + 0.5) / n, 2) for i in range(n)]
    frames = ctx.models.read_frames(v.path, times) if os.path.exists(v.path) else None
    if not frames:
        return _thumbnails(ctx, vid, seg)
    out = []
    for t, f in zip(times, frames, strict=False):
        ref = f"frame:{vid}:{t:.2f}"
        ctx.frames[ref] = f
        out.append((t, f, ref))
    return out


def frame_evidence(
    ctx: Context, vid: int, seg: Segment, question: str, query: str
) -> list[Evidence]:
    """Finer visual evidence from dense frames: VLM captions, else the frame encoder.

    With a VLM, one caption per segment conditioned on ``question``. Without one, a
    classifier encoder gives each frame's top classes (scored against the visual
    ``query`` through the label space), a CLIP encoder each frame's similarity to it.
    """
    frames = dense_frames(ctx, vid, seg)
    if not frames:
        return []
    v = ctx.video(vid)
    if ctx.vlm is not None:
        from ..prompts import render

        prompt = render("vlm_caption", span=fmt_span(seg.start, seg.end), question=question)
        try:
            text = ctx.vlm.generate([f for _, f, _ in frames], prompt, max_tokens=80)
        except Exception as exc:  # noqa: BLE001 - a failing VLM leaves text evidence
            log.warning("VLM caption failed: %s", exc)
            text = ""
        if text and "nothing relevant" not in text.lower():
            return [
                Evidence(
                    id=make_id("vlm", vid, seg.start, seg.end),
                    video_id=vid,
                    video=v.path,
                    start=seg.start,
                    end=seg.end,
                    kind="caption",
                    text=text,
                    score=0.75,
                    level="frame",
                    segment_id=seg.id,
                    image=frames[0][2],
                    source="vlm",
                )
            ]
        return []
    enc = ctx.models.encoder(v.encoder) if v.encoder else None
    if enc is None:
        return []
    try:
        encoded = enc.encode([f for _, f, _ in frames])
    except Exception as exc:  # noqa: BLE001 - finer frames are optional evidence
        log.warning("re-encoding frames failed: %s", exc)
        return []
    half = (seg.end - seg.start) / (2 * len(frames))
    out: list[Evidence] = []
    qv = (
        ctx.models.clip_text(v.encoder or "", [query])
        if getattr(enc, "supports_text", False)
        else None
    )
    for i, (t, _f, ref) in enumerate(frames):
        start, end = max(seg.start, t - half), min(seg.end, t + half)
        if qv is not None:
            cos = float(np.dot(encoded.features[i], qv[0]))
            text, score = f"frame similarity to the question {cos:.2f}", max(0.0, (cos - 0.12) * 4)
        elif encoded.probs is not None and getattr(enc, "labels", None):
            top = [
                (enc.labels[j], float(encoded.probs[i][j]))
                for j in np.argsort(-encoded.probs[i])[:3]
            ]
            text = "frame looks like: " + ", ".join(f"{lab} {p:.2f}" for lab, p in top)
            score = 0.1 + 0.8 * label_relevance(ctx, query, v.encoder or "", top)
        else:
            continue
        out.append(
            Evidence(
                id=make_id("frame", vid, t),
                video_id=vid,
                video=v.path,
                start=round(start, 3),
                end=round(end, 3),
                kind="visual",
                text=text,
                score=round(min(score, 1.0), 4),
                level="frame",
                segment_id=seg.id,
                image=ref,
                source="dense",
            )
        )
    return out


def rewrite_visual(ctx: Context, target: str) -> list[str]:
    """The LLM's rewrite of a visual target into classifier vocabulary (may be empty):
    :class:`hourlens.tools.rewrite.VisualRewriter`, counted in the question's LLM budget."""
    from ..tools.rewrite import VisualRewriter

    llm = ctx.llm_for_call()
    if llm is None:
        return []
    return VisualRewriter(llm)(target)


def _can_rewrite(ctx: Context, plan: Plan, round_no: int) -> bool:
    return (
        plan.kind == "visual_when"
        and round_no == 0
        and ctx.config.rewrite_visual
        and ctx.llm is not None
        and ctx.llm_calls + 1 < ctx.config.max_llm_calls  # keep one call for the judgement
        and ctx.allows("visual")
        and any(v.encoder and not v.encoder.startswith("open_clip") for v in ctx.videos)
    )


def can_go_finer(
    ctx: Context,
    plan: Plan,
    candidates: Sequence[Candidate],
    evidence: Sequence[Evidence],
    expanded: Sequence[int],
    judgement: Judgement | None,
    round_no: int,
) -> bool:
    """Whether a backtracking round has anything new to look at."""
    if judgement is not None and judgement.missing.strip():
        return True
    if _can_rewrite(ctx, plan, round_no):
        return True
    return bool(pick_segments(ctx, candidates, evidence, expanded, judgement))


def backtrack(
    ctx: Context,
    question: str,
    plan: Plan,
    candidates: Sequence[Candidate],
    evidence: Sequence[Evidence],
    expanded: Sequence[int],
    judgement: Judgement | None,
    round_no: int,
) -> tuple[list[Evidence], list[int], str]:
    """One backtracking round.

    Returns:
        ``(new evidence, segment ids expanded, detail for the trace)``.
    """
    new: list[Evidence] = []
    notes: list[str] = []
    picks = pick_segments(ctx, candidates, evidence, expanded, judgement)
    visual = plan.modality in ("visual", "any") or plan.kind in ("visual_when", "cross_modal")
    seen_query = visual_query(plan, question)
    for vid, sid in picks:
        seg = ctx.memo(vid).by_id.get(sid)
        if seg is None:
            continue
        new += memory_evidence(ctx, vid, seg, query=seen_query)
        new += around_evidence(ctx, vid, seg, plan.target or question)
        if (visual or round_no > 0) and ctx.allows("visual"):
            new += frame_evidence(ctx, vid, seg, question, seen_query)
    if picks:
        notes.append(f"{len(picks)} segments one level down")
    missing = judgement.missing.strip() if judgement else ""
    if missing:
        new += fts_evidence(ctx, missing, k=ctx.config.coarse_k // 2)
        new += text_vector_evidence(ctx, missing, k=4)
        notes.append(f"searched for '{missing[:40]}'")
    if _can_rewrite(ctx, plan, round_no):
        terms = rewrite_visual(ctx, plan.target or question)
        for term in terms:  # a paraphrase: its matches rank below the question's own
            new += [
                replace(e, score=round(e.score * REWRITE_WEIGHT, 4), source="rewrite")
                for e in visual_evidence(ctx, term, k=4)
            ]
        if terms:
            notes.append("visual terms: " + ", ".join(terms))
    detail = "; ".join(notes) or "nothing finer to look at"
    return new, [sid for _, sid in picks], f"{detail} ({len(new)} items)"
