"""Time expressions in questions, as people write them.

``12:34``, ``0:12:34``, ``1 hour 2 minutes``, ``an hour and two minutes in``, ``1h02m``,
``62 minutes``, ``minute 12``, ``754 seconds``; ranges (``between 10:00 and 15:00``,
``10:00-15:00``, ``the first/last five minutes``); and times relative to the previous
answer (``30 seconds later``, ``right before that``). Number words are understood.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

_UNITS = {
    "zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13,
    "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60}
_NUM_WORD = re.compile(
    r"\b(?:("
    + "|".join(_TENS)
    + r")(?:[\s-]+("
    + "|".join(k for k in _UNITS if k != "zero")
    + r"))?|("
    + "|".join(_UNITS)
    + r"))\b"
)


def words_to_digits(text: str) -> str:
    """``"an hour and two minutes"`` → ``"1 hour and 2 minutes"`` (lower-cased)."""
    low = text.lower().replace("’", "'")
    low = re.sub(r"\ban hour and a half\b", "90 minutes", low)
    low = re.sub(r"\bhalf an hour\b|\ba half hour\b", "30 minutes", low)
    low = re.sub(r"\ba quarter of an hour\b|\ba quarter hour\b", "15 minutes", low)

    def num(m: re.Match[str]) -> str:
        if m.group(3):
            return str(_UNITS[m.group(3)])
        return str(_TENS[m.group(1)] + (_UNITS[m.group(2)] if m.group(2) else 0))

    low = _NUM_WORD.sub(num, low)
    return re.sub(r"\b(?:an?|one)\s+(hour|minute|second)\b", r"1 \1", low)


_N = r"(\d+(?:\.\d+)?)"
_HMS = re.compile(r"(?<![\d:.])(\d{1,2}):([0-5]\d):([0-5]\d)(?:\.\d+)?(?!\d|:\d)")
_MS = re.compile(r"(?<![\d:.])(\d{1,3}):([0-5]\d)(?:\.\d+)?(?!\d|:\d)")
_UNIT_H = r"(?:h|hr|hrs|hours?)"
_UNIT_M = r"(?:m|min|mins|minutes?)"
_UNIT_S = r"(?:s|sec|secs|seconds?)"
_END = r"(?![a-z])"
_SPELLED = re.compile(
    rf"(?:(?<![\d.]){_N}\s*{_UNIT_H}{_END})?(?:\s*(?:,|and)?\s*(?<![\d.]){_N}\s*{_UNIT_M}{_END})?"
    rf"(?:\s*(?:,|and)?\s*(?<![\d.]){_N}\s*{_UNIT_S}{_END})?"
)
_MINUTE_N = re.compile(r"\bminute\s+(\d+)\b")
_REL = re.compile(
    rf"\b{_N}\s*({_UNIT_H}|{_UNIT_M}|{_UNIT_S})\s+(later|after(?:wards)?|on|further|"
    r"before|earlier|prior|back)\b"
)
_FIRST_LAST = re.compile(rf"\b(first|last|final|opening|closing)\s+{_N}\s*({_UNIT_M}|{_UNIT_S})\b")
_RANGE_SEP = r"\s*(?:-|–|—|to|and|until|till|through)\s*"
#: "at the start", "towards the end of the video": the first or last ``EDGE_S`` seconds.
_EDGE = re.compile(
    r"\b(?:at|in|near|towards?|by)\s+the\s+(?:very\s+)?(start|beginning|outset|end|close)\b"
    r"(?:\s+of\s+(?:the|this)\s+(?:video|clip|recording|film)\b|(?!\s+of\b))"
)
EDGE_S = 30.0

Kind = Literal["point", "range", "relative"]


@dataclass(frozen=True)
class TimeExpr:
    """A time named in a question.

    Attributes:
        kind: ``point`` (one time), ``range`` (start-end), or ``relative`` (an offset from
            the previous answer: ``offset`` seconds, negative = before).
        start: Seconds (``point``: the time; ``range``: its start). ``-1`` for a range
            counted from the end (``last``); resolve with :meth:`resolve`.
        end: Seconds (``range`` end); equal to ``start`` for a point.
        offset: Seconds relative to the previous answer (``relative``).
        span: ``(begin, end)`` character positions of the expression in the text.
        from_end: The range is the last ``end - start`` seconds of the video.
        precision: Seconds the expression leaves open: 1 for ``12:34``, 60 for "minute
            12" or "12 minutes in" (any time of that minute).
    """

    kind: Kind
    start: float = 0.0
    end: float = 0.0
    offset: float = 0.0
    span: tuple[int, int] = (0, 0)
    from_end: bool = False
    precision: float = 1.0

    def resolve(self, duration: float | None) -> tuple[float, float]:
        """The ``(start, end)`` window in seconds (a range from the end needs ``duration``)."""
        if self.from_end and duration:
            length = self.end - self.start
            return max(0.0, duration - length), duration
        return self.start, self.end


def _unit_seconds(unit: str) -> float:
    return 3600.0 if unit.startswith("h") else 60.0 if unit.startswith("m") else 1.0


def _points(low: str) -> list[tuple[float, tuple[int, int], float]]:
    """Every absolute time in ``low`` with its character span and precision, in text order."""
    found: list[tuple[float, tuple[int, int], float]] = []
    taken: list[tuple[int, int]] = []

    def free(a: int, b: int) -> bool:
        return all(b <= x or a >= y for x, y in taken)

    for m in _HMS.finditer(low):
        h, mi, s = (int(g) for g in m.groups())
        found.append((float(h * 3600 + mi * 60 + s), m.span(), 1.0))
        taken.append(m.span())
    for m in _MS.finditer(low):
        if free(*m.span()):
            found.append((float(int(m.group(1)) * 60 + int(m.group(2))), m.span(), 1.0))
            taken.append(m.span())
    for m in _SPELLED.finditer(low):
        if not m.group(0).strip() or not any(m.group(i) for i in (1, 2, 3)):
            continue
        if not free(*m.span()):
            continue
        hh, mm, ss = (float(m.group(i)) if m.group(i) else 0.0 for i in (1, 2, 3))
        prec = 1.0 if m.group(3) else 60.0 if m.group(2) else 3600.0 if m.group(1) else 1.0
        found.append((hh * 3600 + mm * 60 + ss, m.span(), prec))
        taken.append(m.span())
    for m in _MINUTE_N.finditer(low):
        if free(*m.span()):
            found.append((float(m.group(1)) * 60, m.span(), 60.0))
            taken.append(m.span())
    return sorted(found, key=lambda p: p[1][0])


def find_times(text: str) -> list[TimeExpr]:
    """The time expressions of ``text``: relative offsets, ranges, then points.

    Args:
        text: The question (quoted passages should be masked first).

    Returns:
        Expressions in text order; a range is reported once (not also as two points).
    """
    low = words_to_digits(text)
    out: list[TimeExpr] = []
    used: list[tuple[int, int]] = []
    for m in _REL.finditer(low):
        sec = float(m.group(1)) * _unit_seconds(m.group(2))
        sign = -1.0 if m.group(3) in ("before", "earlier", "prior", "back") else 1.0
        out.append(TimeExpr("relative", offset=sign * sec, span=m.span()))
        used.append(m.span())
    for m in _FIRST_LAST.finditer(low):
        length = float(m.group(2)) * _unit_seconds(m.group(3))
        last = m.group(1) in ("last", "final", "closing")
        out.append(TimeExpr("range", 0.0, length, span=m.span(), from_end=last))
        used.append(m.span())
    for m in _EDGE.finditer(low):
        end = m.group(1) in ("end", "close")
        out.append(TimeExpr("range", 0.0, EDGE_S, span=m.span(), from_end=end))
        used.append(m.span())
    pts = [p for p in _points(low) if all(p[1][1] <= a or p[1][0] >= b for a, b in used)]
    i = 0
    while i < len(pts):
        t, (a, b), prec = pts[i]
        if i + 1 < len(pts):
            t2, (c, d), _ = pts[i + 1]
            between = low[b:c]
            lead = low[max(0, a - 14) : a]
            if re.fullmatch(_RANGE_SEP, between) and (
                between.strip() not in ("and",) or re.search(r"between\s*$", lead)
            ):
                if t2 < t and between.strip() in ("-", "–", "—"):
                    t2 = t2  # "12:30-12:10" is not a range people write; keep order anyway
                out.append(TimeExpr("range", min(t, t2), max(t, t2), span=(a, d)))
                i += 2
                continue
        out.append(TimeExpr("point", t, t, span=(a, b), precision=prec))
        i += 1
    return sorted(out, key=lambda e: e.span[0])


_RIGHT_AFTER = re.compile(
    r"\b(?:right|just|immediately|directly|shortly|soon)?\s*(after|afterwards|next|then|"
    r"following|later|before|earlier|previously|prior|preceding|once)\b"
)


def relation_word(text: str) -> str | None:
    """``after``/``before`` when the text points forward or back in time, else None."""
    m = _RIGHT_AFTER.search(text.lower())
    if not m:
        return None
    w = m.group(1)
    return "before" if w in ("before", "earlier", "previously", "prior", "preceding") else "after"
