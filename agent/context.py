"""Run-time context of the agent: settings, models and per-question caches.

The graph's nodes get a :class:`Context` through LangGraph's runtime (``runtime.context``);
it holds everything that is not plain data: the memory scope the tools read (store, videos,
lazily loaded embedders, per-video row caches), the LLM and the optional VLM.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..tools.scope import MODALITIES, Models, Scope, default_models, modality_of, parse_modalities
from ..types import Step

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
    plan_with_llm: bool = True
    """Let the LLM plan a question the fast parser could not read completely."""
    judge_computed: bool = False
    """Let the LLM judge questions whose answer is computed from the evidence (a time, an
    option, a count, yes/no) when the computed answer stays weak. Off by default: measured
    on niah, a text-only LLM rarely picked better than the ranking and each call costs
    5-15 s on 2 cores; general questions and summaries always use the LLM."""
    max_llm_calls: int = 2
    """LLM calls one question may make (planning, rewriting, judging); past it the computed
    answer stands. On 2 CPU cores one call of the packaged model takes ~5-15 s."""
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
        return parse_modalities(self.modalities)


@dataclass(kw_only=True)
class Context(Scope):
    """Everything the nodes need besides the state: the memory scope the tools read
    (:class:`~hourlens.tools.scope.Scope`), the LLM, the optional VLM and the settings.

    Attributes:
        llm: The LLM (:class:`hourlens.models.llm.LLM`), or None for deterministic answers.
        config: Agent settings.
        vlm: A vision-language model (:mod:`hourlens.models.vlm`), or None.
        on_step: Called with each :class:`Step` as soon as a node finishes (``--trace``).
    """

    llm: Any = None
    config: AgentConfig = field(default_factory=AgentConfig)
    vlm: Any = None
    on_step: Callable[[Step], None] | None = None

    llm_calls: int = 0

    def __post_init__(self) -> None:
        self.modalities = self.config.allowed_modalities()

    def llm_for_call(self) -> Any:
        """The LLM if the question's call budget allows one more call (counted), else None."""
        if self.llm is None or self.llm_calls >= self.config.max_llm_calls:
            return None
        self.llm_calls += 1
        return self.llm

    def emit(self, step: Step) -> None:
        """Report a step to ``on_step`` (a failing callback is logged, not raised)."""
        if self.on_step is None:
            return
        try:
            self.on_step(step)
        except Exception:  # noqa: BLE001 - tracing must not break answering
            log.debug("on_step callback failed", exc_info=True)


__all__ = ["MODALITIES", "AgentConfig", "Context", "Models", "default_models", "modality_of"]
