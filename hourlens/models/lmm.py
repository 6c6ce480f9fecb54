"""The video LMM interface: images + text in, text out, with optional KV memories.

Every LMM answers :meth:`LMM.generate` ``(images, prompt, max_tokens) -> str`` (the form
the agent's VLM hooks already use). Backends:

* :class:`~hourlens.models.lmm_hf.TransformersLMM`: Qwen2-VL / Qwen2.5-VL-class models (and,
  text only, any causal LM such as the packaged Qwen2.5 GGUF) run by transformers, by hub
  id or local path, on CPU (fp32/bf16) or CUDA (bf16/fp16, ``device_map``). It can also
  prefill context parts into KV blocks and answer over stored blocks
  (``supports_kv = True``); see :mod:`hourlens.models.kv_cache` for how positions work.
* :class:`OpenAILMM`: an OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server).
  KV reuse there is the server's business: vLLM with LMCache keeps prefix KV on local disk
  (see the README's "KV memories" section).

:func:`load_lmm` turns a spec into a cached backend.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from hourlens.errors import HourlensError

Image = str | np.ndarray

#: Bump when the way context parts are turned into tokens changes: stored KV blocks of
#: another format version are never reused.
PROMPT_FORMAT = "kv1"

DEFAULT_SYSTEM = (
    "You answer questions about a video from its memories: time-stamped segments with "
    "keyframes, captions, speech and on-screen text. Answer briefly and cite times."
)


class LMM(ABC):
    """A model that reads images and text and writes text.

    Attributes:
        name: Short name for messages and logs.
        model_id: Stable id of the weights (hub id, resolved path, packaged name).
        supports_kv: True when the backend can prefill context into KV blocks and answer
            over stored ones (:class:`~hourlens.models.lmm_hf.TransformersLMM`).
    """

    name: str = "lmm"
    model_id: str = "lmm"
    supports_kv: bool = False

    def load(self) -> LMM:
        """Load the weights now instead of at the first call. Returns ``self``."""
        return self

    def revision(self) -> str:
        """A string that changes whenever the weights do (a hub commit, a file stamp)."""
        return "unknown"

    @abstractmethod
    def generate(self, images: Sequence[Image], prompt: str, *, max_tokens: int = 160) -> str:
        """Answer ``prompt`` about ``images`` (JPEG paths or HxWx3 uint8 arrays)."""

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class OpenAILMM(LMM):
    """An LMM behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Args:
        base_url: E.g. ``http://localhost:8000/v1``.
        model: Model name the server expects.
        api_key: Bearer token; default ``$HOURLENS_LLM_API_KEY`` or ``$OPENAI_API_KEY``.
        timeout: Seconds per request.
    """

    def __init__(
        self,
        base_url: str,
        model: str = "default",
        *,
        api_key: str | None = None,
        timeout: float = 120.0,
    ) -> None:
        from .vlm import OpenAIVisionModel

        self._client = OpenAIVisionModel(base_url, model, api_key=api_key, timeout=timeout)
        self.name = self._client.name
        self.model_id = self.name

    def revision(self) -> str:
        return self.name

    def generate(self, images: Sequence[Image], prompt: str, *, max_tokens: int = 160) -> str:
        """Send the images and the prompt as one user message; return the reply text.

        Raises:
            HourlensError: The server is unreachable or answered with an error.
        """
        return self._client.generate(images, prompt, max_tokens=max_tokens)


_CACHE: dict[tuple[Any, ...], LMM] = {}
_LOCK = threading.Lock()


def load_lmm(
    spec: str,
    *,
    model: str = "default",
    device: str = "cpu",
    precision: str = "auto",
    device_map: str | None = None,
    revision: str | None = None,
) -> LMM:
    """The LMM named by ``spec`` (cached per arguments; weights load on first use).

    Args:
        spec: A registry name (:func:`hourlens.models.registry.list_models` ``("lmm")``),
            ``openai:MODEL@http://host:port/v1`` or a bare ``http(s)://host:port/v1``
            (model name from ``model``), ``packaged:NAME`` (a packaged GGUF through
            transformers, text only), a ``.gguf`` path, or a Hugging Face id / local
            folder (``hf:`` prefix optional).
        model: Model name for an endpoint given as a bare URL.
        device: ``cpu``, ``cuda`` or ``cuda:N`` (transformers).
        precision: ``auto`` (fp32 on CPU, bf16 on CUDA where supported, else fp16),
            ``fp32``, ``bf16`` or ``fp16``.
        device_map: Passed to ``from_pretrained`` (e.g. ``auto`` to shard across GPUs).
        revision: Hub revision (branch, tag or commit) of a hub id.

    Raises:
        HourlensError: A malformed ``openai:`` spec.
    """
    from .registry import resolve_spec

    spec = resolve_spec(spec, "lmm")
    key = (spec, model, device, precision, device_map, revision)
    with _LOCK:
        lmm = _CACHE.get(key)
        if lmm is None:
            lmm = _CACHE[key] = _build(spec, model, device, precision, device_map, revision)
    return lmm


def _build(
    spec: str,
    model: str,
    device: str,
    precision: str,
    device_map: str | None,
    revision: str | None,
) -> LMM:
    if spec.startswith("openai:"):
        name, at, url = spec[len("openai:") :].rpartition("@")
        if not at or not url.startswith(("http://", "https://")):
            raise HourlensError(f"LMM spec {spec!r}: use openai:MODEL@http://host:port/v1")
        return OpenAILMM(url, name or model)
    if spec.startswith(("http://", "https://")):
        return OpenAILMM(spec, model)
    from .lmm_hf import TransformersLMM

    return TransformersLMM(
        spec.removeprefix("hf:"),
        device=device,
        precision=precision,
        device_map=device_map,
        revision=revision,
    )
