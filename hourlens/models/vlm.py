"""Vision-language models for the answer and for question-conditioned captions.

Two back-ends behind one method, ``generate(images, prompt, max_tokens) -> str``:

* an OpenAI-compatible chat endpoint (vLLM, Ollama, llama.cpp server, any server that
  accepts ``image_url`` content parts), named by its ``http(s)://.../v1`` base URL;
* a Hugging Face model id, local folder or registry name, run by
  :class:`hourlens.models.lmm_hf.TransformersLMM` (which also prefills and reuses KV
  memories, see :mod:`hourlens.agent.lmm_answer`).

Images are JPEG paths (stored keyframes) or ``HxWx3`` uint8 arrays (frames re-read at
question time).
"""

from __future__ import annotations

import base64
import io
import json
import os
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from ..errors import HourlensError

Image = str | np.ndarray


class VisionModel(Protocol):
    """A model that reads images and text and writes text."""

    name: str

    def generate(self, images: Sequence[Image], prompt: str, *, max_tokens: int = 160) -> str:
        """Answer ``prompt`` about ``images``."""
        ...


def _pil(image: Image) -> Any:
    from PIL import Image as PILImage

    if isinstance(image, np.ndarray):
        return PILImage.fromarray(np.ascontiguousarray(image.astype(np.uint8)))
    return PILImage.open(image).convert("RGB")


def jpeg_data_url(image: Image, *, max_side: int = 512) -> str:
    """A ``data:image/jpeg;base64,...`` URL of an image (downscaled to ``max_side``)."""
    img = _pil(image)
    img.thumbnail((max_side, max_side))
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=85)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


class OpenAIVisionModel:
    """A VLM served behind an OpenAI-compatible ``/chat/completions`` endpoint.

    Args:
        base_url: E.g. ``http://localhost:8000/v1``.
        model: Model name the server expects.
        api_key: Bearer token; default ``$HOURLENS_LLM_API_KEY`` or ``$OPENAI_API_KEY``
            (many local servers need none).
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
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.name = f"{self.base_url}#{model}"
        self.api_key = (
            api_key
            if api_key is not None
            else (os.environ.get("HOURLENS_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY"))
        )
        self.timeout = timeout

    def generate(self, images: Sequence[Image], prompt: str, *, max_tokens: int = 160) -> str:
        """Send the images and the prompt as one user message; return the reply text.

        Raises:
            HourlensError: The server is unreachable or answered with an error.
        """
        content: list[dict[str, Any]] = [
            {"type": "image_url", "image_url": {"url": jpeg_data_url(im)}} for im in images
        ]
        content.append({"type": "text", "text": prompt})
        body = {
            "model": self.model,
            "messages": [{"role": "user", "content": content}],
            "max_tokens": max_tokens,
            "temperature": 0.0,
        }
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        req = urllib.request.Request(
            f"{self.base_url}/chat/completions",
            data=json.dumps(body).encode(),
            headers=headers,
            method="POST",
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:  # noqa: S310
                data = json.loads(resp.read().decode("utf-8"))
        except (urllib.error.URLError, TimeoutError, json.JSONDecodeError) as exc:
            raise HourlensError(f"VLM endpoint {self.base_url} failed: {exc}") from exc
        try:
            return str(data["choices"][0]["message"]["content"] or "").strip()
        except (KeyError, IndexError, TypeError) as exc:
            raise HourlensError(f"VLM endpoint {self.base_url} sent no answer") from exc


_cache: dict[tuple[str, str], VisionModel] = {}


def load_vlm(spec: str, *, model: str = "default", device: str | None = None) -> VisionModel:
    """The VLM named by ``spec`` (cached).

    Args:
        spec: ``openai:MODEL@http://host:port/v1`` or ``http(s)://host:port/v1`` (an
            OpenAI-compatible server, the same form as LLM specs), else a Hugging Face id,
            local folder or LMM registry name (``hf:`` prefix optional).
        model: Model name for an OpenAI-compatible server given as a bare URL.
        device: Device for a transformers model; default ``HOURLENS_KV_DEVICE`` (the
            LMM device, :class:`hourlens.config.KVConfig`), else ``cpu``.

    Raises:
        ModelLoadError: The model cannot be loaded.
        HourlensError: An ``openai:`` spec without a URL.
    """
    key = (spec, model)
    if key not in _cache:
        if spec.startswith("openai:"):
            name, at, url = spec[len("openai:") :].rpartition("@")
            if not at or not url.startswith(("http://", "https://")):
                raise HourlensError(f"VLM spec {spec!r}: use openai:MODEL@http://host:port/v1")
            _cache[key] = OpenAIVisionModel(url, name or model)
        elif spec.startswith(("http://", "https://")):
            _cache[key] = OpenAIVisionModel(spec, model)
        else:  # transformers, with KV prefill and reuse (hourlens.models.lmm_hf)
            from ..config import KVConfig, from_env
            from .lmm import load_lmm

            dev = device or from_env(KVConfig, prefix="HOURLENS_KV_").device
            _cache[key] = load_lmm(spec, device=dev).load()
    return _cache[key]
