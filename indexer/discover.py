"""Finding video files to index, and telling whether a file changed since it was indexed."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4",
        ".mkv",
        ".mov",
        ".avi",
        ".webm",
        ".m4v",
        ".mpg",
        ".mpeg",
        ".ogv",
        ".flv",
        ".wmv",
        ".ts",
        ".3gp",
    }
)
"""File extensions (lower case) picked up when a folder is searched."""


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _walk_videos(folder: Path) -> list[Path]:
    """Video files under ``folder`` (recursive; hidden files and folders skipped)."""
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not _is_hidden(d)]
        for name in files:
            if not _is_hidden(name) and Path(name).suffix.lower() in VIDEO_EXTENSIONS:
                path = Path(root) / name
                if path.is_file():  # skips broken symlinks, sockets, ...
                    found.append(path)
    return found


def discover_videos(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand files and folders into the list of video files to index.

    Files named explicitly are taken as given, whatever their extension (so a named
    ``notes.txt`` is tried and later fails with a clean error). Folders are searched
    recursively for files with a :data:`VIDEO_EXTENSIONS` extension, sorted, skipping
    hidden files and folders.

    Args:
        paths: Files and/or folders.

    Returns:
        ``(videos, missing)``: resolved absolute paths without duplicates (in the order
        met, each folder's files sorted), and ``(path, reason)`` for each argument that
        does not exist (``"no such file or directory"``).
    """
    videos: list[Path] = []
    seen: set[Path] = set()
    missing: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw).expanduser()
        if not path.exists():
            missing.append((str(raw), "no such file or directory"))
            continue
        if path.is_dir():
            candidates = [p.resolve() for p in sorted(_walk_videos(path))]
        else:
            candidates = [path.resolve()]
        for p in candidates:
            if p not in seen:
                seen.add(p)
                videos.append(p)
    return videos, missing


def file_fingerprint(path: str | Path) -> tuple[int, float]:
    """Cheap change detector: ``(size in bytes, modification time)``.

    Args:
        path: A file.

    Returns:
        The size and the mtime (seconds since the epoch).
    """
    st = os.stat(path)
    return st.st_size, st.st_mtime


def content_hash(path: str | Path, chunk: int = 1 << 20) -> str:
    """BLAKE2b digest of a whole file, read in chunks (constant memory).

    Args:
        path: A file.
        chunk: Bytes read at a time.

    Returns:
        ``"blake2b:<hex digest>"``.
    """
    h = hashlib.blake2b()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return f"blake2b:{h.hexdigest()}"
