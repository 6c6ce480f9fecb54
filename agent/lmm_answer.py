"""The LMM answer step: stored KV memories of the selected segments, reused at question time.

:func:`lmm_answer` is the one function the agent's answer node calls. With a KV-capable
LMM and stored blocks for its fingerprint, the selected segments' blocks are loaded
(memory-mapped), put in time order behind the prompt head, the segments without a block
and the text evidence are prefilled as one fresh part, then only the question is
prefilled and the answer decoded greedily. Without stored KV (or with an endpoint LMM)
the keyframes and text are prefilled as one prompt (:meth:`LMM.generate`): KV is an
accelerator, never a requirement.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..config import KVConfig, from_env
from ..memory_store import Store


@dataclass(frozen=True, kw_only=True)
class LMMAnswer:
    """What the LMM answered and how."""

    text: str
    via: str
    """``kv`` (stored blocks reused) or ``prefill`` (everything prefilled now)."""
    kv_segments: tuple[int, ...] = field(default_factory=tuple)
    """Segments whose stored KV was reused."""
    ttft_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)


def answer_prompt(evidence: str, question: str) -> str:
    """The user text after the context parts: the evidence lines, then the question."""
    ev = evidence.strip()
    return (f"Evidence:\n{ev}\n\n" if ev else "") + f"Question: {question.strip()}"


def lmm_answer(
    store: Store | None,
    lmm: Any,
    *,
    segment_ids: Sequence[int],
    evidence: str,
    question: str,
    images: Sequence[Any] = (),
    max_tokens: int = 160,
    config: KVConfig | None = None,
    prompt: str | None = None,
) -> LMMAnswer:
    """Answer ``question`` with the LMM over the selected segments and the text evidence.

    Args:
        store: The library (None: no KV lookup).
        lmm: An :class:`hourlens.models.lmm.LMM`.
        segment_ids: The selected segments (any order; KV blocks are used in time order).
        evidence: Text evidence (formatted lines) shown with the question.
        question: The question, with any answer-format instructions.
        images: Keyframes (paths) and re-read frames (arrays) of the selected segments:
            all of them go into the fallback prefill; with stored KV, only the arrays
            (stored keyframes are already in the blocks).
        max_tokens: Upper bound on the answer's tokens.
        config: Frames and card size of fresh segment parts; default ``HOURLENS_KV_*``.
        prompt: The whole user text after the context (an already rendered answer
            prompt); replaces ``evidence`` + ``question``.

    Returns:
        The answer; ``via`` says whether stored KV was reused.
    """
    t0 = time.perf_counter()
    prompt = prompt or answer_prompt(evidence, question)
    found = []
    if store is not None and getattr(lmm, "supports_kv", False) and segment_ids:
        found = store.kv.get(lmm.fingerprint(), list(dict.fromkeys(segment_ids)))
    if not found:
        text = lmm.generate(list(images), prompt, max_tokens=max_tokens)
        return LMMAnswer(text=text, via="prefill", ttft_s=round(time.perf_counter() - t0, 4))
    cfg = config or from_env(KVConfig, prefix="HOURLENS_KV_")
    blocks = [lmm.head(), *(b for _, b in found)]
    have = {r.segment_id for r, _ in found}
    missing = set(segment_ids) - have
    if (
        missing and store is not None
    ):  # selected segments without a block: prefill their parts fresh, after
        from ..indexer.kv_build import segment_part

        vision = bool(getattr(lmm, "is_vision", False))
        fresh: list[Any] = []
        for vid in dict.fromkeys(r.video_id for r, _ in found):
            for seg in store.segments(vid):
                if seg.id in missing:
                    fresh += segment_part(
                        store,
                        vid,
                        seg,
                        frames=cfg.frames,
                        card_chars=cfg.card_chars,
                        vision=vision,
                    )
        if fresh:
            blocks.append(lmm.prefill(fresh, blocks))
    frames = [im for im in images if not isinstance(im, str | Path)]  # re-read, not stored
    if frames:
        blocks.append(lmm.prefill(frames, blocks))
    t_ready = time.perf_counter() - t0
    out = lmm.answer(blocks, prompt, max_tokens=max_tokens)
    return LMMAnswer(
        text=out.text,
        via="kv",
        kv_segments=tuple(sorted(have)),
        ttft_s=round(t_ready + out.ttft_s, 4),
    )
