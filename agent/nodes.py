"""The graph's nodes: plan → coarse → select → judge ⇄ backtrack → answer.

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

from ..tools.evidence import Evidence, best_first, format_evidence, to_citations
from ..tools.retrieve import segment_evidence
from ..types import Answer, Step
from .compose import check_answer
from .context import Context
from .execute import check_against_memory, coarse_evidence
from .lmm_answer import lmm_answer
from .nodes_answer import draft, judge
from .nodes_backtrack import backtrack, can_go_finer
from .nodes_select import select_segments
from .planner import make_plan
from .state import Judgement, State

log = logging.getLogger("hourlens.agent")
LOW_CONFIDENCE_NOTE = " (low confidence)"


def _step(ctx: Context, node: str, t0: float, detail: str) -> list[Step]:
    step = Step(node=node, detail=detail, seconds=round(time.perf_counter() - t0, 3))
    ctx.emit(step)
    return [step]


def plan(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Plan the question: intent, modality, targets, options and times (fast path or LLM)."""
    ctx, t0 = runtime.context, time.perf_counter()
    c = ctx.config
    durations = [v.duration for v in ctx.videos if v.duration]
    p = make_plan(
        state.question,
        state.history,
        llm=ctx.llm if c.plan_with_llm and ctx.llm is not None else None,
        duration=durations[0] if len(ctx.videos) == 1 and durations else None,
        follow_window_s=c.follow_window_s,
        time_window_s=c.time_window_s,
    )
    if p.source == "llm" or any(n.startswith("LLM plan") for n in p.notes):
        ctx.llm_calls += 1
    return {"plan": p, "steps": _step(ctx, "route", t0, p.summary())}


def coarse(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Coarse look: summary, chapters, FTS and vector hits, or the plan's own lookup."""
    ctx, t0 = runtime.context, time.perf_counter()
    assert state.plan is not None
    plan, note = check_against_memory(ctx, state.plan)
    ev, detail = coarse_evidence(ctx, plan, state.question, state.history)
    detail = f"{note}; {detail}" if note else detail
    out: dict[str, Any] = {"evidence": ctx.keep(ev), "steps": _step(ctx, "coarse", t0, detail)}
    if plan is not state.plan:
        out["plan"] = plan
    return out


def select(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """Adaptive memory selection: fused top-k segments, with segment-level evidence."""
    ctx, t0 = runtime.context, time.perf_counter()
    assert state.plan is not None
    cands, sizes = select_segments(ctx, state.plan, state.evidence)
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
    assert state.plan is not None
    j, shown = judge(
        ctx,
        state.plan,
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
    assert state.plan is not None
    ev, expanded, detail = backtrack(
        ctx,
        state.question,
        state.plan,
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
    assert state.plan is not None
    if not can_go_finer(
        ctx, state.plan, state.candidates, state.evidence, state.expanded, j, state.rounds
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
    segments = list(dict.fromkeys(e.segment_id for e in pool if e.segment_id is not None))
    if not images and not segments:
        return None
    assert state.plan is not None
    prompt = render(
        "vlm_answer",
        frames=", ".join(names),
        evidence=format_evidence(pool[: c.prompt_items]),
        hint=f"A text-only reading suggests: {j.answer}\n" if j.answer else "",
        question=state.question,
        instructions=answer_format(
            state.plan.kind, state.plan.modality, has_options=bool(state.plan.options)
        ),
    )
    try:  # stored KV of the selected segments when the LMM has it, else one prefill
        out = lmm_answer(
            ctx.store,
            ctx.vlm,
            segment_ids=segments[: c.max_segments],
            evidence="",
            question=state.question,
            images=images,
            max_tokens=c.answer_max_tokens,
            prompt=prompt,
        )
        return out.text.strip() or None
    except Exception as exc:  # noqa: BLE001 - the text answer stands
        log.warning("VLM answer failed (%s); answering from text evidence", exc)
        return None


def answer(state: State, runtime: Runtime[Context]) -> dict[str, Any]:
    """The final answer with its citations (VLM over keyframes + text, else the LLM's)."""
    ctx, t0 = runtime.context, time.perf_counter()
    assert state.plan is not None
    c = ctx.config
    j = state.judgement or draft(state.plan, state.evidence)
    by_id = {e.id: e for e in state.evidence}
    used = [by_id[i] for i in j.used if i in by_id]
    if not used:
        used = [by_id[i] for i in draft(state.plan, state.evidence).used if i in by_id]
    text = j.answer
    via: str = j.source
    if ctx.vlm is not None:
        vlm_text = _vlm_answer(ctx, state, j, used)
        if vlm_text:
            text, via = vlm_text, "vlm"
    if via in ("llm", "vlm"):
        computed = draft(state.plan, state.evidence)
        text, problems = check_answer(text, state.question, used, ctx.durations, computed.answer)
        if problems:
            via += " (reworded: " + "; ".join(problems) + ")"
            used = [by_id[i] for i in computed.used if i in by_id] or used
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
