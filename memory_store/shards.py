"""The on-disk format of a vector shard (one immutable folder per indexed video).

``shards/v<video_id>-<token>/`` holds, for each vector kind present:

- ``<kind>.f16.npy``: ``(n, dim)`` float16 vectors (L2-normalised when written);
- ``<kind>.ids.npy``: ``(n,)`` int64 row ids: the frame index for ``frames``, the
  ``memories.id`` for ``memories``/``summaries``, the text row id for ``texts``;
- ``<kind>.spans.npy``: ``(n, 2)`` float64 ``[start, end]`` seconds (for ``frames``,
  ``start`` is the frame time and ``end`` the next frame's time);
- ``<kind>.segs.npy``: ``(n,)`` int64 segment id, ``-1`` for none;
- ``texts.kinds.npy``: ``(n,)`` int8 text kind code (``TEXT_KIND_CODES``) of each text row;

plus ``thumbs/<n>.jpg`` keyframes and ``manifest.json`` (format, video id, kinds with
dim and count, encoders), written last.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .migrations import TEXT_KIND_CODES

KINDS = ("frames", "memories", "summaries", "texts")
MANIFEST = "manifest.json"
FORMAT = 1
CODE_TO_TEXT_KIND = {v: k for k, v in TEXT_KIND_CODES.items()}


@dataclass(frozen=True)
class KindArrays:
    """The arrays of one kind of one shard (vectors may be a read-only memmap)."""

    vectors: np.ndarray | None
    ids: np.ndarray
    spans: np.ndarray
    segs: np.ndarray
    text_kinds: np.ndarray | None = None

    @property
    def dim(self) -> int:
        """Vector dimension (0 when vectors were not loaded)."""
        return 0 if self.vectors is None else int(self.vectors.shape[1])


def check_kind(kind: str) -> str:
    """Validate a vector kind name.

    Raises:
        ValueError: ``kind`` is not one of :data:`KINDS`.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown vector kind {kind!r}; expected one of {', '.join(KINDS)}")
    return kind


def save_npy(path: Path, arr: np.ndarray) -> None:
    """``np.save`` then fsync."""
    with open(path, "wb") as fh:
        np.save(fh, arr, allow_pickle=False)
        fh.flush()
        os.fsync(fh.fileno())


def normalise(vectors: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm, as contiguous float32 (zero rows stay zero)."""
    v = np.asarray(vectors, dtype=np.float32)
    if v.ndim == 1:
        v = v[None, :]
    norms = np.linalg.norm(v, axis=1, keepdims=True)
    return np.ascontiguousarray(v / np.maximum(norms, 1e-12), dtype=np.float32)


def write_kind(
    folder: Path,
    kind: str,
    *,
    ids: np.ndarray,
    spans: np.ndarray,
    segs: np.ndarray,
    vectors: np.ndarray | None = None,
    text_kinds: np.ndarray | None = None,
) -> None:
    """Write one kind's arrays into ``folder`` (``vectors=None``: already written).

    Raises:
        ValueError: The arrays disagree in length.
    """
    n = len(ids)
    if len(spans) != n or len(segs) != n or (vectors is not None and len(vectors) != n):
        raise ValueError(f"{kind}: arrays of different lengths")
    if vectors is not None:
        save_npy(folder / f"{kind}.f16.npy", normalise(vectors).astype("<f2"))
    save_npy(folder / f"{kind}.ids.npy", np.asarray(ids, dtype=np.int64))
    save_npy(folder / f"{kind}.spans.npy", np.asarray(spans, dtype=np.float64).reshape(n, 2))
    save_npy(folder / f"{kind}.segs.npy", np.asarray(segs, dtype=np.int64))
    if text_kinds is not None:
        save_npy(folder / f"{kind}.kinds.npy", np.asarray(text_kinds, dtype=np.int8))


def write_manifest(folder: Path, info: dict[str, Any]) -> None:
    """Write ``manifest.json`` (fsynced)."""
    path = folder / MANIFEST
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"format": FORMAT, **info}, fh, indent=1, sort_keys=True)
        fh.flush()
        os.fsync(fh.fileno())


def read_manifest(folder: Path) -> dict[str, Any]:
    """The shard's manifest (``{}`` when missing)."""
    try:
        with open(folder / MANIFEST, encoding="utf-8") as fh:
            return json.load(fh)
    except FileNotFoundError:
        return {}


def kind_dim(folder: Path, kind: str) -> int:
    """Dimension of ``kind`` in the shard, 0 when the shard has no such vectors."""
    info = read_manifest(folder).get("kinds", {}).get(kind)
    return int(info["dim"]) if info and info.get("count") else 0


def read_kind(folder: Path, kind: str, *, vectors: bool = True) -> KindArrays | None:
    """Load one kind of a shard.

    Args:
        folder: The shard folder.
        kind: One of :data:`KINDS`.
        vectors: Also map the vectors (read-only memmap of float16).

    Returns:
        The arrays, or ``None`` when the shard has no vectors of that kind.
    """
    check_kind(kind)
    ids_path = folder / f"{kind}.ids.npy"
    if not ids_path.exists():
        return None
    vecs = None
    if vectors:
        vecs = np.load(folder / f"{kind}.f16.npy", mmap_mode="r", allow_pickle=False)
        if vecs.ndim != 2:
            return None
    kinds_path = folder / f"{kind}.kinds.npy"
    return KindArrays(
        vectors=vecs,
        ids=np.load(ids_path, allow_pickle=False),
        spans=np.load(folder / f"{kind}.spans.npy", allow_pickle=False),
        segs=np.load(folder / f"{kind}.segs.npy", allow_pickle=False),
        text_kinds=np.load(kinds_path, allow_pickle=False) if kinds_path.exists() else None,
    )
