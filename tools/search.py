"""Hybrid search over a library's memories (plain typed functions, reusable anywhere).

Sources, fused by reciprocal rank fusion (RRF):

* **visual** — when a video was indexed with a CLIP encoder, the query goes through
  CLIP's text tower and is matched against feature memories (text → image);
* **text** — SQLite FTS5 over tags, transcripts, OCR and captions;
* **label space** — for classifier encoders (EfficientNet ImageNet tags), the query is
  compared with every class name by the sentence embedder and the best-matching
  classes are looked up as tags ("a motorcycle" → moped, motor scooter), weighted by
  how close the class name is to the query (DESIGN §4b).
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Callable, Sequence

import numpy as np

from ..indexer.label_space import LabelSpace, label_space
from ..memory_store import Store
from ..types import READY_STATUSES, Hit, Video
from .textutil import strip_possessive

log = logging.getLogger("hourlens.search")

RRF_K = 60
#: Weight of the label-space ranking in the fusion when CLIP ranks the same videos.
LABEL_WEIGHT_WITH_CLIP = 0.5
#: Label-space score (sum of relevance x probability) at which its ranking weighs 1; the
#: weight follows the top score within ``LABEL_WEIGHT_RANGE``.
LABEL_STRONG = 0.1
LABEL_WEIGHT_RANGE = (0.5, 1.5)
#: Weight of the ranking of an LLM's rewrite of the query (never the only ranker).
REWRITE_WEIGHT = 0.7
LABEL_MIN_SIM = 0.4
LABELS_PER_QUERY = 6


def _label_matrix(encoder_name: str) -> LabelSpace | None:
    """Class names of a classifier encoder with the sentence embeddings of their synonyms
    and (ImageNet classes) of their WordNet definitions (cached on disk, see
    :mod:`hourlens.indexer.label_space`)."""
    return label_space(encoder_name)


def expand_to_labels(
    query: str, encoder_name: str, *, top: int = LABELS_PER_QUERY, min_sim: float = LABEL_MIN_SIM
) -> list[tuple[str, float]]:
    """Class labels of ``encoder_name`` closest in meaning to ``query``.

    Args:
        query: Free text.
        encoder_name: A classifier encoder id stored with the videos.
        top: At most this many labels.
        min_sim: Cosine similarity floor.

    Returns:
        ``(label, similarity)`` pairs, best first.
    """
    from ..indexer.text_embed import load_text_embedder

    mat = _label_matrix(encoder_name)
    if mat is None:
        return []
    labels, names, glosses = mat
    variants = query_variants(query)
    qs = load_text_embedder().embed([v for v, _ in variants])
    w = np.asarray([w for _, w in variants], np.float32)
    sims = ((names @ qs.T) * w).max(axis=1)
    if glosses is not None:  # a class is as close as its name or its definition
        sims = np.maximum(sims, ((glosses @ qs.T) * w).max(axis=1))
    order = np.argsort(-sims)[:top]
    return [(labels[i], float(sims[i])) for i in order if sims[i] >= min_sim]


_PART_SPLIT = re.compile(
    r"\b(?:in|on|of|with|at|by|near|under|over|and|next\s+to|wearing|"
    r"holding|talking|sitting|standing|riding|eating)\b",
    re.I,
)
#: Articles, sizes and colours: words that name no visual class on their own.
MODIFIERS = frozenset(
    re.findall(
        r"\w+",
        """
    a an the some big small little large huge tiny red orange yellow green blue white black
    brown grey gray pink purple golden silver dark light""",
    )
)


def query_variants(query: str) -> list[tuple[str, float]]:
    """A visual query and its noun phrases, each with a weight for label matching.

    A whole description ("a red motorcycle", "an astronaut in an orange spacesuit") sits
    far from any single class name; its head noun ("motorcycle", "astronaut") and the
    other noun phrases ("spacesuit"), without articles, colours and sizes, match class
    names much better. The head phrase counts 0.95, the other phrases 0.8.

    Returns:
        ``(text, weight)``, the whole query first (weight 1).
    """
    out = [(query, 1.0)]
    parts = [p for p in _PART_SPLIT.split(query) if p.strip()]
    for i, part in enumerate(parts):
        words = [strip_possessive(w) for w in re.findall(r"[\w'-]+", part.lower())]
        words = [w for w in words if w and w not in MODIFIERS]
        text = " ".join(words)
        if text and text != query.lower() and all(text != v for v, _ in out):
            out.append((text, 0.95 if i == 0 else 0.8))
    return out


def _visual_hits(store: Store, query: str, videos: Sequence[Video], k: int) -> list[Hit]:
    hits: list[Hit] = []
    by_encoder: dict[str, list[Video]] = defaultdict(list)
    for v in videos:
        if v.encoder and v.encoder.startswith("open_clip:"):
            by_encoder[v.encoder].append(v)
    for name, vids in by_encoder.items():
        from ..indexer.encoders import load_encoder  # torch: only when CLIP videos exist

        enc = load_encoder(name)
        qv = enc.encode_text([query])[0]
        paths = {v.id: v.path for v in vids}
        scope = vids[0].id if len(vids) == 1 and len(videos) == 1 else None
        for vh in store.nearest("memories", qv, k=k * 3, video_id=scope):
            if vh.video_id in paths:
                hits.append(
                    Hit(
                        video=paths[vh.video_id],
                        start=vh.start,
                        end=vh.end,
                        score=vh.score,
                        kind="visual",
                        segment_id=vh.segment_id,
                    )
                )
    hits.sort(key=lambda h: -h.score)
    return hits[:k]


LabelExpander = Callable[[str, str], list[tuple[str, float]]]
"""``(query, encoder_name) -> [(label, similarity)]``, like :func:`expand_to_labels`."""


def _label_hits(
    store: Store, query: str, videos: Sequence[Video], k: int, expander: LabelExpander | None = None
) -> list[Hit]:
    expand = expander or expand_to_labels
    hits: list[Hit] = []
    encoders = {v.encoder for v in videos if v.encoder and not v.encoder.startswith("open_clip")}
    scope = videos[0].id if len(videos) == 1 else None
    allowed = {v.path for v in videos}
    for name in sorted(encoders):
        try:
            labels = expand(query, name)
        except Exception:  # noqa: BLE001 - label expansion is an optional boost
            log.debug("label expansion failed for %s", name, exc_info=True)
            continue
        for label, sim in labels:
            for h in store.search_text(label, video_id=scope, k=k * 2):
                if (
                    h.kind == "tag"
                    and h.video in allowed
                    and h.text
                    and h.text.lower() == label.lower()
                ):
                    hits.append(
                        Hit(
                            video=h.video,
                            start=h.start,
                            end=h.end,
                            score=sim * max(h.score, 1e-3),
                            kind="tag",
                            segment_id=h.segment_id,
                            text=h.text,
                        )
                    )
    hits.sort(key=lambda h: -h.score)
    return hits[:k]


#: Two hits are one moment when their overlap covers this share of the shorter one and the
#: longer is at most ``MERGE_MAX_RATIO`` times as long (a chapter-long caption does not
#: swallow the votes for every moment inside it).
MERGE_MIN_OVERLAP = 0.5
MERGE_MAX_RATIO = 4.0


def same_moment(a: Hit, b: Hit) -> bool:
    """Whether two hits of one video point at the same moment (see ``MERGE_*``)."""
    inter = min(a.end, b.end) - max(a.start, b.start)
    if inter <= 0:
        return False
    la, lb = max(a.end - a.start, 1e-3), max(b.end - b.start, 1e-3)
    short, long_ = min(la, lb), max(la, lb)
    return inter >= MERGE_MIN_OVERLAP * short and long_ <= MERGE_MAX_RATIO * max(short, 2.0)


def fuse(
    rankings: Sequence[Sequence[Hit]], k: int, weights: Sequence[float] | None = None
) -> list[Hit]:
    """Reciprocal rank fusion of several ranked lists; overlapping spans of one video merge.

    Args:
        rankings: Ranked hit lists, best first.
        k: Number of results.
        weights: Per ranking, a factor on its RRF terms (default 1 each).

    Returns:
        Fused hits, best first, with ``score`` set to the RRF score.
    """
    fused: list[tuple[float, Hit]] = []
    for j, ranking in enumerate(rankings):
        wj = 1.0 if weights is None else float(weights[j])
        credited: set[int] = set()  # a ranking votes once per moment (its best rank)
        for rank, hit in enumerate(ranking):
            score = wj / (RRF_K + rank + 1)
            for i, (s, other) in enumerate(fused):
                if other.video == hit.video and same_moment(hit, other):
                    if i not in credited:
                        credited.add(i)
                        fused[i] = (s + score, other if s >= score else hit)
                    break
            else:
                credited.add(len(fused))
                fused.append((score, hit))
    fused.sort(key=lambda p: -p[0])
    return [
        Hit(
            video=h.video,
            start=h.start,
            end=h.end,
            score=round(s, 6),
            kind=h.kind,
            segment_id=h.segment_id,
            text=h.text,
        )
        for s, h in fused[:k]
    ]


def search_video_memory(
    store: Store,
    query: str,
    *,
    k: int = 10,
    video: str | int | None = None,
    label_expander: LabelExpander | None = None,
    rewriter: Callable[[str], Sequence[str]] | None = None,
) -> list[Hit]:
    """Find the moments of indexed videos that match ``query``.

    Rankers, fused by weighted RRF: CLIP text → image (primary where a video has CLIP
    features), FTS over the text memories, the label space with pixel facets
    (:func:`hourlens.tools.visual.visual_rank`; secondary to CLIP), and, with a
    ``rewriter``, the label space of its rewrite of the query into class names.

    Args:
        store: An open library store.
        query: Free text ("a cat on a sofa", "rocket launch", a spoken phrase...).
        k: Number of results.
        video: Restrict to one video (id, path or unique file name).
        label_expander: Replaces :func:`expand_to_labels` (e.g.
            :meth:`hourlens.agent.Models.labels`) for libraries without visual rows.
        rewriter: ``query -> terms`` in the index's visual vocabulary (e.g.
            :class:`hourlens.tools.rewrite.VisualRewriter` over the packaged LLM).

    Returns:
        Hits ``{video, start, end, score, kind}``, best first.

    Raises:
        NotIndexedError: ``video`` is not in the library.
        ValueError: ``query`` is empty or ``k`` < 1.
    """
    query = query.strip()
    if not query:
        raise ValueError("the search query is empty")
    if k < 1:
        raise ValueError("k must be at least 1")
    videos = [store.resolve_video(video)] if video is not None else store.videos(READY_STATUSES)
    if not videos:
        return []
    scope = videos[0].id if video is not None else None
    from .visual import rewrite_rank, visual_rank

    clip = _visual_hits(store, query, videos, k)
    labels = visual_rank(store, query, videos, k * 2)
    secondary = LABEL_WEIGHT_WITH_CLIP if clip else 1.0
    if labels:  # strong label-space evidence (a relevant class seen clearly) counts more
        strength = labels[0].score / LABEL_STRONG
        secondary *= min(max(strength, LABEL_WEIGHT_RANGE[0]), LABEL_WEIGHT_RANGE[1])
    else:  # a library indexed before visual rows: tags looked up by class name
        labels = _label_hits(store, query, videos, k, label_expander)
    rankings = [
        (clip, 1.0),
        (store.search_text(query, video_id=scope, k=k * 2), 1.0),
        (labels, secondary),
    ]
    if rewriter is not None:
        try:
            terms = list(rewriter(query))
        except Exception:  # noqa: BLE001 - a failing rewrite leaves the other rankers
            log.debug("visual rewrite failed", exc_info=True)
            terms = []
        rankings.append((rewrite_rank(store, terms, videos, k * 2), REWRITE_WEIGHT * secondary))
    kept = [(r, w) for r, w in rankings if r]
    return fuse([r for r, _ in kept], k, [w for _, w in kept])


def search_libraries(
    stores: Sequence[Store],
    query: str,
    *,
    k: int = 10,
    label_expander: LabelExpander | None = None,
) -> list[Hit]:
    """One search over several libraries (shards: one per machine or per collection).

    Each library is searched with :func:`search_video_memory` (in parallel threads) and
    the rankings are fused by reciprocal rank, as the modalities of one library are.

    Args:
        stores: Open library stores.
        query: Free text.
        k: Number of results.
        label_expander: As in :func:`search_video_memory`.

    Returns:
        Hits of every library, best first (``video`` is the path in its library).
    """
    from concurrent.futures import ThreadPoolExecutor

    if len(stores) == 1:
        return search_video_memory(stores[0], query, k=k, label_expander=label_expander)
    with ThreadPoolExecutor(max_workers=min(8, len(stores))) as pool:
        rankings = list(
            pool.map(
                lambda st: search_video_memory(st, query, k=k, label_expander=label_expander),
                stores,
            )
        )
    return fuse([r for r in rankings if r], k)
