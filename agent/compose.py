"""Answers computed from the evidence for the intents beyond lookups, and the check that
every answer says only what the evidence holds.

* ``presence`` — yes with where, or an honest no with the closest moments;
* ``duration`` — the stretch of time the target is matched, merged around the best hit;
* ``which_video`` — the videos where the target is found, best first;
* ``summarise`` / ``describe`` — the video summary and chapters, or what the range holds.

:func:`check_answer` keeps an LLM's wording honest: a time outside the video or far
from the cited evidence is replaced by the evidence's time range; an answer that only
restates the question is replaced by the computed one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from ..timefmt import fmt_span, fmt_time
from ..tools.evidence import Evidence, best_first
from ..tools.textutil import f1, tokens
from .plan import Plan
from .state import Judgement
from .timeexpr import find_times

#: Minimum score of a visual (resp. phrase) match that counts as "found".
VISUAL_FOUND = 0.35
PHRASE_FOUND = 0.7
#: A weaker visual match still counts as found when it stands out: at least this score
#: and this many times the best score of any other moment (visual scores are relative to
#: the video, so a clear winner can score low in absolute terms).
VISUAL_DISTINCT_MIN = 0.15
VISUAL_DISTINCT_RATIO = 1.8


def stands_out(pool: Sequence[Evidence]) -> bool:
    """True when the first item of a best-first visual ``pool`` is a clear winner: no other
    moment (not overlapping it) scores within :data:`VISUAL_DISTINCT_RATIO` of it."""
    if not pool or pool[0].score < VISUAL_DISTINCT_MIN:
        return False
    top = pool[0]
    others = [e for e in pool[1:] if e.video_id != top.video_id or e.end <= top.start
              or e.start >= top.end]  # fmt: skip
    return not others or top.score >= VISUAL_DISTINCT_RATIO * others[0].score


def computed(answer: str, used: Sequence[Evidence], confidence: float) -> Judgement:
    """A computed answer as a ``fallback`` judgement (sufficient from 0.6 confidence)."""
    conf = round(max(0.0, min(1.0, confidence)), 3)
    return Judgement(
        sufficient=conf >= 0.6,
        confidence=conf,
        answer=answer,
        used=tuple(e.id for e in used),
        source="fallback",
    )


def _precise(plan: Plan, evidence: Sequence[Evidence]) -> list[Evidence]:
    ranked = [e for e in best_first(evidence) if e.level not in ("video", "chapter")]
    mod = plan.targets[0].modality if plan.targets else plan.modality
    if mod in ("speech", "ocr"):
        return [e for e in ranked if e.kind == mod] or ranked
    return [e for e in ranked if e.kind in ("visual", "caption", "tag")] or ranked


def _visual(plan: Plan) -> bool:
    mod = plan.targets[0].modality if plan.targets else plan.modality
    return mod not in ("speech", "ocr")


def _found(plan: Plan, e: Evidence) -> bool:
    mod = plan.targets[0].modality if plan.targets else plan.modality
    return e.score >= (PHRASE_FOUND if mod in ("speech", "ocr") else VISUAL_FOUND)


def not_found(what: str, closest: Sequence[Evidence]) -> Judgement:
    """An honest "not found", with the closest moments as citations and a low confidence."""
    if not closest:
        return computed(f"I could not find {what} in the video's memories.", [], 0.05)
    spans = ", ".join(fmt_span(e.start, e.end) for e in closest[:3])
    return computed(
        f"I could not find {what} for certain; the closest moments are {spans}.",
        closest[:3],
        min(0.25, max(e.score for e in closest[:3])),
    )


def presence(plan: Plan, evidence: Sequence[Evidence]) -> Judgement:
    """Yes (and where) or no (and the closest moments)."""
    target = plan.target or "that"
    pool = _precise(plan, evidence)
    hits = [e for e in pool if _found(plan, e)]
    if not hits and _visual(plan) and stands_out(pool):
        hits = pool[:1]
    if not hits:
        j = not_found(target, pool)
        return replace(j, answer="No: " + j.answer[0].lower() + j.answer[1:])
    distinct: dict[tuple[float, float], Evidence] = {}
    for e in hits:
        distinct.setdefault((e.start, e.end), e)
    hits = list(distinct.values())
    spans = ", ".join(fmt_span(e.start, e.end) for e in sorted(hits[:3], key=lambda e: e.start))
    return computed(f"Yes: {target} at {spans}.", hits[:3], 0.5 + hits[0].score / 2)


def duration(plan: Plan, evidence: Sequence[Evidence], *, gap: float = 4.0) -> Judgement:
    """How long the target is on screen (or said): the matched stretch around the best hit."""
    pool = [e for e in _precise(plan, evidence) if e.level != "segment" or e.kind != "speech"]
    if not pool or not (_found(plan, pool[0]) or (_visual(plan) and stands_out(pool))):
        return not_found(plan.target or "that", pool)
    best = pool[0]
    keep = [e for e in pool if e.video_id == best.video_id and e.score >= 0.6 * best.score]
    keep.sort(key=lambda e: e.start)
    lo, hi = best.start, best.end
    changed = True
    while changed:  # grow the stretch over neighbouring matches
        changed = False
        for e in keep:
            if e.end >= lo - gap and e.start <= hi + gap and (e.start < lo or e.end > hi):
                lo, hi, changed = min(lo, e.start), max(hi, e.end), True
    used = [e for e in keep if e.start >= lo - 1e-6 and e.end <= hi + 1e-6]
    secs = max(1, round(hi - lo))
    return computed(
        f"About {secs} seconds, from {fmt_time(lo)} to {fmt_time(hi)}.",
        used or [best],
        0.4 + best.score / 2,
    )


def which_video(plan: Plan, evidence: Sequence[Evidence]) -> Judgement:
    """The videos where the target is found, best first, each with its best moment."""
    pool = [e for e in _precise(plan, evidence) if _found(plan, e)]
    best: dict[int, Evidence] = {}
    for e in pool:
        if e.video_id not in best:
            best[e.video_id] = e
    if not best:
        return not_found(plan.target or "that", _precise(plan, evidence))
    items = sorted(best.values(), key=lambda e: -e.score)
    names = "; ".join(
        f"{e.video.replace(chr(92), '/').rsplit('/', 1)[-1]} {fmt_span(e.start, e.end)}"
        for e in items[:5]
    )
    return computed(f"{names}.", items[:5], 0.4 + items[0].score / 2)


def summarise(plan: Plan, evidence: Sequence[Evidence]) -> Judgement:
    """The video summary and its chapters, or what a time range holds, in time order."""
    ranked = best_first(evidence)
    if plan.window is None:
        top = [e for e in ranked if e.kind == "summary"][:1]
        chapters = sorted((e for e in ranked if e.kind == "chapter"), key=lambda e: e.start)[:6]
        parts = [e.text for e in top] + [f"{fmt_span(e.start, e.end)} {e.text}" for e in chapters]
        used = top + chapters
    else:
        a, b = plan.window
        inside = sorted(
            (e for e in ranked if e.end >= a and e.start <= b and e.kind != "summary"),
            key=lambda e: e.start,
        )
        seen: set[str] = set()
        used, parts = [], []
        for e in inside:
            key = " ".join(tokens(e.text))
            if key in seen or not key:
                continue
            seen.add(key)
            used.append(e)
            parts.append(f"{fmt_time(e.start)} {e.text}")
            if len(used) >= 8:
                break
    if not parts:
        what = "anything" if plan.window is None else f"anything in {fmt_span(*plan.window)}"
        return not_found(what, ranked[:3])
    return computed(" ".join(parts), used, 0.55)


def draft_intent(plan: Plan, evidence: Sequence[Evidence]) -> Judgement | None:
    """The computed answer of an intent this module handles, else None."""
    if plan.intent == "presence":
        return presence(plan, evidence)
    if plan.intent == "duration":
        return duration(plan, evidence)
    if plan.intent == "which_video":
        return which_video(plan, evidence)
    if plan.intent in ("summarise", "describe"):
        return summarise(plan, evidence)
    return None


_TIME_LIKE = re.compile(r"\b\d{1,2}:\d{2}(?::\d{2})?\b|\b\d+(?:\.\d+)?\s*(?:s|sec|seconds)\b")


def check_answer(
    text: str,
    question: str,
    used: Sequence[Evidence],
    durations: dict[int, float],
    fallback: str,
    *,
    slack: float = 15.0,
) -> tuple[str, list[str]]:
    """Keep an answer to what the evidence holds.

    Args:
        text: The answer as worded (by the LLM or the VLM).
        question: The question (an answer that only restates it is replaced).
        used: The evidence the answer rests on.
        durations: Video id → duration.
        fallback: The computed answer to use instead of an unusable wording.
        slack: Seconds a named time may lie outside the cited ranges.

    Returns:
        ``(answer, problems found)``.
    """
    problems: list[str] = []
    if not text.strip():
        return fallback, ["empty answer"]
    qa, ta = tokens(question), tokens(text)
    if qa and ta and f1(qa, ta) >= 0.8 and len(ta) <= len(qa) + 4:
        return fallback, ["the answer restated the question"]
    longest = max(durations.values(), default=0.0)
    spans = [(e.start, e.end) for e in used]
    for expr in find_times(text):
        if expr.kind != "point":
            continue
        t = expr.start
        outside = longest > 0 and t > longest + 1
        far = bool(spans) and all(t < a - slack or t > b + slack for a, b in spans)
        if outside or far or (not spans and t > 0):
            problems.append(f"time {fmt_time(t)} is not in the evidence")
    degree = re.search(r"\b\d+\s*°", text)
    if degree:
        problems.append("a time written as degrees")
    if problems:
        return fallback, problems
    return text, problems
