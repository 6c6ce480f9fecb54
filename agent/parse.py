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
from dataclasses import dataclass

from ..tools.textutil import content_words, fts_query, quoted, tokens
from .plan import Intent, Modality, Option, Plan, Relation, Target
from .state import Turn
from .timeexpr import find_times, relation_word


def _rx(words: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + words + r")\b", re.I)


# ---- cues ---------------------------------------------------------------------------
_OCR_NOUN = _rx(
    r"text|texts|written|writing|write|writes|wrote|words?\s+on|on[- ]?screen\s+(?:text|words?)|"
    r"slides?|captions?|subtitles?|titles?|signs?|banners?|printed|typed|lettering|"
    r"sentence\s+on|displayed\s+text|read\s+on|reads?"
)
_OCR_PLACE = _rx(r"on[- ]?screen|onscreen|on\s+the\s+screen|displayed")
_SPEECH = _rx(
    r"say|says|said|saying|spoke|spoken|mention|mentions|mentioned|mentioning|narrat\w*|"
    r"voice|voiceover|hear|heard|hearing|utter\w*|pronounc\w*|audio|speaker|announce\w*|"
    r"quote|quoted"
)
#: Words only speech has (on-screen text can "say" things too).
_SPEECH_ONLY = _rx(
    r"spoke|spoken|mention\w*|narrat\w*|voice\w*|hear|heard|hearing|utter\w*|pronounc\w*|"
    r"audio|speaker|announce\w*|out\s+loud|aloud"
)
#: On-screen text as the subject of a saying verb ("the slide that says", "the screen shows").
_SCREEN_SAYS = re.compile(
    r"\b(?:text|slide|sign|screen|caption|title|banner|subtitle|card|board|poster)s?\b"
    r"(?:\s+\w+){0,3}?\s+(?:says?|said|saying|reads?|reading|shows?|showing|displays?)\b",
    re.I,
)
#: Speech verbs that can also describe what is seen ("a man talking in a car").
_SPEECH_WEAK = _rx(r"speak|speaks|speaking|talk|talks|talked|talking|chat\w*|discuss\w*")
_SHOWN_VERB = _rx(r"shown|seen|visible|pictured|appear|appears|on\s+screen|on\s+camera")
_VISUAL = _rx(
    r"shown|show|shows|showing|see|seen|sees|visible|appear|appears|appeared|appearing|"
    r"look|looks|picture|pictured|image|frame|footage|scene|on\s+camera|displayed|"
    r"happen|happens|happening|doing|featured|features|depict\w*|onscreen|on[- ]?screen"
)
_WHEN = _rx(
    r"when|what\s+time|which\s+time|at\s+what\s+(?:point|moment|time|minute|second)|"
    r"at\s+which\s+(?:point|moment|time)|what\s+(?:point|moment|minute|second)|"
    r"timestamps?|time\s*codes?|where\s+in\s+the\s+(?:video|clip|recording|footage)|"
    r"how\s+far\s+(?:in|into)|find\s+(?:me\s+)?(?:the\s+)?(?:moment|part|spot|time|scene|"
    r"point|place|bit)|locate|jump\s+to|take\s+me\s+to|point\s+me\s+to|"
    r"which\s+(?:part|minute|moment|scene)|what\s+part"
)
_COUNT = _rx(r"how\s+many|how\s+often|number\s+of\s+times|count|how\s+frequently|tally")
_DURATION = _rx(r"how\s+long|for\s+how\s+(?:long|many\s+seconds)|what\s+is\s+the\s+duration")
_FIRST = _rx(
    r"first|earlier|earliest|sooner|before\s+the\s+other|comes?\s+before|precedes?|"
    r"(?:shown|seen|appears?|comes?|said|happens?)\s+before"
)
_PRESENCE = re.compile(
    r"^\s*(?:and\s+)?(?:is|are|was|were)\s+there\b|^\s*(?:and\s+)?(?:does|did|do)\s+"
    r"(?:it|the\s+(?:video|clip|recording|film|footage)|this(?:\s+video)?|we|you|anyone|"
    r"anybody|someone|somebody|the\s+narrator|the\s+speaker|they)\s+(?:ever\s+)?"
    r"(?:show|have|contain|include|feature|see|mention|say|talk|hear|get|appear)|"
    r"^\s*(?:and\s+)?(?:can|could)\s+(?:you|i|we)\s+see\b|"
    r"^\s*(?:and\s+)?(?:is|are|was|were|does|do|did)\b.*\b(?:ever|at\s+all|anywhere)\b|"
    r"^\s*(?:and\s+)?(?:is|are|was|were)\s+(?:a|an|any|some)\b.*\b(?:shown|visible|seen|in\s+"
    r"(?:it|the\s+video|this\s+video)|on\s+screen|anywhere)\b",
    re.I,
)
_WHICH_VIDEO = _rx(
    r"which\s+(?:of\s+(?:my|the|these|our)\s+)?(?:videos?|clips?|recordings?|files?)|"
    r"in\s+which\s+(?:video|clip|recording|file)|what\s+(?:video|clip|recording|file)|"
    r"any\s+of\s+(?:my|the)\s+videos"
)
_SUMMARY = _rx(
    r"summar(?:y|ise|ize|ised|ized|ising|izing)|overview|gist|recap|rundown|tl;?dr|"
    r"what\s+is\s+(?:this|the|it)\s+(?:video\s+|clip\s+|recording\s+)?(?:all\s+)?about|"
    r"what(?:'s|\s+is)\s+(?:this|it)\s+about|what\s+(?:does|do)\s+(?:this|the)\s+"
    r"(?:video|clip|recording)\s+(?:cover|show|contain)|main\s+(?:points|topics|ideas)|"
    r"key\s+(?:points|moments)|what\s+happens\s+in\s+(?:this|the)\s+(?:video|clip)|"
    r"what(?:'s|\s+is|\s+was)\s+(?:this|the)\s+\w+\s+about(?=\s*[?.!]*\s*$)"
)
_DESCRIBE = _rx(
    r"what\s+(?:happens|happened|is\s+going\s+on|goes\s+on|comes?\s+next|follows?|is\s+shown|"
    r"do\s+we\s+see|can\s+(?:we|i|you)\s+see|is\s+on)|describe|what(?:'s|\s+is)\s+"
    r"(?:going\s+on|happening)|tell\s+me\s+about"
)
_WHAT_AT = _rx(
    r"what|which|who|tell\s+me|read|transcribe|quote|repeat|give\s+me|show\s+me|describe"
)
_PRONOUN_ONLY = re.compile(r"^(?:it|they|them|this|that|these|those|he|she|one)$", re.I)
_REFER = _rx(r"that|this|it|then|there|next|afterwards|after|before|earlier|later|then")
_BETWEEN = re.compile(r"\bbetween\s+(.+?)\s+and\s+(.+?)(?:[?.!]|$)", re.I)
_OPTIONS_BLOCK = re.compile(r"\bOptions:\s*(.+)$", re.I | re.S)
_LETTER = re.compile(r"(?:^|\s)([A-H])\)\s*")

