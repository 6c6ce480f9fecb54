"""The MCP server (official ``mcp`` Python SDK, 2.x ``MCPServer``): ``hourlens mcp``.

Tools: ``search_video_memory``, ``ask_video``, ``get_video_transcript``, ``list_videos``
and ``memory_<name>`` for every typed memory tool of :data:`hourlens.tools.memory.TOOLS`
(generated from the registry: the same as :func:`hourlens.integrations.as_langchain_tools`);
resources: one
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
    MEMORY_PREFIX,
    SEARCH_DESCRIPTION,
    TRANSCRIPT_DESCRIPTION,
    VIDEO_HELP,
    VIDEO_REQUIRED_HELP,
    memory_description,
    run_memory_tool,
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
answers that cite time ranges, get_video_transcript to read what is said. The memory_*
tools are the typed retrieval the answers rest on (what is at a time, where a phrase is
said, where something is shown, a range, counts, the overview)."""


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

        async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
            """An unknown tool names the tools; a memory tool's arguments are checked
            against its registry schema first (unknown ones refused, one line)."""
            if self._tool_manager.get_tool(name) is None:
                known = ", ".join(t.name for t in self._tool_manager.list_tools())
                raise tool_error(f"unknown tool {name!r}; available tools: {known}")
            if name.startswith(MEMORY_PREFIX):
                _check_memory_args(name[len(MEMORY_PREFIX) :], arguments, tool_error)
            return await super().call_tool(name, arguments, context)

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
    from ..tools.memory import TOOLS
    from ..tools.schema import tool_spec

    for tool_name in TOOLS:
        fn = _memory_tool_fn(library, tool_name)
        server.add_tool(
            user_errors(fn), name=fn.__name__, description=memory_description(tool_spec(tool_name))
        )
        # call_tool refuses unknown arguments (a typo is not silently dropped): say so
        server._tool_manager.get_tool(fn.__name__).parameters["additionalProperties"] = False

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


def _check_memory_args(name: str, arguments: dict[str, Any], tool_error: Any) -> None:
    """Raise ``tool_error`` (one line) when ``arguments`` do not fit memory tool ``name``."""
    from pydantic import ValidationError

    from ..tools.schema import args_model, argument_error

    try:
        args_model(name).model_validate(arguments)
    except ValidationError as exc:
        raise tool_error(str(argument_error(name, exc))) from exc


def _memory_tool_fn(library: "Library", name: str) -> Any:
    """A function with memory tool ``name``'s arguments as its signature (the SDK builds
    the input schema and validates calls from it) that runs it through the library."""
    from ..tools.schema import tool_args

    def run(**kwargs: Any) -> dict[str, Any]:
        return run_memory_tool(library, name, kwargs)

    params = [
        inspect.Parameter(
            a.name,
            inspect.Parameter.KEYWORD_ONLY,
            default=inspect.Parameter.empty if a.required else a.default,
            annotation=a.annotated(),
        )
        for a in tool_args(name)
    ]
    run.__name__ = MEMORY_PREFIX + name
    run.__signature__ = inspect.Signature(params, return_annotation=dict[str, Any])  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params} | {"return": dict[str, Any]}
    return run


def run_stdio(library: "Library") -> None:
    """Serve ``library`` over stdio until the client disconnects."""
    build_mcp_server(library).run("stdio")
