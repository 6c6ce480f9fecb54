"""The question planner: any question (with its chat history) → a validated :class:`Plan`.

The fast path (:func:`hourlens.agent.parse.parse_question`) reads the question in code;
its plan is used when it is complete and consistent. Otherwise the LLM writes a plan as
JSON under :data:`PLAN_SCHEMA` (grammar-constrained where the runtime allows), which is
checked like the parser's: times inside the video, options really in the question,
targets non-empty. A plan that fails the checks is repaired field by field, or the
parser's plan stands — planning never fails a question.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from ..errors import MissingDependencyError, ModelLoadError
from ..timefmt import fmt_span, fmt_time
from ..tools.textutil import content_words, fts_query, tokens
from .parse import Parsed, parse_options, parse_question
from .plan import INTENTS, MODALITY_NAMES, Option, Plan, Target
from .state import Turn
from .timeexpr import find_times

log = logging.getLogger("hourlens.agent")

#: The JSON the LLM planner writes.
PLAN_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "intent": {"type": "string", "enum": list(INTENTS)},
        "modality": {"type": "string", "enum": list(MODALITY_NAMES)},
        "targets": {"type": "array", "items": {"type": "string"}, "maxItems": 4},
        "options": {"type": "array", "items": {"type": "string"}, "maxItems": 8},
        "start": {"type": ["string", "null"]},
        "end": {"type": ["string", "null"]},
        "relative_to_previous": {"type": "string", "enum": ["none", "after", "before", "around"]},
        "offset_seconds": {"type": ["number", "null"]},
        "library": {"type": "boolean"},
    },
    "required": ["intent", "modality", "targets"],
}

_SYSTEM = """You turn a question about a video into a retrieval plan. Fields:
intent: when (asks for a time) | what_at (what is said/shown/written at a time or right after
an event) | order (which option comes first) | count (how many times) | presence (yes/no: is
X in it) | duration (how long X lasts) | describe (what happens in a time range) | summarise
(what the video or a part is about) | which_video (which of several videos) | general.
modality: speech (said, narrator, voice) | ocr (written, on-screen text, slide) | visual
(shown, seen, appears) | any.
targets: the things to look for, copied from the question (a quoted sentence, or a short
description like "a red motorcycle"); [] if none.
options: the choices named in the question, copied word for word; [] if none.
start, end: times the question names, as MM:SS or H:MM:SS; null if none.
relative_to_previous: after/before/around when the question points at the previous answer
("and right after that?", "30 seconds later"), else none. offset_seconds: "30 seconds later"
is 30, "a minute before" is -60, else null.
library: true only if the question asks which of several videos."""


def _history_text(history: Sequence[Turn]) -> str:
    if not history:
        return ""
    last = history[-1]
    spans = ", ".join(fmt_span(c.start, c.end) for c in last.citations[:2])
    return f"Previous question: {last.question}\nPrevious answer: {last.answer} {spans}\n"


def plan_messages(question: str, history: Sequence[Turn], duration: float | None) -> list[Any]:
    """The LLM planner's prompt."""
    from ..models.llm import ChatMessage

    length = f"The video is {fmt_time(duration)} long.\n" if duration else ""
    user = f"{length}{_history_text(history)}Question: {question}\nPlan:"
    return [ChatMessage(role="system", content=_SYSTEM), ChatMessage(role="user", content=user)]


def _in_question(text: str, question: str) -> bool:
    """True when most of ``text``'s content words are in the question (no invented option)."""
    words = content_words(text) or tokens(text)
    have = set(tokens(question))
    return bool(words) and sum(w in have for w in words) >= max(1, 0.6 * len(words))


