"""Crash recovery: remove what dead writers left behind, never touch live writers' work.

Leftovers of a writer killed at any moment: an ``indexing`` row, ``staging/<token>*``
entries, and possibly a shard folder ``shards/v<id>-<token>`` that no committed row points
to (killed after the rename, before ``COMMIT``), or the previous shard of a re-indexed
video (killed after ``COMMIT``, before deleting it). A writer is dead when its token lock
can be taken; only then, and only after re-reading which shards committed rows
reference, is anything deleted.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

from sqlite_utils.db import Table

from .db import now_iso
from .staging import SHARD_RE, TokenLock, token_of

if TYPE_CHECKING:
    from .store import Store

log = logging.getLogger("hourlens.memory_store")

#: Unknown files in ``staging/`` (not a writer's) are removed once this old.
STALE_SECONDS = 24 * 3600


def _remove(path: Path) -> bool:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
        return True
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def _referenced_shards(videos: Table) -> set[str]:
    """Shard folders of committed (``indexed``/``failed``) rows."""
    rows = videos.rows_where("status != 'indexing' AND shard IS NOT NULL", select="shard")
    return {r["shard"] for r in rows}


def recover(store: Store) -> dict[str, int]:
    """Clean up after crashed writers (safe to run while other processes index).

    Args:
        store: An open store.

    Returns:
        Counts of removed ``indexing`` rows, staging entries and shard folders.
    """
    videos = store._db.get().table("videos")
    staging, shards = store.staging_dir, store.shards_dir
    removed = {"indexing_rows": 0, "staging": 0, "shards": 0}
    by_token: dict[str, list[Path]] = defaultdict(list)
    now = time.time()
    for entry in staging.iterdir():
        token = token_of(entry.name)
        if token is not None:
            by_token[token].append(entry)
        else:
            with contextlib.suppress(OSError):
                if now - entry.lstat().st_mtime > STALE_SECONDS:
                    removed["staging"] += _remove(entry)
    referenced = _referenced_shards(videos)
    for entry in shards.iterdir():
        m = SHARD_RE.match(entry.name)
        if m and entry.name not in referenced:
            by_token.setdefault(m.group(2), [])
    for row in videos.rows_where("status = 'indexing'", select="shard"):
        token = token_of(row["shard"] or "")
        if token is not None:
            by_token.setdefault(token, [])
    for token in sorted(by_token):
        lock = TokenLock.try_acquire(staging, token)
        if lock is None:  # a live writer
            continue
        try:
            _recover_token(store, token, removed)
        finally:
            lock.release(remove=True)
    for tmp in store.index_dir.glob("*.tmp*"):
        with contextlib.suppress(OSError):
            if now - tmp.stat().st_mtime > 3600:
                tmp.unlink()
    if any(removed.values()):
        log.info("recovered from interrupted indexing: %s", removed)
    return removed


def _recover_token(store: Store, token: str, removed: dict[str, int]) -> None:
    """Remove everything of a dead writer ``token`` (its lock is held by the caller)."""
    with store._db.write() as db:
        videos = db.table("videos")
        rows = [
            r
            for r in videos.rows_where("status = 'indexing'", select="id, path, shard")
            if token_of(r["shard"] or "") == token
        ]
        for r in rows:
            videos.delete_where("id = ? AND status = 'indexing'", [r["id"]])
            # raw: Table.update() changes one row by primary key, this is a filtered UPDATE
            db.execute(
                "UPDATE index_runs SET status = 'crashed', finished_at = ? "
                "WHERE status = 'running' AND path = ?",
                (now_iso(), r["path"]),
            )
        removed["indexing_rows"] += len(rows)
        referenced = _referenced_shards(videos)
    for entry in store.shards_dir.glob(f"v*-{token}"):
        if SHARD_RE.match(entry.name) and entry.name not in referenced:
            removed["shards"] += _remove(entry)
    for name in (token, f"{token}.scratch"):
        entry = store.staging_dir / name
        if entry.exists():
            removed["staging"] += _remove(entry)
