"""The options of a choice question, however they are written."""

from __future__ import annotations

import re

from ..tools.textutil import content_words, quoted, tokens
from .cues import _LETTER, _OPTIONS_BLOCK, _mask_quotes, _unmask, modality_of_text
from .plan import Option


def _option(letter: str, text: str) -> Option:
    text = text.strip().strip("?.!;,").strip()
    text = re.sub(r"^(?:or|and)\s+", "", text, flags=re.I)
    qs = quoted(text)
    if qs:
        mod = modality_of_text(text, "speech")
        return Option(
            letter=letter, text=text, modality="ocr" if mod == "ocr" else "speech", query=qs[0]
        )
    return Option(letter=letter, text=text, modality="visual", query=text)


def _split_choices(tail: str) -> list[str]:
    return [p for p in re.split(r",\s*(?:or\s+)?|\s+or\s+", tail) if p.strip()]


_CLAUSE_WORDS = frozenset(
    [
        "where",
        "what",
        "when",
        "how",
        "why",
        "who",
        "which",
        "is",
        "are",
        "was",
        "were",
        "does",
        "do",
        "did",
        "can",
        "could",
        "will",
        "would",
        "i",
        "we",
        "you",
        "it",
        "they",
        "he",
        "she",
        "there",
        "then",
    ]
)
_LIST_LEAD = frozenset(
    [
        "is",
        "it",
        "was",
        "were",
        "are",
        "do",
        "does",
        "did",
        "we",
        "you",
        "see",
        "which",
        "what",
        "who",
        "of",
        "these",
        "those",
        "one",
        "between",
        "among",
        "from",
        "out",
        "shown",
        "seen",
        "there",
    ]
)
#: Where an option's words end and the question goes on ("a cat that is shown after...").
_CLAUSE_END = re.compile(
    r"\s+(?:that|which|who)\s+(?:is|are|was|were|appears?|comes?|shows?)\b.*$|"
    r"\s+(?:is|are|was|were)\s+(?:shown|seen|visible)\b.*$|\s+(?:shown|seen|appears?|comes?)\s+"
    r"(?:first|earlier|right|just|after|before)\b.*$|"
    r"\s+that\s+(?:we|you|i|they)\s+(?:see|get|hear|find|notice)\b.*$",
    re.I,
)


#: Where a list of choices starts or ends: punctuation that is not a list comma.
_LIST_EDGE = re.compile(r"\s*(?:[:;?!\u2014\u2013]|\s-\s)\s*")
#: Words that lead into a list rather than belong to its first item.
_LEAD_IN = frozenset(
    [*_LIST_LEAD, "tell", "me", "whether", "if", "get", "see", "say", "know", "want", "to",
     "find", "out", "figure", "please", "just", "either", "and", "or", "it's", "its"]
)  # fmt: skip
#: Verbs and order words after which the first item starts ("what shows up a cat, ...").
_LIST_CUE = re.compile(
    r"\b(?:shown|seen|see|sees|appears?|appearing|show(?:s)?(?:\s+up)?|on\s+(?:screen|camera)|"
    r"next|comes?(?:\s+(?:up|on\s+screen|next))?|said|spoken|displayed|first|earlier|sooner|"
    r"whether|either|order)\b",
    re.I,
)
#: What follows the last item and is not part of it ("... or the rocket shown first?").
_AFTER_LAST = re.compile(
    r"\s+(?:first|earlier|sooner|before\s+the\s+other|in\s+the\s+(?:video|clip))\b.*$|"
    r",\s*(?:which|what|who|when|is|are|was|do|does|did)\b.*$|"
    r"\s+(?:appears?|show\s+up|shows\s+up|comes?\s+up|(?:are|is|get)\s+shown|shown|seen|"
    r"happen)\s*$",
    re.I,
)


#: Words between a list's cue and its first item ("... order do we see the cat, ...").
_GLUE = re.compile(r"^(?:(?:is|are|it|to|of|that|there|do|does|did|we|you|appearance),?\s+)+", re.I)


def _first_item(part: str) -> str:
    """The first item of a list from the clause it is glued to ("is the next thing on
    screen a cat" → "a cat"; "Is the cat" → "the cat"); "" when there is none."""
    words = part.split()
    while words and words[0].lower().strip("'’") in _LEAD_IN:
        words.pop(0)
    text = " ".join(words)
    cues = list(_LIST_CUE.finditer(text))
    if cues:
        text = text[cues[-1].end() :].strip()
        text = _GLUE.sub("", text)
    if not text or text.split()[0].lower() in _CLAUSE_WORDS:
        return ""
    return text if content_words(text) or "\x00" in text else ""