#: Question scaffolding: words that never name what to look for.
_SCAFFOLD = frozenset(
    [
        "when",
        "what",
        "which",
        "who",
        "whom",
        "where",
        "why",
        "how",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "will",
        "should",
        "shall",
        "may",
        "might",
        "please",
        "tell",
        "me",
        "show",
        "find",
        "locate",
        "give",
        "let",
        "know",
        "want",
        "wanna",
        "need",
        "looking",
        "look",
        "search",
        "searching",
        "for",
        "i",
        "im",
        "i'm",
        "we",
        "us",
        "you",
        "your",
        "the",
        "a",
        "an",
        "at",
        "in",
        "on",
        "of",
        "to",
        "time",
        "point",
        "moment",
        "minute",
        "second",
        "part",
        "spot",
        "scene",
        "bit",
        "place",
        "timestamp",
        "timestamps",
        "video",
        "clip",
        "recording",
        "footage",
        "film",
        "movie",
        "this",
        "that",
        "it",
        "its",
        "shown",
        "seen",
        "visible",
        "appear",
        "appears",
        "appeared",
        "appearing",
        "show",
        "shows",
        "showing",
        "up",
        "come",
        "comes",
        "came",
        "first",
        "earlier",
        "later",
        "then",
        "there",
        "and",
        "or",
        "exactly",
        "roughly",
        "about",
        "around",
        "approximately",
        "does",
        "any",
        "some",
        "ever",
        "onscreen",
        "screen",
        "display",
        "displayed",
        "featured",
        "features",
        "see",
        "get",
        "happen",
        "happens",
        "happening",
        "jump",
        "take",
        "point",
        "which",
        "where",
        "into",
        "far",
        "timecode",
        "timecodes",
        "moment",
        "moments",
        "long",
        "how",
        "many",
        "times",
        "often",
        "count",
        "number",
        "my",
        "our",
        "videos",
        "clips",
        "recordings",
        "files",
        "of",
        "narrator",
        "speaker",
        "say",
        "says",
        "said",
        "saying",
        "mention",
        "mentions",
        "mentioned",
        "mentioning",
        "talk",
        "talks",
        "talked",
        "talking",
        "speak",
        "speaks",
        "spoke",
        "spoken",
        "word",
        "words",
        "ever",
        "hear",
        "heard",
        "anyone",
        "someone",
        "somebody",
        "anybody",
    ]
)


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


