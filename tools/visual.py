"""Open-vocabulary visual ranking over what the frame encoder and the pixels saw.

For a classifier encoder (the offline EfficientNet-Lite0 ImageNet default) a description is
scored through the **label space**: every class gets a relevance to the query, the larger
of

* text similarity of the query (and its noun phrases) to the class's names and WordNet
  definition (sentence embedder, :func:`hourlens.tools.search.expand_to_labels`'s matrix),
* WordNet closure both ways: a class that *is a kind of* a query noun (tabby → cat, moped →
  motor vehicle) or that a query noun is a kind of (a Persian kitten's cat), and, less,
  a class that is a part of it or that it is a part of (a car's mirror);

and a feature memory scores ``sum_c p(c) * relevance(c)`` over its top-50 class
probabilities (keyframe crops likewise, a little discounted). Words that name a **pixel
facet** ("red", "at night", "black and white", "people", "trees", "text") add the
memory's facet values (:mod:`hourlens.indexer.facets`); text-heavy comes from the OCR
items. :func:`visual_rank` returns one ranked list for :func:`search_video_memory`'s
fusion; :func:`rewrite_rank` ranks the LLM's rewrite of the query into class names, a
further list (never the only one).
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from ..memory_store import Store
from ..memory_store.visual_rows import VisualRows
from ..types import Hit, Video
from .evidence import Evidence, make_id

if TYPE_CHECKING:
    from .scope import Scope

log = logging.getLogger("hourlens.search")

#: Text similarity of query and class mapped to relevance: 0 at ``TEXT_LO``, 1 at ``TEXT_HI``.
TEXT_LO, TEXT_HI = 0.35, 0.8
#: Relevance of a class that is a kind of the query noun, per hop down (tabby → cat: 2).
DOWN_DECAY = 0.9
#: Relevance of a class the query noun is a kind of (1 hop up), then per further hop.
UP_FIRST, UP_DECAY, UP_MAX_HOPS = 0.85, 0.85, 3
#: Relevance of a class that is a part of a query noun (a car's mirror) or a whole the
#: query noun is a part of (a steering wheel's car), or a kind of either (1 hop).
PART_REL = 0.6
#: Weight of a noun's senses, most frequent first (later senses repeat the last weight).
SENSE_WEIGHTS = (1.0, 0.7, 0.5)
#: Senses with fewer ancestors than this are too general to name a visual class.
MIN_SENSE_DEPTH = 5
#: A crop row's score counts this much of a whole-memory row's.
CROP_WEIGHT = 0.85
#: Share of the facet match added to a memory's label score.
FACET_WEIGHT = 0.5
#: A query names a class when some class is at least this relevant to it.
NAMED_CLASS = 0.3
#: Scores below this are not listed.
MIN_SCORE = 0.02

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
#: OCR characters in a memory's span at which it counts as fully text-heavy.
TEXT_CHARS = 60.0


def _phrases(query: str) -> list[tuple[list[str], float]]:
    """Content words of each part of a query (head part weight 1, the others 0.8)."""
    from .search import _PART_SPLIT

    out = []
    for i, part in enumerate(p for p in _PART_SPLIT.split(query.lower()) if p.strip()):
        words = [w.strip("'-") for w in _WORDS.findall(part)]
        words = [w for w in words if w and w not in _STOP]
        if words:
            out.append((words, 1.0 if i == 0 else 0.8))
    return out


def _nouns(words: list[str], wn: object) -> list[tuple[str, tuple[int, ...]]]:
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


@lru_cache(maxsize=4)
def _class_synsets(encoder_name: str) -> tuple[int, ...] | None:
    """WordNet offsets of an ImageNet-1k classifier's classes (EfficientNet-Lite0), or None.

    Read from timm's bundled ``imagenet_synsets.txt`` without importing timm (and torch):
    the query path stays light.
    """
    import importlib.util
    from pathlib import Path

    if not encoder_name.startswith("efficientnet"):
        return None
    spec = importlib.util.find_spec("timm")
    roots = list(spec.submodule_search_locations or []) if spec else []
    for root in roots:
        path = Path(root) / "data" / "_info" / "imagenet_synsets.txt"
        if path.is_file():
            ids = [ln.strip() for ln in path.read_text().splitlines() if ln.strip()]
            if len(ids) == 1000 and all(i.startswith("n") for i in ids):
                return tuple(int(i[1:]) for i in ids)
    log.debug("no ImageNet synset ids in timm")
    return None


def _wordnet():
    try:
        from ..models.wordnet import load_wordnet

        return load_wordnet()
    except Exception as exc:  # noqa: BLE001 - WordNet is an optional boost
        log.info("WordNet unavailable (%s): label space by text similarity only", exc)
        return None


def wordnet_relevance(query: str, encoder_name: str) -> np.ndarray | None:
    """Per-class relevance in [0, 1] from WordNet's hypernym links, or None.

    A class under a query noun (the query is more general) gets ``DOWN_DECAY ** hops``; a
    class above it (the query is more specific) ``UP_FIRST * UP_DECAY ** (hops - 1)`` up
    to ``UP_MAX_HOPS``; both times the sense's weight and the phrase's weight.
    """
    classes = _class_synsets(encoder_name)
    wn = _wordnet() if classes is not None else None
    if wn is None or classes is None:
        return None
    ancestors = [wn.ancestors(c) for c in classes]
    rel = np.zeros(len(classes), np.float32)
    for words, pw in _phrases(query):
        for _, senses in _nouns(words, wn):
            for k, sense in enumerate(senses[:4]):
                up = wn.ancestors(sense)
                if len(up) < MIN_SENSE_DEPTH:
                    continue
                w = pw * SENSE_WEIGHTS[min(k, len(SENSE_WEIGHTS) - 1)]
                linked = set(wn.parts.get(sense, ())) | set(wn.wholes.get(sense, ()))
                for i, (c, anc) in enumerate(zip(classes, ancestors, strict=True)):
                    hops = anc.get(sense)
                    if hops is not None:
                        r = w * DOWN_DECAY**hops
                    elif 0 < up.get(c, 99) <= UP_MAX_HOPS:
                        r = w * UP_FIRST * UP_DECAY ** (up[c] - 1)
                    elif linked and any(anc.get(x, 9) <= 1 for x in linked):
                        r = w * PART_REL
                    else:
                        continue
                    rel[i] = max(rel[i], r)
    return rel


def text_relevance(query: str, encoder_name: str) -> np.ndarray | None:
    """Per-class relevance in [0, 1] from sentence similarity to class names/definitions."""
    from ..indexer.text_embed import load_text_embedder
    from .search import _label_matrix, query_variants

    mat = _label_matrix(encoder_name)
    if mat is None:
        return None
    _, names, glosses = mat
    variants = query_variants(query)
    qs = load_text_embedder().embed([v for v, _ in variants])
    w = np.asarray([w for _, w in variants], np.float32)
    sims = ((names @ qs.T) * w).max(axis=1)
    if glosses is not None:
        sims = np.maximum(sims, ((glosses @ qs.T) * w).max(axis=1))
    return np.clip((sims - TEXT_LO) / (TEXT_HI - TEXT_LO), 0.0, 1.0).astype(np.float32)


@lru_cache(maxsize=256)
def class_relevance(query: str, encoder_name: str) -> np.ndarray | None:
    """Relevance of every class of ``encoder_name`` to ``query`` (cached), or None."""
    text = text_relevance(query, encoder_name)
    if text is None:
        return None
    wn = wordnet_relevance(query, encoder_name)
    return text if wn is None else np.maximum(text, wn)


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
    wn = _wordnet()
    if wn is not None:
        wanted = {s: f for name, f in FACET_ANCESTORS.items() for s in wn.lookup(name)[:1]}
        for words, pw in _phrases(query):
            for _, senses in _nouns(words, wn):
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


@dataclass
class _Scored:
    video: Video
    start: float
    end: float
    segment_id: int
    score: float
    text: str


def _text_heavy(store: Store, video: Video, spans: np.ndarray) -> np.ndarray:
    items = store.ocr_items(video.id)
    out = np.zeros(len(spans), np.float32)
    for it in items:
        hit = (spans[:, 0] < it.end) & (spans[:, 1] > it.start)
        out[hit] += len(it.text)
    return np.clip(out / TEXT_CHARS, 0.0, 1.0)


def _score_video(
    store: Store,
    video: Video,
    rows: VisualRows,
    rel: np.ndarray | None,
    facets: dict[str, float],
    labels: Sequence[str],
    naming: np.ndarray | None = None,
) -> list[_Scored]:
    n = len(rows)
    label = np.zeros(n, np.float32)
    if rel is not None and rows.class_idx.shape[1]:
        ok = (rows.class_idx >= 0) & (rows.class_idx < len(rel))
        contrib = np.where(ok, rows.class_p * rel[np.clip(rows.class_idx, 0, len(rel) - 1)], 0.0)
        label = contrib.sum(axis=1)
        crop = np.array([s.startswith("crop") for s in rows.sources])
        label = np.where(crop, label * CROP_WEIGHT, label)
    facet = np.zeros(n, np.float32)
    if facets:
        total = sum(facets.values())
        text = _text_heavy(store, video, rows.spans) if "text" in facets else None
        for f, w in facets.items():
            vals = (
                text
                if f == "text" and text is not None
                else np.array([r.get(f, 0.0) for r in rows.facets], np.float32)
            )
            facet += w * vals / total
    # Facets sharpen what the label space found ("an orange flower": orange flowers
    # first); they rank on their own only when no class is relevant ("a dark scene").
    named = rel is not None and float((rel if naming is None else naming).max()) >= NAMED_CLASS
    score = label * (1.0 + FACET_WEIGHT * facet) if named else label + facet
    out = []
    for i in np.argsort(-score):
        if score[i] < MIN_SCORE:
            break
        why = []
        if rel is not None:
            top = [
                (labels[int(c)], float(p))
                for c, p in zip(rows.class_idx[i], rows.class_p[i], strict=True)
                if c >= 0 and rel[int(c)] > 0.3
            ][:3]
            why += [f"{lab} {p:.2f}" for lab, p in top]
        why += [f"{f} {rows.facets[i].get(f, 0.0):.2f}" for f in facets if f != "text"]
        out.append(
            _Scored(
                video=video,
                start=float(rows.spans[i, 0]),
                end=float(rows.spans[i, 1]),
                segment_id=int(rows.segment_ids[i]),
                score=float(score[i]),
                text=("looks like: " + ", ".join(why)) if why else rows.sources[i],
            )
        )
    return out


def _rank(
    store: Store,
    videos: Sequence[Video],
    k: int,
    relevance: Callable[[str], np.ndarray | None],
    facets: Callable[[], dict[str, float]],
    naming_of: Callable[[str], np.ndarray] | None = None,
) -> list[Hit]:
    from .search import _label_matrix

    scored: list[_Scored] = []
    wanted: dict[str, float] | None = None
    for v in videos:
        rows = store.visual_rows(v.id) if v.encoder else None
        if rows is None or not len(rows):  # indexed before visual rows: nothing to load
            continue
        if wanted is None:
            wanted = facets()
        rel = None
        mat = None
        if rows.class_idx.shape[1] and not (v.encoder or "").startswith("open_clip"):
            mat = _label_matrix(v.encoder or "")
            rel = relevance(v.encoder or "") if mat is not None else None
        if rel is None and not wanted:
            continue
        naming = naming_of(v.encoder or "") if naming_of is not None and rel is not None else None
        scored += _score_video(store, v, rows, rel, wanted, mat[0] if mat else (), naming)
    scored.sort(key=lambda s: -s.score)
    hits: list[Hit] = []
    for s in scored:  # one hit per span: a crop repeats its memory's span
        if any(h.video == s.video.path and h.start == s.start and h.end == s.end for h in hits):
            continue
        hits.append(
            Hit(
                video=s.video.path,
                start=s.start,
                end=s.end,
                score=round(s.score, 4),
                kind="visual",
                segment_id=s.segment_id,
                text=s.text,
            )
        )
        if len(hits) >= k:
            break
    return hits


def visual_rank(store: Store, query: str, videos: Sequence[Video], k: int = 10) -> list[Hit]:
    """Feature memories of ``videos`` ranked by how well they look like ``query``.

    Classifier videos are scored through the label space (class relevance × the memory's
    class probabilities, keyframe crops included); any video through the pixel facets the
    query names. CLIP videos' text → image ranking is in
    :func:`hourlens.tools.search.search_video_memory`.

    Args:
        store: An open library store.
        query: A visual description ("a tabby cat", "a red car at night").
        videos: Videos in scope.
        k: Hits to return.

    Returns:
        ``kind="visual"`` hits with a ``looks like: ...`` explanation, best first.
    """
    rest = strip_facet_words(query)

    # A query of facet words only ("people by the water") names no class, whatever
    # WordNet relates "people" or "water" to: its facets rank alone.
    return _rank(
        store,
        videos,
        k,
        lambda enc: class_relevance(query, enc),
        lambda: query_facets(query),
        None if rest else (lambda enc: np.zeros(1, np.float32)),
    )


def rewrite_rank(
    store: Store, terms: Sequence[str], videos: Sequence[Video], k: int = 10
) -> list[Hit]:
    """Memories ranked by the best of several rewrite terms (class names an LLM proposed).

    Each term's class relevance counts 0.9 of the original query's; a memory scores by the
    class relevance of all terms (their maximum per class).
    """
    terms = [t for t in terms if t.strip()]
    if not terms:
        return []

    def relevance(enc: str) -> np.ndarray | None:
        rels = [r for r in (class_relevance(t, enc) for t in terms) if r is not None]
        return 0.9 * np.max(np.stack(rels), axis=0) if rels else None

    return _rank(store, videos, k, relevance, dict)


def visual_rows_evidence(
    ctx: Scope,
    v: Video,
    query: str,
    *,
    k: int,
    window: tuple[float, float] | None,
    option: str | None,
) -> list[Evidence]:
    """Agent evidence from :func:`visual_rank` for one video (empty without visual rows).

    Scores are ``sqrt(score / VISUAL_FULL)`` capped at 1, like tag evidence's
    ``sqrt(probability)``.
    """
    out = []
    for h in visual_rank(ctx.store, query, [v], k=max(4 * k, 32)):
        if window is not None and not (h.start < window[1] and h.end > window[0]):
            continue
        out.append(
            Evidence(
                id=make_id("visual", v.id, h.start, h.end),
                video_id=v.id,
                video=v.path,
                start=h.start,
                end=h.end,
                kind="visual",
                text=h.text or "looks like the description",
                score=round(min(1.0, math.sqrt(max(h.score, 0.0) / VISUAL_FULL)), 4),
                level="memory",
                segment_id=h.segment_id,
                source="labels",
                option=option,
            )
        )
    return out


#: A label-space score (sum of probability × relevance) at which visual evidence is certain.
VISUAL_FULL = 0.3
