"""hourlens: agentic retrieval over hour-long videos.

Index a folder once (frames → CLIP/EfficientNet features → depth-score segments →
compressed feature memories + summary tokens, stored in SQLite + FAISS), then search and
ask about the videos with cited time ranges.
"""

from typing import TYPE_CHECKING, Any

from .config import IndexConfig, KVConfig, RayConfig, StoreConfig, VisualConfig
from .errors import (
    BadVideoError,
    HourlensError,
    MissingDependencyError,
    NotIndexedError,
    ToolArgumentError,
    UnknownToolError,
)
from .library import Library
from .models.registry import create_model, list_models
from .types import (
    READY_STATUSES,
    Answer,
    Citation,
    Hit,
    IndexResult,
    Keyframe,
    Memory,
    Segment,
    Tag,
    TranscriptLine,
    Video,
)

if TYPE_CHECKING:
    from .tools.memory import ToolResult
    from .tools.schema import ToolSpec

__version__ = "0.1.0"

_LAZY = {"ToolResult": "hourlens.tools.memory", "ToolSpec": "hourlens.tools.schema"}
"""Public names imported on first use (the memory tools pull in numpy and the store)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'hourlens' has no attribute {name!r}")


__all__ = [
    "READY_STATUSES",
    "Answer",
    "BadVideoError",
    "Citation",
    "Hit",
    "HourlensError",
    "IndexConfig",
    "IndexResult",
    "KVConfig",
    "Keyframe",
    "Library",
    "Memory",
    "MissingDependencyError",
    "NotIndexedError",
    "RayConfig",
    "Segment",
    "StoreConfig",
    "Tag",
    "ToolArgumentError",
    "ToolResult",
    "ToolSpec",
    "TranscriptLine",
    "UnknownToolError",
    "Video",
    "VisualConfig",
    "__version__",
    "create_model",
    "list_models",
]
