"""What a memory tool runs against: the store, the videos in scope, the query-time models.

A :class:`Scope` is built once per question (or per tool call) and caches each video's rows
(:class:`~hourlens.tools.memo.VideoMemo`) and any frames re-read from the source. Every
memory tool takes one; the agent's run context is a :class:`Scope` with the LLM and the
agent settings added.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..types import Video
from .memo import VideoMemo

if TYPE_CHECKING:
    from .evidence import Evidence

log = logging.getLogger("hourlens.tools")

#: What memories exist: ``speech`` (transcript), ``ocr`` (on-screen text) and ``visual``
#: (tags, frames, captions, chapters, summaries).
MODALITIES = frozenset({"speech", "ocr", "visual"})


def modality_of(kind: str) -> str:
    """The modality of an evidence or text-memory kind (speech, ocr, everything else visual)."""
    return kind if kind in ("speech", "ocr") else "visual"


def parse_modalities(spec: str | Iterable[str]) -> frozenset[str]:
    """Modalities from ``"all"`` or a comma list (``"speech,ocr"``).

    Raises:
        ValueError: An unknown modality name.
    """
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    names = {m.strip().lower() for m in items if m.strip()}
    if not names or "all" in names:
        return MODALITIES
    if bad := names - MODALITIES:
        raise ValueError(
            f"unknown modalities {sorted(bad)}; use all or a comma list of "
            f"{', '.join(sorted(MODALITIES))}"
        )
    return frozenset(names)


class Models:
    """Lazily loaded models shared by questions; a model that fails to load is skipped.

    Every method returns None (or an empty list) when its model is unavailable, so the
    agent degrades to the retrievers that work. Pass callables to replace a loader
    (tests, embedding applications).

    Args:
        text_embedder: ``texts -> (n, d)`` normalised float32, or None for the default
            (:func:`hourlens.indexer.text_embed.load_text_embedder`).
        encoder_loader: ``name -> FrameEncoder``, default :func:`load_encoder`.
        label_expander: ``(query, encoder_name) -> [(label, sim)]``, default
            :func:`hourlens.tools.search.expand_to_labels`.
        frame_reader: ``(path, times) -> [HxWx3 uint8]``, default
            :func:`hourlens.indexer.decode.read_frames_at`.
        enabled: False disables every model (deterministic text-only retrieval).
    """

    def __init__(
        self,
        *,
        text_embedder: Callable[[Sequence[str]], np.ndarray] | None = None,
        encoder_loader: Callable[[str], Any] | None = None,
        label_expander: Callable[[str, str], list[tuple[str, float]]] | None = None,
        frame_reader: Callable[[str, Sequence[float]], list[np.ndarray]] | None = None,
        enabled: bool = True,
    ) -> None:
        self._embed = text_embedder
        self._encoder_loader = encoder_loader
        self._label_expander = label_expander
        self._frame_reader = frame_reader
        self.enabled = enabled
        self._failed: set[str] = set()
        self._label_cache: dict[tuple[str, str], list[tuple[str, float]]] = {}
        self._lock = threading.Lock()

    def _guard(self, what: str, fn: Callable[[], Any], default: Any) -> Any:
        if not self.enabled or what in self._failed:
            return default
        try:
            return fn()
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - a missing model must not fail a question
            with self._lock:
                if what not in self._failed:
                    log.warning("%s unavailable (%s); answering without it", what, exc)
                    self._failed.add(what)
            return default

    def embed(self, texts: Sequence[str]) -> np.ndarray | None:
        """Sentence embeddings of ``texts`` (rows L2-normalised), or None."""

        def run() -> np.ndarray:
            if self._embed is None:
                from ..indexer.text_embed import load_text_embedder

                self._embed = load_text_embedder("auto").embed
            return np.asarray(self._embed(list(texts)), dtype=np.float32)

        return self._guard("text embedder", run, None)

    def encoder(self, name: str) -> Any:
        """The frame encoder ``name`` a video was indexed with, or None."""

        def run() -> Any:
            if self._encoder_loader is None:
                from ..indexer.encoders import load_encoder

                self._encoder_loader = load_encoder
            return self._encoder_loader(name)

        return self._guard(f"frame encoder {name}", run, None)

    def clip_text(self, name: str, texts: Sequence[str]) -> np.ndarray | None:
        """Texts embedded by the text tower of CLIP encoder ``name``, or None."""
        enc = self.encoder(name)
        if enc is None or not getattr(enc, "supports_text", False):
            return None
        return self._guard(
            f"text tower of {name}",
            lambda: np.asarray(enc.encode_text(list(texts)), np.float32),
            None,
        )

    def labels(self, query: str, encoder_name: str) -> list[tuple[str, float]]:
        """Class labels of a classifier encoder closest in meaning to ``query``.

        Cached per ``(query, encoder)``: backtracking scores every memory and frame of a
        segment against the same query.
        """
        key = (query, encoder_name)
        if key in self._label_cache:
            return list(self._label_cache[key])

        def run() -> list[tuple[str, float]]:
            if self._label_expander is None:
                from .search import expand_to_labels

                self._label_expander = expand_to_labels
            return list(self._label_expander(query, encoder_name))

        out = self._guard(f"label space of {encoder_name}", run, None)
        if out is None:
            return []
        with self._lock:
            if len(self._label_cache) >= 512:
                self._label_cache.clear()
            self._label_cache[key] = out
        return list(out)

    def read_frames(self, path: str, times: Sequence[float]) -> list[np.ndarray] | None:
        """Frames of ``path`` at ``times`` (random access), or None when unreadable."""
        if not self.enabled:
            return None
        try:
            if self._frame_reader is None:
                from ..indexer.decode import read_frames_at

                return read_frames_at(path, list(times))
            return self._frame_reader(path, list(times))
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # noqa: BLE001 - source gone: thumbnails are used instead
            log.info("cannot re-read frames of %s (%s); using stored thumbnails", path, exc)
            return None


_default_models: Models | None = None


def default_models() -> Models:
    """The process-wide :class:`Models` (so a chat session loads each model once)."""
    global _default_models
    if _default_models is None:
        _default_models = Models()
    return _default_models


@dataclass(kw_only=True)
class Scope:
    """The memory a tool call may read.

    Attributes:
        store: The library store (:class:`~hourlens.memory_store.Store` read API).
        videos: The videos in scope (one, or every indexed video).
        models: Query-time embedders and encoders.
        modalities: The memories that may be used (see :data:`MODALITIES`).
        memos: Per-video row caches (filled lazily).
        frames: Frames re-read from the source at question time, by ``frame:<id>:<t>``.
    """

    store: Any
    videos: list[Video]
    models: Models = field(default_factory=lambda: default_models())
    modalities: frozenset[str] = MODALITIES
    memos: dict[int, VideoMemo] = field(default_factory=dict)
    frames: dict[str, np.ndarray] = field(default_factory=dict)

    def memo(self, video_id: int) -> VideoMemo:
        """The row cache of one video in scope."""
        if video_id not in self.memos:
            self.memos[video_id] = VideoMemo(
                self.store, self.video(video_id), modalities=self.modalities
            )
        return self.memos[video_id]

    def allows(self, kind: str) -> bool:
        """Whether evidence of ``kind`` (``speech``, ``ocr``, ``caption``...) may be used."""
        return modality_of(kind) in self.modalities

    def keep(self, items: Sequence[Evidence]) -> list[Evidence]:
        """``items`` without the evidence of modalities left out of scope."""
        return [e for e in items if self.allows(e.kind)]

    def video(self, video_id: int) -> Video:
        """A video in scope by id.

        Raises:
            KeyError: The video is not in scope.
        """
        for v in self.videos:
            if v.id == video_id:
                return v
        raise KeyError(video_id)

    @property
    def durations(self) -> dict[int, float]:
        """Video id → duration."""
        return {v.id: v.duration for v in self.videos}

    @property
    def single(self) -> Video | None:
        """The video when exactly one is in scope."""
        return self.videos[0] if len(self.videos) == 1 else None
