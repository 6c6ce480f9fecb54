"""Sufficiency check and answer: the LLM's JSON verdict, with deterministic fallbacks.

Every plan has a deterministic draft computed from the evidence (the transcript line at
the time asked about, the time range of the best phrase match, the option seen first...).
The draft is shown to the LLM as a hint, and stands in for the LLM's verdict whenever the
LLM is absent or its JSON is unusable, so a question never fails on the LLM.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..errors import MissingDependencyError, ModelLoadError
from ..prompts import answer_format, render
from ..timefmt import fmt_span, fmt_time
from ..tools.evidence import Evidence, best_first, format_evidence, select_for_prompt
from ..tools.textutil import phrase_match, tokens
from .compose import computed, draft_intent, not_found, stands_out
from .context import Context
from .plan import Plan
from .state import Judgement, Turn

log = logging.getLogger("hourlens.agent")

EXACT = 0.85
#: A best match scoring under this is reported as "not found" with the closest moments.
WEAK = 0.12
WEAK_PHRASE = 0.5


def _when(e: Evidence) -> str:
    return f"From {fmt_time(e.start)} to {fmt_time(e.end)}."


def _fallback(answer: str, used: Sequence[Evidence], confidence: float) -> Judgement:
    return computed(answer, used, confidence)


def _best_option(
    plan: Plan, evidence: Sequence[Evidence], *, elsewhere: bool = False
) -> dict[str, Evidence]:
    """Each option's best item (``elsewhere``: among the items found outside the window
    the question points at, kept for elimination)."""
    best: dict[str, Evidence] = {}
    for e in best_first(evidence):
        if e.option and e.option not in best and (e.source == "elsewhere") == elsewhere:
            best[e.option] = e
    return best


def _by_elimination(
    plan: Plan, evidence: Sequence[Evidence], anchor: list[Evidence]
) -> Judgement | None:
    """Nothing matched inside the window: the option least seen anywhere else, if the others
    are clearly seen at other times (a low-confidence answer by elimination)."""
    away = _best_option(plan, evidence, elsewhere=True)
    scores = {o.letter: (away[o.letter].score if o.letter in away else 0.0) for o in plan.options}
    order = sorted(plan.options, key=lambda o: scores[o.letter])
    if len(order) < 2 or scores[order[1].letter] < 2 * max(scores[order[0].letter], 0.1):
        return None
    seen = [away[o.letter] for o in order[1:] if o.letter in away]
    return _fallback(order[0].text, [*anchor, *seen[:1]], 0.25)


def _next_to_anchor(plan: Plan, ranked: Sequence[Evidence]) -> Judgement:
    """What is said, written or shown right after (before, while) the anchor: the items of
    the asked memory nearest to it on that side, in time order."""
    anchor = next((e for e in ranked if e.source == "anchor"), None)
    if anchor is None:
        return _fallback("I could not find the moment the question refers to.", ranked[:1], 0.1)
    want = {"speech": ("speech",), "ocr": ("ocr",)}.get(plan.modality, ("visual", "caption"))
    pool = [e for e in ranked if e.kind in want and e.source != "anchor"]
    lines = [e for e in pool if e.level in ("line", "memory", "frame")] or pool
    ref = anchor.start if plan.anchor is not None and plan.anchor.modality == "visual" else None
    if plan.direction == "before":
        side = sorted((e for e in lines if e.start < anchor.start), key=lambda e: -e.start)
    else:
        t0 = ref if ref is not None else (anchor.end if plan.direction == "after" else anchor.start)
        later = [e for e in lines if e.start >= t0 - 2.0]
        side = sorted(later or [e for e in lines if e.end > t0 + 0.05], key=lambda e: e.start)
    if not side:
        return not_found(f"anything {plan.direction} that moment", [anchor])
    items = sorted(side[: 1 if want[0] in ("speech", "ocr") else 2], key=lambda e: e.start)
    text = " ".join(e.text for e in items)
    return _fallback(f"{fmt_span(items[0].start, items[-1].end)} {text}", [*items, anchor], 0.5)


def draft(plan: Plan, evidence: Sequence[Evidence]) -> Judgement:
    """The deterministic answer of a plan from its evidence.

    Args:
        plan: The question's plan.
        evidence: Everything gathered.

    Returns:
        A ``fallback`` judgement; its confidence reflects how strong the match is.
    """
    computed = draft_intent(plan, evidence)
    if computed is not None:
        return computed
    ranked = best_first(evidence)
    if not ranked:
        return Judgement(
            sufficient=False,
            confidence=0.0,
            answer="I found nothing in the video's memories that answers this.",
            source="fallback",
        )
    kind, mod = plan.kind, plan.modality
    if kind == "time_lookup" and plan.time is not None:
        pool = [
            e
            for e in ranked
            if e.source == "time"
            and (
                mod == "any"
                or e.kind == mod
                or (mod == "visual" and e.kind in ("caption", "visual"))
            )
        ]
        pool = pool or [e for e in ranked if e.source == "time"] or ranked
        top = pool[0]
        if mod == "ocr":  # among rows as close to the time: most inside the time, most text
            close = [e for e in pool if e.score >= top.score - 0.05]
            lo, hi = plan.window if plan.window else (plan.time, plan.time)

            def inside_share(e: Evidence) -> float:
                length = max(e.end - e.start, 1e-3)
                return round(max(0.0, min(e.end, hi) - max(e.start, lo)) / length, 1)

            top = max(close, key=lambda e: (inside_share(e), len(tokens(e.text)), e.score))
        if mod in ("speech", "ocr"):
            return _fallback(top.text, [top], EXACT if top.score >= 0.99 else 0.35 + top.score / 2)
        used = [top]
        if top.kind == "caption":  # add what the frames look like there, if known
            used += [e for e in pool if e.kind == "visual" and e.level == "memory"][:1]
        text = "; ".join(e.text for e in used)
        at = plan.window[0] if plan.window else plan.time
        return _fallback(f"At {fmt_time(at)}: {text}", used, 0.4 + top.score / 3)
    if kind in ("speech_when", "ocr_when", "visual_when"):
        want = {"speech_when": ("speech",), "ocr_when": ("ocr",)}.get(kind, ("visual", "caption"))
        pool = [e for e in ranked if e.kind in want]
        precise = [e for e in pool if e.level not in ("segment", "chapter", "video")]
        top = (precise or pool or ranked)[0]
        conf = top.score if kind != "visual_when" else min(0.7, top.score + 0.1)
        if kind == "visual_when" and top in precise and stands_out(precise):
            conf = max(conf, 0.6)  # a clear winner of the video's visual ranking
        if kind in ("speech_when", "ocr_when") and plan.targets and plan.targets[0].exact:
            weak = phrase_match(plan.target, top.text) < WEAK_PHRASE  # words, not meaning
        else:
            weak = top.score < WEAK
        if weak:  # nothing really matches: say so, with the closest moments
            return not_found(plan.target or "that", (precise or pool or ranked)[:3])
        return _fallback(_when(top), [top], conf)
    if kind == "cross_modal" and not plan.options:
        return _next_to_anchor(plan, ranked)
    if kind in ("order", "cross_modal") or plan.options:
        best = _best_option(plan, evidence)
        opts = {o.letter: o for o in plan.options}
        found = [(best[k], opts[k]) for k in opts if k in best and best[k].score >= 0.2]
        anchor = [x for x in ranked if x.source == "anchor"][:1]
        if (
            not found
            and kind == "cross_modal"
            and (guess := _by_elimination(plan, evidence, anchor))
        ):
            return guess
        if not found:
            return _fallback("I could not find the options in the video.", ranked[:1], 0.1)
        if kind == "order" and plan.sequence and len(found) == len(opts):
            seq = sorted(found, key=lambda p: p[0].start)
            text = ", then ".join(f"{o.text} ({fmt_time(e.start)})" for e, o in seq)
            return _fallback(text[:1].upper() + text[1:] + ".", [p[0] for p in seq], 0.6)
        if kind == "order":
            pick = max if plan.relation == "after" else min  # "which comes last?"
            e, o = pick(found, key=lambda p: p[0].start)
            conf = 0.75 if len(found) == len(opts) else 0.3
            return _fallback(o.text, [p[0] for p in found], conf * min(1.0, 0.5 + e.score))
        ordered = sorted(found, key=lambda p: -p[0].score)
        e, o = ordered[0]
        margin = e.score - (ordered[1][0].score if len(ordered) > 1 else 0.0)
        return _fallback(o.text, [e, *anchor], 0.45 + min(0.4, margin))
    if kind == "count" and (
        plan.count_word or any(e.source.startswith("count:") for e in evidence)
    ):
        n = sum(int(e.source.split(":")[1]) for e in evidence if e.source.startswith("count:"))
        lines = [e for e in ranked if e.source.startswith("count:")]
        return _fallback(f"{n} times.", lines, EXACT if n else 0.5)
    if kind == "follow_up":
        if plan.window is not None:  # what lies inside the window the question points at
            a, b = plan.window
            inside = [e for e in ranked if e.end >= a and e.start <= b and e.level == "line"]
            ranked = inside or [e for e in ranked if e.end >= a and e.start <= b] or ranked
        line_kind = plan.modality if plan.modality in ("speech", "ocr") else "speech"
        lines = sorted((e for e in ranked if e.kind == line_kind), key=lambda e: e.start)
        items = lines[:3] or sorted(ranked[:2], key=lambda e: e.start)
        text = " ".join(e.text for e in items)
        span = fmt_span(items[0].start, items[-1].end)
        return _fallback(f"{span} {text}", items, 0.5)
    top = ranked[0]
    return _fallback(f"{top.text} {fmt_span(top.start, top.end)}", [top], 0.25 + top.score / 3)


def is_exact_lookup(plan: Plan, d: Judgement) -> bool:
    """True when the draft is a verbatim lookup that an LLM could only re-word."""
    if d.confidence < EXACT:
        return False
    if plan.kind == "time_lookup":
        return plan.modality in ("speech", "ocr")
    return plan.kind in ("speech_when", "ocr_when", "count")


#: Routes whose answer the draft computes from the evidence (a time, an option, a count).
DRAFTED = frozenset(
    {"time_lookup", "speech_when", "ocr_when", "visual_when", "order", "cross_modal", "count"}
)


#: Intents whose answer is computed from the evidence whatever their retrieval route.
COMPUTED_INTENTS = frozenset({"when", "order", "count", "presence", "duration", "which_video"})


#: Confidence of a visual or multiple-choice draft that found what it was looking for.
FOUND = 0.3


def trusts_draft(plan: Plan, d: Judgement, *, final: bool = False) -> bool:
    """True when the LLM could add nothing to the draft: an exact lookup, or a draft of a
    plan whose answer is computed (when something is shown, which option comes first or
    follows the anchor) that is sufficient or, once backtracking is over (``final``),
    found something. The text-only LLM sees no frames, only the tags and scores the draft
    already ranked; measured on niah, it re-worded times and options and picked worse
    among weak visual candidates than the ranking did."""
    if is_exact_lookup(plan, d):
        return True
    if plan.intent in ("presence", "duration", "which_video"):
        return d.sufficient or final
    return plan.kind in ("visual_when", "order", "cross_modal") and (
        d.sufficient or (final and d.confidence >= FOUND)
    )


def _hint(plan: Plan, d: Judgement, shown: Sequence[Evidence]) -> str:
    if plan.kind == "general" and not plan.options:
        return ""
    nums = [str(i) for i, e in enumerate(shown, 1) if e.id in d.used]
    ref = f" (evidence {', '.join(nums)})" if nums else ""
    return f"Index lookup suggests: {d.answer}{ref}\n"


def _options_text(plan: Plan, shown: Sequence[Evidence]) -> str:
    if not plan.options:
        return ""
    lines = []
    for o in plan.options:
        nums = [str(i) for i, e in enumerate(shown, 1) if e.option == o.letter]
        where = f" (evidence {', '.join(nums)})" if nums else " (not found)"
        lines.append(f"{o.letter}) {o.text}{where}")
    return "Options:\n" + "\n".join(lines) + "\n"


def _history_text(history: Sequence[Turn]) -> str:
    if not history:
        return ""
    last = history[-1]
    spans = ", ".join(fmt_span(c.start, c.end) for c in last.citations[:2])
    return f"Previous question: {last.question}\nPrevious answer: {last.answer} {spans}\n"


def judge_messages(
    ctx: Context,
    plan: Plan,
    question: str,
    history: Sequence[Turn],
    shown: Sequence[Evidence],
    d: Judgement,
) -> list[Any]:
    """The sufficiency-check prompt (system + user message)."""
    from ..models.llm import ChatMessage

    user = render(
        "judge_user",
        history=_history_text(history),
        question=question,
        options=_options_text(plan, shown),
        evidence=format_evidence(shown, show_video=len(ctx.videos) > 1),
        hint=_hint(plan, d, shown),
        instructions=answer_format(plan.kind, plan.modality, has_options=bool(plan.options)),
    )
    return [
        ChatMessage(role="system", content=render("judge_system")),
        ChatMessage(role="user", content=user),
    ]


def _as_float(x: Any, default: float) -> float:
    try:
        return max(0.0, min(1.0, float(x)))
    except (TypeError, ValueError):
        return default


def _as_bool(x: Any) -> bool | None:
    if isinstance(x, bool):
        return x
    if isinstance(x, str) and x.strip().lower() in ("true", "yes", "false", "no"):
        return x.strip().lower() in ("true", "yes")
    return None


def parse_judgement(
    raw: Any, shown: Sequence[Evidence], d: Judgement, threshold: float
) -> Judgement:
    """The LLM's verdict, repaired field by field from the draft where it is unusable.

    Args:
        raw: What ``complete_json`` returned (anything).
        shown: The numbered evidence of the prompt.
        d: The deterministic draft.
        threshold: Confidence at which evidence counts as sufficient.

    Returns:
        A judgement; ``source`` is ``fallback`` when nothing usable came back.
    """
    if not isinstance(raw, dict):
        return d
    answer = raw.get("answer")
    answer = " ".join(str(answer).split()) if isinstance(answer, str | int | float) else ""
    refs = raw.get("evidence", raw.get("used", []))
    used: list[str] = []
    for r in refs if isinstance(refs, list) else [refs]:
        m = re.search(r"\d+", str(r))
        if m and 1 <= int(m.group()) <= len(shown) and shown[int(m.group()) - 1].id not in used:
            used.append(shown[int(m.group()) - 1].id)
    conf = _as_float(raw.get("confidence"), d.confidence)
    sufficient = _as_bool(raw.get("sufficient"))
    if sufficient is None:
        sufficient = conf >= threshold
    if not answer and not ("sufficient" in raw or "confidence" in raw):
        return d
    missing = raw.get("missing")
    return Judgement(
        sufficient=sufficient and bool(answer or d.answer),
        confidence=round(conf, 3),
        answer=answer or d.answer,
        used=tuple(used) or d.used,
        missing=str(missing).strip() if isinstance(missing, str) else "",
        source="llm",
    )


def judge(
    ctx: Context,
    plan: Plan,
    question: str,
    history: Sequence[Turn],
    evidence: Sequence[Evidence],
    *,
    final: bool = True,
) -> tuple[Judgement, list[Evidence]]:
    """The sufficiency check.

    With ``trust_lookups``, a plan with a computed draft (:data:`DRAFTED`) asks the LLM
    only when the draft is not trusted and no backtracking round is left (``final``):
    until then the draft's own confidence decides whether to look finer.

    Returns:
        ``(judgement, the evidence shown to the LLM)``.
    """
    c = ctx.config
    d = draft(plan, evidence)
    shown = select_for_prompt(evidence, max_items=c.prompt_items, max_chars=c.prompt_chars)
    for must in d.used:  # the draft's items are always shown
        if must not in {e.id for e in shown}:
            shown = sorted(
                [*shown, *[e for e in evidence if e.id == must]],
                key=lambda e: (e.video, e.start, e.id),
            )
    if ctx.llm is None:
        return d, shown
    if c.trust_lookups and trusts_draft(plan, d, final=final):
        return replace(d, source="lookup", sufficient=True), shown
    computed = plan.kind in DRAFTED or plan.intent in COMPUTED_INTENTS
    undecided = final and bool(plan.options) and d.confidence < FOUND  # no option found
    if c.trust_lookups and computed and (not final or not c.judge_computed) and not undecided:
        return d, shown
    if not final and ctx.llm_calls + 1 >= c.max_llm_calls:
        return d, shown  # keep the last call for the final judgement
    llm = ctx.llm_for_call()
    if llm is None:  # the question's LLM budget is spent: the computed answer stands
        return d, shown
    try:
        raw = llm.complete_json(
            judge_messages(ctx, plan, question, history, shown, d), max_tokens=c.judge_max_tokens
        )
    except (KeyboardInterrupt, SystemExit):
        raise
    except (MissingDependencyError, ModelLoadError) as exc:
        log.warning("the LLM cannot run (%s); answering from the index lookups", exc)
        ctx.llm = None  # do not retry for the rest of this question
        return d, shown
    except Exception as exc:  # noqa: BLE001 - invalid JSON or a failing LLM: use the draft
        log.info("sufficiency check fell back to the index lookup: %s", exc)
        return d, shown
    j = parse_judgement(raw, shown, d, c.sufficient_confidence)
    if plan.options and j.source == "llm" and not _names_an_option(plan, j.answer):
        return d, shown  # a choice is answered with one of its options, or not at all
    return j, shown


def _names_an_option(plan: Plan, answer: str) -> bool:
    low = answer.lower()
    return any(o.text.lower() in low or re.search(rf"\b{o.letter}\)", answer) for o in plan.options)
