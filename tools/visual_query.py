"""The words of a visual query: content words per part, WordNet nouns, facet words.

A query is split at prepositions and verbs of relation ("a rocket *on* a launch pad")
into parts, each reduced to its content words (:func:`phrases`); :func:`nouns` finds the
WordNet nouns among them, longest first; :func:`query_facets` maps colour, light, cover,
people and text words to the pixel facets of :mod:`hourlens.indexer.facets`.
"""

from __future__ import annotations

import logging
import re

from .textutil import strip_possessive

log = logging.getLogger("hourlens.search")

_WORDS = re.compile(r"[a-z][a-z'&-]*")
_STOP = frozenset(
    """a an the some any of in on at by with and or to from into onto near under over is are
    was were be being been it its this that these those there here shown show showing seen
    visible appear appears appearing when where what which who time moment scene video
    frame frames picture image shot footage clip""".split()  # noqa: SIM905
)

#: Facet vocabulary: word or phrase → (facet, weight). Colour words name colour facets; the
#: rest describe light, colour, motion, cover, people and text.
FACET_WORDS: dict[str, tuple[str, float]] = {
    **{c: (c, 1.0) for c in ("red", "orange", "yellow", "green", "blue", "purple", "pink")},
    **{c: (c, 1.0) for c in ("brown", "white", "black", "grey")},
    "gray": ("grey", 1.0),
    "crimson": ("red", 0.9),
    "scarlet": ("red", 0.9),
    "violet": ("purple", 0.9),
    "golden": ("yellow", 0.8),
    "greyscale": ("greyscale", 1.0),
    "grayscale": ("greyscale", 1.0),
    "monochrome": ("greyscale", 1.0),
    "black and white": ("greyscale", 1.0),
    "black-and-white": ("greyscale", 1.0),
    "dark": ("dark", 1.0),
    "night": ("dark", 1.0),
    "nighttime": ("dark", 1.0),
    "dim": ("dark", 0.8),
    "darkness": ("dark", 1.0),
    "bright": ("bright", 1.0),
    "sunny": ("bright", 0.8),
    "daylight": ("bright", 0.7),
    "colourful": ("colourful", 1.0),
    "colorful": ("colourful", 1.0),
    "vivid": ("colourful", 0.9),
    "vibrant": ("colourful", 0.9),
    "moving": ("motion", 0.8),
    "motion": ("motion", 1.0),
    "movement": ("motion", 1.0),
    "fast": ("motion", 0.8),
    "action": ("motion", 0.7),
    "sky": ("sky", 1.0),
    "skies": ("sky", 1.0),
    "clouds": ("sky", 0.8),
    "water": ("water", 1.0),
    "sea": ("water", 1.0),
    "ocean": ("water", 1.0),
    "lake": ("water", 1.0),
    "river": ("water", 1.0),
    "trees": ("vegetation", 1.0),
    "tree": ("vegetation", 0.9),
    "forest": ("vegetation", 1.0),
    "grass": ("vegetation", 1.0),
    "plants": ("vegetation", 0.8),
    "vegetation": ("vegetation", 1.0),
    "greenery": ("vegetation", 1.0),
    "face": ("face", 1.0),
    "faces": ("face", 1.0),
    "portrait": ("face", 0.9),
    "people": ("people", 1.0),
    "person": ("people", 1.0),
    "someone": ("people", 0.8),
    "crowd": ("people", 1.0),
    "text": ("text", 1.0),
    "writing": ("text", 1.0),
    "written": ("text", 1.0),
    "words": ("text", 0.8),
    "slide": ("text", 0.8),
}
#: WordNet synsets whose kinds imply a facet (a woman is a person → people).
FACET_ANCESTORS = {"person": "people", "body_of_water": "water", "woody_plant": "vegetation"}


def phrases(query: str) -> list[tuple[list[str], float]]:
    """Content words of each part of a query (head part weight 1, the others 0.8)."""
    from .search import _PART_SPLIT

    out = []
    for i, part in enumerate(p for p in _PART_SPLIT.split(query.lower()) if p.strip()):
        words = [strip_possessive(w).strip("'-") for w in _WORDS.findall(part)]
        words = [w for w in words if w and w not in _STOP]
        if words:
            out.append((words, 1.0 if i == 0 else 0.8))
    return out


def nouns(words: list[str], wn: object) -> list[tuple[str, tuple[int, ...]]]:
    """Greedy longest WordNet matches (up to 3 words) in ``words``: ``(phrase, senses)``."""
    from .search import MODIFIERS

    out = []
    i = 0
    while i < len(words):
        for n in (3, 2, 1):
            if i + n > len(words):
                continue
            phrase = " ".join(words[i : i + n])
            if n == 1 and phrase in MODIFIERS:
                continue
            senses = wn.lookup(phrase)  # type: ignore[attr-defined]
            if senses:
                out.append((phrase, senses))
                i += n
                break
        else:
            i += 1
    return out


def load_wordnet_or_none():
    """The packaged WordNet noun graph, or None (logged) when it cannot be loaded."""
    try:
        from ..models.wordnet import load_wordnet

        return load_wordnet()
    except Exception as exc:  # noqa: BLE001 - WordNet is an optional boost
        log.info("WordNet unavailable (%s): label space by text similarity only", exc)
        return None


def query_facets(query: str) -> dict[str, float]:
    """Facets a query asks for: facet → weight ("a red car at night" → red, dark)."""
    q = " ".join(_WORDS.findall(query.lower()))
    out: dict[str, float] = {}
    for phrase, (facet, w) in FACET_WORDS.items():
        if re.search(rf"\b{re.escape(phrase)}\b", q):
            out[facet] = max(out.get(facet, 0.0), w)
    if "greyscale" in out:  # "black and white" is not black and white
        out.pop("black", None)
        out.pop("white", None)
    wn = load_wordnet_or_none()
    if wn is not None:
        wanted = {s: f for name, f in FACET_ANCESTORS.items() for s in wn.lookup(name)[:1]}
        for words, pw in phrases(query):
            for _, senses in nouns(words, wn):
                for sense in senses[:1]:
                    for s, facet in wanted.items():
                        if s in wn.ancestors(sense):
                            out[facet] = max(out.get(facet, 0.0), 0.8 * pw)
    return out


def strip_facet_words(query: str) -> str:
    """The query without the words that name facets ("people by the water" → "by the"),
    reduced to its content words; empty when only facets are asked for."""
    q = " ".join(_WORDS.findall(query.lower()))
    for phrase in sorted(FACET_WORDS, key=len, reverse=True):
        q = re.sub(rf"\b{re.escape(phrase)}\b", " ", q)
    words = [w for w in q.split() if w not in _STOP]
    from .search import MODIFIERS

    return " ".join(words) if any(w not in MODIFIERS for w in words) else ""
