"""The frame-encoder interface and the batched tensor preprocessing the encoders share.

An encoder turns RGB frames (``HxWx3`` uint8, any size) into L2-normalised float32
feature rows, plus class probabilities for classifiers. Preprocessing runs in torch on
whole batches (crop/pad, antialiased resize, normalise) on the model's device, so it
costs a few percent of the forward pass instead of a PIL round trip per frame.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import HourlensError, ModelLoadError

ResizeMode = Literal["shortest", "longest", "squash"]
_PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


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
    device: torch.device = torch.device("cpu")

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
        with torch.inference_mode():
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

    @abstractmethod
    def _encode_batch(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        """Encode at most ``batch_size`` validated frames (called under inference mode)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, dim={self.dim}, device={self.device})"


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


def resolve_device(device: str) -> torch.device:
    """Check that ``device`` (``cpu``, ``cuda``, ``cuda:N``) is usable here.

    Raises:
        ModelLoadError: Unknown device or CUDA not available.
    """
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ModelLoadError(f"unknown device {device!r}: use cpu, cuda or cuda:N") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ModelLoadError(f"device {device!r} requested but CUDA is not available here")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ModelLoadError(
                f"device {device!r} requested but only {torch.cuda.device_count()} GPU(s) exist"
            )
    elif dev.type != "cpu":
        raise ModelLoadError(f"unsupported device {device!r}: use cpu, cuda or cuda:N")
    return dev


def resolve_precision(precision: str, device: torch.device) -> torch.dtype:
    """Map ``fp32``/``fp16``/``bf16`` to a dtype; half precisions need CUDA.

    Raises:
        ModelLoadError: Unknown precision, or fp16/bf16 on a CPU device.
    """
    key = precision.lower()
    if key not in _PRECISIONS:
        raise ModelLoadError(f"unknown precision {precision!r}: use fp32, fp16 or bf16")
    dtype = _PRECISIONS[key]
    if dtype != torch.float32 and device.type != "cuda":
        raise ModelLoadError(f"precision {precision} needs a CUDA device; use fp32 on {device}")
    return dtype


def autocast_for(device: torch.device, dtype: torch.dtype) -> AbstractContextManager[object]:
    """Autocast context for half precision on CUDA; a no-op for fp32."""
    if dtype == torch.float32:
        return nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


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


def limit_cpu_threads() -> int:
    """Keep torch's intra-op thread pool within the cores this process may use.

    Returns:
        The number of threads torch now uses.
    """
    cores = available_cores()
    if torch.get_num_threads() > cores:
        torch.set_num_threads(cores)
    return torch.get_num_threads()


def preprocess(
    frames: Sequence[np.ndarray],
    *,
    size: tuple[int, int],
    mean: Sequence[float],
    std: Sequence[float],
    device: torch.device,
    interpolation: str = "bicubic",
    resize_mode: ResizeMode = "shortest",
    fill: int = 0,
    channels_last: bool = False,
) -> torch.Tensor:
    """Turn RGB frames into a normalised ``(n, 3, H, W)`` float32 batch on ``device``.

    ``shortest`` resizes the shorter side to fit and centre-crops (done as crop-then-
    resize: the same up to sub-pixel rounding, and cheaper), ``longest`` pads to the
    target aspect with ``fill`` and resizes, ``squash`` resizes without keeping the
    aspect. Consecutive frames of the same shape are processed together. On the CPU the
    resize runs on the uint8 pixels (channels-last, torch's vectorised path: ~4.5x
    faster than on floats here, within one grey level of it).

    Args:
        frames: ``HxWx3`` uint8 RGB arrays.
        size: Output ``(height, width)``.
        mean: Per-channel mean on the 0-1 scale.
        std: Per-channel std on the 0-1 scale.
        device: Where the batch is built (the model's device).
        interpolation: ``bicubic``, ``bilinear`` or ``nearest``.
        resize_mode: ``shortest``, ``longest`` or ``squash``.
        fill: Padding value (0-255) for ``longest``.
        channels_last: Return a channels-last tensor (faster convolutions on CPU).

    Returns:
        The batch tensor.
    """
    out_h, out_w = size
    out = torch.empty((len(frames), 3, out_h, out_w), dtype=torch.float32, device=device)
    start = 0
    while start < len(frames):
        stop = start + 1
        while stop < len(frames) and frames[stop].shape == frames[start].shape:
            stop += 1
        x = torch.from_numpy(np.stack(frames[start:stop])).to(device).permute(0, 3, 1, 2)
        x = _fit(x, out_h, out_w, resize_mode, fill)
        if x.dtype != torch.uint8 or device.type != "cpu":
            x = x.float()
        elif x.shape[-2:] != (out_h, out_w):
            x = x.contiguous(memory_format=torch.channels_last)
        if x.shape[-2:] != (out_h, out_w):
            antialias = interpolation in ("bicubic", "bilinear")
            x = F.interpolate(
                x,
                size=(out_h, out_w),
                mode=interpolation,
                antialias=antialias,
                **({"align_corners": False} if antialias else {}),
            )
        out[start:stop] = x
        start = stop
    out.clamp_(0.0, 255.0)
    m = torch.tensor(mean, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255.0
    s = torch.tensor(std, dtype=torch.float32, device=device).view(1, 3, 1, 1) * 255.0
    out.sub_(m).div_(s)
    return out.contiguous(memory_format=torch.channels_last) if channels_last else out


def _fit(x: torch.Tensor, out_h: int, out_w: int, mode: ResizeMode, fill: int) -> torch.Tensor:
    """Crop (``shortest``) or pad (``longest``) a uint8 batch to the output aspect ratio."""
    h, w = x.shape[-2:]
    if mode == "squash" or h * out_w == w * out_h:
        return x
    if mode == "shortest":
        if w * out_h > h * out_w:  # too wide: keep full height
            cw = max(1, round(h * out_w / out_h))
            left = (w - cw) // 2
            return x[..., :, left : left + cw]
        ch = max(1, round(w * out_h / out_w))
        top = (h - ch) // 2
        return x[..., top : top + ch, :]
    if mode == "longest":
        if w * out_h > h * out_w:  # too wide: pad height
            ph = round(w * out_h / out_w) - h
            pad = (0, 0, ph // 2, ph - ph // 2)
        else:
            pw = round(h * out_w / out_h) - w
            pad = (pw // 2, pw - pw // 2, 0, 0)
        return F.pad(x.float(), pad, value=float(fill))
    raise ValueError(f"unknown resize mode {mode!r}")
