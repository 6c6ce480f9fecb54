"""The memory store: SQLite source of truth, per-video vector shards, FAISS search.

Example:
    >>> from hourlens.memory_store import Store      # doctest: +SKIP
    >>> with Store("/tmp/lib") as st:                 # doctest: +SKIP
    ...     hits = st.search_text("rocket launch")
"""

import sys as _sys

if "pandas" not in _sys.modules:  # pragma: no branch
    # sqlite-utils imports pandas, when installed, only to map ``pd.Timestamp`` to TEXT;
    # the store never inserts pandas values, and that import is a third of a cold
    # ``hourlens search``. Import sqlite-utils with pandas hidden (a later
    # ``import pandas`` elsewhere works as usual).
    _sys.modules["pandas"] = None  # type: ignore[assignment]
    try:
        import sqlite_utils.db  # noqa: F401
    finally:
        del _sys.modules["pandas"]

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
