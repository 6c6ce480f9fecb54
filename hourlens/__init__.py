"""hourlens: agentic retrieval over hour-long videos.

Index a folder once (frames → CLIP/EfficientNet features → depth-score segments →
compressed feature memories + summary tokens, stored in SQLite + FAISS), then search and
ask about the videos with cited time ranges.
"""

from .config import IndexConfig, KVConfig, RayConfig, StoreConfig, VisualConfig
from .errors import BadVideoError, HourlensError, MissingDependencyError, NotIndexedError
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

__version__ = "0.1.0"

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
    "TranscriptLine",
    "Video",
    "VisualConfig",
    "__version__",
    "create_model",
    "list_models",
]
