"""Frame encoders behind one small interface, chosen by a spec string and cached.

Specs (``IndexConfig.encoder`` / ``HOURLENS_ENCODER``):

- ``auto``: the default CLIP (``open_clip:ViT-B-32:laion2b_s34b_b79k``) when its weights
  are in the Hugging Face cache or the hub answers, else the packaged EfficientNet-Lite0
  (with one warning saying why).
- ``efficientnet_lite0`` or ``efficientnet_lite0:/path/to/weights.pth``.
- ``open_clip:MODEL:PRETRAINED``: PRETRAINED is a tag (``laion2b_s34b_b79k``), a local
  checkpoint path, or ``none`` (random weights). MODEL may be ``hf-hub:org/repo``, whose
  weights come from that repo (PRETRAINED may then be left out).
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Literal

from ...errors import HourlensError
from .base import EncodedFrames, FrameEncoder
from .hub import cached_checkpoint, hub_reachable

__all__ = [
    "ACCEPTED_SPECS",
    "DEFAULT_CLIP_SPEC",
    "EfficientNetLite0Encoder",
    "EncodedFrames",
    "EncoderSpec",
    "FrameEncoder",
    "OpenClipEncoder",
    "clear_encoder_cache",
    "load_encoder",
    "parse_encoder_spec",
]

logger = logging.getLogger(__name__)


def __getattr__(name: str) -> Any:
    """The torch-based encoder classes, imported on first use (they import torch)."""
    if name == "EfficientNetLite0Encoder":
        from .efficientnet import EfficientNetLite0Encoder

        return EfficientNetLite0Encoder
    if name == "OpenClipEncoder":
        from .openclip import OpenClipEncoder

        return OpenClipEncoder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


DEFAULT_CLIP_MODEL = "ViT-B-32"
DEFAULT_CLIP_TAG = "laion2b_s34b_b79k"
DEFAULT_CLIP_SPEC = f"open_clip:{DEFAULT_CLIP_MODEL}:{DEFAULT_CLIP_TAG}"
# Where open_clip fetches DEFAULT_CLIP_TAG (= openclip.tag_hub_file(MODEL, TAG); a test checks
# it), spelled out so that ``auto`` need not import open_clip (~5 s) just to fall back.
DEFAULT_CLIP_HUB = (
    "laion/CLIP-ViT-B-32-laion2B-s34B-b79K",
    ("open_clip_model.safetensors", "open_clip_pytorch_model.bin"),
)
HUB_PROBE_TIMEOUT_S = 3.0
ACCEPTED_SPECS = (
    "auto",
    "efficientnet_lite0",
    "efficientnet_lite0:/path/to/weights.pth",
    "open_clip:MODEL:TAG (e.g. open_clip:ViT-B-32:laion2b_s34b_b79k)",
    "open_clip:MODEL:/path/to/checkpoint.bin",
    "open_clip:MODEL:none (random weights)",
    "open_clip:hf-hub:ORG/REPO",
)
_OPEN_CLIP_SCHEMAS = ("hf-hub:", "local-dir:")

_cache: dict[tuple[object, ...], FrameEncoder] = {}
_lock = threading.RLock()


@dataclass(frozen=True)
class EncoderSpec:
    """A parsed encoder spec.

    Attributes:
        kind: ``auto``, ``efficientnet_lite0`` or ``open_clip``.
        model: open_clip model name (``open_clip`` only).
        weights: Checkpoint path or pretrained tag; None means the packaged weights
            (EfficientNet) or random weights / the schema's own weights (open_clip).
    """

    kind: Literal["auto", "efficientnet_lite0", "open_clip"]
    model: str | None = None
    weights: str | None = None


def _bad_spec(spec: str, why: str) -> HourlensError:
    return HourlensError(f"invalid encoder {spec!r} ({why}); accepted: {'; '.join(ACCEPTED_SPECS)}")


def parse_encoder_spec(spec: str) -> EncoderSpec:
    """Parse an encoder spec string.

    Args:
        spec: See the module docstring for the accepted forms.

    Returns:
        The parsed spec.

    Raises:
        HourlensError: Not one of the accepted forms (the message lists them).
    """
    text = spec.strip()
    low = text.lower()
    if low == "auto":
        return EncoderSpec("auto")
    if low == "efficientnet_lite0":
        return EncoderSpec("efficientnet_lite0")
    if low.startswith("efficientnet_lite0:"):
        path = text.split(":", 1)[1].strip()
        if not path:
            raise _bad_spec(spec, "empty weights path")
        return EncoderSpec("efficientnet_lite0", weights=path)
    if low.startswith("open_clip:"):
        rest = text[len("open_clip:") :].strip()
        schema = next((s for s in _OPEN_CLIP_SCHEMAS if rest.startswith(s)), "")
        name, sep, weights = rest[len(schema) :].partition(":")
        name, weights = name.strip(), weights.strip()
        if not name:
            raise _bad_spec(spec, "missing model name")
        if not schema and not (sep and weights):
            raise _bad_spec(spec, "missing PRETRAINED: a tag, a checkpoint path or 'none'")
        tag = None if weights.lower() in {"", "none", "random"} else weights
        return EncoderSpec("open_clip", model=schema + name, weights=tag)
    raise _bad_spec(spec, "unknown encoder")


def load_encoder(
    spec: str = "auto",
    *,
    device: str = "cpu",
    precision: str = "fp32",
    batch_size: int = 32,
    threads: int | None = None,
) -> FrameEncoder:
    """Load (once per process and arguments) the frame encoder named by ``spec``.

    Args:
        spec: Encoder spec; see the module docstring.
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        precision: ``fp32``; ``fp16``/``bf16`` on CUDA.
        batch_size: Frames per forward pass.
        threads: CPU threads of the EfficientNet ONNX Runtime session (None: every
            core). open_clip runs in PyTorch, whose thread pool is process-wide, and
            ignores it.

    Returns:
        A cached :class:`FrameEncoder`.

    Raises:
        HourlensError: Unknown spec.
        ModelLoadError: The model or its weights cannot be loaded.
    """
    parsed = parse_encoder_spec(spec)
    if parsed.kind == "open_clip" or not threads or threads < 1:
        threads = None
    key = (parsed, device.strip().lower(), precision.strip().lower(), int(batch_size), threads)
    with _lock:
        encoder = _cache.get(key)
        if encoder is None:
            encoder = _build(parsed, key[1], key[2], key[3], threads)
            _cache[key] = encoder
        return encoder


def clear_encoder_cache() -> None:
    """Forget every loaded encoder (they are freed once nothing else holds them)."""
    with _lock:
        _cache.clear()


def _build(
    spec: EncoderSpec, device: str, precision: str, batch_size: int, threads: int | None
) -> FrameEncoder:
    if spec.kind == "efficientnet_lite0":
        light = _onnx_only(spec, device, precision, batch_size, threads)
        if light is not None:
            return light
        from .efficientnet import EfficientNetLite0Encoder

        return EfficientNetLite0Encoder(
            spec.weights,
            device=device,
            precision=precision,
            batch_size=batch_size,
            threads=threads,
        )
    if spec.kind == "open_clip":
        from .openclip import OpenClipEncoder

        assert spec.model is not None
        return OpenClipEncoder(
            spec.model, spec.weights, device=device, precision=precision, batch_size=batch_size
        )
    return _build_auto(device, precision, batch_size, threads)


def _onnx_only(
    spec: EncoderSpec, device: str, precision: str, batch_size: int, threads: int | None
) -> FrameEncoder | None:
    """EfficientNet-Lite0 from its cached ONNX export without torch (CPU, fp32, runtime
    ``auto``/``onnx``), or None."""
    import os

    runtime = os.environ.get("HOURLENS_RUNTIME", "auto")
    if device != "cpu" or precision != "fp32" or runtime not in ("auto", "onnx"):
        return None
    from .efficientnet_onnx import load_onnx_only

    return load_onnx_only(spec.weights, batch_size=batch_size, threads=threads)


def _build_auto(device: str, precision: str, batch_size: int, threads: int | None) -> FrameEncoder:
    # Fail on a bad device/precision here, not with a misleading "CLIP unavailable" warning.
    if (device, precision) != ("cpu", "fp32"):  # these need no torch to check
        from .torch_ops import resolve_device, resolve_precision

        resolve_precision(precision, resolve_device(device))
    reason = ""
    if cached_checkpoint(DEFAULT_CLIP_HUB) is None:
        ok, why = hub_reachable(DEFAULT_CLIP_HUB, HUB_PROBE_TIMEOUT_S)
        if not ok:
            reason = f"its weights are not in the Hugging Face cache and {why}"
    if not reason:
        try:
            return load_encoder(
                DEFAULT_CLIP_SPEC, device=device, precision=precision, batch_size=batch_size
            )
        except HourlensError as exc:
            reason = str(exc)
    logger.warning(
        "encoder 'auto': the default CLIP model (%s) is unavailable: %s. Using the packaged"
        " EfficientNet-Lite0 instead (ImageNet features and tags; no text-to-image search)."
        " To use CLIP, set HOURLENS_ENCODER=open_clip:%s:/path/to/open_clip_pytorch_model.bin,"
        " or %s on a machine that can reach the Hugging Face hub.",
        DEFAULT_CLIP_SPEC,
        reason,
        DEFAULT_CLIP_MODEL,
        DEFAULT_CLIP_SPEC,
    )
    return load_encoder(
        "efficientnet_lite0",
        device=device,
        precision=precision,
        batch_size=batch_size,
        threads=threads,
    )
