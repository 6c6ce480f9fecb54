"""The graph's nodes: route → coarse → select → judge ⇄ backtrack → answer.

Each node reads the :class:`~hourlens.agent.state.State`, gets its dependencies from the
run's :class:`~hourlens.agent.context.Context` (``runtime.context``), returns a partial
state update, and appends one :class:`~hourlens.types.Step` to the trace (also reported
live through ``Context.on_step``).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Literal

from langgraph.runtime import Runtime

from ..types import Answer, Step
from .context import Context
from .evidence import Evidence, best_first, format_evidence, to_citations
from .nodes_answer import draft, judge
from .nodes_backtrack import backtrack, can_go_finer
from .nodes_lookup import coarse_evidence
from .nodes_retrieve import segment_evidence
from .nodes_route import route_question
from .nodes_select import select_segments
from .state import Judgement, State

log = logging.getLogger("hourlens.agent")
LOW_CONFIDENCE_NOTE = " (low confidence)"


def _step(ctx: Context, node: str, t0: float, detail: str) -> list[Step]:
    step = Step(node=node, detail=detail, seconds=round(time.perf_counter() - t0, 3))
    ctx.emit(step)
    return [step]


def route(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Decide the question type in code (time lookup, phrase, visual, options...)."""
    ctx, t0 = runtime.context, time.perf_counter()
    r = route_question(state.question, state.history, follow_window_s=ctx.config.follow_window_s)
    bits: list[str] = [r.kind, r.modality]
    if r.time is not None:
        bits.append(f"t={r.time:.0f}s")
    if r.options:
        bits.append(f"{len(r.options)} options")
    if r.query:
        bits.append(f"query '{r.query[:40]}'")
    return {"route": r, "steps": _step(ctx, "route", t0, ", ".join(bits))}


def coarse(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Coarse look: summary, chapters, FTS and vector hits, or the route's own lookup."""
    ctx, t0 = runtime.context, time.perf_counter()
    assert state.route is not None
    ev, detail = coarse_evidence(ctx, state.route, state.question, state.history)
    return {"evidence": ctx.keep(ev), "steps": _step(ctx, "coarse", t0, detail)}


def select(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Adaptive memory selection: fused top-k segments, with segment-level evidence."""
    ctx, t0 = runtime.context, time.perf_counter()
    assert state.route is not None
    cands, sizes = select_segments(ctx, state.route, state.evidence)
    seg_ev: list[Evidence] = []
    for c in cands:
        ev = segment_evidence(
            ctx, ctx.memo(c.video_id), c.segment_id, 0.15 + 0.3 * c.score, "select"
        )
        if ev is not None:
            seg_ev.append(ev)
    used = ", ".join(f"{k} {n}" for k, n in sizes.items()) or "no rankings"
    spans = " ".join(f"{c.start:.0f}-{c.end:.0f}s" for c in cands[:4])
    detail = f"k={len(cands)} segments ({used}) {spans}".strip()
    return {
        "candidates": cands,
        "evidence": ctx.keep(seg_ev),
        "steps": _step(ctx, "select", t0, detail),
    }


def check(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Sufficiency check: does the evidence answer the question, and how confidently?"""
    ctx, t0 = runtime.context, time.perf_counter()
    assert state.route is not None
    j, shown = judge(
        ctx,
        state.route,
        state.question,
        state.history,
        state.evidence,
        final=state.rounds >= ctx.config.max_backtracks,
    )
    verdict = "sufficient" if j.sufficient else "insufficient"
    detail = f"{verdict}, confidence {j.confidence:.2f} ({j.source}, {len(shown)} items shown)"
    if j.missing and not j.sufficient:
        detail += f"; missing: {j.missing[:60]}"
    return {"judgement": j, "steps": _step(ctx, "judge", t0, detail)}


def finer(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Backtrack one level finer into the chosen segments."""
    ctx, t0 = runtime.context, time.perf_counter()
    assert state.route is not None
    ev, expanded, detail = backtrack(
        ctx,
        state.question,
        state.route,
        state.candidates,
        state.evidence,
        state.expanded,
        state.judgement,
        state.rounds,
    )
    return {
        "evidence": ctx.keep(ev),
        "expanded": expanded,
        "rounds": state.rounds + 1,
        "steps": _step(ctx, "backtrack", t0, f"round {state.rounds + 1}: {detail}"),
    }


def after_check(state: State, runtime: Runtime[Context]) -> Literal["backtrack", "answer"]:
    """Answer when the evidence suffices or the step budget is spent; else go finer."""
    ctx = runtime.context
    j = state.judgement
    if j is None or j.sufficient or state.rounds >= ctx.config.max_backtracks:
        return "answer"
    assert state.route is not None
    if not can_go_finer(
        ctx, state.route, state.candidates, state.evidence, state.expanded, j, state.rounds
    ):
        return "answer"
    return "backtrack"


def _vlm_answer(ctx: Context, state: State, j: Judgement, used: list[Evidence]) -> str | None:
    from ..prompts import answer_format, render

    c = ctx.config
    images: list[Any] = []
    names: list[str] = []
    pool = used + [e for e in best_first(state.evidence) if e not in used]
    for e in pool:
        if e.image and len(images) < c.vlm_images:
            img = ctx.frames.get(e.image, e.image) if e.image.startswith("frame:") else e.image
            if isinstance(img, str) and img.startswith("frame:"):
                continue
            images.append(img)
            names.append(f"{e.start:.0f}s")
    if not images:
        return None
    assert state.route is not None
    prompt = render(
        "vlm_answer",
        frames=", ".join(names),
        evidence=format_evidence(pool[: c.prompt_items]),
        hint=f"A text-only reading suggests: {j.answer}\n" if j.answer else "",
        question=state.question,
        instructions=answer_format(
            state.route.kind, state.route.modality, has_options=bool(state.route.options)
        ),
    )
    try:
        return ctx.vlm.generate(images, prompt, max_tokens=c.answer_max_tokens).strip() or None
    except Exception as exc:  # noqa: BLE001 - the text answer stands
        log.warning("VLM answer failed (%s); answering from text evidence", exc)
        return None


def answer(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """The final answer with its citations (VLM over keyframes + text, else the LLM's)."""
    ctx, t0 = runtime.context, time.perf_counter()
    assert state.route is not None
    c = ctx.config
    j = state.judgement or draft(state.route, state.evidence)
    by_id = {e.id: e for e in state.evidence}
    used = [by_id[i] for i in j.used if i in by_id]
    if not used:
        used = [by_id[i] for i in draft(state.route, state.evidence).used if i in by_id]
    text = j.answer
    via: str = j.source
    if ctx.vlm is not None:
        vlm_text = _vlm_answer(ctx, state, j, used)
        if vlm_text:
            text, via = vlm_text, "vlm"
    confidence = j.confidence
    if not j.sufficient:
        confidence = min(confidence, c.low_confidence)
        if "low confidence" not in text.lower():
            text = text.rstrip() + LOW_CONFIDENCE_NOTE
    citations = to_citations(
        best_first(used), ctx.durations, max_citations=c.max_citations, max_len=c.max_citation_s
    )
    steps = _step(
        ctx, "answer", t0, f"{via}, confidence {confidence:.2f}, {len(citations)} citations"
    )
    result = Answer(
        answer=text,
        confidence=round(confidence, 3),
        citations=citations,
        steps=[*state.steps, *steps],
    )
    return {"answer": result, "steps": steps}