#: "In what order do the cat and the rocket appear?": a list joined by "and".
_ORDER_OF = re.compile(r"\b(?:in\s+)?(?:what|which)\s+order\b|\border\s+of\s+appearance\b", re.I)


def _or_list(masked: str, conj: str = "or") -> list[str] | None:
    """The items of a list of choices ``A, B, C or D`` / ``A or B`` anywhere in a sentence,
    without the words around it: the list ends at the last "or"'s item and starts where a
    comma-separated run of items meets a clause, a colon or a dash."""
    ors = list(re.finditer(rf",?\s+{conj}\s+", masked, re.I))
    if not ors:
        return None
    m = ors[-1]
    right = _LIST_EDGE.split(masked[m.end() :], maxsplit=1)[0]
    right = _CLAUSE_END.sub("", right)
    right = _AFTER_LAST.sub("", right).strip().rstrip("?.!,").strip()
    left = _LIST_EDGE.split(masked[: m.start()])[-1]
    items = [right]
    parts = left.split(",")
    for i in range(len(parts) - 1, -1, -1):
        p = parts[i].strip()
        head = p.split()[0].lower() if p else ""
        if i == 0 or head in _CLAUSE_WORDS or _LIST_CUE.search(p) or head in _LEAD_IN:
            first = _first_item(p)
            if first:
                items.append(first)
            break
        items.append(p)
    items = [re.sub(r"^(?:or|and)\s+", "", _CLAUSE_END.sub("", x), flags=re.I).strip()
             for x in reversed(items)]  # fmt: skip
    items = [x.rstrip("?.!,").strip() for x in items]
    if len(items) < 2 or not all(items) or any(len(tokens(x)) > 12 for x in items):
        return None
    if any(x.split()[0].lower() in _CLAUSE_WORDS for x in items):  # clauses, not choices
        return None
    if any(re.match(r"(?:before|after|earlier|later|not)\b", x, re.I) for x in items):
        return None  # "... shown before the cat, or after?" is not a list of things
    return items


def parse_options(question: str) -> tuple[str, tuple[Option, ...]]:
    """The options of a choice: an ``Options: A) ... B) ...`` block, a list after a colon
    or a comma (``...: X, Y or Z?``), or ``X or Y`` inside the sentence ("Is the cat or the
    rocket shown first?").

    Returns:
        ``(question without an options block, options)``; no options → ``()``.
    """
    m = _OPTIONS_BLOCK.search(question)
    if m:
        body = question[: m.start()].strip()
        parts = _LETTER.split(" " + m.group(1).strip())
        opts = tuple(
            _option(parts[i], parts[i + 1]) for i in range(1, len(parts) - 1, 2) if parts[i + 1]
        )
        if len(opts) >= 2:
            return body, opts
        bm, bsaved = _mask_quotes(": " + m.group(1).strip())
        if listed := _or_list(bm):  # "Options: a cat, a dog or a bird."
            return body, tuple(
                _option("ABCDEFGH"[i], _unmask(p, bsaved)) for i, p in enumerate(listed[:8])
            )
    masked, saved = _mask_quotes(question)
    lead = re.match(
        r"^\s*(?:and\s+)?(?:of|among|from|out\s+of|between)\s+(.+?)\s*[,:;—–-]\s*"
        r"(?:which|what|who)\b",
        masked,
        re.I,
    )
    if lead:
        pieces = [
            p
            for p in re.split(r",\s*(?:and\s+|or\s+)?|\s+(?:and|or)\s+", lead.group(1))
            if p.strip()
        ]
        if len(pieces) >= 2 and all(len(tokens(p)) <= 14 for p in pieces):
            return question, tuple(
                _option("ABCDEFGH"[i], _unmask(p, saved)) for i, p in enumerate(pieces[:8])
            )
    if listed := _or_list(masked) or (_ORDER_OF.search(masked) and _or_list(masked, "and")):
        return question, tuple(
            _option("ABCDEFGH"[i], _unmask(p, saved)) for i, p in enumerate(listed[:8])
        )
    # "Does the cat come before the rocket?"
    masked = re.sub(r",?\s+or\s+(?:after|later|not)\s*(?:it|that)?\s*(?=[?.!]*\s*$)", "", masked)
    pair = re.search(
        r"^\s*(?:and\s+)?(?:does|do|did|is|was)\s+(.+?)\s+(?:come|appear|show\s+up|happen|get\s+"
        r"shown|shown|seen)\s+(?:before|earlier\s+than|ahead\s+of)\s+(.+?)\s*[?.!]?$",
        masked,
        re.I,
    )
    if pair:
        return question, (_option("A", _unmask(pair.group(1), saved)),
                          _option("B", _unmask(pair.group(2), saved)))  # fmt: skip
    return question, ()
