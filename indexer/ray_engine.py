"""The Ray engine: index many videos, and long videos in time windows, over a Ray cluster.

The driver (this process) keeps the library single-writer. Per file it does what the
serial :class:`~hourlens.indexer.pipeline.Indexer` does first (fingerprint, skip an
unchanged file), then hands the work to a pool of :class:`~.ray_worker.IndexWorker`
actors, each holding the models once (``num_gpus`` when the cluster has GPUs):

- a video up to ``1.5 * RayConfig.window_s`` long is one task: the serial pipeline on a
  worker, recorded;
- a longer one is cut at keyframes (:func:`~.windows.plan_windows`); the frame pass of
  each window is a task on any worker, and a last task stitches them and runs the rest of
  the pipeline (segmentation over the whole video, memories, speech and text).

Workers return recordings (plain data through the object store); the driver replays
each into a :class:`~hourlens.memory_store.writer.VideoWriter` and commits the video
atomically, as the serial engine does. A worker process that dies is restarted and its
task retried (``RayConfig.max_retries``); a video that still fails gets its error row.
A killed driver leaves what a killed serial run leaves: committed videos, and leftovers
that :meth:`Store.recover` removes. Progress events are the serial ones, one video at a
time (a video's events are held back while another video has the bar).

Workers read the source files by path: every node must see the files at the driver's
path (shared storage).
"""

from __future__ import annotations

import logging
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import IndexConfig, RayConfig
from ..errors import HourlensError, MissingDependencyError
from ..memory_store import Store
from ..types import IndexResult
from .decode import probe_video
from .pipeline import Indexer, plan_paths
from .ray_worker import IndexWorker, Recording, replay, worker_config
from .windows import plan_windows

log = logging.getLogger("hourlens.indexer")

ProgressCallback = Callable[[str, dict[str, Any]], None]


def require_ray() -> Any:
    """Import ray.

    Raises:
        MissingDependencyError: ray is not installed.
    """
    try:
        import ray
    except ImportError as exc:
        raise MissingDependencyError("ray", extra="ray", purpose="--engine ray") from exc
    return ray


def connect(config: RayConfig) -> Any:
    """Join (or start) Ray as ``config.address`` says; a running Ray is reused."""
    ray = require_ray()
    if not ray.is_initialized():
        kwargs: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False}
        if config.address:
            kwargs["address"] = config.address
        elif config.num_cpus:
            kwargs["num_cpus"] = config.num_cpus
        try:
            ray.init(**kwargs)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = config.address or "a local Ray"
            raise HourlensError(f"cannot connect to {where}: {exc}") from exc
    return ray


