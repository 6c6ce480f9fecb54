"""Cues the planner reads questions by: modality words, question forms, scaffolding words.

Each cue is a general pattern of how people ask (a speech-only word, an on-screen-text
noun, a "when" form, a count form...), never a benchmark template.
"""

from __future__ import annotations

import re

from .plan import Modality


def _rx(words: str) -> re.Pattern[str]:
    return re.compile(r"\b(?:" + words + r")\b", re.I)


# ---- cues ---------------------------------------------------------------------------
_OCR_NOUN = _rx(
    r"text|texts|written|writing|write|writes|wrote|words?\s+on|on[- ]?screen\s+(?:text|words?)|"
    r"slides?|captions?|subtitles?|titles?|signs?|banners?|printed|typed|lettering|"
    r"messages?|headings?|headlines?|notices?|"
    r"sentence\s+on|displayed\s+text|read\s+on|reads?"
)
_OCR_PLACE = _rx(r"on[- ]?screen|onscreen|on\s+the\s+screen|displayed")
_SPEECH = _rx(
    r"say|says|said|saying|spoke|spoken|mention|mentions|mentioned|mentioning|narrat\w*|"
    r"voice|voiceover|hear|heard|hearing|utter\w*|pronounc\w*|audio|speaker|announce\w*|"
    r"quote|quoted|discussed|talked\s+about"
)
#: Words only speech has (on-screen text can "say" things too).
_SPEECH_ONLY = _rx(
    r"spoke|spoken|mention\w*|narrat\w*|voice\w*|hear|heard|hearing|utter\w*|pronounc\w*|"
    r"audio|speaker|announce\w*|out\s+loud|aloud|discussed|talked\s+about|spoken\s+about"
)
#: On-screen text as the subject of a saying verb ("the slide that says", "the screen shows").
_SCREEN_SAYS = re.compile(
    r"\b(?:text|slide|sign|screen|caption|title|banner|subtitle|card|board|poster)s?\b"
    r"(?:\s+(?!narrat|speaker|voice|presenter|host)\w+){0,3}?\s+"
    r"(?:says?|said|saying|reads?|reading|shows?|showing|displays?)\b",
    re.I,
)
#: Speech verbs that can also describe what is seen ("a man talking in a car").
_SPEECH_WEAK = _rx(r"speak|speaks|speaking|talk|talks|talked|talking|chat\w*|discuss\w*")
_SHOWN_VERB = _rx(
    r"shown|seen|visible|pictured|appear|appears|on\s+screen|on\s+camera|pops?\s+up|popping\s+up"
)
_VISUAL = _rx(
    r"shown|show|shows|showing|see|seen|sees|visible|appear|appears|appeared|appearing|"
    r"look|looks|picture|pictured|image|frame|footage|scene|on\s+camera|displayed|"
    r"happen|happens|happening|doing|featured|features|depict\w*|onscreen|on[- ]?screen|"
    r"pops?\s+up|popping\s+up|flash\w*\s+up"
)
#: Requests to go to or find something ("skip to the cat", "find the slide that ...").
_LOCATE_WORDS = (
    r"locate|take\s+me\s+to|point\s+me\s+to|bring\s+up|cue\s+up|"
    r"find(?=\s+(?:me\s+)?(?:a|an|the|some|where|when|that|this|it|all|\x00)\b)|"
    r"(?:skip|go|jump|seek|fast[- ]?forward|rewind|scrub)\s+(?:ahead\s+|back\s+|forward\s+)?"
    r"to(?=\s+(?:the|a|an|where|when|that|this|it)\b)|show\s+me\s+(?:where|when)"
)
#: Question words that ask for a time.
_WHEN_ASK = _rx(
    r"when|what\s+time|which\s+time|at\s+what\s+(?:point|moment|time|minute|second)|"
    r"at\s+which\s+(?:point|moment|time)|what\s+(?:point|moment|minute|second)|"
    r"timestamps?(?!\s+\d)|time\s*codes?(?!\s+\d)|where\s+in\s+the\s+(?:video|clip|recording|"
    r"footage|audio|transcript|talk|lecture|film|movie|programme|program)|"
    r"how\s+far\s+(?:in|into)|where\s+(?:is|are|was|were|do|does|did|can)\b|where's|"
    r"which\s+(?:part|minute|moment|scene)|what\s+part|(?:the\s+)?time(?:stamp)?\s+(?:for|of)|"
    r"what(?:'s|\s+is|\s+was)\s+the\s+(?:first\s+|last\s+|exact\s+)?(?:time|moment|point)|"
    r"time(?=\s*\?*\s*$)"
)
_LOCATE = _rx(_LOCATE_WORDS)
#: A question that asks when, or a request to find or go to something.
_WHEN = re.compile(_WHEN_ASK.pattern + "|" + _LOCATE.pattern, re.I)
#: An order question that asks for the later of the options ("which comes last?").
_LAST = _rx(r"later|last|latest|comes?\s+after|after\s+the\s+other|second\s+of\s+the")
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
        # lead-ins and fillers of requests ("I remember X somewhere in here", "skip to X")
        "remember",
        "recall",
        "think",
        "believe",
        "guess",
        "wonder",
        "wondering",
        "somewhere",
        "anywhere",
        "sometime",
        "here",
        "skip",
        "go",
        "bring",
        "seek",
        "with",
        "exactly",
        "precisely",
        "just",
        "again",
        "where's",
        "there's",
        "it's",
        "when's",
        "what's",
        "who's",
        "how's",
        "written",
        "printed",
        "typed",
        "text",
        "stay",
        "stays",
        "remain",
        "remains",
        "has",
        "have",
        "had",
        "contain",
        "contains",
        "include",
        "includes",
        "discussed",
        "discuss",
        "discusses",
        "idea",
        "so",
        "hey",
        "hi",
        "ok",
        "okay",
        "well",
        "quick",
        "question",
        "they",
        "them",
        "appearance",
        "appearances",
    ]
)


