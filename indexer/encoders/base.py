"""The frame-encoder interface, without torch.

An encoder turns RGB frames (``HxWx3`` uint8, any size) into L2-normalised float32
feature rows, plus class probabilities for classifiers. The torch encoders' batched
preprocessing and device helpers live in :mod:`.torch_ops` (re-exported here, imported
on first use), so that this interface — and encoders that run without torch — import no
torch.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ...errors import HourlensError

ResizeMode = Literal["shortest", "longest", "squash"]
_TORCH_OPS = frozenset(
    {"autocast_for", "limit_cpu_threads", "preprocess", "resolve_device", "resolve_precision"}
)


def __getattr__(name: str) -> Any:
    """The torch helpers of :mod:`.torch_ops`, imported on first use."""
    if name in _TORCH_OPS:
        from . import torch_ops

        return getattr(torch_ops, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@dataclass(frozen=True)
class EncodedFrames:
    """Features of a batch of frames.

    Attributes:
        features: ``(n, dim)`` float32, L2-normalised rows.
        probs: ``(n, n_classes)`` float32 softmax probabilities for classifiers, else None.
    """

    features: np.ndarray
    probs: np.ndarray | None


class FrameEncoder(ABC):
    """A model mapping RGB frames (and, for CLIP, text) into one feature space.

    Attributes:
        name: Stable id stored in the library, e.g. ``"efficientnet_lite0"`` or
            ``"open_clip:ViT-B-32:laion2b_s34b_b79k"``.
        dim: Feature dimension.
        labels: Short human class names for classifiers, else None.
        supports_text: True when :meth:`encode_text` maps text into the image space.
        batch_size: Frames per forward pass.
        device: Torch device the model runs on.
    """

    name: str
    dim: int
    labels: list[str] | None = None
    supports_text: bool = False
    batch_size: int = 32
    device: Any = "cpu"

    def encode(self, frames: Sequence[np.ndarray]) -> EncodedFrames:
        """Encode RGB frames, batching internally by ``batch_size``.

        Args:
            frames: ``HxWx3`` uint8 RGB arrays of any (possibly different) sizes.

        Returns:
            Normalised features and, for classifiers, class probabilities.
        """
        for i, frame in enumerate(frames):
            _check_frame(frame, i)
        feats: list[np.ndarray] = []
        probs: list[np.ndarray] = []
        with self._inference():
            for start in range(0, len(frames), self.batch_size):
                f, p = self._encode_batch(frames[start : start + self.batch_size])
                feats.append(f)
                if p is not None:
                    probs.append(p)
        n_classes = len(self.labels) if self.labels is not None else 0
        return EncodedFrames(
            features=_concat(feats, self.dim),
            probs=_concat(probs, n_classes) if self.labels is not None else None,
        )

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into the image feature space.

        Args:
            texts: Free-text queries.

        Returns:
            ``(n, dim)`` float32 L2-normalised rows.

        Raises:
            HourlensError: The encoder has no text tower (``supports_text`` is False).
        """
        raise HourlensError(
            f"encoder {self.name} cannot embed text; use an open_clip encoder for text-to-frame"
            " search (HOURLENS_ENCODER=open_clip:MODEL:PRETRAINED)"
        )

    def all_cores(self) -> AbstractContextManager[object]:
        """Encode with every core this process may use meanwhile — after the frame pass,
        when the cores it shared with decoding and reading text are free. Encoders on
        ONNX Runtime switch to a second session with that many threads (made once);
        others keep theirs."""
        onnx = getattr(self, "_onnx", None)
        if onnx is None or not hasattr(onnx, "wide") or available_cores() < 2:
            return nullcontext()
        return _swapped(self, onnx, onnx.wide(available_cores()))

    def _inference(self) -> AbstractContextManager[object]:
        """Context the batches run in (torch encoders: ``torch.inference_mode()``)."""
        return nullcontext()

    @abstractmethod
    def _encode_batch(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Encode at most ``batch_size`` validated frames (called under inference mode)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, device={self.device})"


@contextmanager
def _swapped(encoder: FrameEncoder, onnx: Any, wide: Any) -> Iterator[None]:
    encoder._onnx = wide  # type: ignore[attr-defined]
    try:
        yield
    finally:
        encoder._onnx = onnx  # type: ignore[attr-defined]


def _check_frame(frame: np.ndarray, index: int) -> None:
    if not isinstance(frame, np.ndarray) or frame.ndim != 3 or frame.shape[2] != 3:
        shape = getattr(frame, "shape", type(frame).__name__)
        raise ValueError(f"frame {index} must be an HxWx3 uint8 RGB array, got {shape}")
    if frame.dtype != np.uint8:
        raise ValueError(f"frame {index} must be uint8, got {frame.dtype}")
    if frame.shape[0] == 0 or frame.shape[1] == 0:
        raise ValueError(f"frame {index} is empty ({frame.shape})")


def _concat(parts: list[np.ndarray], width: int) -> np.ndarray:
    if not parts:
        return np.zeros((0, width), dtype=np.float32)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask on Linux)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def split_threads(total: int = 0) -> tuple[int, int]:
    """Split CPU threads between the frame encoder and the video decoder.

    The frame pass runs both at once (decoding in a background thread), so letting each
    use every core makes them fight: on 2 cores, one encoder thread beside one decoder
    thread indexed ~10% faster than both using all cores, because a single-threaded
    ONNX Runtime session and a single-threaded FFmpeg decoder spend ~15% less CPU per
    frame than their multi-threaded selves.

    Args:
        total: Threads to split; 0 means :func:`available_cores`.

    Returns:
        ``(encoder_threads, decoder_threads)``: the decoder gets a quarter (at least
        one), the encoder the rest (at least one).
    """
    total = total if total > 0 else available_cores()
    decoder = max(1, total // 4)
    return max(1, total - decoder), decoder
