"""The Ray worker side: run the serial pipeline, record its writes, ship them to the driver.

A worker indexes into a private scratch library on its own node through
:class:`RecordingStore`: every mutating call the pipeline makes on its
:class:`~hourlens.memory_store.writer.VideoWriter` is forwarded to a real (local) writer,
which validates it and hands out the same provisional keys the driver's writer will, and
is recorded. ``commit`` is recorded instead of run, and the local writer is aborted. The
:class:`Recording` (plain data: arrays, dicts, JPEG bytes) travels back through Ray, and
the driver replays it into the library with :func:`replay`, committing the video
atomically there. Nothing in this module imports Ray; :mod:`.ray_engine` wraps
:class:`IndexWorker` as an actor.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import IndexConfig
from ..errors import HourlensError
from ..types import IndexResult

#: writer calls that only read (not replayed)
READ_ONLY = frozenset({"frame_features"})

Emit = Callable[[str, dict[str, Any]], None]


@dataclass
class Recording:
    """What a worker did to one video, to be replayed by the driver.

    Attributes:
        result: The worker's result (``indexed`` or ``failed``).
        begin: ``begin_video`` keyword arguments (``size``, ``mtime``, ``content_hash``).
        calls: ``(method, args, kwargs, returned)`` of each mutating writer call.
        commit: ``commit`` keyword arguments; ``None`` when the video was not committed.
        worker_pid: The worker process that produced it.
    """

    result: IndexResult
    begin: dict[str, Any] = field(default_factory=dict)
    calls: list[tuple[str, tuple[Any, ...], dict[str, Any], Any]] = field(default_factory=list)
    commit: dict[str, Any] | None = None
    worker_pid: int = 0


class RecordingWriter:
    """Forwards to a real writer and records every mutating call (see module doc)."""

    def __init__(self, real: Any, recording: Recording) -> None:
        self._real = real
        self._rec = recording

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._real, name)
        if name.startswith("_") or not callable(attr) or name in READ_ONLY:
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            out = attr(*args, **kwargs)
            self._rec.calls.append((name, args, kwargs, out))
            return out

        return call

    def commit(self, **kwargs: Any) -> None:
        """Record the commit; the local writer is aborted (the driver commits)."""
        self._rec.commit = kwargs
        self._real.abort(None)

    def abort(self, error: str | None = None) -> None:
        """Abort the local writer."""
        self._real.abort(error)

    def __enter__(self) -> RecordingWriter:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self._real.__exit__(exc_type, exc, tb)


class RecordingStore:
    """A worker's scratch store whose ``begin_video`` returns a :class:`RecordingWriter`."""

    def __init__(self, real: Any, recording: Recording) -> None:
        self._real = real
        self._rec = recording

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def begin_video(self, path: str | Path, **kwargs: Any) -> RecordingWriter:
        """Open a local writer and record the fingerprint it was opened with."""
        self._rec.begin = dict(kwargs)
        return RecordingWriter(self._real.begin_video(path, **kwargs), self._rec)


def replay(store: Any, path: str, recording: Recording) -> Any:
    """Replay a recording into ``store`` and commit it atomically (the driver's half).

    Returns:
        The committed :class:`~hourlens.types.Video`.

    Raises:
        HourlensError: The recording is incomplete or diverges from the writer.
    """
    if recording.commit is None:
        raise HourlensError(f"{path}: the worker returned no committed index")
    with store.begin_video(path, **recording.begin) as writer:
        for name, args, kwargs, returned in recording.calls:
            out = getattr(writer, name)(*args, **kwargs)
            if out != returned:
                raise HourlensError(f"{path}: replaying {name} gave {out!r}, not {returned!r}")
        return writer.commit(**recording.commit)


