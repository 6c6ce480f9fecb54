"""A sampled frame whose RGB conversion waits until it is needed, and its luma plane."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np


@dataclass(frozen=True)
class Luma:
    """A frame's luma plane, for cheap change tests before any colour conversion.

    Attributes:
        plane: 2-D uint8 luma at the coded size (not rotated; possibly a view of the
            decoder's buffer, so use it at once).
        black: Code value of black (16 in limited-range video, else 0).
        scale: Factor taking ``plane - black`` to 0-255 grey.
    """

    plane: np.ndarray
    black: float = 0.0
    scale: float = 1.0


# Pixel formats whose first plane is 8-bit luma (PyAV names).
_LUMA_FORMATS = frozenset(
    {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p", "yuv440p",
     "yuvj440p", "yuv411p", "yuv410p", "nv12", "nv21", "gray"}
)  # fmt: skip


class SampledFrame:
    """One sampled frame, converted to RGB only when :attr:`rgb` is first read.

    A frame whose feature is reused (a near duplicate of the last encoded one) never
    needs its RGB pixels; with ``sample_frames(..., lazy=True)`` the PyAV backend hands
    frames out unconverted, with :meth:`luma` for the duplicate test and
    :meth:`at_height` for a second, larger conversion. Such a frame must be released
    (:meth:`release`, after reading :attr:`rgb` if needed) or dropped (:meth:`drop`)
    before the iterator moves on: the decoded picture it holds belongs to the open
    decoder.

    Attributes:
        index: Sample number: 0, 1, 2, ...
        t: Seconds from the start of the video (presentation time of the decoded frame).
    """

    __slots__ = ("_convert", "_frame", "_rescale", "_rgb", "index", "t")

    def __init__(
        self,
        index: int,
        t: float,
        rgb: np.ndarray | None = None,
        *,
        frame: av.VideoFrame | None = None,
        convert: Callable[[av.VideoFrame], np.ndarray] | None = None,
        rescale: Callable[[av.VideoFrame, int], np.ndarray] | None = None,
    ) -> None:
        if rgb is None and (frame is None or convert is None):
            raise ValueError("SampledFrame needs rgb, or a frame and its converter")
        self.index = index
        self.t = t
        self._rgb = rgb
        self._frame = frame
        self._convert = convert
        self._rescale = rescale

    @property
    def rgb(self) -> np.ndarray:
        """HxWx3 uint8, scaled to the requested height keeping the aspect (width even)."""
        if self._rgb is None:
            if self._frame is None or self._convert is None:
                raise ValueError(f"sample {self.index} was dropped before its pixels were read")
            self._rgb = self._convert(self._frame)
            if self._rescale is None:
                self._frame = None
        return self._rgb

    def at_height(self, height: int) -> np.ndarray | None:
        """The same picture converted at another output ``height`` (aspect kept, width
        even), straight from the decoded frame; None once the decoded frame is released
        (or for frames handed out already converted). On-screen text is read from it at
        a higher resolution than the frame pass's.
        """
        if self._frame is None or self._rescale is None:
            return None
        return self._rescale(self._frame, height)

    def release(self) -> None:
        """Free the decoded picture, keeping the RGB pixels if already converted
        (:meth:`at_height` returns None afterwards)."""
        self._frame = None

    def luma(self) -> Luma | None:
        """The decoder's own luma plane for a change test (no colour conversion), or
        None when the frame has none (already converted, or not an 8-bit YUV/grey
        format): test :attr:`rgb` then."""
        fr = self._frame
        if self._rgb is None and fr is not None and fr.format.name in _LUMA_FORMATS:
            p = fr.planes[0]
            rows = np.frombuffer(memoryview(p), np.uint8).reshape(-1, p.line_size)
            plane = rows[: p.height, : p.width]
            full = fr.format.name.startswith("yuvj") or fr.format.name == "gray"
            if full or int(getattr(fr, "color_range", 0) or 0) == 2:  # 2 = full (JPEG) range
                return Luma(plane)
            return Luma(plane, black=16.0, scale=255.0 / 219.0)
        return None

    def drop(self) -> None:
        """Free the pixels (decoded picture and RGB); :attr:`rgb` raises afterwards."""
        self._frame = self._convert = self._rgb = self._rescale = None

    def __repr__(self) -> str:
        return f"SampledFrame(index={self.index}, t={self.t:.3f})"
