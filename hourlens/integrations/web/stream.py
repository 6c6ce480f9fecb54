"""Serving a library video's source file with HTTP Range requests (RFC 9110 §14).

Only the files of indexed videos are served, looked up by id (or unique file name) in the
library: no path from the request ever reaches the file system.

- no ``Range`` header (or a unit other than ``bytes``, or several ranges): 200, the whole
  file;
- one satisfiable range (``bytes=a-b``, ``bytes=a-``, ``bytes=-n``): 206 with
  ``Content-Range: bytes a-b/size``;
- a malformed or unsatisfiable byte range: 416 with ``Content-Range: bytes */size``.
"""

from __future__ import annotations

import mimetypes
import os
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import NotIndexedError

if TYPE_CHECKING:
    from ...library import Library

CHUNK_BYTES = 256 * 1024
_RANGE = re.compile(r"^\s*(\d*)\s*-\s*(\d*)\s*$")
VIDEO_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webm": "video/webm",
    ".mkv": "video/x-matroska",
    ".avi": "video/x-msvideo",
    ".ogv": "video/ogg",
    ".ts": "video/mp2t",
}


class RangeNotSatisfiable(Exception):
    """The request's byte range is malformed or lies outside the file."""


@dataclass(frozen=True)
class ByteRange:
    """Inclusive byte positions ``first``..``last`` of a file of ``size`` bytes."""

    first: int
    last: int
    size: int

    @property
    def length(self) -> int:
        """Number of bytes in the range."""
        return self.last - self.first + 1

    def content_range(self) -> str:
        """The ``Content-Range`` header value."""
        return f"bytes {self.first}-{self.last}/{self.size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range a ``Range`` header asks for.

    Args:
        header: The ``Range`` header value (None: absent).
        size: File size in bytes.

    Returns:
        The range, or None when the whole file should be sent (no header, another unit,
        or several ranges, which a server may answer with the full representation).

    Raises:
        RangeNotSatisfiable: A malformed byte range, or one starting past the end.
    """
    if header is None or not header.strip():
        return None
    unit, sep, spec = header.strip().partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    if "," in spec:
        return None
    m = _RANGE.match(spec)
    if m is None or (not m.group(1) and not m.group(2)):
        raise RangeNotSatisfiable(f"malformed range {header!r}")
    a, b = m.group(1), m.group(2)
    if not a:  # suffix: the last n bytes
        n = int(b)
        if n == 0 or size == 0:
            raise RangeNotSatisfiable(f"empty suffix range {header!r}")
        return ByteRange(max(size - n, 0), size - 1, size)
    first = int(a)
    last = int(b) if b else size - 1
    if last < first:
        raise RangeNotSatisfiable(f"range ends before it starts: {header!r}")
    if first >= size:
        raise RangeNotSatisfiable(f"range starts past the end of the {size}-byte file")
    return ByteRange(first, min(last, size - 1), size)


def video_file(library: Library, ref: str) -> tuple[str, str]:
    """The real path and media type of an indexed video's source file.

    Raises:
        NotIndexedError: Unknown or unfinished video, or its source file is gone.
    """
    v = library.video(ref)
    if v.status != "indexed":
        raise NotIndexedError(f"video {v.id} is not indexed (status: {v.status})")
    real = os.path.realpath(v.path)
    if not os.path.isfile(real):
        raise NotIndexedError(
            f"the source file of video {v.id} is gone ({v.path}); its keyframes remain"
        )
    suffix = os.path.splitext(v.path)[1].lower()
    media = VIDEO_TYPES.get(suffix) or mimetypes.guess_type(v.path)[0] or ""
    return real, media if media.startswith("video/") else "application/octet-stream"


async def _read(path: str, first: int, length: int) -> AsyncIterator[bytes]:
    import anyio

    async with await anyio.open_file(path, "rb") as fh:
        await fh.seek(first)
        left = length
        while left > 0:
            chunk = await fh.read(min(CHUNK_BYTES, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


def stream_response(path: str, media_type: str, range_header: str | None) -> Any:
    """A 200 or 206 streaming response for ``path`` (``Accept-Ranges: bytes``).

    Raises:
        RangeNotSatisfiable: See :func:`parse_range`.
    """
    from starlette.responses import StreamingResponse

    st = os.stat(path)
    size = st.st_size
    rng = parse_range(range_header, size)
    headers = {
        "Accept-Ranges": "bytes",
        "Cache-Control": "no-cache",
        "Last-Modified": _http_date(st.st_mtime),
        "X-Content-Type-Options": "nosniff",
    }
    if rng is None:
        headers["Content-Length"] = str(size)
        return StreamingResponse(_read(path, 0, size), media_type=media_type, headers=headers)
    headers["Content-Length"] = str(rng.length)
    headers["Content-Range"] = rng.content_range()
    return StreamingResponse(
        _read(path, rng.first, rng.length), status_code=206, media_type=media_type, headers=headers
    )


def _http_date(ts: float) -> str:
    from email.utils import formatdate

    return formatdate(ts, usegmt=True)
