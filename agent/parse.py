"""The planner's fast path: a question and its history → a :class:`Plan`, in code.

No regex per template: the question is read as cues — what kind of answer it wants
(a time, a count, an order, yes/no, a duration, a summary), which memories it is about
(speech, on-screen text, visuals), the things it names (quoted phrases, options, the
noun phrase left once the question's own words are taken away) and its times (absolute,
ranges, relative to the previous answer). The result says whether it is *complete*; an
incomplete plan goes to the LLM planner (:mod:`hourlens.agent.planner`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from ..tools.textutil import content_words, fts_query, quoted
from .choices import _ORDER_OF, _option, parse_options
from .cues import (
    _AS_SAID,
    _ASKS,
    _ASKS_WHAT,
    _BETWEEN,
    _COUNT,
    _DESCRIBE,
    _DURATION,
    _FIRST,
    _LAST,
    _LOCATE,
    _OCR_NOUN,
    _PRESENCE,
    _PRONOUN_ONLY,
    _REFER,
    _RELATION_AT,
    _SCAFFOLD,
    _SEEN_ANCHOR,
    _SUMMARY,
    _TIME_TAIL,
    _WHAT_AT,
    _WHEN,
    _WHEN_ASK,
    _WHICH_VIDEO,
    _mask_quotes,
    _unmask,
    modality_of_text,
)
from .plan import Intent, Modality, Plan, Relation, Target
from .state import Turn
from .timeexpr import find_times, relation_word

__all__ = ["Parsed", "content_phrase", "modality_of_text", "parse_options", "parse_question"]


@dataclass(frozen=True)
class Parsed:
    """The fast path's result.

    Attributes:
        plan: The plan (always set; ``general`` when nothing more was recognised).
        complete: True when the plan has everything its intent needs and the cues agree.
        why: What was missing or ambiguous (for the trace), when not complete.
    """

    plan: Plan
    complete: bool
    why: str = ""


def content_phrase(text: str) -> str:
    """What a clause names once the question's own words are trimmed from both ends
    ("At what time is a red motorcycle shown?" → "a red motorcycle"); words inside the
    phrase stay ("an astronaut in an orange spacesuit")."""
    words = re.findall(r"[\w'’-]+", text.replace("\x00", " "))
    low = [w.lower().replace("’", "'") for w in words]
    inner = [k for k, w in enumerate(low) if w in ("when", "where", "when's", "where's") and k > 0]
    if inner and any(w not in _SCAFFOLD for w in low[inner[0] + 1 :]):
        words, low = words[inner[0] + 1 :], low[inner[0] + 1 :]  # "any idea when X appears"
    i, j = 0, len(words)
    while i < j and low[i] in _SCAFFOLD:
        i += 1
    while j > i and low[j - 1] in _SCAFFOLD:
        j -= 1
    if i == j:
        return ""
    if i > 0 and low[i - 1] in ("a", "an", "the"):
        i -= 1
    return " ".join(words[i:j]).strip()


def _visual_target(masked: str, saved: list[str]) -> str:
    """The visual description a when/presence/duration question asks about.

    Clauses are read separately ("I'm looking for the red motorcycle: when does it
    appear?"); a clause that only says "it" borrows the description of another clause.
    """
    edges = r"[:;?!.,\u2014\u2013]|\s-\s"
    clauses = [c for c in re.split(edges, masked) if c.strip()]
    found = [
        (bool(_ASKS.search(c)), content_phrase(_TIME_TAIL.sub("", _unmask(c, saved))))
        for c in clauses
    ]
    found = [(a, p) for a, p in found if p and not _PRONOUN_ONLY.match(p)]
    if not found:
        return ""
    asking = [p for a, p in found if a]  # the clause that asks names the thing, if it can
    return max(asking or [p for _, p in found], key=lambda p: len(content_words(p)))


def _relative_window(
    history: Sequence[Turn], relation: str, offset: float | None, length: float
) -> tuple[float, float] | None:
    if not history or not history[-1].citations:
        return None
    c = history[-1].citations[0]
    if offset is not None:
        t = (c.end if offset >= 0 else c.start) + offset
        return max(0.0, t - length / 4), max(0.0, t + length / 4)
    if relation == "after":
        return c.end, c.end + length
    if relation == "before":
        return max(0.0, c.start - length), c.start
    return max(0.0, c.start - length / 2), c.end + length / 2


def _targets(masked: str, saved: list[str], modality: Modality) -> tuple[Target, ...]:
    qs = [q for q in (quoted(s) for s in saved) for q in q]
    if qs:
        mod: Modality = modality if modality in ("speech", "ocr") else "speech"
        if modality_of_text(masked, "any") in ("ocr", "visual"):  # quoted words seen: on screen
            mod = "ocr"
        return tuple(Target(text=q, modality=mod, exact=True) for q in qs)
    phrase = _visual_target(masked, saved)
    if not phrase:
        return ()
    return (Target(text=phrase, modality=modality if modality != "any" else "visual"),)


def parse_question(
    question: str,
    history: Sequence[Turn] = (),
    *,
    duration: float | None = None,
    follow_window_s: float = 30.0,
    time_window_s: float = 12.0,
) -> Parsed:
    """Read a question into a plan without any model.

    In a chat, a follow-up that leaves things out takes them from the previous question:
    "And the rocket?" asks the previous question of a new target, "How long is it on
    screen?" looks for the previous target, "And at 03:00?" reads the same memory.

    Args:
        question: The user's question (may end with an ``Options:`` block).
        history: Earlier turns (relative times resolve against the last answer).
        duration: Length of the video (ranges counted from the end).
        follow_window_s: Length of a window relative to the previous answer.
        time_window_s: Half-width of the window around a point in time.

    Returns:
        The plan and whether it is complete.
    """
    kw = {"duration": duration, "follow_window_s": follow_window_s,
          "time_window_s": time_window_s}  # fmt: skip
    parsed = _parse_one(question, history, **kw)  # type: ignore[arg-type]
    if not history:
        return parsed
    prev = _parse_one(history[-1].question, history[:-1], **kw).plan  # type: ignore[arg-type]
    return _inherit(parsed, question, prev)


#: An elliptical follow-up: "And the rocket?", "What about the red motorcycle?".
_ELLIPSIS = re.compile(
    r"^\s*(?:and|so|ok(?:ay)?|also)?\s*(?:(?:what|how)\s+about|and)\s+(.+?)\s*[?.!]*\s*$", re.I
)


def _inherit(parsed: Parsed, question: str, prev: Plan) -> Parsed:
    """Fill what a follow-up leaves out from the previous question's plan."""
    p = parsed.plan
    m = _ELLIPSIS.match(" ".join(question.split()))
    if (
        m
        and (p.intent == "general" or not parsed.complete)
        and prev.intent != "general"
        and prev.targets
    ):
        masked, saved = _mask_quotes(m.group(1))
        qs = [x for s in saved for x in quoted(s)]
        old = prev.targets[0]
        if qs:
            mod = old.modality if old.modality in ("speech", "ocr") else "speech"
            t = Target(text=qs[0], modality=mod, exact=True)
        else:
            phrase = content_phrase(_unmask(masked, saved))
            if not phrase:
                return parsed
            t = Target(text=phrase, modality="visual" if old.exact else old.modality)
        new = replace(prev, targets=(t,), modality=t.modality, source="parser")
        return Parsed(new.with_notes("follow-up: the previous question, new target"), True)
    if not p.targets and p.intent in ("when", "duration", "presence", "count") and prev.targets:
        new = replace(p, targets=prev.targets, modality=prev.targets[0].modality)
        return Parsed(new.with_notes("follow-up: the previous target"), True)
    if (
        p.intent == "what_at"
        and p.modality == "any"
        and prev.intent == "what_at"
        and prev.modality != "any"
        and p.anchor is None
    ):
        return Parsed(replace(p, modality=prev.modality).with_notes("follow-up: same memory"), True)
    return parsed


def _parse_one(
    question: str,
    history: Sequence[Turn],
    *,
    duration: float | None,
    follow_window_s: float,
    time_window_s: float,
) -> Parsed:
    q = " ".join(question.split())
    body, options = parse_options(q)
    masked, saved = _mask_quotes(body)
    mod = modality_of_text(masked)
    times = find_times(masked)
    window: tuple[float, float] | None = None
    relation: Relation | None = None
    notes: list[str] = []
    rel = next((t for t in times if t.kind == "relative"), None)
    absolute = next((t for t in times if t.kind != "relative"), None)
    refers = bool(_REFER.search(masked))
    if rel is not None:
        window = _relative_window(history, "after", rel.offset, follow_window_s)
        relation = "after" if rel.offset >= 0 else "before"
        if window is None:
            return Parsed(Plan(query=fts_query(body)), False, "a relative time with no "
                          "previous answer to count from")  # fmt: skip
    elif absolute is not None:
        a, b = absolute.resolve(duration)
        window = (
            (a, b) if absolute.kind == "range" else (max(0.0, a - time_window_s), a + time_window_s)
        )
        if absolute.kind == "point":  # "minute 53" is any time of that minute
            window = (a, a + min(absolute.precision, 60.0) if absolute.precision > 1 else a)
    library = bool(_WHICH_VIDEO.search(masked))

    def plan(intent: Intent, **kw: object) -> Plan:
        kw.setdefault("modality", mod)
        kw.setdefault("window", window)
        kw.setdefault("relation", relation)
        kw.setdefault("library", library)
        kw.setdefault("query", fts_query(_unmask(masked, saved)) or body)
        kw.setdefault("notes", tuple(notes))
        return Plan(intent=intent, source="parser", **kw)  # type: ignore[arg-type]

    if library:
        t = _targets(masked, saved, mod if mod != "any" else "visual")
        if t:
            return Parsed(plan("which_video", targets=t, modality=t[0].modality), True)
    if _COUNT.search(masked):
        t = _targets(masked, saved, mod if mod != "any" else "visual")
        if mod == "any" and t and t[0].exact:
            t = tuple(Target(text=x.text, modality="speech", exact=True) for x in t)
        if t and t[0].modality == "speech" and not t[0].exact:  # "the rocket" is "rocket" said
            t = (Target(text=re.sub(r"^(?:a|an|the)\s+", "", t[0].text, flags=re.I),
                        modality="speech"),)  # fmt: skip
        cmod = t[0].modality if t else mod
        if t and cmod == "visual" and _OCR_NOUN.search(masked):
            cmod = "ocr"
        return Parsed(plan("count", targets=t, modality=cmod), bool(t))
    if _DURATION.search(masked) and not re.search(
        r"\bhow\s+long\s+is\s+(?:the|this)\s+"
        r"(?:video|clip|recording)\b",
        masked,
        re.I,
    ):
        t = _targets(masked, saved, "visual" if mod == "any" else mod)
        return Parsed(plan("duration", targets=t, modality=t[0].modality if t else mod), bool(t))
    sequence = bool(_ORDER_OF.search(masked))
    if options and (_FIRST.search(masked) or _LAST.search(masked) or sequence):
        later = bool(_LAST.search(masked)) and not _FIRST.search(masked)
        order = plan(
            "order",
            options=options,
            modality="any",
            relation="after" if later else None,
            sequence=sequence,
        )
        return Parsed(order, len(options) >= 2)
    between = _BETWEEN.search(_unmask(masked, saved)) if not times else None
    if between:
        first, second = (x.strip() for x in between.groups())
        ta, tb = (_option("A", first), _option("B", second))
        targets = tuple(Target(text=o.query, modality=o.modality, exact=o.modality != "visual")
                        for o in (ta, tb))  # fmt: skip
        return Parsed(plan("describe", targets=targets, relation="between", modality="any"), True)
    qs = [x for s in saved for x in quoted(s)]
    lead = relation_word(masked)
    if qs and not lead and _AS_SAID.search(masked.split("\x00")[0]):
        lead = "around"  # "what is on screen when the narrator says '...'?"
    if qs and lead and (options or _DESCRIBE.search(masked) or _WHAT_AT.search(masked)):
        amod = "ocr" if modality_of_text(masked.split("\x00")[0], "speech") == "ocr" else "speech"
        anchor = Target(text=qs[0], modality=amod, exact=True)  # type: ignore[arg-type]
        before_quote = masked.split("\x00")[0]
        edge = _RELATION_AT.search(before_quote)
        asked = before_quote[: edge.start()] if edge else ""
        wmod = modality_of_text(asked, "any") if _ASKS_WHAT.match(asked) else "any"
        if wmod == "any":  # the asking words do not say: what is seen, unless it is read
            wmod = modality_of_text(before_quote, "visual")
            wmod = "visual" if wmod == "speech" else wmod
        what = plan(
            "what_at", anchor=anchor, relation=lead, options=options, modality=wmod, window=None
        )
        return Parsed(what, True)
    seen = _SEEN_ANCHOR.search(masked) if not qs and not options and window is None else None
    if seen and _ASKS_WHAT.match(masked) and content_phrase(seen.group(2)):
        w = seen.group(1).lower()
        side: Relation = "after" if w == "after" else "before" if w == "before" else "around"
        amod = modality_of_text(masked[: seen.start()], "visual")
        what = plan(
            "what_at",
            anchor=Target(text=content_phrase(seen.group(2)), modality="visual"),
            relation=side,
            modality="visual" if amod == "any" else amod,
            window=None,
        )
        return Parsed(what, True)
    at_point = absolute is not None and absolute.kind == "point"
    located = _LOCATE.search(masked) and not at_point
    asks_when = _WHEN_ASK.search(masked) and not (at_point and _ASKS_WHAT.match(masked))
    if window is not None and not (asks_when or located):
        if _SUMMARY.search(masked) or (absolute is not None and absolute.kind == "range"):
            return Parsed(plan("summarise" if _SUMMARY.search(masked) else "describe"), True)
        if rel is None and absolute is None:
            pass
        return Parsed(plan("what_at", options=options), True)
    if _PRESENCE.search(masked) and not _WHEN.search(masked):
        t = _targets(masked, saved, mod if mod != "any" else "visual")
        return Parsed(plan("presence", targets=t, modality=t[0].modality if t else mod), bool(t))
    if _SUMMARY.search(masked):
        return Parsed(plan("summarise"), True)
    if history and refers and not qs and window is None and len(content_words(masked)) <= 3:
        lw = relation_word(masked)
        w = _relative_window(history, lw or "around", None, follow_window_s)
        if w is not None:
            intent: Intent = "what_at" if _WHAT_AT.search(masked) else "describe"
            return Parsed(plan(intent, window=w, relation=lw or "around", options=options), True)
    if _WHEN.search(masked):
        t = _targets(masked, saved, mod if mod != "any" else "visual")
        if not t:
            return Parsed(plan("when"), False, "no target to look for")
        tmod = t[0].modality
        return Parsed(plan("when", targets=t, modality=tmod), True)
    if options:
        return Parsed(plan("general", options=options), False, "a choice of unknown kind")
    if qs and mod in ("speech", "ocr", "any"):  # 'the narrator says "..."' with no question word
        t = _targets(masked, saved, mod if mod != "any" else "speech")
        return Parsed(plan("when", targets=t, modality=t[0].modality), False, "phrase, no ask")
    return Parsed(plan("general"), False, "no recognised question form")
