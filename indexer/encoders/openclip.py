"""open_clip models (CLIP, SigLIP, ...) as frame encoders with a text tower.

Images and texts land in one normalised space, so a text query can be compared with
frame features directly. Weights come from an open_clip pretrained tag (downloaded once
into the Hugging Face cache), a local checkpoint file, or nowhere (``None``: random
weights, for tests).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...errors import ModelLoadError
from .base import FrameEncoder
from .hub import cached_checkpoint, hub_reachable  # noqa: F401 - re-exported
from .torch_ops import (
    autocast_for,
    limit_cpu_threads,
    preprocess,
    resolve_device,
    resolve_precision,
)

_SCHEMAS = ("hf-hub:", "local-dir:")
_CHECKPOINT_SUFFIXES = (".bin", ".pt", ".pth", ".safetensors", ".ckpt")


def tag_hub_file(model_name: str, tag: str) -> tuple[str, tuple[str, ...]] | None:
    """Hugging Face repo id and candidate file names of an open_clip pretrained tag.

    Returns:
        ``(repo_id, file_names)`` in the order open_clip tries them, or None when the tag
        is unknown or not hosted on the Hugging Face hub.
    """
    from open_clip.pretrained import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME, get_pretrained_cfg

    cfg = get_pretrained_cfg(model_name, tag)
    hub = cfg.get("hf_hub", "") if cfg else ""
    if not hub:
        return None
    if hub.endswith("/"):  # "org/repo/" means the default file name
        repo_id, filename = hub.rstrip("/"), HF_WEIGHTS_NAME
    else:
        repo_id, filename = os.path.split(hub)
    # open_clip downloads a safetensors twin first when the repo has one.
    if filename == HF_WEIGHTS_NAME:
        return repo_id, (HF_SAFE_WEIGHTS_NAME, filename)
    if filename.endswith((".bin", ".pth")):
        return repo_id, (filename[:-4] + ".safetensors", filename)
    return repo_id, (filename,)


def _resolve_pretrained(model_name: str, pretrained: str | None) -> tuple[str | None, bool]:
    """Classify ``pretrained`` as ``(value, is_tag)``: a tag, a checkpoint path or None."""
    if pretrained is None or pretrained.lower() in {"", "none", "random"}:
        return None, False
    if model_name.startswith(_SCHEMAS):
        return None, False  # the schema names its own weights
    from open_clip import list_pretrained_tags_by_model

    tags = list_pretrained_tags_by_model(model_name)
    if pretrained in tags:
        return pretrained, True
    looks_like_path = (
        os.sep in pretrained or "/" in pretrained or pretrained.endswith(_CHECKPOINT_SUFFIXES)
    )
    path = Path(pretrained).expanduser()
    if path.is_file():
        return str(path.resolve()), False
    if looks_like_path:
        raise ModelLoadError(f"open_clip checkpoint not found: {pretrained}")
    raise ModelLoadError(
        f"{pretrained!r} is neither a pretrained tag of open_clip {model_name} nor a file;"
        f" known tags: {', '.join(tags) or 'none'}"
    )


class OpenClipEncoder(FrameEncoder):
    """An open_clip model: image tower for frames, text tower for queries."""

    supports_text = True
    labels = None

    def __init__(
        self,
        model_name: str,
        pretrained: str | None,
        *,
        device: str = "cpu",
        precision: str = "fp32",
        batch_size: int = 32,
    ) -> None:
        """Build the model and load its weights.

        Args:
            model_name: open_clip model name (``open_clip.list_models()``) or an
                ``hf-hub:``/``local-dir:`` reference.
            pretrained: A pretrained tag, a local checkpoint path, or None (random).
            device: ``cpu``, ``cuda`` or ``cuda:N``.
            precision: ``fp32``; ``fp16``/``bf16`` (autocast, fp32 weights) on CUDA.
            batch_size: Frames (and texts) per forward pass.

        Raises:
            ModelLoadError: Unknown model or tag, missing checkpoint, failed download.
        """
        import open_clip

        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.device = resolve_device(device)
        self._dtype = resolve_precision(precision, self.device)
        self.batch_size = batch_size
        self.model_name = model_name
        if model_name not in open_clip.list_models() and not model_name.startswith(_SCHEMAS):
            raise ModelLoadError(
                f"unknown open_clip model {model_name!r}; see open_clip.list_models()"
            )
        value, is_tag = _resolve_pretrained(model_name, pretrained)
        if model_name.startswith(_SCHEMAS):  # the reference names its own weights
            self.name = f"open_clip:{model_name}"
        else:
            self.name = f"open_clip:{model_name}:{value if value is not None else 'none'}"
        if self.device.type == "cpu":
            limit_cpu_threads()
        kwargs: dict[str, Any] = {}
        source = value
        if is_tag and value is not None:
            cached = cached_checkpoint(tag_hub_file(model_name, value))
            if cached is not None:  # load the file directly: no hub round trip
                source = cached
                kwargs = _tag_preprocess_kwargs(model_name, value)
        try:
            model, _, _ = open_clip.create_model_and_transforms(
                model_name, pretrained=source, device=self.device, precision="fp32", **kwargs
            )
        except Exception as exc:  # open_clip raises RuntimeError/OSError/...
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ModelLoadError(
                f"cannot load open_clip {model_name} ({pretrained}): {first[:300]}. Without hub"
                f" access pass a local checkpoint: open_clip:{model_name}:/path/to/weights.bin"
            ) from exc
        self._model = model.eval()
        cfg = dict(model.visual.preprocess_cfg)
        size = cfg.get("size", 224)
        self._size = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
        self._mean = tuple(cfg.get("mean", (0.48145466, 0.4578275, 0.40821073)))
        self._std = tuple(cfg.get("std", (0.26862954, 0.26130258, 0.27577711)))
        self._interpolation = str(cfg.get("interpolation", "bicubic"))
        self._resize_mode = cfg.get("resize_mode", "shortest")
        self._fill = int(cfg.get("fill_color", 0))
        self._tokenizer: Any = None
        self._tok_lock = threading.Lock()
        model_cfg = open_clip.get_model_config(model_name)
        if model_cfg and "embed_dim" in model_cfg:
            self.dim = int(model_cfg["embed_dim"])
        else:
            self.dim = int(self._encode_batch([np.zeros((*self._size, 3), np.uint8)])[0].shape[1])

    def _inference(self) -> AbstractContextManager[object]:
        return torch.inference_mode()

    def _encode_batch(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        x = preprocess(
            frames,
            size=self._size,
            mean=self._mean,
            std=self._std,
            device=self.device,
            interpolation=self._interpolation,
            resize_mode=self._resize_mode,
            fill=self._fill,
        )
        with torch.inference_mode(), autocast_for(self.device, self._dtype):
            feats = self._model.encode_image(x)
        feats = torch.nn.functional.normalize(feats.float(), dim=-1)
        return feats.cpu().numpy(), None

    def _get_tokenizer(self) -> Any:
        with self._tok_lock:
            if self._tokenizer is None:
                import open_clip

                try:
                    self._tokenizer = open_clip.get_tokenizer(self.model_name)
                except Exception as exc:  # HF tokenizers may need the hub
                    raise ModelLoadError(
                        f"cannot load the tokenizer of open_clip {self.model_name}: {exc}"
                    ) from exc
            return self._tokenizer

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into the image feature space.

        Args:
            texts: Free-text queries.

        Returns:
            ``(n, dim)`` float32 L2-normalised rows.
        """
        if isinstance(texts, str):
            texts = [texts]
        tokenizer = self._get_tokenizer()
        out: list[np.ndarray] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                tokens = tokenizer(list(texts[start : start + self.batch_size])).to(self.device)
                with autocast_for(self.device, self._dtype):
                    feats = self._model.encode_text(tokens)
                out.append(torch.nn.functional.normalize(feats.float(), dim=-1).cpu().numpy())
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)


def _tag_preprocess_kwargs(model_name: str, tag: str) -> dict[str, Any]:
    """Preprocessing overrides a tag carries, for loading its weights by file path."""
    from open_clip.pretrained import get_pretrained_cfg

    cfg = get_pretrained_cfg(model_name, tag) or {}
    keys = {
        "mean": "image_mean",
        "std": "image_std",
        "interpolation": "image_interpolation",
        "resize_mode": "image_resize_mode",
    }
    return {arg: cfg[key] for key, arg in keys.items() if cfg.get(key) is not None}
