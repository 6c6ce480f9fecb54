"""The coarse look: a plan's steps, run as calls of the typed memory tools.

Deterministic by design (DESIGN §3b/§4b): a time question reads the memories at that
time, a phrase question matches the transcript or the on-screen text, a visual question
goes through the one visual ranker, each option of a choice is retrieved on its own, a
range is read whole, a summary starts from the top of the hierarchy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ..tools import memory
from ..tools.evidence import Evidence, best_first
from ..tools.lookup import anchor_window, option_evidence
from ..tools.textutil import phrase_match
from .context import Context
from .plan import Modality, Option, Plan, Target
from .state import Turn


def _follow_video(ctx: Context, history: Sequence[Turn]) -> int | None:
    path = history[-1].citations[0].video if history and history[-1].citations else None
    for v in ctx.videos:
        if v.path == path:
            return v.id
    return ctx.videos[0].id if len(ctx.videos) == 1 else None


def _options(ctx: Context, options: Sequence[Option], **kw: object) -> list[Evidence]:
    return [e for o in options for e in option_evidence(ctx, o.query, o.modality, o.letter, **kw)]


def locate(ctx: Context, target: Target, *, k: int) -> list[Evidence]:
    """Where a target occurs: a phrase search (speech/on-screen text) or the visual ranker."""
    if target.modality in ("speech", "ocr"):
        return memory.find_phrase(ctx, target.text, modality=target.modality, k=5).evidence
    if target.modality == "any" and target.exact:
        return memory.find_phrase(ctx, target.text, modality="any", k=5).evidence
    return memory.find_visual(ctx, target.text, k=k).evidence


#: A quoted phrase "is" in a modality when a line there matches it this well (words).
PHRASE_HOME = 0.8


def _phrase_best(ctx: Context, phrase: str, modality: Modality) -> float:
    ev = memory.find_phrase(ctx, phrase, modality=modality, k=3).evidence
    return max((phrase_match(phrase, e.text) for e in ev if e.kind == modality), default=0.0)


def _home(ctx: Context, t: Target, seen: bool) -> Target:
    """Where a quoted phrase really is: the modality the question suggests, unless its
    words are not there and are in the other one (said vs written on screen); a quoted
    phrase found in neither, asked about as something seen, is looked for visually."""
    if not t.exact or t.modality not in ("speech", "ocr"):
        return t
    here = _phrase_best(ctx, t.text, t.modality)
    if here >= PHRASE_HOME:
        return t
    other: Modality = "ocr" if t.modality == "speech" else "speech"
    there = _phrase_best(ctx, t.text, other)
    if there >= PHRASE_HOME and there > here + 0.15:
        return replace(t, modality=other)
    if seen and max(here, there) < 0.5:
        return replace(t, modality="visual", exact=False)
    return t


def check_against_memory(ctx: Context, plan: Plan) -> tuple[Plan, str]:
    """The plan with each quoted phrase's modality checked against the memories.

    Returns:
        ``(plan, note)``; the note is empty when nothing changed.
    """
    seen = plan.modality == "visual" or any(t.modality == "ocr" for t in plan.targets)
    targets = tuple(_home(ctx, t, seen) for t in plan.targets)
    anchor = _home(ctx, plan.anchor, False) if plan.anchor is not None else None
    if targets == plan.targets and anchor == plan.anchor:
        return plan, ""
    new = replace(plan, targets=targets, anchor=anchor)
    if targets and targets[0].modality != plan.targets[0].modality:
        new = replace(new, modality=targets[0].modality)
    pairs = zip(plan.targets, targets, strict=True)
    moved = [f"{a.modality}→{b.modality}" for a, b in pairs if a != b]
    if anchor != plan.anchor and anchor is not None and plan.anchor is not None:
        moved.append(f"anchor {plan.anchor.modality}→{anchor.modality}")
    return new, "phrase found in another memory: " + ", ".join(moved)


def _anchor_hit(ctx: Context, anchor: Target) -> Evidence | None:
    """Where the event a question is relative to happens: its line, or where it is seen."""
    if anchor.modality == "visual":
        return _first_hit(ctx, anchor)
    found = memory.find_phrase(ctx, anchor.text, modality=anchor.modality, k=1)
    return found.evidence[0] if found.evidence else None


def _first_hit(ctx: Context, target: Target) -> Evidence | None:
    found = [e for e in locate(ctx, target, k=6) if e.level not in ("video", "chapter")]
    return best_first(found)[0] if found else None


def _range(
    ctx: Context, plan: Plan, history: Sequence[Turn], window: tuple[float, float]
) -> tuple[list[Evidence], str]:
    vid = _follow_video(ctx, history) if plan.relation else None
    ids = [vid] if vid is not None else [v.id for v in ctx.videos]
    ev: list[Evidence] = []
    for i in ids:
        ev += memory.read_range(ctx, *window, modality=plan.modality, video_id=i).evidence
    return ev, f"{len(ev)} memories in {window[0]:.0f}-{window[1]:.0f}s ({plan.modality})"


def coarse_evidence(
    ctx: Context, plan: Plan, question: str, history: Sequence[Turn]
) -> tuple[list[Evidence], str]:
    """Run the plan's retrieval steps.

    Returns:
        ``(evidence, detail for the trace)``.
    """
    c = ctx.config
    k = c.coarse_k
    intent, kind = plan.intent, plan.kind
    target = plan.targets[0] if plan.targets else None
    if intent == "summarise" and plan.window is None:
        ev = memory.overview(ctx, plan.query, chapters=6).evidence
        return ev, f"overview: {len(ev)} summaries and chapters"
    if intent == "describe" and plan.relation == "between" and len(plan.targets) >= 2:
        found = [h for h in (_first_hit(ctx, t) for t in plan.targets[:2]) if h is not None]
        if len(found) == 2:
            a, b = sorted(found, key=lambda e: e.start)
            anchors = [replace(h, score=max(h.score, 0.7), source="anchor") for h in (a, b)]
            window = (a.end, max(a.end, b.start))
            ev, detail = _range(ctx, replace(plan, relation=None), history, window)
            return anchors + ev, f"between {a.start:.0f}s and {b.start:.0f}s: {detail}"
        return found, "could not find both ends of the range"
    if kind == "time_lookup" and plan.window is not None:
        a, b = plan.window
        if plan.intent != "what_at" and b - a > 2 * c.time_window_s:
            return _range(ctx, plan, history, (a, b))
        r = memory.lookup_at(
            ctx, a, modality=plan.modality, half_window=c.time_window_s, until=b if b > a else None
        )
        if plan.options:  # "which of these is shown at 12:34?"
            r.evidence.extend(_options(ctx, plan.options, k=2, window=(a - 8, b + 8)))
        return r.evidence, r.detail
    if kind == "follow_up" and plan.window is not None:
        return _range(ctx, plan, history, plan.window)
    if intent in ("when", "presence", "duration", "which_video") and target is not None:
        if target.modality in ("speech", "ocr") or target.exact:
            r = memory.find_phrase(
                ctx, target.text, modality=target.modality, window=plan.window, k=5
            )
        else:
            r = memory.find_visual(
                ctx, target.text, window=plan.window, k=k * 2 if intent == "duration" else k
            )
        return r.evidence, r.detail
    if kind == "order":
        ev = _options(ctx, plan.options)
        return ev, f"{len(ev)} matches for {len(plan.options)} options"
    if kind == "cross_modal" and plan.anchor is not None:
        hit = _anchor_hit(ctx, plan.anchor)
        if hit is None:
            ev = _options(ctx, plan.options)
            return ev, "anchor not found; options searched everywhere"
        anchor = replace(hit, score=max(hit.score, 0.7), source="anchor")
        window = anchor_window(anchor, plan.direction, c.follow_window_s)
        if plan.anchor.modality == "visual" and plan.direction == "after":
            window = (anchor.start, window[1])  # after it appears, not after it is gone
        if plan.options:
            inside = _options(ctx, plan.options, window=window)
            away = [  # where each option is seen at other times (for elimination)
                replace(e, source="elsewhere", score=round(e.score * 0.5, 4))
                for e in _options(ctx, plan.options, k=2)
                if not (e.start < window[1] and e.end > window[0])
            ]
            ev = [anchor, *inside, *away]
        else:
            ev = [anchor, *_range(ctx, replace(plan, relation=None), history, window)[0]]
        return ev, (
            f"anchor at {anchor.start:.0f}s; looked {plan.direction} it "
            f"({window[0]:.0f}-{window[1]:.0f}s)"
        )
    if intent == "count" and target is not None:
        mod = plan.modality if plan.modality in ("speech", "ocr", "visual") else "visual"
        r = memory.count(ctx, target.text, modality=mod)
        return r.evidence, r.detail
    q = plan.target or plan.query or question
    ev = memory.overview(ctx, q).evidence
    ev += memory.search(ctx, q, k=k).evidence if q.strip() else []
    if plan.options:
        ev += _options(ctx, plan.options, k=2)
    return ev, f"overview + {len(ev)} hits for '{_short(q)}'"


def _short(text: str, n: int = 40) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= n else text[: n - 1] + "…"
