"""Real-shaped synthetic vectors and per-hour counts for ``bench/scale.py`` and
``bench/ann_choice.py``.

Shape, measured on a real index (the 10-minute niah haystack, packaged EfficientNet-Lite0
and all-MiniLM-L6-v2): unit vectors with a strong common direction (norm of the mean
0.55 for memories, 0.40 for texts), mean pairwise cosine 0.29 / 0.16, half the variance
in 10 principal directions. The generator: a shared mean direction, a latent space of
rank 128 with a power-law spectrum (corpus-wide structure), per video a few dozen
"scene" centres drawn from it, each memory a scene centre plus a small latent and
isotropic perturbation (a scene's memories are near neighbours, as in real videos).
Queries are memories of unseen videos (no exact duplicate in the library).
"""

from __future__ import annotations

import numpy as np

#: per hour of video, from the same real index (x6 of its 595 s): feature memories +
#: summary tokens, text vectors, and the SQLite rows of one hour
PER_HOUR = {
    "segments": 378,
    "feature_memories": 528,
    "summaries": 378,
    "texts": 1278,  # transcript lines + OCR items + captions + chapters with vectors
    "transcript_lines": 72,
    "ocr_items": 768,
    "captions": 384,
    "chapters": 54,
    "tags": 7674,
}
DIMS = {"memories": 1280, "texts": 384}
_SHAPE = {"memories": (0.62, 1.0), "texts": (0.40, 1.6)}  # (mean weight, latent scale)


class Synth:
    """Deterministic generator of one vector kind.

    Args:
        kind: ``memories`` (1280-d) or ``texts`` (384-d).
        seed: Corpus seed (the basis and mean direction).
    """

    def __init__(self, kind: str, seed: int = 0) -> None:
        self.kind = kind
        self.dim = DIMS[kind]
        rng = np.random.default_rng(seed)
        self.rank = 128
        basis = rng.standard_normal((self.rank, self.dim)).astype(np.float32)
        self.basis = basis / np.linalg.norm(basis, axis=1, keepdims=True)
        mean = np.abs(rng.standard_normal(self.dim)).astype(np.float32)
        self.mean = mean / np.linalg.norm(mean)
        self.spectrum = (np.arange(1, self.rank + 1, dtype=np.float32) ** -0.5).astype(np.float32)
        self.mean_w, self.scale = _SHAPE[kind]

    def _latent(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return rng.standard_normal((n, self.rank), dtype=np.float32) * self.spectrum

    def video(self, rng: np.random.Generator, n: int, n_scenes: int = 40) -> np.ndarray:
        """``n`` unit vectors of one video (float32)."""
        centres = self._latent(rng, max(1, n_scenes))
        owner = rng.integers(0, len(centres), size=n)
        z = centres[owner] + 0.35 * self._latent(rng, n)
        x = (self.scale * z) @ self.basis
        x += 0.04 * rng.standard_normal((n, self.dim), dtype=np.float32)
        x += self.mean_w * np.linalg.norm(x, axis=1, keepdims=True).mean() * self.mean
        x /= np.linalg.norm(x, axis=1, keepdims=True)
        return x

    def queries(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` query vectors: memories of unseen videos."""
        return np.concatenate([self.video(rng, 1, 1) for _ in range(n)])


def shape_stats(x: np.ndarray) -> dict[str, float]:
    """The statistics the generator is calibrated on."""
    mu = x.mean(0)
    c = x @ x.T
    iu = np.triu_indices(len(x), 1)
    s = np.linalg.svd(x - mu, compute_uv=False) ** 2
    s /= s.sum()
    return {
        "mean_norm": float(np.linalg.norm(mu)),
        "mean_cos": float(c[iu].mean()),
        "var_top10": float(s[:10].sum()),
    }