def worker_config(config: IndexConfig, cpus: float, gpu: bool) -> IndexConfig:
    """The worker's copy of ``config``: its threads (frame pass and OCR) fit the CPUs it
    reserved, not the node's cores (``0``: automatic); ``cuda`` on a GPU."""
    import dataclasses

    changes: dict[str, Any] = {}
    if config.threads == 0:
        changes["threads"] = max(1, int(cpus))
    if config.ocr_threads == 0:
        changes["ocr_threads"] = max(1, int(cpus) // 2)
    if gpu and config.device.strip().lower() == "cpu":
        changes["device"] = "cuda"
    return dataclasses.replace(config, **changes) if changes else config


SCRATCH_PREFIX = "hourlens-ray-worker-"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def sweep_stale_scratch(tmp: Path) -> list[Path]:
    """Delete scratch folders of workers that died without :meth:`IndexWorker.close`
    (``SIGKILL``, an out-of-memory kill): ``<tmp>/hourlens-ray-worker-<pid>-*`` whose
    process is gone. Folders of live processes (a pid in use counts as live) and of
    other users stay.

    Returns:
        The folders deleted.
    """
    gone = []
    for folder in tmp.glob(f"{SCRATCH_PREFIX}*-*"):
        pid = folder.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
        if not pid.isdigit() or _alive(int(pid)) or not folder.is_dir():
            continue
        try:
            if folder.stat().st_uid != os.getuid():
                continue
        except OSError:
            continue
        shutil.rmtree(folder, ignore_errors=True)
        if not folder.exists():
            gone.append(folder)
    return gone


class IndexWorker:
    """One worker: a scratch library and the models, loaded once and kept.

    Args:
        config: The driver's indexing settings (see :func:`worker_config`).
        events: Optional progress sink; receives ``(key, event, info)`` tuples.
    """

    def __init__(self, config: IndexConfig, events: Any = None) -> None:
        from ..memory_store import Store

        self.config = config
        self._events = events
        sweep_stale_scratch(Path(tempfile.gettempdir()))
        self._root = Path(tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-"))
        self._store = Store(self._root / "library")
        self._encoder: Any = None

    def pid(self) -> int:
        """This worker's process id."""
        return os.getpid()

    @property
    def encoder(self) -> Any:
        """The frame encoder, loaded on first use and kept."""
        if self._encoder is None:
            from .pipeline import Indexer

            self._encoder = Indexer(self._store, self.config).encoder
        return self._encoder

    def _emit(self, key: int) -> Emit | None:
        if self._events is None:
            return None
        sink = self._events

        def emit(event: str, info: dict[str, Any]) -> None:
            if event in ("plan", "done"):
                return  # the driver sends these
            payload = dict(info)
            payload.pop("result", None)
            sink.put((key, event, payload))

        return emit

    def index_video(
        self, key: int, path: str, fingerprint: dict[str, Any] | None = None
    ) -> Recording:
        """Run the whole serial pipeline on one video and return its recording
        (``fingerprint``: the driver's, so the file is not hashed twice)."""
        from .pipeline import Indexer

        rec = Recording(
            result=IndexResult(video=path, status="failed", duration=None, segments=0, seconds=0.0),
            worker_pid=os.getpid(),
        )
        indexer = Indexer(RecordingStore(self._store, rec), self.config, encoder=self.encoder)
        rec.result = indexer.index_file(
            path, force=True, progress=self._emit(key), fingerprint=fingerprint
        )
        return rec

    def frame_window(
        self,
        key: int,
        path: str,
        window: tuple[float, float],
        speech_overlap_s: float | None = None,
    ) -> Any:
        """The frame pass of one time window (a :class:`~.windows.WindowPass`).

        With ``speech_overlap_s`` (not ``None``) the window also reads its own text: the
        on-screen text of its frames during the pass (when ``ocr_online``) and its speech
        beside it (see :mod:`.window_text`).
        """
        from .decode import probe_video
        from .windows import run_window_pass

        emit = self._emit(key)
        scratch = Path(tempfile.mkdtemp(prefix="window-", dir=self._root))
        probe = probe_video(path)
        cfg, online, speech = self.config, None, None
        if speech_overlap_s is not None:
            from .text_stage import InThread
            from .window_text import transcribe_window

            if cfg.ocr and cfg.ocr_online:
                from .ocr_online import OnlineOcr

                online = OnlineOcr(Path(path), probe, cfg)
            speech = InThread(
                lambda: transcribe_window(
                    Path(path), probe, cfg, window, overlap_s=speech_overlap_s
                ),
                "hourlens-asr",
            )
        try:
            wp = run_window_pass(
                Path(path),
                probe,
                window,
                config=cfg,
                encoder=self.encoder,
                scratch=scratch,
                on_frames=(lambda n: emit("frames", {"n": n})) if emit else None,
                online_ocr=online,
            )
            if speech is not None:
                wp.text, wp.speech, wp.speech_s = True, speech.result(), speech.seconds
            if online is not None:
                wp.ocr = online.state()
            return wp
        finally:
            if online is not None:
                online.close()  # stops its worker (a no-op once its state was taken)
            shutil.rmtree(scratch, ignore_errors=True)

    def finish_windows(
        self, key: int, path: str, fingerprint: dict[str, Any] | None, *windows: Any
    ) -> Recording:
        """Stitch the window passes and run the rest of the pipeline on the whole video."""
        from .pipeline import Indexer
        from .window_text import WindowText
        from .windows import stitch

        stitched = stitch(list(windows))
        rec = Recording(
            result=IndexResult(video=path, status="failed", duration=None, segments=0, seconds=0.0),
            worker_pid=os.getpid(),
        )
        indexer = Indexer(
            RecordingStore(self._store, rec),
            self.config,
            encoder=self.encoder,
            frame_pass=stitched.replay,
            window_text=WindowText.merge(list(windows)),
        )
        emit = self._emit(key)

        def progress(event: str, info: dict[str, Any]) -> None:
            if emit is not None and event not in ("start", "frames"):
                emit(event, info)  # the driver announced the video; windows counted frames

        rec.result = indexer.index_file(
            path, force=True, progress=progress, fingerprint=fingerprint
        )
        return rec

    def close(self) -> None:
        """Delete the scratch library."""
        self._store.close()
        shutil.rmtree(self._root, ignore_errors=True)
