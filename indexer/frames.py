"""The streaming frame pass: decode → reuse near duplicates → encode → spill to the writer.

Only a few floats per sampled frame stay in memory (time, neighbour similarity, the
top class probabilities); features go to the store's staging file and thumbnails to a
temporary folder, so memory does not grow with the length of the video.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from io import BytesIO
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
from PIL import Image

from ..config import IndexConfig
from .decode import SampledFrame, VideoProbe, sample_frames
from .dedup import FrameDeduper
from .encoders import FrameEncoder
from .encoders.base import split_threads

T = TypeVar("T")
TOP_PROBS = 50  # class probabilities kept per frame (sparse)


@dataclass
class FramePass:
    """What the frame pass keeps in memory for the later stages."""

    times: list[float] = field(default_factory=list)
    sims: list[float] = field(default_factory=list)
    thumb_of: list[int] = field(default_factory=list)  # frame -> index of its thumbnail file
    prob_idx: list[np.ndarray] = field(default_factory=list)  # per frame (TOP_PROBS,) int16
    prob_val: list[np.ndarray] = field(default_factory=list)  # per frame (TOP_PROBS,) float16
    ocr_decisions: list[tuple[float, str]] = field(default_factory=list)  # (t, gate decision)
    facet_stats: list[np.ndarray] = field(default_factory=list)  # per frame, see facets.py
    encoded: int = 0
    reused: int = 0
    seconds: dict[str, float] = field(
        default_factory=lambda: {"decode": 0.0, "encode": 0.0, "thumbs": 0.0}
    )

    def sparse_mean(self, first: int, last: int, n_classes: int) -> np.ndarray:
        """Mean class-probability vector of frames ``[first, last)`` (dense)."""
        acc = np.zeros(n_classes, dtype=np.float64)
        if not self.prob_idx:
            return acc
        for i in range(first, last):
            np.add.at(acc, self.prob_idx[i].astype(np.int64), self.prob_val[i].astype(np.float64))
        return acc / max(last - first, 1)


def prefetch(it: Iterator[T], maxsize: int = 48) -> Iterator[T]:
    """Run ``it`` in a background thread so decoding overlaps encoding.

    Exceptions raised by ``it`` are re-raised in the consumer. Closing the consumer stops
    the producer.
    """
    q: queue.Queue[Any] = queue.Queue(maxsize)
    stop = threading.Event()
    done = object()

    def worker() -> None:
        try:
            for item in it:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            q.put(done)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put(exc)

    th = threading.Thread(target=worker, name="hourlens-decode", daemon=True)
    th.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        close = getattr(it, "close", None)
        th.join(timeout=5)
        if close is not None and not th.is_alive():
            close()


def pass_threads(config: IndexConfig) -> tuple[int | None, int | None]:
    """``(encoder_threads, decoder_threads)`` of the frame pass for ``config``.

    On the CPU, ``config.threads`` (0: every core) is split between the two (see
    :func:`~hourlens.indexer.encoders.base.split_threads`). On a GPU the encoder needs no
    CPU threads and the decoder gets ``config.threads`` (0: FFmpeg's choice).
    """
    if config.device.strip().lower() == "cpu":
        return split_threads(config.threads)
    return None, (config.threads or None)


def _jpeg(rgb: np.ndarray, width: int) -> bytes:
    img = Image.fromarray(rgb)
    if img.width > width:
        img = img.resize(
            (width, max(2, round(img.height * width / img.width))), Image.Resampling.BILINEAR
        )
    buf = BytesIO()
    img.save(buf, format="JPEG", quality=80, optimize=True)
    return buf.getvalue()


def run_frame_pass(
    path: Path,
    probe: VideoProbe,
    *,
    config: IndexConfig,
    encoder: FrameEncoder,
    append: Callable[[np.ndarray, np.ndarray], None],
    thumbs_dir: Path,
    on_frames: Callable[[int], None] | None = None,
    ocr_gate: Any = None,
    window: tuple[float, float] | None = None,
    facet_probe: Callable[[np.ndarray], np.ndarray] | None = None,
    ocr_sink: Callable[[float, str, SampledFrame, float], Any] | None = None,
) -> FramePass:
    """Decode, de-duplicate, encode and spill every sampled frame of one video.

    Args:
        path: The video file.
        probe: Its probe.
        config: Indexing settings (fps, frame height, batch size, dedup threshold...).
        encoder: Frame encoder.
        append: Receives ``(times, features)`` for each encoded batch, in order.
        thumbs_dir: Folder for per-frame JPEG thumbnails (``<n>.jpg``).
        on_frames: Progress callback, called with the number of frames just processed.
        ocr_gate: Optional :class:`~hourlens.indexer.ocr.OcrGate`; its decision for every
            frame is recorded (a reused frame repeats the previous decision as "same").
        window: Only the samples of ``start <= t < end`` (see
            :func:`~hourlens.indexer.decode.sample_frames`); thumbnails keep the
            window-relative frame index.
        facet_probe: Optional :class:`~hourlens.indexer.facets.FrameProbe`; its statistics
            of every fresh frame are kept (a reused frame repeats them, without motion).
        ocr_sink: Optional receiver of ``(t, gate decision, frame, change)`` for every
            frame, in the decode thread while the frame still holds its decoded picture
            (e.g. :meth:`~hourlens.indexer.ocr_online.OnlineOcr.offer`); ``change`` is
            :attr:`FrameDeduper.change`. Needs ``ocr_gate``.

    Returns:
        The per-frame scalars the later stages need.
    """
    fp = FramePass()
    dedup = FrameDeduper(threshold=config.dedup_threshold)
    pending: list[tuple[SampledFrame, bool]] = []
    state: dict[str, Any] = {"prev": None, "prev_idx": None, "prev_val": None, "thumb": -1}

    def flush() -> None:
        if not pending:
            return
        fresh = [fr.rgb for fr, dup in pending if not dup]
        t0 = time.perf_counter()
        enc = encoder.encode(fresh) if fresh else None
        fp.seconds["encode"] += time.perf_counter() - t0
        feats = np.empty((len(pending), encoder.dim), dtype=np.float32)
        j = 0
        for i, (fr, dup) in enumerate(pending):
            if dup and state["prev"] is not None:
                feat = state["prev"]
                fp.reused += 1
            else:
                assert enc is not None
                feat = enc.features[j]
                if enc.probs is not None:
                    top = np.argpartition(-enc.probs[j], TOP_PROBS)[:TOP_PROBS]
                    state["prev_idx"] = top.astype(np.int16)
                    state["prev_val"] = enc.probs[j][top].astype(np.float16)
                j += 1
                fp.encoded += 1
            if state["prev"] is not None:
                fp.sims.append(float(np.dot(state["prev"], feat)))
            state["prev"] = feat
            feats[i] = feat
            fp.times.append(fr.t)
            if state["prev_idx"] is not None:
                fp.prob_idx.append(state["prev_idx"])
                fp.prob_val.append(state["prev_val"])
        append(np.asarray([fr.t for fr, _ in pending], dtype=np.float64), feats)
        if on_frames is not None:
            on_frames(len(pending))
        pending.clear()

    def prepared() -> Iterator[tuple[SampledFrame, bool, str | None, Any, float]]:
        """Runs in the decode thread: the cheap per-frame work (duplicate test, OCR gate,
        thumbnail JPEG) overlaps the encoder running in the main thread."""
        last = "none"
        for fr in sample_frames(
            path,
            fps=config.fps,
            height=config.frame_height,
            backend=config.decode_backend,
            probe=probe,
            threads=pass_threads(config)[1],
            lazy=True,  # each frame is converted or dropped below, before the next one
            window=window,
        ):
            t0 = time.perf_counter()
            luma = fr.luma()  # no RGB conversion: a duplicate never needs one
            if luma is None:
                dup = dedup.is_duplicate(fr.rgb)  # the first frame is never a duplicate
            else:
                dup = dedup.is_duplicate_luma(luma.plane, luma.black, luma.scale)
            del luma  # may view the decoder's buffer
            decision = None
            if ocr_gate is not None:
                decision = ("none" if last == "none" else "same") if dup else ocr_gate.check(fr.rgb)
                last = decision
            stats = None if dup or facet_probe is None else facet_probe(fr.rgb)
            if ocr_sink is not None and decision is not None:
                ocr_sink(fr.t, decision, fr, dedup.change)
            if dup:
                fr.drop()  # the encoder reuses the last feature: free the decoded picture
            else:
                rgb = fr.rgb
                fr.release()  # the RGB pixels stay for the encoder
                (thumbs_dir / f"{fr.index}.jpg").write_bytes(_jpeg(rgb, config.thumb_width))
            yield fr, dup, decision, stats, time.perf_counter() - t0

    fresh_in_batch = 0
    t_dec = time.perf_counter()
    for fr, dup, decision, stats, side in prefetch(prepared()):
        fp.seconds["decode"] += time.perf_counter() - t_dec
        fp.seconds["thumbs"] += side  # dedup, RGB, OCR gate, facets, JPEG: decode thread
        if decision is not None:
            fp.ocr_decisions.append((fr.t, decision))
        if facet_probe is not None:
            if stats is None and fp.facet_stats:  # a reused frame: the same, but still
                from .facets import still

                stats = still(fp.facet_stats[-1])
            if stats is not None:
                fp.facet_stats.append(stats)
        if not dup:
            state["thumb"] = fr.index
            fresh_in_batch += 1
        fp.thumb_of.append(state["thumb"])
        pending.append((fr, dup))
        if fresh_in_batch >= config.batch_size:
            flush()
            fresh_in_batch = 0
        t_dec = time.perf_counter()
    flush()
    return fp
