"""The Python API: a :class:`Library` of indexed videos."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from .config import IndexConfig, StoreConfig, default_library_dir, from_env
from .types import Hit, IndexResult, Video


class Library:
    """A folder holding the index of many videos (SQLite + vector shards + thumbnails).

    Args:
        path: Library folder; default ``$HOURLENS_HOME`` or the per-user data folder.
        index_config: Indexing settings; default from ``HOURLENS_*`` env vars.
        store_config: Vector index settings; default from env vars.

    Example:
        >>> lib = Library("/tmp/lib")                      # doctest: +SKIP
        >>> lib.index(["./videos"])                        # doctest: +SKIP
        >>> lib.search("a rocket on a launch pad", k=3)    # doctest: +SKIP
    """

    def __init__(self, path: str | Path | None = None, *,
                 index_config: IndexConfig | None = None,
                 store_config: StoreConfig | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_library_dir()
        self.index_config = index_config or from_env(IndexConfig)
        self.store_config = store_config or from_env(StoreConfig)
        self._store: Any = None
        self._indexer: Any = None
        self._lock = threading.Lock()

    @property
    def store(self) -> Any:
        """The underlying :class:`~hourlens.memory_store.Store` (opened on first use)."""
        with self._lock:
            if self._store is None:
                from .memory_store import Store

                self._store = Store(self.path, config=self.store_config)
            return self._store

    def close(self) -> None:
        """Close the store."""
        with self._lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def iter_index(self, paths: Iterable[str | Path], *, force: bool = False,
                   progress: Any = None) -> Iterator[IndexResult]:
        """Index files/folders, yielding a result per video as it finishes.

        Args:
            paths: Files or folders (searched recursively for video files).
            force: Re-index unchanged files too.
            progress: ``None``, or a callback ``(event, info)``.
        """
        if self._indexer is None:
            from .indexer.pipeline import Indexer

            self._indexer = Indexer(self.store, self.index_config)
        yield from self._indexer.index_paths(list(paths), force=force, progress=progress)

    def index(self, paths: Iterable[str | Path] | str | Path, *, force: bool = False,
              progress: bool = False) -> list[IndexResult]:
        """Index files/folders and return one result per video.

        Args:
            paths: A path or paths.
            force: Re-index unchanged files too.
            progress: Show progress bars on stderr.
        """
        if isinstance(paths, str | Path):
            paths = [paths]
        cb = None
        if progress:
            from .cli.progress import TqdmProgress

            cb = TqdmProgress()
        try:
            return list(self.iter_index(paths, force=force, progress=cb))
        finally:
            if cb is not None:
                cb.close()

    def videos(self, status: str | None = None) -> list[Video]:
        """Videos in the library (optionally only ``indexed``/``failed``)."""
        return self.store.videos(status)

    def video(self, ref: str | int) -> Video:
        """One video by id, path or unique file name; raises NotIndexedError."""
        return self.store.resolve_video(ref)

    def search(self, query: str, k: int = 10, video: str | int | None = None) -> list[Hit]:
        """Hybrid search over the library (see :mod:`hourlens.tools.search`)."""
        from .tools.search import search_video_memory

        return search_video_memory(self.store, query, k=k, video=video)

    def describe(self, ref: str | int) -> dict[str, Any]:
        """Everything ``hourlens show --json`` prints about one video (the memory tree)."""
        from .describe import describe_video

        return describe_video(self.store, ref)

    def remove(self, ref: str | int) -> Video:
        """Forget a video: its rows, vectors and thumbnails."""
        return self.store.remove_video(ref)