class _Router:
    """Forwards progress events one video at a time, holding the others back."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.cb = callback
        self.buf: dict[int, list[tuple[str, dict[str, Any]]]] = defaultdict(list)
        self.order: list[int] = []
        self.focus: int | None = None
        self.ended: set[int] = set()

    def push(self, key: int, event: str, info: dict[str, Any]) -> None:
        if self.cb is None or key in self.ended:
            return
        if event == "done":
            self.ended.add(key)
        self.buf[key].append((event, info))
        if key not in self.order:
            self.order.append(key)
        self._pump()

    def _pump(self) -> None:
        assert self.cb is not None
        while True:
            if self.focus is None:
                ready = [k for k in self.order if self.buf[k]]
                if not ready:
                    return
                self.focus = ready[0]
            items, self.buf[self.focus] = self.buf[self.focus], []
            done = False
            for event, info in items:
                self.cb(event, info)
                done = done or event == "done"
            if not done:
                return
            self.order.remove(self.focus)
            self.focus = None


@dataclass
class _Job:
    key: int
    path: Path
    fp: dict[str, Any]
    t0: float
    windows: list[tuple[float, float]] = field(default_factory=list)
    window_refs: list[Any] = field(default_factory=list)
    pending_windows: int = 0


class RayIndexer:
    """Indexes videos into ``store`` with Ray workers (same results as :class:`Indexer`).

    Args:
        store: The library (written by this process only).
        config: Indexing settings, shipped to the workers.
        ray_config: Cluster address, worker sizes, window length, retries.
    """

    def __init__(
        self, store: Store, config: IndexConfig | None = None, ray_config: RayConfig | None = None
    ) -> None:
        self.store = store
        self.config = config or IndexConfig()
        self.ray_config = ray_config or RayConfig()
        self._serial = Indexer(store, self.config)  # fingerprints and failure rows only
        self._actors: list[Any] = []
        self._events: Any = None

    # -- cluster ---------------------------------------------------------------------------

    def _pool(self, ray: Any, wanted: int, with_events: bool) -> list[Any]:
        rc = self.ray_config
        if with_events and self._events is None:
            from ray.util.queue import Queue

            self._events = Queue(actor_options={"num_cpus": 0})
        gpus = float(ray.cluster_resources().get("GPU", 0)) > 0
        if not self._actors:
            cpus = float(ray.cluster_resources().get("CPU", 1))
            n = rc.workers or max(1, int(cpus // max(rc.cpus_per_worker, 1e-3)))
            n = max(1, min(n, wanted))
            opts: dict[str, Any] = {
                "num_cpus": rc.cpus_per_worker,
                "max_restarts": rc.max_retries,
                "max_task_retries": rc.max_retries,
            }
            if gpus:
                opts["num_gpus"] = rc.gpus_per_worker
            actor = ray.remote(IndexWorker).options(**opts)
            wcfg = worker_config(self.config, rc.cpus_per_worker, gpus)
            self._actors = [actor.remote(wcfg, self._events) for _ in range(n)]
        return self._actors

    def close(self) -> None:
        """Stop the worker actors (a later call starts new ones)."""
        if not self._actors:
            return
        ray = require_ray()
        for a in self._actors:
            try:
                ray.get(a.close.remote(), timeout=30)
            except Exception:  # noqa: BLE001 - a dead worker has nothing to clean
                log.debug("closing a Ray worker failed", exc_info=True)
            ray.kill(a)
        self._actors = []
        if self._events is not None:
            ray.kill(self._events.actor)
            self._events = None

    # -- indexing --------------------------------------------------------------------------

    def index_paths(
        self,
        paths: Iterable[str | Path],
        *,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> Iterator[IndexResult]:
        """Index files and folders (recursively), yielding one result per video.

        Results come in the order videos finish; see :meth:`Indexer.index_paths`.
        """
        router = _Router(progress)
        files, unusable = plan_paths(paths, progress)
        special = -1
        for res in unusable:
            router.push(special, "done", {"result": res})
            special -= 1
            yield res
        jobs: list[_Job] = []
        for f in files:
            t0 = time.perf_counter()
            path = Path(f).expanduser().resolve()
            fp: dict[str, Any] = {}
            try:
                res = self._serial.check_unchanged(path, force, fp, t0)
            except HourlensError as exc:
                res = self._serial.failed(path, str(exc), t0, fp)
            if res is not None:
                router.push(special, "done", {"result": res})
                special -= 1
                yield res
                continue
            jobs.append(_Job(key=len(jobs), path=path, fp=fp, t0=t0))
        if jobs:
            yield from self._run(jobs, router)

    def _plan(self, job: _Job, router: _Router) -> IndexResult | None:
        """Probe and cut a job into windows; a failed result for an unreadable file."""
        try:
            probe = probe_video(job.path)
        except HourlensError as exc:
            res = self._serial.failed(job.path, str(exc), job.t0, job.fp)
            router.push(job.key, "done", {"result": res})
            return res
        rc = self.ray_config
        windows = plan_windows(job.path, probe.duration, window_s=rc.window_s, fps=self.config.fps)
        if len(windows) > 1:
            job.windows = windows
            job.pending_windows = len(windows)
            total = max(1, int(probe.duration * self.config.fps))
            router.push(job.key, "start", {"path": str(job.path), "total": total})
        return None

    def _run(self, jobs: list[_Job], router: _Router) -> Iterator[IndexResult]:
        ray = connect(self.ray_config)
        units: deque[tuple[_Job, str, Any]] = deque()
        for job in jobs:
            failed = self._plan(job, router)
            if failed is not None:
                yield failed
            elif job.windows:
                units.extend((job, "window", w) for w in job.windows)
            else:
                units.append((job, "video", None))
        if not units:
            return
        actors = list(self._pool(ray, len(units), router.cb is not None))
        idle = deque(actors)
        inflight: dict[Any, tuple[Any, _Job, str]] = {}
        while units or inflight:
            while units and idle:
                job, kind, arg = units.popleft()
                actor = idle.popleft()
                path = str(job.path)
                if kind == "video":
                    ref = actor.index_video.remote(job.key, path, job.fp)
                elif kind == "window":
                    rc = self.ray_config
                    overlap = rc.speech_overlap_s if rc.window_text else None
                    ref = actor.frame_window.remote(job.key, path, arg, overlap)
                else:
                    ref = actor.finish_windows.remote(job.key, path, job.fp, *job.window_refs)
                inflight[ref] = (actor, job, kind)
            ready, _ = ray.wait(list(inflight), num_returns=1, timeout=0.2)
            self._drain(router)
            for ref in ready:
                actor, job, kind = inflight.pop(ref)
                idle.append(actor)
                if kind == "window":
                    job.window_refs.append(ref)
                    job.pending_windows -= 1
                    if job.pending_windows == 0:
                        units.appendleft((job, "finish", None))
                    continue
                res = self._commit(ray, job, ref)
                self._drain(router)
                router.push(job.key, "done", {"result": res})
                yield res

    def _drain(self, router: _Router) -> None:
        q = self._events
        if q is None:
            return
        n = q.qsize()
        if n:
            for key, event, info in q.get_nowait_batch(n):
                router.push(key, event, info)

    def _commit(self, ray: Any, job: _Job, ref: Any) -> IndexResult:
        """Fetch a recording and commit it into the library (or record the failure)."""
        try:
            rec: Recording = ray.get(ref)
        except Exception as exc:  # noqa: BLE001 - a task or worker failure is the video's
            return self._serial.failed(job.path, self._why(job.path, exc), job.t0, job.fp)
        if rec.commit is None:
            error = rec.result.error or f"{job.path.name}: not indexed"
            return self._serial.failed(job.path, error, job.t0, job.fp)
        try:
            replay(self.store, str(job.path), rec)
        except HourlensError as exc:
            return self._serial.failed(job.path, str(exc), job.t0, job.fp)
        except Exception as exc:  # noqa: BLE001 - as the serial engine: keep going
            log.debug("committing %s failed", job.path, exc_info=True)
            error = f"{job.path.name}: {type(exc).__name__}: {exc}"
            return self._serial.failed(job.path, error, job.t0, job.fp)
        r = rec.result
        return IndexResult(
            video=str(job.path),
            status=r.status,
            duration=r.duration,
            segments=r.segments,
            seconds=round(time.perf_counter() - job.t0, 3),
            error=r.error,
        )

    def _why(self, path: Path, exc: BaseException) -> str:
        cause = getattr(exc, "cause", None)
        if isinstance(cause, HourlensError):
            return str(cause)
        if cause is not None and not isinstance(cause, type(exc)):
            return f"{path.name}: {type(cause).__name__}: {cause}"
        name = type(exc).__name__
        if "ActorDied" in name or "ActorError" in name or "WorkerCrashed" in name:
            retries = self.ray_config.max_retries
            return f"{path.name}: the Ray worker died (retried {retries} times)"
        first = str(exc).strip().splitlines()
        return f"{path.name}: {name}: {first[0] if first else ''}"[:500]
