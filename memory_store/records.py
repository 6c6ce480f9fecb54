"""Records of the text memories and of vector search results.

They follow :mod:`hourlens.types` (frozen, keyword-only, ``to_dict()``); ``OcrItem``,
``Caption`` and ``Chapter`` may move there once the tools expose them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..types import _JSONMixin

VectorKind = Literal["frames", "memories", "summaries", "texts"]
TextKind = Literal["speech", "ocr", "caption", "chapter"]


@dataclass(frozen=True, kw_only=True)
class VectorHit(_JSONMixin):
    """One nearest-neighbour result.

    ``row_id`` is the frame index (``frames``), the ``memories.id`` (``memories``,
    ``summaries``) or the text row id (``texts``, whose table ``text_kind`` names:
    ``speech`` → transcript_lines, ``ocr`` → ocr_items, ``caption`` → captions,
    ``chapter`` → chapters). ``score`` is the cosine similarity.
    """

    kind: VectorKind
    video_id: int
    row_id: int
    start: float
    end: float
    score: float
    segment_id: int | None = None
    text_kind: TextKind | None = None


@dataclass(frozen=True, kw_only=True)
class OcrItem(_JSONMixin):
    """Text read on screen over a time span."""

    id: int
    video_id: int
    start: float
    end: float
    text: str
    score: float | None = None
    segment_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class Caption(_JSONMixin):
    """A text description of a segment, a chapter or the whole video."""

    id: int
    video_id: int
    level: Literal["segment", "chapter", "video"]
    start: float
    end: float
    text: str
    segment_id: int | None = None
    source: str | None = None


@dataclass(frozen=True, kw_only=True)
class Chapter(_JSONMixin):
    """A group of neighbouring segments with a title and a summary."""

    id: int
    video_id: int
    index: int
    start: float
    end: float
    title: str
    summary: str | None = None
