"""Finding videos by what users type: an id, a path, a file name, a path suffix, a stem."""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from pathlib import PurePath
from typing import Any

from sqlite_utils import Database

from .db import first_row

Row = dict[str, Any]
_ID = re.compile(r"[0-9]+")  # ASCII digits only: "١٢" or "１２" is no id
_MIN_ID, _MAX_ID = -(2**63), 2**63 - 1
MAX_LISTED = 10
"""Videos named at most in a "no such video" message."""


def visible_rows(db: Database, *, include_shadows: bool = False) -> list[Row]:
    """Video rows ordered by path.

    An ``indexing`` row is a *shadow* when a finished row of the same path exists (a
    re-index in progress); shadows are left out unless ``include_shadows``.
    """
    rows = list(db.table("videos").rows_where(order_by="path, status = 'indexing', id"))
    if include_shadows:
        return rows
    done = {r["path"] for r in rows if r["status"] != "indexing"}
    return [r for r in rows if r["status"] != "indexing" or r["path"] not in done]


def _suffix_match(path: str, ref: str) -> bool:
    parts, want = PurePath(path).parts, PurePath(ref).parts
    return bool(want) and len(want) <= len(parts) and parts[-len(want) :] == want


def match_videos(db: Database, ref: str | int, norm: Callable[[str], str]) -> list[Row]:
    """Rows matching ``ref``, trying in turn: id, absolute path, file name, path suffix,
    file stem. The first rule with any match wins (several rows = ambiguous).

    Args:
        db: A library database.
        ref: An id (int or digits), a path, a file name, a trailing part of a path, or
            a file name without extension.
        norm: Path normaliser (expanduser + resolve).
    """
    text = str(ref).strip()
    if isinstance(ref, int) or _ID.fullmatch(text):
        vid = int(text)
        # ids are SQLite integers (64-bit): a larger number names no video (and would
        # not even bind as a parameter)
        row = first_row(db.table("videos"), "id = ?", [vid]) if _MIN_ID <= vid <= _MAX_ID else None
        if row is not None:
            return [row]
        if isinstance(ref, int):
            return []
    if not text:
        return []
    rows = visible_rows(db)
    absolute = norm(text)
    rules: list[Callable[[str], bool]] = [
        lambda p: p == absolute,
        lambda p: os.path.basename(p) == text,
        lambda p: _suffix_match(p, text),
        lambda p: PurePath(p).stem == text,
        lambda p: os.path.basename(p).casefold() == text.casefold(),
    ]
    for rule in rules:
        found = [r for r in rows if rule(r["path"])]
        if found:
            return found
    return []


def not_indexed_message(db: Database, ref: str | int, rows: list[Row]) -> str:
    """A one-line explanation of why ``ref`` does not name one indexed video."""
    if len(rows) > 1:
        names = ", ".join(r["path"] for r in rows[:5])
        return f"{ref!r} matches several videos ({names}); give the full path or the id"
    if len(rows) == 1:
        r = rows[0]
        if r["status"] == "indexing":
            return f"{r['path']} is still being indexed"
        if r["status"] == "failed":
            return f"{r['path']} could not be indexed: {r['error'] or 'unknown error'}"
        return f"{r['path']} is not indexed"
    all_rows = visible_rows(db)
    ready = [r for r in all_rows if r["status"] == "indexed"]
    if not ready:
        what = "is empty" if not all_rows else "holds no indexed video yet"
        return f"no video {ref!r}: the library {what} (run `hourlens index PATH` first)"
    basenames = [os.path.basename(r["path"]) for r in ready]
    close = difflib.get_close_matches(os.path.basename(str(ref)), basenames, n=3, cutoff=0.5)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    return f"no indexed video matches {ref!r}{hint}. {valid_videos_hint(ready)}"


def valid_videos_hint(rows: list[Row], limit: int = MAX_LISTED) -> str:
    """``"Valid videos: id 1 (talk.mp4), id 3 (demo.mp4)."`` for an error message, so a
    caller (a person or an LLM agent) can retry with a real id or file name."""
    names = [f"id {r['id']} ({os.path.basename(r['path'])})" for r in rows[:limit]]
    more = f" and {len(rows) - limit} more (see list_videos)" if len(rows) > limit else ""
    single = " (the only one)" if len(rows) == 1 else ""
    return f"Valid videos: {', '.join(names)}{more}{single}."