#: A clause that places the question at the moment a phrase is said or shown.
_AS_SAID = re.compile(
    r"^\s*(?:and\s+)?(?:what|which|who)\b.*\b(?:when|while|as)\s+(?:\w+\s+){0,3}?"
    r"(?:says?|said|saying|mentions?|reads?|speaks?|shows?|displays?)\s*$",
    re.I,
)


#: A time the question is placed at, at the end of a description ("... at the start").
_TIME_TAIL = re.compile(
    r"\s+(?:at|in|during|near|towards?|around|by|within)\s+(?:the\s+)?(?:very\s+)?"
    r"(?:start|beginning|outset|end|close|first|last|final|opening|closing|\d|minute|hour)\b.*$",
    re.I,
)
#: The clause of a question that asks (its question or request words).
_ASKS = re.compile(
    _WHEN.pattern + "|" + _COUNT.pattern + "|" + _DURATION.pattern + r"|\b(?:is|are)\s+there\b",
    re.I,
)


#: "... right after the rocket appears", "... while the cat is on screen": an event seen.
_SEEN_ANCHOR = re.compile(
    r"\b(?:right\s+|just\s+|immediately\s+|shortly\s+)?(after|before|when|while|as)\s+(.+?)\s+"
    r"(?:first\s+)?(?:appears?|is\s+shown|gets\s+shown|shows\s+up|is\s+on\s+(?:screen|camera)|"
    r"comes\s+on(?:\s+screen)?|is\s+visible|can\s+be\s+seen|is\s+seen|is\s+displayed)\b",
    re.I,
)
#: Where the part of a question that places it in time starts ("... right after ...").
_RELATION_AT = re.compile(
    r"\b(?:(?:right|just|immediately|directly|shortly|straight)\s+)?(?:after|before|following|"
    r"when|while|as|once)\b",
    re.I,
)
#: A question that asks what (is said, written, shown...), not when.
_ASKS_WHAT = re.compile(
    r"^\s*(?:and\s+)?(?:what|which|who|tell\s+me\s+what|describe|read|quote|transcribe)\b",
    re.I,
)


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
