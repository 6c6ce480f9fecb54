"""How relevant each class of a classifier encoder is to a visual query.

Per class a relevance in [0, 1], the larger of sentence similarity to the class's names
and WordNet definition (:func:`text_relevance`) and WordNet closure both ways
(:func:`wordnet_relevance`): a class that is a kind of a query noun, that a query noun is
a kind of, or that is a part of it or a whole it is a part of.
"""

from __future__ import annotations

import logging
from functools import lru_cache

import numpy as np

from .visual_query import load_wordnet_or_none, nouns, phrases

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


def wordnet_relevance(query: str, encoder_name: str) -> np.ndarray | None:
    """Per-class relevance in [0, 1] from WordNet's hypernym links, or None.

    A class under a query noun (the query is more general) gets ``DOWN_DECAY ** hops``; a
    class above it (the query is more specific) ``UP_FIRST * UP_DECAY ** (hops - 1)`` up
    to ``UP_MAX_HOPS``; both times the sense's weight and the phrase's weight.
    """
    classes = _class_synsets(encoder_name)
    wn = load_wordnet_or_none() if classes is not None else None
    if wn is None or classes is None:
        return None
    under, position = _class_index(encoder_name)
    rel = np.zeros(len(classes), np.float32)
    for words, pw in phrases(query):
        for _, senses in nouns(words, wn):
            for k, sense in enumerate(senses[:4]):
                up = wn.ancestors(sense)
                if len(up) < MIN_SENSE_DEPTH:
                    continue
                w = pw * SENSE_WEIGHTS[min(k, len(SENSE_WEIGHTS) - 1)]
                found: dict[int, float] = {}
                for i, hops in under.get(sense, ()):  # kinds of the query noun
                    found[i] = w * DOWN_DECAY**hops
                for anc, hops in up.items():  # what the query noun is a kind of
                    if 0 < hops <= UP_MAX_HOPS:
                        for i in position.get(anc, ()):
                            found.setdefault(i, w * UP_FIRST * UP_DECAY ** (hops - 1))
                linked = set(wn.parts.get(sense, ())) | set(wn.wholes.get(sense, ()))
                for x in linked:  # its parts and wholes, and their direct kinds
                    for i, hops in under.get(x, ()):
                        if hops <= 1:
                            found.setdefault(i, w * PART_REL)
                for i, r in found.items():
                    rel[i] = max(rel[i], r)
    return rel


@lru_cache(maxsize=4)
def _class_index(
    encoder_name: str,
) -> tuple[dict[int, list[tuple[int, int]]], dict[int, list[int]]]:
    """For every synset, the classes under it with their hop counts; for every class
    synset, its class positions (one pass over the classes' ancestors, then every query
    noun looks up only its own classes)."""
    classes = _class_synsets(encoder_name) or ()
    wn = load_wordnet_or_none()
    under: dict[int, list[tuple[int, int]]] = {}
    position: dict[int, list[int]] = {}
    for i, c in enumerate(classes):
        position.setdefault(c, []).append(i)
        for s, hops in (wn.ancestors(c) if wn is not None else {c: 0}).items():
            under.setdefault(s, []).append((i, hops))
    return under, position


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


#: WordNet relates a query noun to classes when some class is at least this relevant
#: through its closure.
CLOSURE_KNOWN = 0.5


def class_relevance(query: str, encoder_name: str) -> np.ndarray | None:
    """Relevance of every class of ``encoder_name`` to ``query`` (cached), or None.

    The larger of text and WordNet relevance; when WordNet relates a query noun to some
    classes, the text relevance of classes outside that closure counts
    ``VisualConfig.outside_closure``.
    """
    from ..config import VisualConfig, from_env

    cfg = from_env(VisualConfig, prefix="HOURLENS_VISUAL_")
    return _class_relevance(query, encoder_name, cfg.outside_closure)


@lru_cache(maxsize=256)
def _class_relevance(query: str, encoder_name: str, outside: float) -> np.ndarray | None:
    text = text_relevance(query, encoder_name)
    if text is None:
        return None
    wn = wordnet_relevance(query, encoder_name)
    if wn is None:
        return text
    if outside < 1.0 and float(wn.max()) >= CLOSURE_KNOWN:
        text = np.where(wn > 0, text, text * outside).astype(np.float32)
    return np.maximum(text, wn)
