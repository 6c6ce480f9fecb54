"""Typed results shared by the indexer, the memory store, the agent and the CLI.

Every record is a frozen, keyword-only dataclass with ``to_dict()`` giving the exact
JSON shape the CLI prints, so scripts and the Python API see the same fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

VideoStatus = Literal["indexing", "indexed", "partial", "failed"]
IndexStatus = Literal["indexed", "partial", "skipped", "failed"]
READY_STATUSES: tuple[str, ...] = ("indexed", "partial")
"""Statuses of videos that can be searched and asked about: ``partial`` videos (a
truncated file) serve the part that decoded."""
HitKind = Literal["visual", "tag", "speech", "ocr", "caption", "summary"]


class _JSONMixin:
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable dict of this record."""
        return dataclasses.asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True, kw_only=True)
class Video(_JSONMixin):
    """One video known to the library.

    ``status`` is ``indexing``, ``indexed``, ``partial`` (indexed, but only the part of
    the file that decodes: ``error`` says why) or ``failed`` (``error`` says why).
    """

    id: int
    path: str
    content_hash: str
    size: int
    duration: float
    fps: float
    width: int
    height: int
    status: VideoStatus
    error: str | None = None
    encoder: str | None = None
    indexed_at: str | None = None

    @property
    def ready(self) -> bool:
        """Whether the video can be searched and asked about (``indexed`` or ``partial``)."""
        return self.status in READY_STATUSES


@dataclass(frozen=True, kw_only=True)
class Segment(_JSONMixin):
    """A semantically stable stretch of a video (depth-score segmentation)."""

    id: int
    video_id: int
    index: int
    start: float
    end: float
    n_frames: int
    depth: float
    alpha: float
    budget: int


@dataclass(frozen=True, kw_only=True)
class Memory(_JSONMixin):
    """A compressed feature memory (MA-LMM memory bank compression) of a segment.

    ``kind`` is ``"feature"`` for the k_i compressed vectors and ``"summary"`` for the
    segment's clip-level summary token.
    """

    id: int
    video_id: int
    segment_id: int
    kind: Literal["feature", "summary"]
    start: float
    end: float
    n_frames: int


@dataclass(frozen=True, kw_only=True)
class Keyframe(_JSONMixin):
    """A stored JPEG thumbnail of one frame of a segment."""

    id: int
    video_id: int
    segment_id: int
    t: float
    path: str


@dataclass(frozen=True, kw_only=True)
class Tag(_JSONMixin):
    """A visual tag (e.g. an ImageNet class) with its probability over a time span."""

    label: str
    score: float
    start: float
    end: float
    segment_id: int
    memory_id: int | None = None


@dataclass(frozen=True, kw_only=True)
class TranscriptLine(_JSONMixin):
    """One line of speech with its time span."""

    start: float
    end: float
    text: str


@dataclass(frozen=True, kw_only=True)
class Hit(_JSONMixin):
    """A search result: a time range of a video and why it matched."""

    video: str
    start: float
    end: float
    score: float
    kind: HitKind
    segment_id: int | None = None
    text: str | None = None


@dataclass(frozen=True, kw_only=True)
class IndexResult(_JSONMixin):
    """Outcome of indexing one file (one JSON line of ``hourlens index --json``).

    ``status`` ``partial``: what decoded is indexed, ``error`` says what is missing.
    """

    video: str
    status: IndexStatus
    duration: float | None
    segments: int
    seconds: float
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Citation(_JSONMixin):
    """A time range an answer rests on."""

    video: str
    start: float
    end: float
    kind: Literal["visual", "speech", "ocr", "caption"]


@dataclass(frozen=True, kw_only=True)
class Step(_JSONMixin):
    """One agent step, for traces."""

    node: str
    detail: str
    seconds: float


@dataclass(frozen=True, kw_only=True)
class Answer(_JSONMixin):
    """The agent's answer with the time ranges it used."""

    answer: str
    confidence: float
    citations: list[Citation] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Exactly what ``hourlens ask --json`` prints (and every surface returns):
        ``{answer, confidence, citations: [{video, start, end, kind}], steps: [{node,
        detail, seconds}]}``, numbers rounded to milliseconds."""
        return {
            "answer": self.answer,
            "confidence": round(float(self.confidence), 3),
            "citations": [
                {
                    "video": c.video,
                    "start": round(c.start, 3),
                    "end": round(c.end, 3),
                    "kind": c.kind,
                }
                for c in self.citations
            ],
            "steps": [
                {"node": s.node, "detail": s.detail, "seconds": round(s.seconds, 3)}
                for s in self.steps
            ],
        }
