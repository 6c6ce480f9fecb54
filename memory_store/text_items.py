"""Validation of the text memories a writer receives (transcript, OCR, captions, chapters).

Items may be mappings (``{"start": 1.0, "end": 2.5, "text": "..."}``) or objects with the
same attributes (e.g. :class:`hourlens.types.TranscriptLine`). Each becomes a plain dict
ready for insertion; ``segment`` is a writer's provisional segment key or ``None`` (then
the segment containing the item's midpoint is used at commit).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

from .persist import TEXT_KINDS, Buffers

_REQUIRED = object()
CAPTION_LEVELS = ("segment", "chapter", "video")


def get_field(item: Any, name: str, default: Any = _REQUIRED) -> Any:
    """``item[name]`` for mappings, ``item.name`` otherwise.

    Raises:
        ValueError: A required field is missing.
    """
    if isinstance(item, Mapping):
        if name in item:
            return item[name]
    elif hasattr(item, name):
        return getattr(item, name)
    if default is _REQUIRED:
        raise ValueError(f"text item {item!r} has no {name!r}")
    return default


def span_of(item: Any) -> tuple[float, float]:
    """The validated ``(start, end)`` of an item.

    Raises:
        ValueError: Missing, non-finite, negative or reversed times.
    """
    start, end = float(get_field(item, "start")), float(get_field(item, "end"))
    if not (math.isfinite(start) and math.isfinite(end)) or start < 0 or end < start:
        raise ValueError(f"invalid time span [{start}, {end}] in {item!r}")
    return start, end


def clean_text(value: Any, what: str) -> str:
    """A stripped non-empty string.

    Raises:
        ValueError: ``value`` is not a string or is blank.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what} must be a non-empty string, got {value!r}")
    return value.strip()


def segment_key(item: Any, n_segments: int) -> int | None:
    """The item's provisional segment key (validated), or ``None``."""
    key = get_field(item, "segment", None)
    if key is None:
        return None
    key = int(key)
    if not 0 <= key < n_segments:
        raise ValueError(f"unknown segment key {key}")
    return key


def line_row(item: Any, language: str | None, source: str | None, n_segments: int) -> dict:
    """A ``transcript_lines`` row from a line item (``words`` is kept as JSON)."""
    start, end = span_of(item)
    words = get_field(item, "words", None)
    return {
        "start": start,
        "end": end,
        "text": clean_text(get_field(item, "text"), "a transcript line's text"),
        "words": None if words is None else json.dumps(words, default=float),
        "language": get_field(item, "language", language),
        "source": get_field(item, "source", source),
        "segment": segment_key(item, n_segments),
    }


def ocr_row(item: Any, n_segments: int) -> dict:
    """An ``ocr_items`` row from an OCR item (``score`` optional)."""
    start, end = span_of(item)
    score = get_field(item, "score", None)
    return {
        "start": start,
        "end": end,
        "text": clean_text(get_field(item, "text"), "an OCR item's text"),
        "score": None if score is None else float(score),
        "segment": segment_key(item, n_segments),
    }


def caption_row(item: Any, level: str, source: str | None, n_segments: int) -> dict:
    """A ``captions`` row; ``level`` and ``source`` may be overridden per item."""
    start, end = span_of(item)
    lvl = get_field(item, "level", level)
    if lvl not in CAPTION_LEVELS:
        raise ValueError(f"caption level must be one of {CAPTION_LEVELS}, got {lvl!r}")
    return {
        "start": start,
        "end": end,
        "text": clean_text(get_field(item, "text"), "a caption's text"),
        "level": lvl,
        "source": get_field(item, "source", source),
        "segment": segment_key(item, n_segments),
    }


def chapter_row(item: Any, default_index: int) -> dict:
    """A ``chapters`` row (``index`` defaults to the running count)."""
    start, end = span_of(item)
    summary = get_field(item, "summary", None)
    return {
        "start": start,
        "end": end,
        "index": int(get_field(item, "index", default_index)),
        "title": clean_text(get_field(item, "title"), "a chapter's title"),
        "summary": None if summary is None else str(summary),
    }


class TextMemoriesMixin:
    """The text-memory half of :class:`~hourlens.memory_store.writer.VideoWriter`."""

    _buf: Buffers
    _text_dim: int
    _text_encoder: str | None

    _check_open: Callable[[], None]

    def _add_texts(self, kind: str, rows: list[dict[str, Any]]) -> list[int]:
        first = len(self._buf.texts[kind])
        self._buf.texts[kind].extend(rows)
        return list(range(first, first + len(rows)))

    def add_transcript_lines(
        self, lines: Iterable[Any], *, language: str | None = None, source: str | None = "asr"
    ) -> list[int]:
        """Add speech lines (``start``, ``end``, ``text``, optional ``words``, ``segment``).

        Returns:
            Provisional keys, for :meth:`add_texts_vectors` (kind ``speech``).
        """
        self._check_open()
        n = len(self._buf.segments)
        return self._add_texts("speech", [line_row(x, language, source, n) for x in lines])

    def add_ocr_items(self, items: Iterable[Any]) -> list[int]:
        """Add on-screen text (``start``, ``end``, ``text``, optional ``score``, ``segment``)."""
        self._check_open()
        n = len(self._buf.segments)
        return self._add_texts("ocr", [ocr_row(x, n) for x in items])

    def add_captions(
        self, captions: Iterable[Any], *, level: str = "segment", source: str | None = None
    ) -> list[int]:
        """Add captions (``start``, ``end``, ``text``, optional ``level``/``segment``)."""
        self._check_open()
        n = len(self._buf.segments)
        return self._add_texts("caption", [caption_row(x, level, source, n) for x in captions])

    def add_chapters(self, chapters: Iterable[Any]) -> list[int]:
        """Add chapters (``start``, ``end``, ``title``, optional ``summary``, ``index``)."""
        self._check_open()
        rows: list[dict[str, Any]] = []
        for x in chapters:
            rows.append(chapter_row(x, len(self._buf.texts["chapter"]) + len(rows)))
        return self._add_texts("chapter", rows)

    def add_texts_vectors(
        self, kind: str, keys: Sequence[int], vectors: np.ndarray, *, model: str | None = None
    ) -> None:
        """Add sentence embeddings of text items (searchable with ``nearest("texts", ...)``).

        Args:
            kind: ``speech``, ``ocr``, ``caption`` or ``chapter``.
            keys: Provisional keys returned by the matching ``add_*`` method.
            vectors: ``(len(keys), dim)``; one dim per video.
            model: The text embedder's name (stored as ``videos.text_encoder``).
        """
        self._check_open()
        if kind not in TEXT_KINDS:
            raise ValueError(f"text kind must be one of {TEXT_KINDS}, got {kind!r}")
        v = np.asarray(vectors, dtype=np.float32)
        if v.ndim != 2 or v.shape[0] != len(keys):
            raise ValueError(f"{len(keys)} keys but vectors of shape {v.shape}")
        if self._text_dim and v.shape[1] != self._text_dim:
            raise ValueError(f"text vector dim {v.shape[1]} differs from {self._text_dim}")
        if not np.all(np.isfinite(v)):
            raise ValueError("text vectors contain NaN or infinity")
        for key in keys:
            if not 0 <= int(key) < len(self._buf.texts[kind]):
                raise ValueError(f"unknown {kind} key {key}")
        if len(keys) == 0:
            return
        self._text_dim = int(v.shape[1])
        self._text_encoder = model or self._text_encoder
        self._buf.text_keys.extend((kind, int(k)) for k in keys)
        self._buf.text_vectors.append(v)
