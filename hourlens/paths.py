"""Path helpers used by every layer: ``~`` expansion that never raises, file kinds, and
paths made safe to print on one line."""

from __future__ import annotations

import os
import stat
from pathlib import Path

_CONTROL = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F]}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


def expand_user(path: str | os.PathLike[str]) -> Path:
    """``path`` with a leading ``~`` or ``~user`` expanded, as a :class:`Path`.

    Unlike :meth:`pathlib.Path.expanduser`, an unknown user (``~nosuchuser/x.mp4``) or a
    missing home directory is not an error: the path is kept as written, as a shell
    does, and later fails as a path that does not exist.
    """
    return Path(os.path.expanduser(os.fspath(path)))


def resolve_path(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute with ``~`` expanded and symlinks resolved, never raising:
    a symlink loop stays the loop's path (:meth:`pathlib.Path.resolve` raises
    ``RuntimeError`` there) and a path with a NUL byte is only made absolute."""
    p = os.path.expanduser(os.fspath(path))
    try:
        return Path(os.path.realpath(p))
    except (ValueError, OSError):
        return Path(os.path.abspath(p))


def file_kind(mode: int) -> str:
    """A short description of the kind of file ``mode`` (an ``st_mode``) describes."""
    for test, name in (
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def printable(text: object) -> str:
    """``text`` on one line: newlines, tabs and other control characters escaped
    (``\\n``, ``\\t``, ``\\x1b``), so a file name cannot break a line of output.

    Bytes that are not UTF-8 (kept by Python as lone surrogates in file names) are shown
    as ``\\xNN`` too, so printing never fails with a ``UnicodeEncodeError``.
    """
    out = str(text).translate(_CONTROL)
    try:
        out.encode("utf-8")
    except UnicodeEncodeError:
        try:
            out = out.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        except UnicodeEncodeError:  # a surrogate that is no escaped byte
            out = out.encode("utf-8", "backslashreplace").decode("utf-8")
    return out
