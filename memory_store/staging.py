"""The staging area: writer tokens, liveness locks, the frame spill file, fsync helpers.

Every :class:`~hourlens.memory_store.writer.VideoWriter` owns a random *token* and holds an
exclusive ``flock`` on ``staging/<token>.lock`` for its whole life. Its files live in
``staging/<token>/`` (becomes the shard folder ``shards/v<id>-<token>``) and
``staging/<token>.scratch/`` (free scratch space for the indexer). The kernel drops the
lock when the process dies, even on ``kill -9``, so recovery can tell a crashed writer's
leftovers (lock free) from a live writer's work in another process (lock held).
"""

from __future__ import annotations

import array
import contextlib
import os
import re
import secrets
from pathlib import Path

import numpy as np

try:  # POSIX
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

TOKEN_RE = re.compile(r"^[0-9a-f]{12}$")
SHARD_RE = re.compile(r"^v(\d+)-([0-9a-f]{12})$")


def new_token() -> str:
    """A fresh random writer token (12 hex digits)."""
    return secrets.token_hex(6)


def shard_name(video_id: int, token: str) -> str:
    """The shard folder name of a video written by the writer ``token``."""
    return f"v{video_id}-{token}"


def token_of(name: str) -> str | None:
    """The writer token in a staging entry or shard folder name, or ``None``."""
    m = SHARD_RE.match(name)
    if m:
        return m.group(2)
    base = name.split(".", 1)[0]
    return base if TOKEN_RE.match(base) else None


class TokenLock:
    """An exclusive, non-blocking lock on ``staging/<token>.lock``.

    Use :meth:`try_acquire`; ``None`` means another live process (or another writer in
    this process) holds it.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    @classmethod
    def try_acquire(cls, staging: Path, token: str) -> TokenLock | None:
        """Take the lock of ``token`` if nobody holds it.

        Args:
            staging: The staging folder.
            token: A writer token.

        Returns:
            The held lock, or ``None`` when it is held elsewhere.
        """
        path = staging / f"{token}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            else:  # pragma: no cover - Windows
                import msvcrt

                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            os.close(fd)
            return None
        return cls(path, fd)

    def release(self, *, remove: bool = True) -> None:
        """Release the lock, deleting the lock file first when ``remove`` (idempotent)."""
        if self._fd is None:
            return
        if remove:
            with contextlib.suppress(OSError):
                self.path.unlink()
        os.close(self._fd)
        self._fd = None


def fsync_path(path: Path) -> None:
    """Flush a file's or a folder's data and metadata to disk (best effort for folders)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if path.is_dir() else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:  # pragma: no cover - folders cannot be opened on Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


class FrameSpill:
    """An append-only float16 file of frame features, read back through a memmap.

    Only the timestamps (one float64 per frame) are kept in memory.

    Args:
        path: The raw spill file to create.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = open(path, "wb")  # noqa: SIM115 - lives as long as the writer
        self._times = array.array("d")
        self.dim = 0
        self._flushed = True

    @property
    def n(self) -> int:
        """Number of frames appended."""
        return len(self._times)

    def append(self, times: np.ndarray, features: np.ndarray) -> None:
        """Append ``len(times)`` frames.

        Raises:
            ValueError: Shapes disagree, the dimension changed, or times go backwards.
        """
        t = np.asarray(times, dtype=np.float64).reshape(-1)
        f = np.asarray(features)
        if f.ndim != 2 or f.shape[0] != t.shape[0]:
            raise ValueError(f"features of shape {f.shape} do not match {t.shape[0]} times")
        if t.size == 0:
            return
        if self.dim and f.shape[1] != self.dim:
            raise ValueError(f"feature dimension changed from {self.dim} to {f.shape[1]}")
        if np.any(np.diff(t) < 0) or (self._times and t[0] < self._times[-1]):
            raise ValueError("frame times must not decrease")
        if not np.all(np.isfinite(f)):
            raise ValueError("frame features contain NaN or infinity")
        self.dim = int(f.shape[1])
        self._fh.write(np.ascontiguousarray(f, dtype="<f2").tobytes())
        self._times.extend(t.tolist())
        self._flushed = False

    def times(self) -> np.ndarray:
        """All frame times (float64)."""
        return np.frombuffer(self._times, dtype=np.float64).copy()

    def read(self, i0: int, i1: int) -> np.ndarray:
        """Frames ``[i0, i1)`` as float32 (a copy)."""
        n = self.n
        if not 0 <= i0 <= i1 <= n:
            raise IndexError(f"frame range [{i0}, {i1}) outside [0, {n})")
        if i0 == i1:
            return np.zeros((0, self.dim), dtype=np.float32)
        if not self._flushed:
            self._fh.flush()
            self._flushed = True
        mm = np.memmap(self.path, dtype="<f2", mode="r", shape=(n, self.dim))
        try:
            return np.asarray(mm[i0:i1], dtype=np.float32)
        finally:
            del mm

    def write_npy(self, dest: Path, chunk: int = 1 << 22) -> None:
        """Write all frames to ``dest`` as a ``.npy`` file (streamed, fsynced)."""
        self._fh.flush()
        self._flushed = True
        header = {"descr": "<f2", "fortran_order": False, "shape": (self.n, self.dim)}
        with open(dest, "wb") as out, open(self.path, "rb") as src:
            np.lib.format.write_array_header_1_0(out, header)
            while block := src.read(chunk):
                out.write(block)
            out.flush()
            os.fsync(out.fileno())

    def close(self) -> None:
        """Close the file (it is deleted with the staging folder)."""
        if not self._fh.closed:
            self._fh.close()
