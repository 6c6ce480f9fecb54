"""Background indexing jobs (used by the REST API's ``POST /index`` and ``GET /jobs/{id}``).

Jobs run one at a time, in submission order, on a worker thread; their progress comes
from the indexer's progress callback (``plan``, ``start``, ``frames``, ``stage``,
``done``). Paths are confined to *index roots*: a requested path outside every root is
refused, and a file found inside a requested folder whose real path (symlinks resolved)
leaves the roots is skipped.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import HourlensError
from ..paths import resolve_path
from ..types import IndexResult

if TYPE_CHECKING:
    from ..library import Library

log = logging.getLogger("hourlens.jobs")

ENV_INDEX_ROOTS = "HOURLENS_INDEX_ROOTS"
MAX_KEPT_JOBS = 200


class PathNotAllowedError(HourlensError):
    """A path lies outside the configured index roots (or no roots are configured)."""


def roots_from_env() -> list[Path]:
    """Index roots from ``HOURLENS_INDEX_ROOTS`` (``os.pathsep``-separated)."""
    raw = os.environ.get(ENV_INDEX_ROOTS, "")
    return [Path(p) for p in raw.split(os.pathsep) if p.strip()]


def _real(path: str | Path) -> Path:
    return resolve_path(path)


def is_within(path: str | Path, roots: Sequence[Path]) -> bool:
    """Whether ``path`` (symlinks resolved) is one of ``roots`` or lies below one."""
    real = _real(path)
    return any(real == r or real.is_relative_to(r) for r in roots)


@dataclass
class Job:
    """One indexing request and its progress (``to_dict()`` is the API's JSON)."""

    id: str
    paths: list[str]
    force: bool = False
    status: str = "queued"
    """``queued``, ``running``, ``done`` (finished, some files may have failed),
    ``failed`` (the job itself broke) or ``cancelled`` (server stopped before it ran)."""
    files: int | None = None
    current: str | None = None
    frames: int = 0
    total_frames: int | None = None
    stage: str | None = None
    audio_only: int = 0
    """Audio files found in the requested folders (not indexed: no video stream)."""
    results: list[IndexResult] = field(default_factory=list)
    error: str | None = None
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None

    def on_progress(self, event: str, info: dict[str, Any]) -> None:
        """The indexer's progress callback."""
        if event == "plan":
            self.files = int(info.get("files", 0))
        elif event == "start":
            self.current, self.frames = str(info.get("path")), 0
            self.total_frames, self.stage = info.get("total"), "frames"
        elif event == "frames":
            self.frames += int(info.get("n", 0))
        elif event == "stage":
            self.stage = str(info.get("name"))
        elif event == "done":
            self.results.append(info["result"])
            self.current, self.stage = None, None

    def to_dict(self) -> dict[str, Any]:
        """JSON of the job: status, progress and the per-video results so far."""
        counts = {"indexed": 0, "partial": 0, "skipped": 0, "failed": 0}
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        return {
            "id": self.id,
            "status": self.status,
            "paths": self.paths,
            "force": self.force,
            "progress": {
                "files": self.files,
                "done": len(self.results),
                "current": self.current,
                "frames": self.frames,
                "total_frames": self.total_frames,
                "stage": self.stage,
                **counts,
                "audio_only": self.audio_only,
            },
            "results": [r.to_dict() for r in self.results],
            "error": self.error,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
        }


class IndexJobs:
    """A queue of indexing jobs over one library, run by one worker thread.

    Args:
        library: The library to index into.
        roots: Folders (or files) indexing is confined to; empty disables indexing.
    """

    def __init__(self, library: Library, roots: Iterable[str | Path] = ()) -> None:
        self.library = library
        self.roots = [_real(r) for r in roots]
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._closing = False

    def check_paths(self, paths: Sequence[str]) -> list[str]:
        """The requested paths, absolute, if every one is under an index root.

        Raises:
            PathNotAllowedError: No roots are configured, or a path is outside them.
        """
        if not self.roots:
            raise PathNotAllowedError(
                "indexing over the API is disabled: start the server with --index-root DIR "
                f"or set {ENV_INDEX_ROOTS}"
            )
        out = []
        for p in paths:
            if not os.path.isabs(os.path.expanduser(p)):
                raise PathNotAllowedError(f"{p!r} is not an absolute path")
            if not is_within(p, self.roots):
                raise PathNotAllowedError(f"{p!r} is outside the configured index roots")
            out.append(str(_real(p)))
        return out

    def submit(self, paths: Sequence[str], *, force: bool = False) -> Job:
        """Queue a job indexing ``paths`` (checked with :meth:`check_paths`).

        Raises:
            PathNotAllowedError: See :meth:`check_paths`.
        """
        job = Job(id=uuid.uuid4().hex[:12], paths=self.check_paths(paths), force=force)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > MAX_KEPT_JOBS:
                oldest = next(iter(self._jobs.values()))
                if oldest.status in ("queued", "running"):
                    break
                self._jobs.popitem(last=False)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(
                    target=self._run, name="hourlens-index", daemon=True
                )
                self._worker.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        """A job by id (None when unknown or forgotten)."""
        with self._lock:
            return self._jobs.get(job_id)

    def all(self) -> list[Job]:
        """Every job kept, oldest first."""
        with self._lock:
            return list(self._jobs.values())

    def close(self, timeout: float = 5.0) -> None:
        """Stop the worker after the running job; queued jobs are cancelled.

        Args:
            timeout: Seconds to wait for the running job (it is not interrupted: an
                unfinished video is redone by the next run, see :class:`Store`).
        """
        self._closing = True
        self._queue.put(None)
        if self._worker is not None:
            self._worker.join(timeout)

    def _files(self, job: Job) -> list[str]:
        from ..indexer.discover import discover

        found = discover(job.paths)
        files, missing = found.videos, found.problems
        job.audio_only = sum(is_within(f, self.roots) for f in found.audio_only)
        keep = [str(f) for f in files if is_within(f, self.roots)]
        for f in files:
            if str(f) not in keep:
                log.warning("skipping %s: it resolves outside the index roots", f)
        return keep + [p for p, _ in missing]

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            if job is None:
                return
            if self._closing:
                job.status, job.finished_at = "cancelled", time.time()
                continue
            job.status, job.started_at = "running", time.time()
            try:
                self.library.index(self._files(job), force=job.force, progress=job.on_progress)
                job.status = "done"
            except Exception as exc:  # noqa: BLE001 - reported through the job
                log.debug("index job %s failed", job.id, exc_info=True)
                job.status, job.error = "failed", f"{type(exc).__name__}: {exc}"
            finally:
                job.finished_at = time.time()
