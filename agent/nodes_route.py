"""Question routing: decide the question type in code, before any retrieval (DESIGN §4b).

"What is said at about 12:34?" is a lookup by time and memory kind, "When does the
narrator say '...'?" is a phrase search over the transcript, "At what time is a cat
shown?" is visual retrieval, "Which comes first: A or B?" retrieves each option and
compares times, and "And what happens right after that?" resolves against the previous
answer's time range.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .state import Direction, Modality, Option, Route, Turn
from .textutil import content_words, fts_query, parse_time, quoted, strip_times

_SPEECH = re.compile(
    r"\b(say|says|said|saying|speak|speaks|spoken|talk|talks|talking|mention"
    r"|mentions|mentioned|narrat\w*|voice|hear|heard|words?)\b",
    re.I,
)
_OCR = re.compile(
    r"\b(written|write|writes|text|texts|slides?|captions?|subtitles?|printed|typed"
    r"|sentence\s+on\s+(?:the\s+)?screen)\b",
    re.I,
)
_VISUAL = re.compile(
    r"\b(shown|show|shows|see|seen|visible|appear|appears|look|looks|"
    r"picture|image|frame|happen|happens|happening|doing)\b",
    re.I,
)
_WHEN = re.compile(
    r"^\s*(?:and\s+)?(?:at\s+what\s+(?:time|point|moment)|when|at\s+which\s+"
    r"(?:time|point|moment)|where\s+in\s+the\s+video|what\s+time)\b",
    re.I,
)
_FIRST = re.compile(
    r"\b(?:which|what)\b[^?]*?\b(?:comes?|came|happens?|appears?|is\s+shown|"
    r"is\s+said|occurs?)\s+(?:first|earlier|before)\b",
    re.I,
)
_SHOWN = re.compile(r"\b(?:shown|seen|visible|pictured|on\s+(?:the\s+)?screen)\s*\??\s*$", re.I)
_HOW_MANY = re.compile(r"^\s*(?:and\s+)?how\s+(?:many|often)\b", re.I)
_AFTER = re.compile(r"\b(after|afterwards|next|then|later|following|follows)\b", re.I)
_BEFORE = re.compile(r"\b(before|earlier|previous|previously|prior|preceding)\b", re.I)
_REFER = re.compile(
    r"\b(that|this|it|then|there|next|afterwards|after|before|earlier|later)\b", re.I
)
_OPTIONS = re.compile(r"\bOptions:\s*(.+)$", re.I | re.S)
_LETTER = re.compile(r"(?:^|\s)([A-H])\)\s*")
_GENERIC = frozenset(
    {
        "happens",
        "happen",
        "happened",
        "going",
        "comes",
        "come",
        "next",
        "that",
        "this",
        "does",
        "thing",
        "things",
        "else",
        "do",
        "goes",
    }
)
_VISUAL_LEAD = re.compile(
    r"^\s*(?:and\s+)?(?:at\s+what\s+(?:time|point|moment)|when|at\s+which\s+(?:time|point|"
    r"moment)|where\s+in\s+the\s+video|what\s+time)\s+(?:is|are|was|were|does|do|did|can)?\s*",
    re.I,
)
_VISUAL_TAIL = re.compile(
    r"\s*(?:being\s+)?(?:shown|seen|visible|on\s+screen|in\s+the\s+video|appear(?:s|ing)?|"
    r"show\s+up|shows\s+up|come\s+up|on\s+the\s+screen|first)?\s*(?:in\s+the\s+video)?\s*\??\s*$",
    re.I,
)


def _mask_quotes(text: str) -> tuple[str, list[str]]:
    """Replace quoted passages by placeholders so splitting on ``,``/``or`` ignores them."""
    saved: list[str] = []

    def keep(m: re.Match[str]) -> str:
        saved.append(m.group(0))
        return f"\x00{len(saved) - 1}\x00"

    masked = re.sub(r"“[^”]*”|\"[^\"]*\"|‘[^’]*’", keep, text)
    return masked, saved


def _unmask(text: str, saved: list[str]) -> str:
    return re.sub(r"\x00(\d+)\x00", lambda m: saved[int(m.group(1))], text)


def _option(letter: str, text: str) -> Option:
    text = text.strip().strip("?.!;").strip()
    qs = quoted(text)
    if qs:
        is_ocr = bool(re.search(r"\b(text|written|screen|slide|sign)\b", text, re.I))
        return Option(letter=letter, text=text, modality="ocr" if is_ocr else "speech", query=qs[0])
    return Option(letter=letter, text=text, modality="visual", query=text)


def parse_options(question: str) -> tuple[str, tuple[Option, ...]]:
    """Options of a multiple-choice question.

    Understands an ``Options: A) ... B) ...`` block and options named in the sentence
    (``...: X or Y?``, ``...: X, Y, Z or W?``).

    Returns:
        ``(question without the options block, options)``; no options → ``()``.
    """
    m = _OPTIONS.search(question)
    if m:
        body = question[: m.start()].strip()
        parts = _LETTER.split(" " + m.group(1).strip())
        opts = tuple(
            _option(parts[i], parts[i + 1])
            for i in range(1, len(parts) - 1, 2)
            if parts[i + 1].strip()
        )
        if len(opts) >= 2:
            return body, opts
    masked, saved = _mask_quotes(question)
    if ":" not in masked:
        return question, ()
    tail = masked.rsplit(":", 1)[1].strip().rstrip("?").strip()
    pieces = [p for p in re.split(r",\s*(?:or\s+)?|\s+or\s+", tail) if p.strip()]
    if len(pieces) < 2:
        return question, ()
    return question, tuple(
        _option("ABCDEFGH"[i], _unmask(p, saved)) for i, p in enumerate(pieces[:8])
    )


def _modality(text: str, default: Modality = "any") -> Modality:
    if _SPEECH.search(text):
        return "speech"
    if _OCR.search(text):
        return "ocr"
    if _VISUAL.search(text):
        return "visual"
    return default


def visual_target(question: str) -> str:
    """The thing a "when is X shown?" question asks about ("a cat")."""
    target = _VISUAL_TAIL.sub("", _VISUAL_LEAD.sub("", question)).strip()
    return target or fts_query(question)


def _follow_up(question: str, history: Sequence[Turn], window_s: float) -> Route | None:
    if (
        not history
        or not history[-1].citations
        or quoted(question)
        or parse_time(question) is not None
        or not _REFER.search(question)
    ):
        return None
    rest = [w for w in content_words(question) if w not in _GENERIC]
    if len(rest) > 2:
        return None
    anchor = history[-1].citations[0]
    direction: Direction
    if _AFTER.search(question):
        direction, window = "after", (anchor.end, anchor.end + window_s)
    elif _BEFORE.search(question):
        direction, window = "before", (max(0.0, anchor.start - window_s), anchor.start)
    else:
        direction = "around"
        window = (max(0.0, anchor.start - window_s / 2), anchor.end + window_s / 2)
    return Route(
        kind="follow_up",
        modality=_modality(question),
        query=" ".join(rest),
        window=window,
        direction=direction,
    )


def route_question(
    question: str, history: Sequence[Turn] = (), *, follow_window_s: float = 30.0
) -> Route:
    """Classify a question and extract what to retrieve.

    Args:
        question: The user's question (may end with an ``Options:`` block).
        history: Earlier turns of the conversation.
        follow_window_s: Length of a follow-up's window.

    Returns:
        The route.
    """
    q = " ".join(question.split())
    body, options = parse_options(q)
    quotes = quoted(body)
    if _HOW_MANY.search(body):
        word = None
        if re.search(r"\bthe\s+words?\b", body, re.I) and quotes:
            word = quotes[0]
        modality = "speech" if word else _modality(body, "visual")
        return Route(
            kind="count",
            modality=modality,
            query=quotes[0] if quotes else fts_query(body),
            count_word=word,
        )
    if options and _FIRST.search(body):
        return Route(kind="order", modality="any", query=fts_query(body), options=options)
    if options and quotes and re.search(r"\b(after|before)\b", body, re.I):
        direction: Direction = "before" if re.search(r"\bbefore\b", body, re.I) else "after"
        return Route(
            kind="cross_modal",
            modality=_modality(body.split(quotes[0])[0], "speech"),
            query=quotes[0],
            options=options,
            direction=direction,
        )
    t = parse_time(_mask_quotes(body)[0])
    if t is not None:
        return Route(
            kind="time_lookup", modality=_modality(body), time=t, query=fts_query(strip_times(body))
        )
    if quotes:
        lead = body.split(quotes[0])[0] + body.split(quotes[0])[-1]
        if _OCR.search(lead) and not re.search(r"\b(say|says|said|narrat\w*|speak)", lead, re.I):
            return Route(kind="ocr_when", modality="ocr", query=quotes[0])
        if _SPEECH.search(lead) or _WHEN.search(body):
            return Route(kind="speech_when", modality="speech", query=quotes[0])
    follow = _follow_up(body, history, follow_window_s)
    if follow is not None:
        return follow
    if options:
        return Route(
            kind="general", modality=_modality(body), query=fts_query(body), options=options
        )
    if _WHEN.search(body):
        modality = _modality(body, "visual")
        if modality == "speech" and _SHOWN.search(body):  # "... a man talking in a car shown?"
            modality = "visual"
        if modality == "visual":
            return Route(kind="visual_when", modality="visual", query=visual_target(body))
        if modality == "ocr":
            return Route(kind="ocr_when", modality="ocr", query=fts_query(body))
        return Route(kind="speech_when", modality="speech", query=fts_query(body))
    return Route(kind="general", modality=_modality(body), query=fts_query(body) or body)
