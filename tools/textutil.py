"""Small text helpers: tokens, content words, fuzzy phrase matching, time parsing."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_POSSESSIVE = re.compile(r"'s$|(?<=s)'$")


def strip_possessive(word: str) -> str:
    """``mandrill's`` → ``mandrill``, ``horses'`` → ``horses``; other words unchanged."""
    return _POSSESSIVE.sub("", word)


_STOPWORDS_TEXT = """
a an the and or but if of to in on at by for with from into onto over under about as is are
was were be been being am do does did doing have has had having it its this that these those
there here then than so such what which who whom whose when where why how whether not no yes
can could will would shall should may might must i me my we our you your he him his she her
they them their up down out off again further once all any both each few more most other some
own same too very just also only s t don now video clip film movie time times moment point
part scene screen please tell show shown see seen appear appears appearing visible happen
happens happening occur occurs say says said saying narrator speaker someone somebody person
mention mentions mentioned exactly about around approximately roughly minute minutes second
seconds mm ss first later earlier after before right just
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())

NUMBER_WORDS = {
    "zero": "0",
    "one": "1",
    "two": "2",
    "three": "3",
    "four": "4",
    "five": "5",
    "six": "6",
    "seven": "7",
    "eight": "8",
    "nine": "9",
    "ten": "10",
    "eleven": "11",
    "twelve": "12",
    "thirteen": "13",
    "fourteen": "14",
    "fifteen": "15",
    "sixteen": "16",
    "seventeen": "17",
    "eighteen": "18",
    "nineteen": "19",
    "twenty": "20",
}


def tokens(text: str) -> list[str]:
    """Lower-cased word tokens, number words written as digits."""
    return [NUMBER_WORDS.get(w, w) for w in _WORD.findall(text.lower().replace("’", "'"))]


def content_words(text: str) -> list[str]:
    """Tokens without stopwords, in order, without repeats."""
    seen: dict[str, None] = {}
    for w in tokens(text):
        if w not in STOPWORDS and len(w) > 1:
            seen.setdefault(w, None)
    return list(seen)


def f1(a: Iterable[str], b: Iterable[str]) -> float:
    """Token F1 of two token sequences (bag of words)."""
    ca, cb = Counter(a), Counter(b)
    common = sum((ca & cb).values())
    if not common:
        return 0.0
    p, r = common / sum(cb.values()), common / sum(ca.values())
    return 2 * p * r / (p + r)


def phrase_match(phrase: str, text: str) -> float:
    """How well ``text`` contains ``phrase`` (0-1): recall of the phrase's tokens, blended
    with F1 so a long text that merely contains common words scores lower."""
    pa, tb = tokens(phrase), tokens(text)
    if not pa or not tb:
        return 0.0
    cp, ct = Counter(pa), Counter(tb)
    recall = sum((cp & ct).values()) / len(pa)
    return 0.7 * recall + 0.3 * f1(pa, tb)


_HMS = re.compile(r"(?<![\d:])(\d{1,2}):([0-5]\d):([0-5]\d)(?![\d:])")
_MS = re.compile(r"(?<![\d:])(\d{1,3}):([0-5]\d)(?![\d:])")
_MIN_SEC = re.compile(
    r"\b(\d+(?:\.\d+)?)\s*(?:m|min|mins|minutes?)\b(?:\s*(?:and\s*)?(\d+(?:\.\d+)?)\s*"
    r"(?:s|sec|secs|seconds?)\b)?"
)
_SEC = re.compile(r"\b(\d+(?:\.\d+)?)\s*(?:s|sec|secs|seconds?)\b")
_MINUTE_N = re.compile(r"\bminute\s+(\d+)\b")


def parse_time(text: str) -> float | None:
    """The first time named in ``text`` in seconds (``1:02:03``, ``12:34``, ``5 min 3 s``,
    ``754 seconds``, ``minute 5``), or None."""
    low = text.lower()
    if m := _HMS.search(low):
        h, mi, s = (int(g) for g in m.groups())
        return float(h * 3600 + mi * 60 + s)
    if m := _MS.search(low):
        return float(int(m.group(1)) * 60 + int(m.group(2)))
    if m := _MIN_SEC.search(low):
        return float(m.group(1)) * 60 + (float(m.group(2)) if m.group(2) else 0.0)
    if m := _MINUTE_N.search(low):
        return float(m.group(1)) * 60
    if m := _SEC.search(low):
        return float(m.group(1))
    return None


def strip_times(text: str) -> str:
    """``text`` (lower-cased) without the times it names, so they are not searched for."""
    text = text.lower()
    for pat in (_HMS, _MS, _MIN_SEC, _MINUTE_N, _SEC):
        text = pat.sub(" ", text)
    return text


_QUOTED = re.compile(r"“([^”]+)”|\"([^\"]+)\"|(?<![\w])'([^']+?)'(?![\w])|‘([^’]+)’")


def quoted(text: str) -> list[str]:
    """Quoted passages of ``text`` (curly or straight double quotes, single quotes)."""
    out = []
    for m in _QUOTED.finditer(text):
        q = next(g for g in m.groups() if g is not None).strip()
        if q:
            out.append(q)
    return out


def fts_query(text: str, *, max_words: int = 8) -> str:
    """Content words of ``text`` joined by spaces, for full-text search."""
    return " ".join(content_words(text)[:max_words])
