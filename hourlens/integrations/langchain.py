"""hourlens as LangChain / LangGraph tools.

:func:`as_langchain_tools` turns a :class:`~hourlens.Library` into ``BaseTool`` objects
with argument schemas and descriptions written for an LLM. Each tool returns JSON text
(the shapes of :mod:`hourlens.integrations.payloads`); a user error (unknown video, empty query)
comes back as the tool's text result instead of raising, so an agent can correct itself.

Example:
    >>> from hourlens import Library                                   # doctest: +SKIP
    >>> from hourlens.integrations import as_langchain_tools                  # doctest: +SKIP
    >>> tools = as_langchain_tools(Library("~/videos-index"))          # doctest: +SKIP
    >>> from langgraph.prebuilt import ToolNode                        # doctest: +SKIP
    >>> node = ToolNode(tools)                                         # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..errors import HourlensError, MissingDependencyError, NotIndexedError
from ..types import READY_STATUSES
from .payloads import answer_json, hit_json, transcript_json, video_summary

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from ..library import Library

log = logging.getLogger("hourlens.tools")

TOOL_NAMES = ("search_video_memory", "ask_video", "get_video_transcript", "list_videos")
"""The coarse tools (the library's search, ask, transcript and list)."""

MEMORY_PREFIX = "memory_"
"""The surfaces' names of the typed memory tools: ``memory_`` + the registry name
(``memory_lookup_at``...), so they never clash with the coarse tools nor with another
toolkit's ``search`` or ``count`` in the same agent."""

MEMORY_RESULT_HELP = """\
Returns JSON {"tool", "detail", "count" (count only, else null), "items": [{"video",
"start", "end" (seconds), "kind" (speech, ocr, visual, tag, caption, segment, chapter,
summary...), "text", "score"}]}: best first (read_range, neighbours: in time order)."""

VIDEO_HELP = (
    "Optional: leave it out to use every indexed video (a library of one video never "
    'needs it). To pick one video, give its number from list_videos\' "id" (e.g. "2") '
    'or its file name (e.g. "talk.mp4").'
)
VIDEO_REQUIRED_HELP = (
    'The video: its number from list_videos\' "id" (e.g. "2") or its file name (e.g. "talk.mp4").'
)

SEARCH_DESCRIPTION = """\
Find the moments of the indexed videos that match a description ("a red motorcycle",
"rocket on a launch pad") or a spoken/on-screen phrase. Returns a JSON array of hits,
best first: {"video", "start", "end" (seconds), "score", "kind" (visual, tag, speech,
ocr, caption, summary), "text"}. Use it to locate evidence; cite start-end ranges."""

ASK_DESCRIPTION = """\
Ask a question about the indexed videos and get an answer that cites the time ranges it
rests on. Good for "What is said at about 12:34?", "When does the narrator say ...?",
"When is a cat shown?", "Which comes first: A or B?", "How many times is X said?".
Returns JSON {"answer", "confidence" (0-1), "citations": [{"video", "start", "end",
"kind"}], "steps"}."""

TRANSCRIPT_DESCRIPTION = """\
Read what is said in one video, optionally only between start and end (seconds).
Returns a JSON array of lines {"start", "end", "text"} in time order (empty when the
video has no speech)."""

LIST_DESCRIPTION = """\
List the indexed videos: JSON array of {"id", "path", "duration" (seconds), "status"}.
To restrict another tool to one video, pass that video's "id" number or file name as
its "video" argument."""


def _imports() -> tuple[Any, Any, Any, Any]:
    try:
        from langchain_core.tools import StructuredTool, ToolException
        from pydantic import BaseModel, Field
    except ImportError as exc:  # pragma: no cover - langchain-core ships with langgraph
        raise MissingDependencyError("langchain-core", purpose="LangChain tools") from exc
    return StructuredTool, ToolException, BaseModel, Field


def _schemas(base: Any, field: Any) -> dict[str, Any]:
    """Pydantic argument models (built lazily so pydantic stays an optional import)."""

    class SearchArgs(base):
        """Arguments of search_video_memory."""

        query: str = field(
            min_length=1, max_length=500, description="What to look for, in plain words."
        )
        k: int = field(default=5, ge=1, le=50, description="Number of hits to return.")
        video: str | None = field(default=None, description=VIDEO_HELP)

    class AskArgs(base):
        """Arguments of ask_video."""

        question: str = field(
            min_length=1, max_length=2000, description="The question, in plain words."
        )
        video: str | None = field(default=None, description=VIDEO_HELP)

    class TranscriptArgs(base):
        """Arguments of get_video_transcript."""

        video: str = field(min_length=1, description=VIDEO_REQUIRED_HELP)
        start: float | None = field(
            default=None, ge=0, description="From this time (seconds); default start."
        )
        end: float | None = field(
            default=None, ge=0, description="Up to this time (seconds); default end."
        )

    class NoArgs(base):
        """No arguments."""

    return {"search": SearchArgs, "ask": AskArgs, "transcript": TranscriptArgs, "list": NoArgs}


def memory_tool_names() -> list[str]:
    """The surface names of every registered memory tool (``memory_`` + registry name)."""
    from ..tools.memory import TOOLS

    return [MEMORY_PREFIX + n for n in TOOLS]


def memory_description(spec: Any) -> str:
    """What an LLM reads about a memory tool: its line, its docstring and the result shape."""
    return f"{spec.description} {spec.details}\n{MEMORY_RESULT_HELP}"


def run_memory_tool(library: Library, name: str, args: dict[str, Any]) -> dict[str, Any]:
    """``library.memory_tool(name, video=..., **rest)`` as JSON data (``video`` taken out
    of ``args``)."""
    rest = dict(args)
    video = rest.pop("video", None)
    return library.memory_tool(name, video=video, **rest).to_dict()


def tool_error_text(exc: BaseException, *, optional_video: bool = False) -> str:
    """What a tool returns for a failure: the message of a user error (an unknown video
    names the valid ones; with ``optional_video``, a hint to leave ``video`` out is
    added), else a one-line internal error (logged, never a traceback to the caller)."""
    if isinstance(exc, NotIndexedError) and optional_video:
        return f"{exc} Or leave out the video argument to use every video."
    if isinstance(exc, HourlensError | ValueError):
        return str(exc)
    log.warning("tool call failed: %s: %s", type(exc).__name__, exc)
    return f"internal error ({type(exc).__name__}: {exc})"


def _guard(
    fn: Callable[..., Any], tool_exception: type[Exception], *, optional_video: bool = False
) -> Callable[..., str]:
    """Run ``fn``, return its result as JSON text, turn user errors into ToolException."""

    def run(**kwargs: Any) -> str:
        try:
            return json.dumps(fn(**kwargs), ensure_ascii=False)
        except Exception as exc:  # noqa: BLE001 - every failure goes back to the agent
            hint = kwargs.get("video") is not None and optional_video
            raise tool_exception(f"Error: {tool_error_text(exc, optional_video=hint)}") from exc

    run.__name__ = getattr(fn, "__name__", "tool")
    run.__doc__ = fn.__doc__
    return run


def as_langchain_tools(library: Library, *, include: Iterable[str] | None = None) -> list[BaseTool]:
    """LangChain tools over ``library``: search, ask, transcript, list and the memory tools.

    Args:
        library: An open :class:`~hourlens.Library` (its ``llm``/``models`` serve ask).
        include: Tool names to build (default all: :data:`TOOL_NAMES`, then
            :func:`memory_tool_names`).

    Returns:
        ``StructuredTool`` objects named ``search_video_memory``, ``ask_video``,
        ``get_video_transcript``, ``list_videos`` and ``memory_<name>`` for each memory
        tool (``memory_lookup_at``, ``memory_find_phrase``...; argument schemas from
        :func:`hourlens.tools.schema.args_model`, results the ``ToolResult`` JSON). Errors,
        bad arguments included, return as the tool's text (``Error: ...``).

    Raises:
        ValueError: An unknown name in ``include``.
    """
    structured_tool, tool_exception, base, field = _imports()
    memory_names = memory_tool_names()
    known = [*TOOL_NAMES, *memory_names]
    names = list(include) if include is not None else known
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown tool names {unknown}; choose from {known}")
    schemas = _schemas(base, field)

    def search_video_memory(query: str, k: int = 5, video: str | None = None) -> Any:
        return [hit_json(h) for h in library.search(query, k=k, video=video)]

    def ask_video(question: str, video: str | None = None) -> Any:
        return answer_json(library.ask(question, video=video))

    def get_video_transcript(
        video: str, start: float | None = None, end: float | None = None
    ) -> Any:
        return transcript_json(library.transcript(video, start, end))

    def list_videos() -> Any:
        return [video_summary(v) for v in library.videos(READY_STATUSES)]

    specs: dict[str, tuple[Callable[..., Any], str, Any]] = {
        "search_video_memory": (search_video_memory, SEARCH_DESCRIPTION, schemas["search"]),
        "ask_video": (ask_video, ASK_DESCRIPTION, schemas["ask"]),
        "get_video_transcript": (
            get_video_transcript,
            TRANSCRIPT_DESCRIPTION,
            schemas["transcript"],
        ),
        "list_videos": (list_videos, LIST_DESCRIPTION, schemas["list"]),
    }
    tools = []
    for name in names:
        if name in memory_names:
            tool_name = name[len(MEMORY_PREFIX) :]
            tools.append(_memory_tool(library, tool_name, structured_tool, tool_exception))
            continue
        fn, description, schema = specs[name]
        tools.append(
            structured_tool.from_function(
                func=_guard(
                    fn, tool_exception, optional_video=name in ("search_video_memory", "ask_video")
                ),
                name=name,
                description=description,
                args_schema=schema,
                handle_tool_error=True,
            )
        )
    return tools


def _memory_tool(library: Library, name: str, structured_tool: Any, tool_exception: Any) -> Any:
    """The LangChain tool of memory tool ``name`` (generated from the registry)."""
    from ..tools.schema import args_model, argument_error, tool_spec

    spec = tool_spec(name)

    def call(**kwargs: Any) -> Any:
        return run_memory_tool(library, name, kwargs)

    def bad_arguments(exc: Any) -> str:
        return f"Error: {argument_error(name, exc)}"

    call.__name__ = MEMORY_PREFIX + name
    return structured_tool.from_function(
        func=_guard(call, tool_exception, optional_video=True),
        name=MEMORY_PREFIX + name,
        description=memory_description(spec),
        args_schema=args_model(name),
        handle_tool_error=True,
        handle_validation_error=bad_arguments,
    )
