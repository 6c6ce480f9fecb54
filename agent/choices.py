"""The options of a choice question, however they are written."""

from __future__ import annotations

import re

from ..tools.textutil import quoted, tokens
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
    r"(?:first|earlier|right|just|after|before)\b.*$",
    re.I,
)


def _comma_list(masked: str) -> list[str] | None:
    """The items of ``A, B, C or D`` inside a sentence, without the words around them."""
    parts = masked.split(",")
    if len(parts) < 2 or not re.search(r"\s(?:or|and)\s", parts[-1]):
        return None
    words = parts[0].split()
    while words and words[0].lower() in _LIST_LEAD:
        words.pop(0)
    last = re.split(r"\s+(?:or|and)\s+", parts[-1].strip(), maxsplit=1)
    items = [" ".join(words), *parts[1:-1], *last]
    items = [_CLAUSE_END.sub("", p).strip().rstrip("?.!").strip() for p in items]
    items = [re.sub(r"^(?:or|and)\s+", "", p, flags=re.I) for p in items]
    if len(items) < 2 or not all(items) or any(len(tokens(p)) > 12 for p in items):
        return None
    if any(p.split()[0].lower() in _CLAUSE_WORDS for p in items):  # clauses, not choices
        return None
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
    after_cue = re.search(
        r"\b(?:first|earlier|sooner|before)\b(?:\s+in\s+the\s+(?:video|clip))?\s*[,:;—–-]?\s*"
        r"(.+?\s+or\s+.+?)\s*[?.!]?\s*$",
        masked,
        re.I,
    )
    if after_cue and ":" not in masked:
        pieces = _split_choices(after_cue.group(1))
        if len(pieces) >= 2 and all(len(tokens(p)) <= 14 for p in pieces):
            return question, tuple(
                _option("ABCDEFGH"[i], _unmask(p, saved)) for i, p in enumerate(pieces[:8])
            )
    if ":" in masked:
        pieces = _split_choices(masked.rsplit(":", 1)[1].strip().rstrip("?.!").strip())
        if len(pieces) >= 2 and all(len(tokens(p)) <= 12 for p in pieces):
            return question, tuple(
                _option("ABCDEFGH"[i], _unmask(p, saved)) for i, p in enumerate(pieces[:8])
            )
    elif listed := _comma_list(masked):
        return question, tuple(
            _option("ABCDEFGH"[i], _unmask(p, saved)) for i, p in enumerate(listed[:8])
        )
    # "Is/Does/Was the cat or the rocket shown first?", "Do we see X or Y earlier?"
    inner = re.search(
        r"^\s*(?:and\s+)?(?:is|are|was|were|does|do|did|will|would|can|has|had)\s+(?:we\s+see\s+"
        r"|you\s+see\s+|the\s+video\s+show\s+)?(.+?)\s+(?:shown|seen|appear\w*|show\s+up|"
        r"come\w*|said|spoken|mentioned|visible|on\s+screen|happen\w*|first|earlier|before|"
        r"sooner|\?)",
        masked,
        re.I,
    )
    if inner and re.search(r"\s+or\s+", inner.group(1)):
        pieces = _split_choices(inner.group(1))
        if len(pieces) >= 2:
            return question, tuple(
                _option("ABCDEFGH"[i], _unmask(p, saved)) for i, p in enumerate(pieces[:8])
            )
    # "Does the cat come before the rocket?"
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
