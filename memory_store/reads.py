"""The read API of :class:`~hourlens.memory_store.Store`: rows, text search, statistics."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import StoreConfig
from ..types import Hit, Keyframe, Memory, Segment, Tag, TranscriptLine, Video
from . import fts, queries
from .db import Connections
from .records import Caption, Chapter, OcrItem
from .shards import read_manifest
from .visual_rows import VisualRows, read_visual


def _dir_bytes(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(dirpath, f)).st_size
    return total


class StoreReads:
    """Row reads shared by :class:`~hourlens.memory_store.Store` (thread-safe)."""

    root: Path
    config: StoreConfig
    schema_version: int
    _db: Connections
    resolve_video: Callable[[str | int], Video]

    @property
    def shards_dir(self) -> Path:
        """``root/shards``."""
        return self.root / "shards"

    @property
    def staging_dir(self) -> Path:
        """``root/staging``."""
        return self.root / "staging"

    @property
    def index_dir(self) -> Path:
        """``root/index`` (saved ANN indexes)."""
        return self.root / "index"

    def _vid(self, video: str | int | Video) -> int:
        if isinstance(video, Video):
            return video.id
        if isinstance(video, int):
            return video
        return self.resolve_video(video).id

    def segments(
        self, video_id: int, start: float | None = None, end: float | None = None
    ) -> list[Segment]:
        """Segments overlapping ``[start, end]`` (default: all), in time order."""
        return queries.segments(self._db.get(), video_id, start, end)

    def memories(
        self, video_id: int | None = None, segment_id: int | None = None, kind: str | None = None
    ) -> list[Memory]:
        """Memories filtered by video, segment and kind (``feature``/``summary``)."""
        return queries.memories(self._db.get(), video_id, segment_id, kind)

    def keyframes(
        self, video_id: int | None = None, segment_id: int | None = None
    ) -> list[Keyframe]:
        """Keyframes with absolute JPEG paths, in time order."""
        return queries.keyframes(self._db.get(), self.root, video_id, segment_id)

    def tags(
        self, video_id: int, segment_id: int | None = None, limit: int | None = None
    ) -> list[Tag]:
        """Tags of a video or segment, highest score first."""
        return queries.tags(self._db.get(), video_id, segment_id, limit)

    def transcript(
        self, video: str | int | Video, start: float | None = None, end: float | None = None
    ) -> list[TranscriptLine]:
        """Speech lines overlapping ``[start, end]`` of a video (id, path or name)."""
        return queries.transcript(self._db.get(), self._vid(video), start, end)

    def ocr_items(
        self, video: str | int | Video, start: float | None = None, end: float | None = None
    ) -> list[OcrItem]:
        """On-screen text overlapping ``[start, end]``."""
        return queries.ocr_items(self._db.get(), self._vid(video), start, end)

    def captions(
        self,
        video: str | int | Video,
        *,
        level: str | None = None,
        start: float | None = None,
        end: float | None = None,
    ) -> list[Caption]:
        """Captions (optionally of one level) overlapping ``[start, end]``."""
        return queries.captions(self._db.get(), self._vid(video), level, start, end)

    def chapters(self, video: str | int | Video) -> list[Chapter]:
        """Chapters in order."""
        return queries.chapters(self._db.get(), self._vid(video))

    def visual_rows(self, video: str | int | Video) -> VisualRows:
        """Per-memory class probabilities and pixel facets of a video (and its crops)."""
        return read_visual(self._db.get(), self._vid(video))

    def search_text(self, query: str, *, video_id: int | None = None, k: int = 10) -> list[Hit]:
        """BM25 search over tags, speech, OCR, captions and chapters (any input is safe)."""
        return fts.search_text(
            self._db.get(), query, video_id=video_id, k=k, term_cap=self.config.fts_term_cap
        )

    def stats(self) -> dict[str, Any]:
        """Row counts, vector counts and bytes on disk."""
        db = self._db.get()
        out: dict[str, Any] = {"schema_version": self.schema_version, "videos": {}}
        for r in db.query("SELECT status, count(*) AS n FROM videos GROUP BY status"):
            out["videos"][r["status"]] = r["n"]
        for table in (
            "segments",
            "memories",
            "keyframes",
            "tags",
            "transcript_lines",
            "ocr_items",
            "captions",
            "chapters",
            "visual_rows",
        ):
            out[table] = db.table(table).count
        vec: dict[str, int] = {}
        for r in db.table("videos").rows_where("status = 'indexed'", select="shard"):
            for kind, info in (
                read_manifest(self.shards_dir / (r["shard"] or "")).get("kinds", {}).items()
            ):
                vec[kind] = vec.get(kind, 0) + int(info.get("count", 0))
        out["vectors"] = vec
        sizes = {
            "db": sum(p.stat().st_size for p in self.root.glob("library.db*") if p.is_file()),
            "shards": _dir_bytes(self.shards_dir),
            "index": _dir_bytes(self.index_dir),
            "staging": _dir_bytes(self.staging_dir),
        }
        out["bytes"] = {**sizes, "total": sum(sizes.values())}
        return out
