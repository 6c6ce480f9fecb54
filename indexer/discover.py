"""Finding video files to index, and telling whether a file changed since it was indexed."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadVideoError
from ..paths import expand_user, file_kind, resolve_path

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


AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".m4a", ".wav", ".flac", ".ogg", ".oga", ".opus", ".aac", ".wma", ".aiff", ".aif"}
)
"""Audio file extensions: counted (not indexed) when a folder is searched; hourlens
indexes videos, so an audio-only file has no frames to index."""


@dataclass
class Discovery:
    """What :func:`discover` found.

    Attributes:
        videos: Files to index (absolute, resolved, without duplicates, in the order met;
            each folder's files sorted).
        problems: ``(argument, reason)`` for each argument that cannot be indexed: it
            does not exist, is not a regular file or folder, or names a folder holding
            no media file.
        audio_only: Audio files found in folders (not indexed; see
            :data:`AUDIO_EXTENSIONS`).
    """

    videos: list[Path] = field(default_factory=list)
    problems: list[tuple[str, str]] = field(default_factory=list)
    audio_only: list[Path] = field(default_factory=list)


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _walk(folder: Path) -> tuple[list[Path], list[Path]]:
    """``(videos, audio files)`` under ``folder`` (recursive; hidden files and folders
    skipped; only regular files, so FIFOs, sockets and broken links never are)."""
    videos: list[Path] = []
    audio: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not _is_hidden(d)]
        for name in files:
            if _is_hidden(name):
                continue
            ext = Path(name).suffix.lower()
            bucket = (
                videos if ext in VIDEO_EXTENSIONS else audio if ext in AUDIO_EXTENSIONS else None
            )
            if bucket is not None:
                path = Path(root) / name
                if path.is_file():  # skips broken symlinks, FIFOs, sockets, ...
                    bucket.append(path)
    return videos, audio


def _why_not(path: Path) -> str | None:
    """Why ``path`` (a named argument) cannot be looked at, or None when it can (a
    regular file or a folder). Only ``stat`` is used: nothing is opened, so a FIFO or a
    device never blocks."""
    try:
        mode = os.stat(path).st_mode
    except ValueError:  # an embedded NUL byte
        return "invalid path (it contains a NUL byte)"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (the link never reaches a file)"
        if exc.errno == errno.ENOENT and os.path.islink(path):
            return "broken symbolic link (its target does not exist)"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "no such file or directory"
        if exc.errno == errno.EACCES:
            return "permission denied"
        if exc.errno == errno.ENAMETOOLONG:
            return "file name too long"
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return f"not a regular file: {file_kind(mode)}"


def discover(paths: Iterable[str | Path]) -> Discovery:
    """Expand files and folders into the video files to index.

    Files named explicitly are taken as given, whatever their extension (so a named
    ``notes.txt`` is tried and later fails with a clean error), but only regular files:
    a FIFO, socket or device is reported without being opened. Folders are searched
    recursively for files with a :data:`VIDEO_EXTENSIONS` extension, sorted, skipping
    hidden files and folders; audio files met there are counted in ``audio_only``, and a
    named folder holding no video or audio file at all is reported.

    Args:
        paths: Files and/or folders (``~`` and ``~user`` are expanded when they can be).

    Returns:
        The :class:`Discovery`.
    """
    found = Discovery()
    seen: set[Path] = set()
    for raw in paths:
        path = expand_user(raw)
        why = _why_not(path)
        if why is not None:
            found.problems.append((str(raw), why))
            continue
        if path.is_dir():
            videos, audio = _walk(path)
            found.audio_only.extend(resolve_path(p) for p in sorted(audio))
            if not videos and not audio:
                found.problems.append((str(raw), "a folder holding no video files"))
            candidates = [resolve_path(p) for p in sorted(videos)]
        else:
            candidates = [resolve_path(path)]
        for p in candidates:
            if p not in seen:
                seen.add(p)
                found.videos.append(p)
    return found


def discover_videos(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """``(videos, problems)`` of :func:`discover` (see there).

    Args:
        paths: Files and/or folders.

    Returns:
        Resolved absolute video paths without duplicates, and ``(path, reason)`` for each
        argument that cannot be indexed (e.g. ``"no such file or directory"``).
    """
    found = discover(paths)
    return found.videos, found.problems


def check_regular_file(path: str | Path) -> None:
    """Raise :class:`~hourlens.errors.BadVideoError` unless ``path`` is a regular file
    (checked with ``stat`` only, so a FIFO is refused before anything opens it)."""
    why = _why_not(Path(path))
    if why is None and not os.path.isfile(path):
        why = "is a directory, not a video file"
    if why is not None:
        raise BadVideoError(f"{path}: {why}")


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
