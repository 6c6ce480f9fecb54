"""Request and error models of the REST API, and the error responses each route declares.

The OpenAPI description is meant to say exactly what the server enforces: every status
an operation can answer is listed with its body (``{"error": {"code", "message"}}`` for
errors), and request bodies reject what the handlers would refuse (unknown fields,
empty strings, malformed citations).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from .payloads import MAX_HISTORY_TURNS

MAX_QUERY_CHARS = 500
MAX_QUESTION_CHARS = 2000
MAX_REF_CHARS = 1024
MAX_INDEX_PATHS = 64
KEYFRAME_PATTERN = r"^[0-9]+\.jpg$"
"""Keyframe file names: ASCII digits and ``.jpg``, nothing else (no other digits, no
trailing newline)."""


NOT_BLANK = r"[^\s\x1c-\x1f]"
"""Holds a character that is not white space (also for Python's ``str.strip``, which
strips ``\x1c``-``\x1f`` as well)."""


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: str = Field(description="Machine-readable kind: not_found, invalid_request, ...")
    message: str = Field(description="One line for a person.")


class ErrorResponse(BaseModel):
    """The body of every error response."""

    error: ErrorDetail


_DESCRIPTIONS = {
    400: "Bad request (a body that is not JSON, or a value the handler refuses, e.g. end "
    "before start)",
    401: "Missing or wrong bearer token (when the server requires one)",
    403: "Path outside the configured index roots, or indexing disabled",
    404: "Unknown video, keyframe, job or memory tool",
    413: "Request body too large",
    414: "Query string too long",
    422: "Invalid request (fails the parameter or body schema)",
}
COMMON_ERRORS = (401, 414, 422)
"""Every operation can answer these (the guard runs before any route)."""


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` entries for ``codes`` plus :data:`COMMON_ERRORS`."""
    return {
        c: {"model": ErrorResponse, "description": _DESCRIPTIONS[c]}
        for c in sorted({*COMMON_ERRORS, *codes})
    }


class _Strict(BaseModel):
    # JSON types as the schema says them: no bool or string where a number is due.
    # Unknown fields are ignored (the schema allows them), so a client may send back a
    # whole answer from POST /ask as a history turn.
    model_config = ConfigDict(strict=True)


class HistoryCitation(_Strict):
    """A time range an earlier answer cited."""

    video: str = Field(max_length=MAX_REF_CHARS)
    start: float
    end: float
    kind: Literal["visual", "speech", "ocr", "caption"] = "visual"


class HistoryTurn(_Strict):
    """An earlier question and its answer (as returned by ``POST /ask``); either may be
    empty."""

    question: str = Field(max_length=MAX_QUESTION_CHARS)
    answer: str = Field(max_length=8000)
    citations: list[HistoryCitation] = Field(default_factory=list, max_length=16)


class AskRequest(_Strict):
    """A question about one video (``video``) or the whole library."""

    question: str = Field(
        min_length=1,
        max_length=MAX_QUESTION_CHARS,
        pattern=NOT_BLANK,
        examples=["What is said at about 01:27?"],
        description="The question (not only spaces).",
    )
    video: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_REF_CHARS,
        description="Id, file name or path; omit for all videos.",
    )
    history: list[HistoryTurn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_TURNS,
        description="Earlier turns, for follow-ups.",
    )


class IndexRequest(_Strict):
    """Files or folders to index; each must be absolute and lie under an index root."""

    paths: list[Annotated[str, Field(min_length=1, max_length=MAX_REF_CHARS)]] = Field(
        min_length=1, max_length=MAX_INDEX_PATHS
    )
    force: bool = Field(default=False, description="Re-index unchanged files too.")


class ToolInfo(BaseModel):
    """A memory tool: what ``POST /tools/{name}`` takes."""

    name: str = Field(description="The tool's name (its path: /tools/{name}).")
    description: str
    details: str = Field(description="What it reads and how it matches, plain text.")
    parameters: dict[str, Any] = Field(description="JSON schema of the request body.")


class ToolItem(BaseModel):
    """One piece of evidence a memory tool found."""

    video: str = Field(description="The video's path.")
    start: float = Field(description="Seconds.")
    end: float = Field(description="Seconds.")
    kind: str = Field(description="speech, ocr, visual, tag, caption, segment, chapter, summary...")
    text: str
    score: float


class ToolResultBody(BaseModel):
    """What a memory tool found (``ToolResult.to_dict()``)."""

    tool: str
    detail: str = Field(description="One line: what was read.")
    count: int | None = Field(description="For count: the number of occurrences; else null.")
    items: list[ToolItem] = Field(description="Best first (read_range, neighbours: time order).")