def _mask_quotes(text: str) -> tuple[str, list[str]]:
    saved: list[str] = []

    def keep(m: re.Match[str]) -> str:
        saved.append(m.group(0))
        return f" \x00{len(saved) - 1}\x00 "

    pat = r"“[^”]*”|\"[^\"]*\"|‘[^’]*’|(?<![\w])'[^']+?'(?![\w])"
    return re.sub(pat, keep, text), saved


def _unmask(text: str, saved: list[str]) -> str:
    return re.sub(r"\s?\x00(\d+)\x00\s?", lambda m: f" {saved[int(m.group(1))]} ", text).strip()


def modality_of_text(text: str, default: Modality = "any") -> Modality:
    """Which memories a (masked) question is about: on-screen text, speech or visuals."""
    ocr_noun = bool(_OCR_NOUN.search(text) or _SCREEN_SAYS.search(text)) or bool(
        _OCR_PLACE.search(text)
        and re.search(r"\b(?:words?|letters|sentences?|says?|reads?)\b", text, re.I)
    )
    speech = bool(_SPEECH.search(text))
    if ocr_noun and (not _SPEECH_ONLY.search(text) or _SCREEN_SAYS.search(text)):
        return "ocr"
    if speech:
        return "speech"
    weak = _SPEECH_WEAK.search(text)
    topic = (
        re.match(r"\s+(?:about|of|on\s+the\s+topic)\b", text[weak.end() :], re.I) if weak else None
    )
    described = weak and re.search(
        r"\b(?:a|an|the|someone|somebody|people)\b", text[: weak.start()], re.I
    )
    if weak and (topic or not (_VISUAL.search(text) or described)):
        return "speech"
    if _VISUAL.search(text):
        return "visual"
    return default


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


def content_phrase(text: str) -> str:
    """What a clause names once the question's own words are trimmed from both ends
    ("At what time is a red motorcycle shown?" → "a red motorcycle"); words inside the
    phrase stay ("an astronaut in an orange spacesuit")."""
    words = re.findall(r"[\w'’-]+", text.replace("\x00", " "))
    low = [w.lower().replace("’", "'") for w in words]
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
    clauses = [c for c in re.split(r"[:;?!.]|\s-\s|,\s*(?=when|what|where)", masked) if c.strip()]
    phrases = [content_phrase(_unmask(c, saved)) for c in clauses]
    phrases = [p for p in phrases if p and not _PRONOUN_ONLY.match(p)]
    if not phrases:
        return ""
    return max(phrases, key=lambda p: len(content_words(p)))


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
        if modality_of_text(masked, "any") == "ocr":
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

    Args:
        question: The user's question (may end with an ``Options:`` block).
        history: Earlier turns (relative times resolve against the last answer).
        duration: Length of the video (ranges counted from the end).
        follow_window_s: Length of a window relative to the previous answer.
        time_window_s: Half-width of the window around a point in time.

    Returns:
        The plan and whether it is complete.
    """
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
    if options and (_FIRST.search(masked) or re.search(r"\bfirst\b", masked, re.I)):
        return Parsed(plan("order", options=options, modality="any"), len(options) >= 2)
    between = _BETWEEN.search(_unmask(masked, saved)) if not times else None
    if between:
        first, second = (x.strip() for x in between.groups())
        ta, tb = (_option("A", first), _option("B", second))
        targets = tuple(Target(text=o.query, modality=o.modality, exact=o.modality != "visual")
                        for o in (ta, tb))  # fmt: skip
        return Parsed(plan("describe", targets=targets, relation="between", modality="any"), True)
    qs = [x for s in saved for x in quoted(s)]
    lead = relation_word(masked)
    if qs and lead and (options or _DESCRIBE.search(masked) or _WHAT_AT.search(masked)):
        amod = "ocr" if modality_of_text(masked.split("\x00")[0], "speech") == "ocr" else "speech"
        anchor = Target(text=qs[0], modality=amod, exact=True)  # type: ignore[arg-type]
        after_part = masked.split("\x00")[0]
        wmod = modality_of_text(after_part.replace(anchor.text, ""), "visual")
        what = plan(
            "what_at",
            anchor=anchor,
            relation=lead,
            options=options,
            modality="visual" if wmod == "speech" else wmod,
            window=None,
        )
        return Parsed(what, True)
    if window is not None and not _WHEN.search(masked):
        if _SUMMARY.search(masked) or (absolute is not None and absolute.kind == "range"):
            return Parsed(plan("summarise" if _SUMMARY.search(masked) else "describe"), True)
        if rel is None and absolute is None:
            pass
        return Parsed(plan("what_at", options=options), True)
    if _PRESENCE.search(masked):
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
