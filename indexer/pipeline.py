"""Index videos into a library: one streaming pass per video, atomic per video.

Per file: fingerprint → skip if unchanged (size+mtime, then content hash) → probe →
frame pass (decode, reuse near-duplicates, encode, spill) → depth-score segmentation
→ dynamic budget + memory bank compression → summary tokens, tags, keyframes →
one atomic commit. A bad file becomes a one-line ``failed`` result; the rest of the
folder is still indexed.
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from ..config import IndexConfig
from ..errors import BadVideoError, HourlensError
from ..memory_store import Store
from ..paths import resolve_path
from ..timefmt import fmt_duration
from ..types import IndexResult
from .decode import VideoProbe, probe_video
from .discover import check_regular_file, content_hash, discover, file_fingerprint
from .encoders import FrameEncoder, load_encoder
from .facets import FrameProbe
from .frames import FramePass, pass_threads, run_frame_pass
from .int8 import use_int8
from .memories import segments_and_memories
from .text_stage import run_text_stage, start_speech

log = logging.getLogger("hourlens.indexer")

#: progress events: ("plan", {"files", "audio_only"}), ("start", {"path", "total"}),
#: ("frames", {"n"}), ("stage", {"name"}), ("done", {"result"})
ProgressCallback = Callable[[str, dict[str, Any]], None]


def plan_paths(
    paths: Iterable[str | Path], progress: ProgressCallback | None = None
) -> tuple[list[Path], list[IndexResult]]:
    """Expand ``paths`` into the video files to index (:func:`~.discover.discover`) and
    send the ``plan`` event; each engine indexes the files its own way.

    Returns:
        The files, and a ``failed`` result for each argument that cannot be indexed.
    """
    found = discover(paths)
    if progress:
        files = len(found.videos) + len(found.problems)
        progress("plan", {"files": files, "audio_only": len(found.audio_only)})
    unusable = [
        IndexResult(
            video=str(path),
            status="failed",
            duration=None,
            segments=0,
            seconds=0.0,
            error=f"{path}: {why}",
        )
        for path, why in found.problems
    ]
    return found.videos, unusable


class Indexer:
    """Indexes video files into a :class:`~hourlens.memory_store.Store`.

    Args:
        store: The library to write to.
        config: Indexing settings (defaults from ``HOURLENS_*`` env vars).
        encoder: A frame encoder; loaded lazily from ``config.encoder`` when omitted.
        frame_pass: Replaces :func:`~hourlens.indexer.frames.run_frame_pass` (same
            signature); the Ray engine feeds a frame pass stitched from time windows.
        window_text: Speech and on-screen text those windows already read
            (:class:`~.window_text.WindowText`): used instead of reading them here.

    Raises:
        HourlensError: ``config.int8`` is not ``auto``, ``on`` or ``off``.
    """

    def __init__(
        self,
        store: Store,
        config: IndexConfig | None = None,
        *,
        encoder: FrameEncoder | None = None,
        frame_pass: Callable[..., FramePass] | None = None,
        window_text: Any = None,
    ) -> None:
        self.store = store
        self.config = config or IndexConfig()
        use_int8(self.config.int8)  # a bad setting fails here, once, not in every video
        self._encoder = encoder
        self._frame_pass = frame_pass or run_frame_pass
        self._live = frame_pass is None  # the pass decodes here: text can be read during it
        self._window_text = window_text
        self.last_stats: dict[str, Any] = {}

    @property
    def encoder(self) -> FrameEncoder:
        """The frame encoder, loaded on first use."""
        if self._encoder is None:
            c = self.config
            self._encoder = load_encoder(
                c.encoder,
                device=c.device,
                precision=c.precision,
                batch_size=c.batch_size,
                threads=pass_threads(c)[0],
            )
        return self._encoder

    def index_paths(
        self,
        paths: Iterable[str | Path],
        *,
        force: bool = False,
        progress: ProgressCallback | None = None,
    ) -> Iterator[IndexResult]:
        """Index files and folders (recursively), yielding one result per video.

        Args:
            paths: Files or folders.
            force: Re-index even unchanged files.
            progress: Optional progress callback.

        Yields:
            An :class:`IndexResult` per file, as soon as it is done.
        """
        files, unusable = plan_paths(paths, progress)
        for res in unusable:
            if progress:
                progress("done", {"result": res})
            yield res
        for f in files:
            yield self.index_file(f, force=force, progress=progress)

    def index_file(
        self,
        path: str | Path,
        *,
        force: bool = False,
        progress: ProgressCallback | None = None,
        fingerprint: dict[str, Any] | None = None,
    ) -> IndexResult:
        """Index one file; never raises for a bad file (returns a ``failed`` result).

        ``fingerprint`` is one the caller already took (:meth:`check_unchanged`'s
        ``size``, ``mtime``, ``hash``; the Ray engine's driver): the file is not hashed
        again unless its size or modification time changed since.
        """
        t0 = time.perf_counter()
        real = resolve_path(path)
        known = dict(fingerprint or {})
        fingerprint = {}
        try:
            res = self._index(real, force, progress, fingerprint, t0, known)
        except HourlensError as exc:
            res = self._failed(real, str(exc), t0, fingerprint)
        except (KeyboardInterrupt, SystemExit):
            raise
        except Exception as exc:  # a bug or an unforeseen decoder failure: keep going
            log.debug("indexing %s failed", real, exc_info=True)
            res = self._failed(real, f"{real.name}: {type(exc).__name__}: {exc}", t0, fingerprint)
        if progress:
            progress("done", {"result": res})
        return res

    def check_unchanged(
        self,
        path: Path,
        force: bool,
        fp: dict[str, Any],
        t0: float,
        known: dict[str, Any] | None = None,
    ) -> IndexResult | None:
        """The ``skipped`` result of an unchanged file, else ``None``; fills ``fp``.

        ``fp`` receives ``size``, ``mtime`` and ``hash`` (the content hash); the hash of
        ``known`` (an earlier fingerprint) is reused while size and mtime still match.

        Raises:
            BadVideoError: The file is missing, unreadable or not a regular file.
        """
        check_regular_file(path)  # before any open: a FIFO would block forever
        try:
            fp["size"], fp["mtime"] = file_fingerprint(path)
        except FileNotFoundError as exc:
            raise BadVideoError(f"{path}: no such file or directory") from exc
        except OSError as exc:
            raise BadVideoError(f"{path}: cannot read file ({exc.strerror})") from exc
        if not force:
            old = self.store.lookup_unchanged(str(path), fp["size"], fp["mtime"])
            if old is None:
                fp["hash"] = content_hash(path)
                old = self.store.lookup_hash(str(path), fp["hash"])
            if old is not None:
                return IndexResult(
                    video=str(path),
                    status="skipped",
                    duration=old.duration,
                    segments=len(self.store.segments(old.id)),
                    seconds=round(time.perf_counter() - t0, 3),
                )
        if "hash" not in fp:
            same = known and (known.get("size"), known.get("mtime")) == (fp["size"], fp["mtime"])
            fp["hash"] = (
                known["hash"] if same and known and known.get("hash") else content_hash(path)
            )
        return None

    def failed(self, path: Path, error: str, t0: float, fp: dict[str, Any]) -> IndexResult:
        """Record ``path`` as failed (when ``fp`` is known) and return its result."""
        return self._failed(path, error, t0, fp)

    # -- internals -------------------------------------------------------------------------

    def _failed(self, path: Path, error: str, t0: float, fp: dict[str, Any]) -> IndexResult:
        if fp:
            try:
                self.store.mark_failed(
                    str(path),
                    size=fp["size"],
                    mtime=fp["mtime"],
                    content_hash=fp.get("hash", ""),
                    error=error,
                )
            except Exception:  # noqa: BLE001 - the failure itself is what we report
                log.debug("could not record failure of %s", path, exc_info=True)
        return IndexResult(
            video=str(path),
            status="failed",
            duration=None,
            segments=0,
            seconds=round(time.perf_counter() - t0, 3),
            error=error,
        )

    def _index(
        self,
        path: Path,
        force: bool,
        progress: ProgressCallback | None,
        fp: dict[str, Any],
        t0: float,
        known: dict[str, Any] | None = None,
    ) -> IndexResult:
        skipped = self.check_unchanged(path, force, fp, t0, known)
        if skipped is not None:
            return skipped
        probe = probe_video(path)
        if progress:
            progress(
                "start", {"path": str(path), "total": max(1, int(probe.duration * self.config.fps))}
            )
        on_frames = (lambda n: progress("frames", {"n": n})) if progress else None
        encoder = self.encoder
        with self.store.begin_video(
            str(path), size=fp["size"], mtime=fp["mtime"], content_hash=fp["hash"]
        ) as writer:
            # per-frame thumbnails live in the writer's scratch dir: cleaned on commit,
            # abort and crash recovery
            thumbs = Path(tempfile.mkdtemp(prefix="thumbs-", dir=writer.scratch_dir))
            gate = online = None
            extra: dict[str, Any] = {}
            if self.config.ocr:
                from .ocr import OcrGate

                gate = OcrGate()
                if self.config.ocr_online and self._live:
                    from .ocr_online import OnlineOcr

                    online = OnlineOcr(path, probe, self.config)
                    extra["ocr_sink"] = online.offer
            pre, speech = self._window_text, None  # type: Any, Any
            if pre is not None:  # read by the window tasks (Ray engine)
                online, speech = pre.online_ocr(path, probe, self.config), pre.speech_job()
            else:
                speech = start_speech(path, probe, self.config)  # beside the frame pass
            try:
                frames = self._frame_pass(
                    path,
                    probe,
                    config=self.config,
                    encoder=encoder,
                    append=writer.append_frames,
                    thumbs_dir=thumbs,
                    on_frames=on_frames,
                    ocr_gate=gate,
                    facet_probe=FrameProbe() if self.config.facets else None,
                    **extra,
                )
                if not frames.times:
                    raise BadVideoError(f"{path.name}: no decodable video frames")
                duration, partial = self._decoded_extent(probe, frames.times)
                stats, seg_infos = segments_and_memories(
                    writer, frames, probe, encoder, thumbs, duration, self.config
                )
                if progress:
                    progress("stage", {"name": "speech, text and summaries"})
                text = run_text_stage(
                    writer,
                    path,
                    probe,
                    seg_infos,
                    frames.ocr_decisions,
                    self.config,
                    duration,
                    speech=speech,
                    online_ocr=online,
                )
            except BaseException:
                if online is not None:
                    online.close()  # the OCR worker stops; it holds no files
                raise
            n_segments = len(seg_infos)
            stats.update(self._frame_stats(frames, duration, t0))
            stats["seconds"].update(text.seconds)
            stats.update(
                {
                    "lines": text.lines,
                    "ocr_items": text.ocr_items,
                    "chapters": text.chapters,
                    "language": text.language,
                    "word_timestamps": text.word_timestamps,
                    "ocr_reads": text.ocr_reads,
                }
            )
            writer.commit(
                duration=duration,
                fps=probe.fps,
                width=probe.width,
                height=probe.height,
                encoder=encoder.name,
                encoder_dim=encoder.dim,
                stats=stats,
                partial=partial,
            )
        self.last_stats = stats
        self._warm_label_space(encoder)
        return IndexResult(
            video=str(path),
            status="partial" if partial else "indexed",
            duration=round(duration, 3),
            segments=n_segments,
            seconds=round(time.perf_counter() - t0, 3),
            error=partial,
        )

    def _decoded_extent(self, probe: VideoProbe, times: list[float]) -> tuple[float, str | None]:
        """``(duration to index, why it is partial or None)``.

        The container's duration is kept unless the decoded frames end well before it (a
        truncated file whose index is at the front: it opens and declares its full
        length, but decoding stops where the data does); then the index covers what
        decoded, up to one sample interval after the last sampled frame.
        """
        last = float(times[-1])
        step = 1.0 / self.config.fps
        declared = float(probe.duration)
        if declared - last <= step + self.config.partial_tolerance_s:
            return max(declared, last), None
        decoded = min(declared, last + step)
        why = (
            f"the file is truncated or broken off: only {fmt_duration(decoded)} of its "
            f"declared {fmt_duration(declared)} decodes (that part is indexed)"
        )
        return decoded, why

    def _warm_label_space(self, encoder: FrameEncoder) -> None:
        """Build the encoder's cached label space now, so the first search need not."""
        if not encoder.labels or self.config.text_embedder == "none":
            return
        from .label_space import label_space

        try:
            label_space(encoder.name, encoder)
        except Exception as exc:  # noqa: BLE001 - search builds it later instead
            log.info("label space of %s not cached: %s", encoder.name, exc)

    @staticmethod
    def _frame_stats(frames: FramePass, duration: float, t0: float) -> dict[str, Any]:
        return {
            "frames": len(frames.times),
            "encoded": frames.encoded,
            "reused": frames.reused,
            "duration": duration,
            "seconds": {**frames.seconds, "total": time.perf_counter() - t0},
        }
