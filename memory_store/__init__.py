"""The memory store: SQLite source of truth, per-video vector shards, FAISS search.

Example:
    >>> from hourlens.memory_store import Store      # doctest: +SKIP
    >>> with Store("/tmp/lib") as st:                 # doctest: +SKIP
    ...     hits = st.search_text("rocket launch")
"""

from .kv import KVRecord, KVStore
from .records import Caption, Chapter, OcrItem, VectorHit
from .store import Store
from .writer import VideoWriter

__all__ = [
    "Caption",
    "Chapter",
    "KVRecord",
    "KVStore",
    "OcrItem",
    "Store",
    "VectorHit",
    "VideoWriter",
]
