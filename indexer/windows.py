"""Time windows of one long video: planned at keyframes, frame-passed apart, stitched.

The Ray engine spreads one long video over several workers by running the frame pass
(decode, de-duplicate, encode: the expensive part) of each time window on its own. The
windows start on keyframes, snapped up to the sample grid (``k / fps``), so a window
samples exactly the frames a whole pass samples there. :func:`stitch` joins the windows
into one :class:`~hourlens.indexer.frames.FramePass` (adding the similarity across each
edge), and :meth:`Stitched.replay` hands it to the unchanged serial pipeline in place of
its frame pass: segmentation, memories and the text stage then see the whole video, so
boundaries are the serial ones except next to a window edge, where the first frame of a
window is always encoded afresh (a whole pass may have reused its neighbour's feature).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import IndexConfig
from ._decode_av import decode_tolerant, open_video, seek_seconds
from .decode import VideoProbe
from .encoders import FrameEncoder
from .facets import FrameProbe
from .frames import FramePass, run_frame_pass

_EPS = 1e-6
REPLAY_BATCH = 256  # frames handed to the writer per call when replaying


def keyframe_at_or_before(path: str | Path, t: float) -> float | None:
    """Time of the first frame decoded after seeking to ``t`` (the keyframe before it).

    Returns:
        Seconds, or ``None`` when nothing decodes from there.
    """
    with open_video(path) as h:
        seek_seconds(h, t)
        frames = decode_tolerant(h)
        try:
            first = next(frames, None)
        finally:
            frames.close()
    return None if first is None else float(first[0])


def plan_windows(
    path: str | Path, duration: float, *, window_s: float, fps: float
) -> list[tuple[float, float]]:
    """Cut ``[0, duration]`` into windows of about ``window_s`` seconds at keyframes.

    A video shorter than ``1.5 * window_s`` is one window. Each cut is the keyframe at
    or before a multiple of ``window_s``, rounded up to the sample grid; cuts that would
    leave a window shorter than ``window_s / 2`` are dropped.

    Returns:
        ``[(start, end), ...]`` covering ``[0, inf)`` (the last ``end`` is ``inf``).
    """
    if window_s <= 0 or duration < 1.5 * window_s:
        return [(0.0, math.inf)]
    cuts: list[float] = []
    n = int(duration // window_s)
    for k in range(1, n + 1):
        target = k * window_s
        if duration - target < window_s / 2:
            break
        kf = keyframe_at_or_before(path, target)
        if kf is None:
            continue
        cut = math.ceil(kf * fps - _EPS) / fps
        prev = cuts[-1] if cuts else 0.0
        if cut - prev >= window_s / 2 and duration - cut >= window_s / 2:
            cuts.append(cut)
    edges = [0.0, *cuts]
    return [(a, b) for a, b in zip(edges, [*cuts, math.inf], strict=True)]


@dataclass
class WindowPass:
    """The frame pass of one window, ready to ship between processes.

    Attributes:
        window: ``(start, end)`` seconds.
        frames: The window's :class:`FramePass` (``thumb_of`` window-relative).
        features: ``(n, dim)`` float32 features of its frames.
        thumbs: Window-relative frame index -> JPEG bytes of its thumbnail.
        text: Whether the window also read its speech and on-screen text (below).
        speech: Its transcript (:func:`~.window_text.transcribe_window`), if any.
        speech_s: Seconds spent recognising it.
        ocr: What its :class:`~.ocr_online.OnlineOcr` read
            (:class:`~.ocr_online.OcrWindowState`), when text was read during the pass.
    """

    window: tuple[float, float]
    frames: FramePass
    features: np.ndarray
    thumbs: dict[int, bytes] = field(default_factory=dict)
    text: bool = False
    speech: Any = None
    speech_s: float = 0.0
    ocr: Any = None


def run_window_pass(
    path: Path,
    probe: VideoProbe,
    window: tuple[float, float],
    *,
    config: IndexConfig,
    encoder: FrameEncoder,
    scratch: Path,
    on_frames: Callable[[int], None] | None = None,
    online_ocr: Any = None,
) -> WindowPass:
    """The frame pass of one window (see :func:`~hourlens.indexer.frames.run_frame_pass`).

    Args:
        path: The video file.
        probe: Its probe.
        window: ``(start, end)`` seconds, from :func:`plan_windows`.
        config: Indexing settings.
        encoder: Frame encoder.
        scratch: An empty folder for the thumbnails (read back into the result).
        on_frames: Progress callback (frames just processed).
        online_ocr: An :class:`~.ocr_online.OnlineOcr` offered the window's frames (it
            reads their text during the pass).
    """
    feats: list[np.ndarray] = []
    gate = None
    if config.ocr:
        from .ocr import OcrGate

        gate = OcrGate()
    fp = run_frame_pass(
        path,
        probe,
        config=config,
        encoder=encoder,
        append=lambda _t, f: feats.append(np.asarray(f, dtype=np.float32)),
        thumbs_dir=scratch,
        on_frames=on_frames,
        ocr_gate=gate,
        window=window,
        facet_probe=FrameProbe() if config.facets else None,
        ocr_sink=online_ocr.offer if online_ocr is not None and gate is not None else None,
    )
    thumbs = {int(p.stem): p.read_bytes() for p in scratch.glob("*.jpg")}
    dim = encoder.dim
    x = np.concatenate(feats) if feats else np.zeros((0, dim), dtype=np.float32)
    return WindowPass(window=window, frames=fp, features=x, thumbs=thumbs)


@dataclass
class Stitched:
    """Windows joined into the frame pass of the whole video."""

    frames: FramePass
    features: np.ndarray
    thumbs: dict[int, bytes]

    def replay(
        self,
        path: Path,
        probe: VideoProbe,
        *,
        append: Callable[[np.ndarray, np.ndarray], None],
        thumbs_dir: Path,
        **_: Any,
    ) -> FramePass:
        """Stand-in for ``run_frame_pass``: write the stitched frames, return the pass.

        Progress was reported by the window passes, so ``on_frames`` is not called.
        """
        t0 = time.perf_counter()
        times = np.asarray(self.frames.times, dtype=np.float64)
        for i in range(0, len(times), REPLAY_BATCH):
            append(times[i : i + REPLAY_BATCH], self.features[i : i + REPLAY_BATCH])
        for idx, jpeg in self.thumbs.items():
            (thumbs_dir / f"{idx}.jpg").write_bytes(jpeg)
        self.frames.seconds["stitch"] = time.perf_counter() - t0
        return self.frames


def stitch(windows: list[WindowPass]) -> Stitched:
    """Join window passes (in time order) into one frame pass of the whole video.

    Per-frame lists are concatenated, counters and timings summed, ``thumb_of`` and the
    thumbnail names shifted by the frames before each window, and the similarity across
    each edge (last frame of a window, first of the next) inserted into ``sims``.
    """
    windows = sorted(windows, key=lambda w: w.window[0])
    out = FramePass()
    n_total = sum(len(w.frames.times) for w in windows)
    per_frame = (
        [
            f.name
            for f in dataclasses.fields(FramePass)
            if isinstance(getattr(windows[0].frames, f.name), list)
            and f.name not in {"sims", "thumb_of", "ocr_decisions"}
        ]
        if windows
        else []
    )
    feats: list[np.ndarray] = []
    thumbs: dict[int, bytes] = {}
    offset = 0
    prev_last: np.ndarray | None = None
    for w in windows:
        fp = w.frames
        n = len(fp.times)
        if n == 0:
            continue
        if prev_last is not None:
            out.sims.append(float(np.dot(prev_last, w.features[0])))
        out.sims.extend(fp.sims)
        out.thumb_of.extend(offset + int(i) for i in fp.thumb_of)
        out.ocr_decisions.extend(fp.ocr_decisions)
        for name in per_frame:
            getattr(out, name).extend(getattr(fp, name))
        for f in dataclasses.fields(FramePass):
            v = getattr(fp, f.name)
            if isinstance(v, int) and not isinstance(v, bool):
                setattr(out, f.name, getattr(out, f.name) + v)
            elif isinstance(v, dict):
                acc = getattr(out, f.name)
                for k, x in v.items():
                    acc[k] = acc.get(k, 0.0) + x
        thumbs.update({offset + int(i): b for i, b in w.thumbs.items()})
        feats.append(w.features)
        prev_last = w.features[-1]
        offset += n
    dim = windows[0].features.shape[1] if windows else 0
    x = np.concatenate(feats) if feats else np.zeros((0, dim), dtype=np.float32)
    assert len(x) == n_total == len(out.times)
    return Stitched(frames=out, features=x, thumbs=thumbs)
