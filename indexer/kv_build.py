"""Build KV memories: prefill every segment of a video through an LMM and store its KV.

Each segment becomes one context part: its time span, up to ``frames`` keyframes (vision
models) and its text card (segment caption, speech, on-screen text, top tags), cut to
``card_chars``. The parts are prefilled as one stream with a sliding window (ReKV): a
segment attends to the prompt head and the ``window`` segments before it, and continues
their RoPE positions (see :mod:`hourlens.models.kv_cache`). Every segment's own keys and
values go to the library's KV store (:mod:`hourlens.memory_store.kv`) under the model's
fingerprint (model id + revision + prompt-format version); blocks of older revisions of
the same model are dropped first.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..config import KVConfig, from_env
from ..errors import HourlensError
from ..memory_store import Store
from ..timefmt import fmt_span
from ..types import Segment

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True, kw_only=True)
class KVBuildResult:
    """Outcome of :func:`build_kv` for one video."""

    video: str
    model: str
    revision: str
    segments: int
    built: int
    reused: int
    tokens: int
    bytes: int
    seconds: float
    dropped_stale: int = 0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def _clip(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: max(0, n - 3)].rstrip() + "..."


def segment_card(store: Store, video_id: int, seg: Segment, *, max_chars: int = 600) -> str:
    """The text card of a segment: caption, speech, on-screen text and tags, in that order."""
    caps = [
        c.text
        for c in store.captions(video_id, level="segment", start=seg.start, end=seg.end)
        if c.start < seg.end and c.end > seg.start
    ]
    speech = [t.text for t in store.transcript(video_id, seg.start, seg.end)]
    ocr = [o.text for o in store.ocr_items(video_id, seg.start, seg.end)]
    tags = [t.label for t in store.tags(video_id, seg.id, limit=5)]
    pieces = []
    if caps:
        pieces.append(" ".join(dict.fromkeys(caps)))
    if speech:
        pieces.append('Speech: "' + " ".join(speech) + '"')
    if ocr:
        pieces.append("On screen: " + "; ".join(dict.fromkeys(ocr)))
    if tags:
        pieces.append("Seen: " + ", ".join(tags))
    return _clip(". ".join(pieces) or "(no text)", max_chars)


def segment_part(
    store: Store, video_id: int, seg: Segment, *, frames: int, card_chars: int, vision: bool
) -> list[Any]:
    """One segment as an LMM context part: ``[span, keyframes..., card]`` (keyframes as
    :class:`~pathlib.Path`: in a part, ``str`` pieces are text and anything else an image)."""
    part: list[Any] = [f"{fmt_span(seg.start, seg.end)} "]
    if vision and frames > 0:
        kfs = store.keyframes(video_id, seg.id)
        if kfs:
            step = max(1, len(kfs) // frames)
            part += [Path(k.path) for k in kfs[::step][:frames]]
            part.append(" ")
    part.append(segment_card(store, video_id, seg, max_chars=card_chars) + "\n")
    return part


def build_kv(
    store: Store,
    video: str | int,
    lmm: Any,
    *,
    config: KVConfig | None = None,
    force: bool = False,
    progress: ProgressFn | None = None,
) -> KVBuildResult:
    """Prefill and store the KV of every segment of ``video``.

    Args:
        store: The library.
        video: Path, name or id of an indexed video.
        lmm: A KV-capable LMM (:class:`hourlens.models.lmm_hf.TransformersLMM`).
        config: Window, dtype, frames, card size; default from ``HOURLENS_KV_*``.
        force: Rebuild even when every segment already has a current block.
        progress: ``(done, total)`` after each segment.

    Raises:
        HourlensError: The LMM cannot prefill KV (an endpoint), or the video is unknown.
    """
    if not getattr(lmm, "supports_kv", False):
        raise HourlensError(
            f"{lmm.name} cannot prefill KV memories (an endpoint keeps its own KV cache): "
            "use a transformers model id or path"
        )
    cfg = config or from_env(KVConfig, prefix="HOURLENS_KV_")
    t0 = time.perf_counter()
    v = store.resolve_video(video)
    kv = store.kv
    fp = lmm.fingerprint()
    stale = kv.drop_stale(fp)
    kv.collect_garbage()  # files of removed or re-indexed videos (their rows cascaded away)
    segs: Sequence[Segment] = store.segments(v.id)
    have = {r.segment_id for r in kv.records(fp, video_id=v.id) if r.window == cfg.window}
    if not force and segs and all(s.id in have for s in segs):
        return KVBuildResult(
            video=v.path,
            model=fp["model"],
            revision=fp["revision"],
            segments=len(segs),
            built=0,
            reused=len(segs),
            tokens=0,
            bytes=0,
            seconds=round(time.perf_counter() - t0, 3),
            dropped_stale=stale,
        )
    vision = bool(getattr(lmm, "is_vision", False))
    parts = [
        segment_part(store, v.id, s, frames=cfg.frames, card_chars=cfg.card_chars, vision=vision)
        for s in segs
    ]
    tokens = nbytes = 0
    for i, (seg, block) in enumerate(zip(segs, lmm.stream(parts, window=cfg.window), strict=True)):
        block.meta.update({"window": str(cfg.window), "video": v.path})
        rec = kv.put(
            fp,
            video_id=v.id,
            segment_id=seg.id,
            start=seg.start,
            end=seg.end,
            block=block,
            window=cfg.window,
            dtype=cfg.dtype,
        )
        tokens += rec.n_tokens
        nbytes += rec.bytes
        if progress is not None:
            progress(i + 1, len(segs))
    return KVBuildResult(
        video=v.path,
        model=fp["model"],
        revision=fp["revision"],
        segments=len(segs),
        built=len(segs),
        reused=0,
        tokens=tokens,
        bytes=nbytes,
        seconds=round(time.perf_counter() - t0, 3),
        dropped_stale=stale,
    )
