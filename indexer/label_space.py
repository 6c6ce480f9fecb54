"""The label space of a classifier encoder: its class names and their sentence embeddings.

Search matches a query against every class name (and, for ImageNet classes, their
WordNet definitions) by the sentence embedder. Building that matrix means loading the
encoder (torch, timm) and embedding ~2000 texts, so it is built once — at the end of
indexing, or by the first search — and cached in the models cache
(``<cache>/labels/<key>.npz``); a cold search then reads one file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from ..config import models_cache_dir

log = logging.getLogger("hourlens.indexer.label_space")

LabelSpace = tuple[tuple[str, ...], np.ndarray, np.ndarray | None]
"""``(labels, name_vectors, gloss_vectors or None)``; rows L2-normalised."""

CACHE_VERSION = 1
_memo: dict[str, LabelSpace | None] = {}
_lock = threading.Lock()


def _cache_path(encoder_name: str, embedder: str) -> Path:
    try:
        timm_version = metadata.version("timm")  # the class names and definitions ship there
    except metadata.PackageNotFoundError:
        timm_version = "none"
    ident = f"{encoder_name}|{embedder}|timm{timm_version}|v{CACHE_VERSION}"
    key = hashlib.blake2b(ident.encode(), digest_size=8).hexdigest()
    return models_cache_dir() / "labels" / f"{key}.npz"


def label_glosses(labels: Sequence[str]) -> list[str] | None:
    """``"moped: a motorbike that can be pedaled..."`` for each ImageNet-1k class, or None.

    A class name alone is often far from how people say it ("a red motorcycle" is not
    near "moped"); its definition is closer. The definitions ship with timm.
    """
    if len(labels) != 1000:
        return None
    try:
        from timm.data import ImageNetInfo

        glosses = list(ImageNetInfo().label_descriptions(detailed=True))
    except Exception:  # noqa: BLE001 - an older timm without definitions: names only
        log.debug("no ImageNet class definitions", exc_info=True)
        return None
    same = len(glosses) == len(labels) and all(  # "crane (machine)" ~ "crane: lifts..."
        lab.split(" (")[0].lower() in g.split(":")[0].lower()
        for g, lab in zip(glosses, labels, strict=True)
    )
    return glosses if same else None


def _read(path: Path) -> LabelSpace | None:
    with np.load(path, allow_pickle=False) as z:
        labels = tuple(str(s) for s in z["labels"])
        names = np.asarray(z["names"], np.float32)
        glosses = np.asarray(z["glosses"], np.float32) if "glosses" in z.files else None
    if not labels:
        return None
    return labels, names, glosses


def _write(path: Path, space: LabelSpace | None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays: dict[str, np.ndarray] = {
        "labels": np.asarray([], dtype="<U1"),
        "names": np.zeros((0, 0), np.float32),
    }
    if space is not None:
        labels, names, glosses = space
        arrays = {"labels": np.asarray(labels), "names": names}
        if glosses is not None:
            arrays["glosses"] = glosses
    fd, tmp = tempfile.mkstemp(suffix=".npz", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)  # type: ignore[arg-type]
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide the cache from other users
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _build(encoder_name: str, encoder: Any = None) -> LabelSpace | None:
    from .text_embed import load_text_embedder

    enc = encoder
    if enc is None:
        from .encoders import load_encoder

        enc = load_encoder(encoder_name)
    if not enc.labels:
        return None
    synonyms = getattr(enc, "label_synonyms", None) or [[lab] for lab in enc.labels]
    emb = load_text_embedder()
    glosses = label_glosses(enc.labels)
    return (
        tuple(enc.labels),
        emb.embed([", ".join(s) for s in synonyms]),
        emb.embed(glosses) if glosses else None,
    )


def label_space(encoder_name: str, encoder: Any = None) -> LabelSpace | None:
    """The label space of ``encoder_name`` (None: the encoder has no class labels).

    Read from the models cache when there; otherwise built (loading the encoder and
    the default text embedder) and cached. Memoised per process.

    Args:
        encoder_name: The encoder id stored with the videos.
        encoder: The loaded encoder of that name, if at hand (the indexer's), so that
            building the space does not load a second copy.

    Raises:
        HourlensError: The encoder or the text embedder cannot be loaded.
    """
    with _lock:
        if encoder_name in _memo:
            return _memo[encoder_name]
        from .text_embed import DEFAULT_NAME

        path = _cache_path(encoder_name, DEFAULT_NAME)
        space: LabelSpace | None
        try:
            space = _read(path)
            found = True
        except (OSError, ValueError, KeyError):
            found = False
        if not found:
            space = _build(encoder_name, encoder)
            try:
                _write(path, space)
            except OSError as exc:
                log.info("cannot cache the label space in %s: %s", path, exc)
        _memo[encoder_name] = space
        return space


def clear_label_space_memo() -> None:
    """Forget the label spaces read in this process (the disk cache stays)."""
    with _lock:
        _memo.clear()
