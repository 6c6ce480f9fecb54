"""Torch helpers of the torch-based encoders: device and precision checks, autocast,
thread limits and the batched tensor preprocessing (crop/pad, antialiased resize,
normalise) on the model's device.

Kept apart from :mod:`.base` so that the frame-encoder interface — and encoders that run
without torch, such as the ONNX Runtime EfficientNet — import no torch.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import ModelLoadError
from .base import ResizeMode, available_cores

_PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


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
