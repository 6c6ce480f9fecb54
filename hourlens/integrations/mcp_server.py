"""The MCP server (official ``mcp`` Python SDK, 2.x ``MCPServer``): ``hourlens mcp``.

Tools: ``search_video_memory``, ``ask_video``, ``get_video_transcript`` and
``list_videos`` (the same as :func:`hourlens.integrations.as_langchain_tools`); resources: one
``hourlens://videos/{id}`` per indexed video (``hourlens show --json`` plus chapters and
keyframes, as JSON), listed fresh on every ``resources/list``.

Example (Claude Desktop / any MCP client config)::

    {"command": "hourlens", "args": ["--library", "/path/to/library", "mcp"]}
"""

# No ``from __future__ import annotations``: the SDK reads the tools' ``Annotated``
# parameter types from their signatures, and they refer to local names.
import inspect
import json
import os
import re
from typing import TYPE_CHECKING, Annotated, Any

from ..errors import HourlensError, MissingDependencyError
from ..types import READY_STATUSES
from .langchain import (
    ASK_DESCRIPTION,
    LIST_DESCRIPTION,
    SEARCH_DESCRIPTION,
    TRANSCRIPT_DESCRIPTION,
    VIDEO_HELP,
    VIDEO_REQUIRED_HELP,
    tool_error_text,
)
from .payloads import answer_json, hit_json, transcript_json, video_detail, video_summary

if TYPE_CHECKING:
    from ..library import Library

RESOURCE_PREFIX = "hourlens://videos/"
_ID = re.compile(r"[0-9]+")
INSTRUCTIONS = """\
hourlens indexes hour-long videos. Use list_videos (or the hourlens://videos/{id}
resources) to see what is indexed, search_video_memory to locate moments, ask_video for
answers that cite time ranges, get_video_transcript to read what is said."""


def _sdk() -> tuple[Any, Any, Any, Any, Any]:
    try:
        from mcp.server.mcpserver import MCPServer
        from mcp.server.mcpserver.exceptions import ResourceNotFoundError, ToolError
        from mcp.types import Resource
        from pydantic import Field
    except ImportError as exc:
        raise MissingDependencyError("mcp", extra="serve", purpose="the MCP server") from exc
    return MCPServer, ToolError, ResourceNotFoundError, Resource, Field


def build_mcp_server(library: "Library", *, name: str = "hourlens") -> Any:
    """An MCP server exposing ``library``'s tools and one resource per indexed video.

    Args:
        library: An open library (its ``llm``/``models`` answer ``ask_video``).
        name: Server name announced to clients.

    Returns:
        A :class:`mcp.server.mcpserver.MCPServer`; ``.run("stdio")`` serves it.

    Raises:
        MissingDependencyError: The ``mcp`` package is not installed.
    """
    server_cls, tool_error, not_found, resource_cls, field = _sdk()
    from hourlens import __version__

    class HourlensMCP(server_cls):  # type: ignore[misc, valid-type]
        """Lists one resource per indexed video, fresh on every request."""

        async def list_resources(self) -> list[Any]:
            import anyio.to_thread

            videos = await anyio.to_thread.run_sync(library.videos, READY_STATUSES)
            fixed = await super().list_resources()
            return [
                *fixed,
                *(
                    resource_cls(
                        uri=f"{RESOURCE_PREFIX}{v.id}",
                        name=os.path.basename(v.path),
                        title=os.path.basename(v.path),
                        mime_type="application/json",
                        description=f"{v.path} ({v.duration or 0:.0f} s): segments, chapters, tags",
                    )
                    for v in videos
                ),
            ]

    server = HourlensMCP(name, instructions=INSTRUCTIONS, version=__version__, log_level="WARNING")

    def user_errors(fn: Any) -> Any:
        optional_video = "video" in fn.__annotations__ and fn.__name__ != "get_video_transcript"

        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return fn(*args, **kwargs)
            except Exception as exc:  # noqa: BLE001 - every failure is a tool error with its reason
                hint = optional_video and kwargs.get("video") is not None
                raise tool_error(tool_error_text(exc, optional_video=hint)) from None

        run.__name__, run.__doc__ = fn.__name__, fn.__doc__
        run.__annotations__ = fn.__annotations__
        run.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
        return run

    video_arg = Annotated[str | None, field(min_length=1, description=VIDEO_HELP)]

    def search_video_memory(
        query: Annotated[
            str,
            field(min_length=1, max_length=500, description="What to look for, in plain words."),
        ],
        k: Annotated[int, field(ge=1, le=50, description="Number of hits.")] = 5,
        video: video_arg = None,
    ) -> list[dict[str, Any]]:
        return [hit_json(h) for h in library.search(query, k=k, video=video)]

    def ask_video(
        question: Annotated[
            str, field(min_length=1, max_length=2000, description="The question, in plain words.")
        ],
        video: video_arg = None,
    ) -> dict[str, Any]:
        return answer_json(library.ask(question, video=video))

    def get_video_transcript(
        video: Annotated[str, field(min_length=1, description=VIDEO_REQUIRED_HELP)],
        start: Annotated[float | None, field(ge=0, description="From (seconds).")] = None,
        end: Annotated[float | None, field(ge=0, description="Up to (seconds).")] = None,
    ) -> list[dict[str, Any]]:
        return transcript_json(library.transcript(video, start, end))

    def list_videos() -> list[dict[str, Any]]:
        return [video_summary(v) for v in library.videos(READY_STATUSES)]

    for fn, description in (
        (search_video_memory, SEARCH_DESCRIPTION),
        (ask_video, ASK_DESCRIPTION),
        (get_video_transcript, TRANSCRIPT_DESCRIPTION),
        (list_videos, LIST_DESCRIPTION),
    ):
        server.add_tool(user_errors(fn), name=fn.__name__, description=description)

    @server.resource(
        RESOURCE_PREFIX + "{id}",
        name="video",
        description="One indexed video (id from list_videos): segments, chapters, tags, keyframes.",
        mime_type="application/json",
    )
    def read_video(id: str) -> str:  # noqa: A002 - the URI template's name
        if not _ID.fullmatch(id):
            raise not_found(f"no video {id!r}: use a numeric id from list_videos")
        try:
            return json.dumps(video_detail(library, int(id)), ensure_ascii=False)
        except HourlensError as exc:
            raise not_found(str(exc)) from None

    return server


def run_stdio(library: "Library") -> None:
    """Serve ``library`` over stdio until the client disconnects."""
    build_mcp_server(library).run("stdio")
