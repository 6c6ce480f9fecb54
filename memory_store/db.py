"""SQLite connections: one per thread, WAL, foreign keys on, explicit transactions.

Each connection is wrapped in a :class:`sqlite_utils.Database`; the store's code uses
its table API (``insert_all``, ``rows_where``, ``delete_where``, ``update``, ``create``)
and keeps raw SQL only where sqlite-utils has no equivalent. Transactions stay explicit
(``BEGIN IMMEDIATE``, see :meth:`Connections.write`): inside an open transaction every
sqlite-utils write runs in a ``SAVEPOINT`` and never commits on its own.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlite_utils import Database
from sqlite_utils.db import Table

BUSY_TIMEOUT_MS = 60_000


def now_iso() -> str:
    """The current UTC time as an ISO-8601 string with seconds precision."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def open_db(conn: sqlite3.Connection | Database) -> Database:
    """Wrap ``conn`` in a :class:`sqlite_utils.Database` (a ``Database`` is returned as is).

    sqlite-utils' defaults are turned off so the wrapper changes nothing about the
    connection: no ``PRAGMA recursive_triggers`` (the schema's triggers were written for
    SQLite's default) and no plugin hooks (they could register functions or pragmas).
    """
    if isinstance(conn, Database):
        return conn
    return Database(conn, recursive_triggers=False, execute_plugins=False)


def connect(path: str | Path) -> Database:
    """Open ``path`` in autocommit mode with WAL, foreign keys and a busy timeout.

    Args:
        path: The database file.

    Returns:
        The connection wrapped in a :class:`sqlite_utils.Database`. Raw ``db.execute``
        rows are :class:`sqlite3.Row` (``db.query``/``rows_where`` give dicts). Transactions
        are explicit (``BEGIN IMMEDIATE`` ... ``COMMIT``), see :meth:`Connections.write`.
    """
    conn = sqlite3.connect(
        str(path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT_MS / 1000
    )
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    db = open_db(conn)
    db.enable_wal()
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute("PRAGMA foreign_keys = ON")
    return db


def first_row(table: Table, where: str, args: Sequence[Any]) -> dict[str, Any] | None:
    """The first row of ``table`` matching ``where`` (like ``fetchone``), or ``None``.

    The ``rows_where`` generator is closed at once, so no statement stays active.
    """
    rows = table.rows_where(where, args, limit=1)
    try:
        return next(rows, None)
    finally:
        rows.close()


class Connections:
    """A connection per thread to one database file.

    sqlite3 connections must not be shared by threads that use them at the same time;
    each thread gets its own (``threading.local``), wrapped in a
    :class:`sqlite_utils.Database`, and WAL lets readers run while one writer commits.
    :meth:`close_all` closes every connection opened so far.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._local = threading.local()
        self._all: dict[threading.Thread, Database] = {}
        self._lock = threading.Lock()
        self._closed = False

    def get(self) -> Database:
        """This thread's connection (opened on first use)."""
        db: Database | None = getattr(self._local, "db", None)
        if db is None:
            with self._lock:
                if self._closed:
                    raise RuntimeError("the store is closed")
                self._prune_dead_threads()
                db = connect(self.path)
                self._all[threading.current_thread()] = db
            self._local.db = db
        return db

    def _prune_dead_threads(self) -> None:
        for thread in [t for t in self._all if not t.is_alive()]:
            with contextlib.suppress(sqlite3.Error):
                self._all.pop(thread).close()

    @contextlib.contextmanager
    def write(self) -> Iterator[Database]:
        """A ``BEGIN IMMEDIATE`` transaction on this thread's connection.

        Commits when the block ends, rolls back if it raises (unless SQLite already rolled
        it back, so the original error is the one raised). sqlite-utils' own
        ``db.atomic()``/``begin()`` are not used: they start a deferred ``BEGIN``, and a
        deferred transaction that has read can fail with ``SQLITE_BUSY`` when it upgrades
        to a writer (the busy timeout does not apply), where ``IMMEDIATE`` waits up front.
        """
        db = self.get()
        db.conn.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.rollback()
            raise
        db.conn.execute("COMMIT")

    def close_all(self) -> None:
        """Close every connection (idempotent)."""
        with self._lock:
            self._closed = True
            dbs, self._all = list(self._all.values()), {}
        for db in dbs:
            with contextlib.suppress(sqlite3.Error):
                db.close()
