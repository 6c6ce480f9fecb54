"""SQLite connections: one per thread, WAL, foreign keys on, explicit transactions."""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_MS = 60_000


def now_iso() -> str:
    """The current UTC time as an ISO-8601 string with seconds precision."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def connect(path: str | Path) -> sqlite3.Connection:
    """Open ``path`` in autocommit mode with WAL, foreign keys and a busy timeout.

    Args:
        path: The database file.

    Returns:
        A connection whose rows are :class:`sqlite3.Row`. Transactions are explicit
        (``BEGIN IMMEDIATE`` ... ``COMMIT``), see :meth:`Connections.write`.
    """
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def insert(conn: sqlite3.Connection, sql: str, params: Any = ()) -> int:
    """Run an ``INSERT`` and return the new row id."""
    rowid = conn.execute(sql, params).lastrowid
    if rowid is None:  # pragma: no cover - INSERT always sets it
        raise sqlite3.DatabaseError(f"no row id after {sql[:40]!r}")
    return rowid


class Connections:
    """A connection per thread to one database file.

    sqlite3 connections must not be shared by threads that use them at the same time;
    each thread gets its own (``threading.local``), and WAL lets readers run while one
    writer commits. :meth:`close_all` closes every connection opened so far.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: dict[threading.Thread, sqlite3.Connection] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the store is closed")
                self._prune_dead_threads()
                conn = connect(self.path)
                self._all[threading.current_thread()] = conn
            self._local.conn = conn
        return conn

    def _prune_dead_threads(self) -> None:
        for thread in [t for t in self._all if not t.is_alive()]:
            with contextlib.suppress(sqlite3.Error):
                self._all.pop(thread).close()

    @contextlib.contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A ``BEGIN IMMEDIATE`` transaction on this thread's connection.

        Commits when the block ends, rolls back if it raises.
        """
        conn = self.get()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close_all(self) -> None:
        """Close every connection (idempotent)."""
        with self._lock:
            self._closed = True
            conns, self._all = list(self._all.values()), {}
        for conn in conns:
            with contextlib.suppress(sqlite3.Error):
                conn.close()
