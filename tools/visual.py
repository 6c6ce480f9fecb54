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

import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..config import VisualConfig, from_env
from ..memory_store import Store
from ..memory_store.visual_rows import VisualRows
from ..types import Hit, Video
from .evidence import Evidence, make_id
from .visual_query import FACET_WORDS, query_facets, strip_facet_words
from .visual_relevance import class_relevance, text_relevance, wordnet_relevance

if TYPE_CHECKING:
    from .scope import Scope

__all__ = [
    "FACET_WORDS",
    "class_relevance",
    "query_facets",
    "rewrite_rank",
    "strip_facet_words",
    "text_relevance",
    "visual_rank",
    "visual_rows_evidence",
    "wordnet_relevance",
]

#: Share of the facet match added to a memory's label score.
FACET_WEIGHT = 0.5
#: A query names a class when some class is at least this relevant to it.
NAMED_CLASS = 0.3
#: Scores below this are not listed.
MIN_SCORE = 0.02

#: OCR characters in a memory's span at which it counts as fully text-heavy.
TEXT_CHARS = 60.0


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


def class_contrast(rows: VisualRows, n_classes: int, cfg: VisualConfig) -> np.ndarray:
    """Per class, how much it counts in this video: ``(shot share / class share) **
    contrast`` within ``[contrast_floor, 1]`` (see :class:`hourlens.config.VisualConfig`).

    A class's share is its probability summed over the whole-frame memories, each weighted
    by its length, over the video's covered length; crops are left out.
    """
    out = np.ones(n_classes, np.float32)
    if cfg.contrast <= 0 or not len(rows):
        return out
    whole = np.array([s == "memory" for s in rows.sources])
    dur = np.clip(rows.spans[:, 1] - rows.spans[:, 0], 0.5, None)[whole]
    idx, p = rows.class_idx[whole], rows.class_p[whole]
    ok = (idx >= 0) & (idx < n_classes)
    if not ok.any():
        return out
    mass = np.bincount(idx[ok], weights=(p * dur[:, None])[ok], minlength=n_classes)
    total = float(dur.sum())
    share = mass[:n_classes] / total
    shot = min(1.0, cfg.contrast_shot_s / total)
    w = (shot / np.maximum(share, 1e-9)) ** cfg.contrast
    return np.clip(w, cfg.contrast_floor, 1.0).astype(np.float32)


def _score_video(
    store: Store,
    video: Video,
    rows: VisualRows,
    rel: np.ndarray | None,
    facets: dict[str, float],
    labels: Sequence[str],
    naming: np.ndarray | None = None,
    cfg: VisualConfig | None = None,
) -> list[_Scored]:
    cfg = cfg or from_env(VisualConfig, prefix="HOURLENS_VISUAL_")
    n = len(rows)
    label = np.zeros(n, np.float32)
    if rel is not None and rows.class_idx.shape[1]:
        ok = (rows.class_idx >= 0) & (rows.class_idx < len(rel))
        contrast = class_contrast(rows, len(rel), cfg)
        relevant = rel >= NAMED_CLASS
        if relevant.any():  # relative to the rarest relevant class: when every relevant
            # class is common (a web page in a screencast), nothing counts less
            contrast = np.minimum(contrast / float(contrast[relevant].max()), 1.0)
        weighted = rel * contrast
        contrib = np.where(ok, rows.class_p * weighted[np.clip(rows.class_idx, 0, len(rel) - 1)], 0)
        label = contrib.sum(axis=1)
        crop = np.array([s.startswith("crop") for s in rows.sources])
        label = np.where(crop, label * cfg.crop_weight, label)
    facet = np.zeros(n, np.float32)
    if facets:
        # every facet the query names should be there ("people by the water"): a
        # weighted geometric mean, each value floored so that one missing facet scales
        # the memory down instead of zeroing it
        total = sum(facets.values())
        text = _text_heavy(store, video, rows.spans) if "text" in facets else None
        log_facet = np.zeros(n, np.float64)
        for f, w in facets.items():
            vals = (
                text
                if f == "text" and text is not None
                else np.array([r.get(f, 0.0) for r in rows.facets], np.float32)
            )
            log_facet += (w / total) * np.log(np.maximum(vals, cfg.facet_floor))
        facet = np.exp(log_facet).astype(np.float32)
        facet = np.where(facet <= cfg.facet_floor * 1.0001, 0.0, facet).astype(np.float32)
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


#: Visual rows kept in memory (per library, video and index time), most recent last.
_ROWS_CACHE: OrderedDict[tuple[str, int, str | None, str], VisualRows] = OrderedDict()
_ROWS_CACHE_SIZE = 8
_ROWS_LOCK = threading.Lock()


def _visual_rows(store: Store, v: Video) -> VisualRows:
    """``store.visual_rows(v)``, cached across questions until the video is re-indexed
    (its ``indexed_at`` or content hash changes)."""
    key = (str(store.root), v.id, v.indexed_at, v.content_hash)
    with _ROWS_LOCK:
        rows = _ROWS_CACHE.get(key)
        if rows is not None:
            _ROWS_CACHE.move_to_end(key)
            return rows
    rows = store.visual_rows(v.id)
    with _ROWS_LOCK:
        _ROWS_CACHE[key] = rows
        while len(_ROWS_CACHE) > _ROWS_CACHE_SIZE:
            _ROWS_CACHE.popitem(last=False)
    return rows


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
        rows = _visual_rows(store, v) if v.encoder else None
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

    Scores are ``sqrt(score / full)`` like tag evidence's ``sqrt(probability)``, where
    ``full`` is the larger of ``VisualConfig.full_score`` and the video's best score: a
    strong match stays above a weaker one instead of both saturating at 1.
    """
    out = []
    hits = visual_rank(ctx.store, query, [v], k=max(4 * k, 32))
    cfg = from_env(VisualConfig, prefix="HOURLENS_VISUAL_")
    full = max([cfg.full_score] + [h.score for h in hits[:1]])
    for h in hits:
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
                score=round(min(1.0, math.sqrt(max(h.score, 0.0) / full)), 4),
                level="memory",
                segment_id=h.segment_id,
                source="labels",
                option=option,
            )
        )
    return out
