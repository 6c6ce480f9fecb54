"""Run-time context of the agent: settings, models and per-question caches.

The graph's nodes get a :class:`Context` through LangGraph's runtime (``runtime.context``);
it holds everything that is not plain data: the store, the LLM, the optional VLM, lazily
loaded embedders and the per-video row caches.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..types import Step, Video
from .memo import VideoMemo

if TYPE_CHECKING:
    from .evidence import Evidence

log = logging.getLogger("hourlens.agent")


@dataclass(kw_only=True)
class AgentConfig:
    """How the agent answers. Every field can be set as ``HOURLENS_<FIELD>``.

    Build one with ``from_env(AgentConfig, ...)`` (:func:`hourlens.config.from_env`) to
    honour the environment.
    """

    llm: str = "auto"
    """LLM spec for :func:`hourlens.models.llm.load_llm` (``auto`` = the packaged GGUF LLM),
    or ``none`` for deterministic answers without any LLM."""
    vlm: str | None = None
    """Video LMM: a Hugging Face id or local path (transformers image-text-to-text), or an
    OpenAI-compatible server (vLLM, Ollama...) as ``openai:MODEL@http://host:port/v1`` or a
    bare ``http(s)://.../v1`` URL (model name from ``vlm_model``). Unset: the LLM answers
    from the text evidence."""
    vlm_model: str = "default"
    """Model name sent to an OpenAI-compatible VLM server."""
    max_backtracks: int = 2
    """Step budget: backtracking rounds (each goes one level finer) before answering."""
    min_segments: int = 2
    max_segments: int = 6
    """Adaptive top-k of segments: k is chosen from the score distribution within these."""
    coarse_k: int = 12
    """Hits per retriever in the coarse look."""
    expand_per_round: int = 3
    """Segments backtracked into per round."""
    sufficient_confidence: float = 0.6
    """Confidence at which the evidence counts as sufficient."""
    low_confidence: float = 0.3
    """Confidence reported (at most) when the budget ran out before the evidence sufficed."""
    max_citations: int = 8
    max_citation_s: float = 60.0
    prompt_items: int = 12
    """Evidence items shown to the LLM."""
    prompt_chars: int = 1800
    """Characters of evidence text shown to the LLM."""
    judge_max_tokens: int = 120
    answer_max_tokens: int = 160
    time_window_s: float = 12.0
    """Half-width of the window of a time lookup ("at about MM:SS")."""
    follow_window_s: float = 30.0
    """Length of the window of a follow-up ("right after that")."""
    dense_frames: int = 4
    """Frames re-read per segment when backtracking."""
    vlm_images: int = 6
    """Images given to the VLM."""
    trust_lookups: bool = True
    """Answer without the LLM when a lookup route (a time, a quoted phrase, a spoken word
    count) found an exact match: the LLM would only re-word a verbatim answer."""
    rewrite_visual: bool = True
    """Let the LLM rewrite a visual question into the index's visual vocabulary when the
    first look did not suffice."""
    modalities: str = "all"
    """Memories the agent may use: ``all``, or a comma list of ``speech`` (transcript),
    ``ocr`` (on-screen text) and ``visual`` (tags, frames, captions, chapters, summaries).
    ``speech`` alone is transcript-only retrieval, a baseline."""

    def allowed_modalities(self) -> frozenset[str]:
        """The modalities in :attr:`modalities` (``all`` → every one).

        Raises:
            ValueError: An unknown modality name.
        """
        names = {m.strip().lower() for m in self.modalities.split(",") if m.strip()}
        if not names or "all" in names:
            return MODALITIES
        if bad := names - MODALITIES:
            raise ValueError(
                f"unknown modalities {sorted(bad)}; use all or a comma list of "
                f"{', '.join(sorted(MODALITIES))}"
            )
        return frozenset(names)


#: What the agent can look at; see :attr:`AgentConfig.modalities`.
MODALITIES = frozenset({"speech", "ocr", "visual"})


def modality_of(kind: str) -> str:
    """The modality of an evidence or text-memory kind (speech, ocr, everything else visual)."""
    return kind if kind in ("speech", "ocr") else "visual"


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
                from ..tools.search import expand_to_labels

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
class Context:
    """Everything the nodes need besides the state.

    Attributes:
        store: The library store.
        videos: The videos in scope (one, or every indexed video).
        llm: The LLM (:class:`hourlens.models.llm.LLM`), or None for deterministic answers.
        config: Agent settings.
        models: Embedders and encoders.
        vlm: A vision-language model (:mod:`hourlens.models.vlm`), or None.
        on_step: Called with each :class:`Step` as soon as a node finishes (``--trace``).
    """

    store: Any
    videos: list[Video]
    llm: Any = None
    config: AgentConfig = field(default_factory=AgentConfig)
    models: Models = field(default_factory=default_models)
    vlm: Any = None
    on_step: Callable[[Step], None] | None = None
    memos: dict[int, VideoMemo] = field(default_factory=dict)
    frames: dict[str, np.ndarray] = field(default_factory=dict)

    def memo(self, video_id: int) -> VideoMemo:
        """The row cache of one video in scope."""
        if video_id not in self.memos:
            self.memos[video_id] = VideoMemo(
                self.store, self.video(video_id), modalities=self.config.allowed_modalities()
            )
        return self.memos[video_id]

    def allows(self, kind: str) -> bool:
        """Whether evidence of ``kind`` (``speech``, ``ocr``, ``caption``...) may be used."""
        return modality_of(kind) in self.config.allowed_modalities()

    def keep(self, items: Sequence[Evidence]) -> list[Evidence]:
        """``items`` without the evidence of modalities the config leaves out."""
        return [e for e in items if self.allows(e.kind)]

    def video(self, video_id: int) -> Video:
        """A video in scope by id."""
        for v in self.videos:
            if v.id == video_id:
                return v
        raise KeyError(video_id)

    @property
    def durations(self) -> dict[int, float]:
        """Video id → duration."""
        return {v.id: v.duration for v in self.videos}

    def emit(self, step: Step) -> None:
        """Report a step to ``on_step`` (a failing callback is logged, not raised)."""
        if self.on_step is None:
            return
        try:
            self.on_step(step)
        except Exception:  # noqa: BLE001 - tracing must not break answering
            log.debug("on_step callback failed", exc_info=True)