def _time_of(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value.strip():
        found = find_times(value)
        if found and found[0].kind == "point":
            return found[0].start
        if re.fullmatch(r"\s*\d+(?:\.\d+)?\s*", value):
            return float(value)
    return None


def plan_from_json(
    raw: Any, question: str, history: Sequence[Turn], duration: float | None, fallback: Plan
) -> Plan:
    """A plan from the LLM's JSON, every field checked against the question and the video.

    Unusable fields fall back to ``fallback``'s (the parser's plan); what was dropped is
    recorded in ``notes``.
    """
    if not isinstance(raw, dict):
        return fallback.with_notes("LLM plan unusable")
    notes: list[str] = []
    intent = raw.get("intent") if raw.get("intent") in INTENTS else fallback.intent
    modality = raw.get("modality") if raw.get("modality") in MODALITY_NAMES else fallback.modality
    targets: list[Target] = []
    for t in raw.get("targets") or []:
        if isinstance(t, str) and t.strip():
            if _in_question(t, question):
                targets.append(Target(text=t.strip(), modality=modality))  # type: ignore[arg-type]
            else:
                notes.append(f"target {t[:30]!r} not in the question")
    body, opts = parse_options(question)
    options: tuple[Option, ...] = opts
    if not options:
        llm_opts = [o for o in raw.get("options") or [] if isinstance(o, str) and o.strip()]
        kept = [o for o in llm_opts if _in_question(o, question)]
        if len(kept) < len(llm_opts):
            notes.append("options not in the question dropped")
        if len(kept) >= 2:
            options = tuple(
                Option(letter="ABCDEFGH"[i], text=o, modality="visual", query=o)
                for i, o in enumerate(kept[:8])
            )
    window = fallback.window
    a, b = _time_of(raw.get("start")), _time_of(raw.get("end"))
    if a is not None:
        b = a if b is None else b
        if duration and (a > duration + 1 or b > duration + 1):
            notes.append(f"time {fmt_time(max(a, b))} outside the video dropped")
        else:
            window = (min(a, b), max(a, b))
    rel = raw.get("relative_to_previous")
    relation = fallback.relation
    if rel in ("after", "before", "around") and history and history[-1].citations:
        c = history[-1].citations[0]
        off = _time_of(raw.get("offset_seconds"))
        if off is not None:
            t = (c.end if off >= 0 else c.start) + off
            window = (max(0.0, t - 8.0), t + 8.0)
        elif rel == "after":
            window = (c.end, c.end + 30.0)
        elif rel == "before":
            window = (max(0.0, c.start - 30.0), c.start)
        else:
            window = (max(0.0, c.start - 15.0), c.end + 15.0)
        relation = rel
    plan = Plan(
        intent=intent,  # type: ignore[arg-type]
        modality=modality,  # type: ignore[arg-type]
        targets=tuple(targets) or fallback.targets,
        options=options,
        window=window,
        anchor=fallback.anchor,
        relation=relation,
        library=bool(raw.get("library")) and fallback.library,
        query=fts_query(body) or body,
        source="llm",
        notes=tuple(notes),
    )
    return plan


def check_plan(plan: Plan, duration: float | None) -> tuple[Plan, list[str]]:
    """Validate a plan: times inside the video, what each intent needs present.

    Returns:
        ``(the plan, possibly repaired, problems that remain)``; no problems → usable.
    """
    problems: list[str] = []
    if plan.window is not None and duration:
        a, b = plan.window
        if a > duration + 1:
            problems.append(f"{fmt_time(a)} is after the end of the video ({fmt_time(duration)})")
            plan = replace(plan, window=None)
        elif b > duration:
            plan = replace(plan, window=(a, duration))
    needs_target = ("when", "count", "presence", "duration", "which_video")
    if plan.intent in needs_target and not plan.targets and plan.anchor is None:
        problems.append(f"a {plan.intent} question with nothing to look for")
    if plan.intent == "order" and len(plan.options) < 2:
        problems.append("an order question without two options")
    if plan.intent == "what_at" and plan.window is None and plan.anchor is None:
        problems.append("a what-at question without a time")
    if plan.intent == "describe" and plan.window is None and len(plan.targets) < 2:
        problems.append("a range question without a range")
    return plan, problems


def make_plan(
    question: str,
    history: Sequence[Turn],
    *,
    llm: Any = None,
    duration: float | None = None,
    follow_window_s: float = 30.0,
    time_window_s: float = 12.0,
    use_llm: bool = True,
) -> Plan:
    """Plan a question: the fast path when complete and valid, else the LLM, else general.

    Args:
        question: The question.
        history: Earlier turns.
        llm: An LLM with ``complete_json`` (None: the fast path only).
        duration: The video's length (for checking and for "the last five minutes").
        follow_window_s: Length of a window relative to the previous answer.
        time_window_s: Half-width of a time lookup's window.
        use_llm: Allow the LLM planner.

    Returns:
        A validated plan (never raises on a bad LLM reply).
    """
    parsed: Parsed = parse_question(
        question,
        history,
        duration=duration,
        follow_window_s=follow_window_s,
        time_window_s=time_window_s,
    )
    plan, problems = check_plan(parsed.plan, duration)
    if parsed.complete and not problems:
        return plan
    why = "; ".join([parsed.why, *problems]).strip("; ")
    if llm is None or not use_llm:
        return _general(plan, problems, why)
    try:
        raw = llm.complete_json(
            plan_messages(question, history, duration),
            max_tokens=110,
            schema_hint='{"intent", "modality", "targets": [], "options": [], "start", "end", '
            '"relative_to_previous", "offset_seconds", "library"}',
            schema=PLAN_SCHEMA,
        )
    except (KeyboardInterrupt, SystemExit):
        raise
    except (MissingDependencyError, ModelLoadError) as exc:
        log.warning("the LLM cannot plan (%s); using the fast path's plan", exc)
        return _general(plan, problems, why)
    except Exception as exc:  # noqa: BLE001 - bad JSON or a failing LLM: the fast path stands
        log.info("LLM planning failed: %s", exc)
        return _general(plan, problems, why)
    llm_plan = plan_from_json(raw, question, history, duration, plan)
    llm_plan, llm_problems = check_plan(llm_plan, duration)
    if llm_problems:
        return _general(plan, problems, why).with_notes(
            "LLM plan rejected: " + "; ".join(llm_problems)
        )
    return llm_plan.with_notes(f"parser: {why}") if why else llm_plan


def _general(plan: Plan, problems: list[str], why: str) -> Plan:
    """The plan to run when nothing better was found: keep what is valid, else general."""
    if not problems:
        return plan.with_notes(why) if why and plan.intent == "general" else plan
    return replace(plan, intent="general", source="fallback").with_notes(*problems)
