"""The memory tools as every surface sees them: names, descriptions, argument schemas.

The Library API, the LangChain tools, the MCP server and the REST API expose the tools of
:data:`hourlens.tools.memory.TOOLS` through this module and nothing else, so adding a tool
there adds it everywhere:

* :func:`tool_specs` / :func:`tool_spec`: name, description and a JSON schema of the
  arguments (:class:`ToolSpec`);
* :func:`args_model`: the same arguments as a pydantic model (LangChain ``args_schema``,
  REST request bodies, MCP signatures); the JSON schema *is* this model's schema;
* :func:`bind_args`: a call's arguments checked against it, a mistake reported on one
  line (:class:`~hourlens.errors.ToolArgumentError`).

How a tool's signature becomes its schema (no per-tool code):

* the ``scope`` parameter is dropped (the surface builds the scope), and so are
  :data:`SCOPED_PARAMS` (``video_id``): a ``video`` argument is added instead (an id, path
  or file name; left out, the tool reads every indexed video);
* the type hints give the JSON types (``Literal`` → an enum, ``tuple[float, float]`` → a
  pair, ``X | None`` → optional); ``Annotated[..., Field(...)]`` constraints are kept;
* a description comes from the docstring's ``Args:`` section, else from :data:`ARG_HELP`,
  and the limits of :data:`ARG_LIMITS` apply, both by argument name (shared by every tool
  using that name).
"""

from __future__ import annotations

import copy
import inspect
import re
import typing
from dataclasses import dataclass, field, replace
from functools import cache
from typing import TYPE_CHECKING, Annotated, Any, Union

from ..errors import ToolArgumentError, UnknownToolError

if TYPE_CHECKING:
    from pydantic import BaseModel, ValidationError

    from .memory import MemoryTool

SCOPED_PARAMS = frozenset({"scope", "video_id"})
"""Parameters the surfaces fill from the scope (``video`` picks the video)."""

MAX_TEXT_CHARS = 2000
"""Longest text argument (a phrase, a description, a query)."""
MAX_VIDEO_REF_CHARS = 1024

VIDEO_HELP = (
    'One video: its id (e.g. "2"), file name (e.g. "talk.mp4") or path. Leave it out '
    "to use every indexed video (a library of one video never needs it)."
)

ARG_HELP: dict[str, str] = {
    "time": "Seconds from the start of the video.",
    "start": "From this time (seconds).",
    "end": "Up to this time (seconds).",
    "until": "The end of an imprecise time (seconds), e.g. 3240 for 'minute 53' at 3180.",
    "window": "Only look inside this time range: [start, end] in seconds.",
    "modality": "Which memory: speech (what is said), ocr (text on screen), visual (what is "
    "shown: tags, captions, frames) or any.",
    "phrase": "The words to find (matched exactly and approximately).",
    "description": "What to look for, in plain words (e.g. 'a red motorcycle').",
    "query": "What to look for, in plain words.",
    "target": "The word, phrase or thing to count.",
    "direction": "Read before or after the span.",
    "length": "How many seconds before or after the span to read.",
    "half_window": "Memories within this many seconds of the time count.",
    "min_score": "Matches scoring below this (0-1) are not counted.",
    "chapters": "How many chapters to return per video.",
    "k": "How many items to return at most.",
}
"""Descriptions of argument names (a tool's docstring ``Args:`` entry wins)."""

ARG_LIMITS: dict[str, dict[str, float]] = {
    "time": {"ge": 0},
    "start": {"ge": 0},
    "end": {"ge": 0},
    "until": {"ge": 0},
    "half_window": {"ge": 0},
    "length": {"ge": 0},
    "min_score": {"ge": 0, "le": 1},
    "chapters": {"ge": 0, "le": 100},
    "k": {"ge": 1, "le": 100},
}
"""Bounds of argument names: what a caller may ask for (``k`` caps the work of a call)."""

REQUIRED: Any = inspect.Parameter.empty


@dataclass(frozen=True)
class ToolArg:
    """One argument of a memory tool as the surfaces expose it.

    Attributes:
        name: The keyword.
        annotation: Its type (from the type hints).
        default: Its default, or :data:`REQUIRED`.
        description: One line for a person or an LLM.
        limits: Pydantic ``Field`` bounds (``ge``, ``le``, ``min_length``...).
    """

    name: str
    annotation: Any
    default: Any = REQUIRED
    description: str = ""
    limits: dict[str, Any] = field(default_factory=dict)

    @property
    def required(self) -> bool:
        """Whether a call must give it."""
        return self.default is REQUIRED

    def annotated(self, *, strict: bool = False) -> Any:
        """The type with its description and limits (``Annotated[T, Field(...)]``)."""
        from pydantic import Field

        return Annotated[
            _typed(self.annotation, strict), Field(description=self.description, **self.limits)
        ]


@dataclass(frozen=True)
class ToolSpec:
    """A memory tool: what :meth:`hourlens.Library.memory_tools` lists.

    Attributes:
        name: The registry name (``lookup_at``...).
        description: One line (the registry's).
        details: The tool's docstring, plain text, without its ``Args:`` section.
        parameters: JSON schema of the arguments (``video`` included).
    """

    name: str
    description: str
    details: str
    parameters: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """``{name, description, details, parameters}``."""
        return {
            "name": self.name,
            "description": self.description,
            "details": self.details,
            "parameters": self.parameters,
        }


def _tools() -> dict[str, MemoryTool]:
    from .memory import TOOLS

    return TOOLS


def _typed(annotation: Any, strict: bool) -> Any:
    """``annotation`` with finite floats, and strict JSON scalars when ``strict`` (REST:
    no string where a number is due, no float where an integer is due)."""
    from pydantic import AllowInfNan, Strict

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Annotated:
        return Annotated[(_typed(args[0], strict), *annotation.__metadata__)]
    if origin is Union or type(annotation).__name__ == "UnionType":
        return Union[tuple(_typed(a, strict) for a in args)]  # noqa: UP007 - built at runtime
    if origin is tuple:
        return tuple[tuple(_typed(a, strict) for a in args)]  # type: ignore[misc]
    if annotation is float:
        return Annotated[(float, AllowInfNan(False), *((Strict(),) if strict else ()))]
    if annotation in (int, str, bool) and strict:
        return Annotated[annotation, Strict()]
    return annotation


def _integral(value: Any) -> Any:
    """JSON Schema's integer: 14.0 is 14 (a strict int field would refuse it)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


_SECTION = re.compile(r"^(Args|Arguments|Returns|Raises|Yields|Example|Examples|Note):\s*$")


def _doc_parts(fn: Any) -> tuple[str, dict[str, str]]:
    """A docstring's text without its sections, and its ``Args:`` descriptions."""
    text: list[str] = []
    args: dict[str, str] = {}
    section, current, indent = "", "", -1
    for line in (inspect.getdoc(fn) or "").splitlines():
        m = _SECTION.match(line)
        if m:
            section, current, indent = m.group(1), "", -1
            continue
        if not section:
            text.append(line)
            continue
        if section not in ("Args", "Arguments") or not line.strip():
            continue
        depth = len(line) - len(line.lstrip())
        entry = re.match(r"^\s*(\w+)(?: \(.*?\))?:\s*(.*)$", line)
        if entry and (indent < 0 or depth <= indent):
            indent, current = depth, entry.group(1)
            args[current] = entry.group(2).strip()
        elif current:
            args[current] = f"{args[current]} {line.strip()}"
    return _plain("\n".join(text)).strip(), {k: _plain(v) for k, v in args.items()}


def _plain(text: str) -> str:
    """reST markup out: ``x`` → x, :func:`~a.b` → b."""
    text = re.sub(r":\w+:`~?(?:[\w.]+\.)?([\w]+)`", r"\1", text)
    return text.replace("``", "")


@cache
def _tool_args(tool: MemoryTool) -> tuple[ToolArg, ...]:
    name = tool.name
    hints = typing.get_type_hints(tool.fn, include_extras=True)
    _, doc_args = _doc_parts(tool.fn)
    out: list[ToolArg] = []
    for p in inspect.signature(tool.fn).parameters.values():
        if p.name in SCOPED_PARAMS or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.name == "video":
            raise TypeError(f"memory tool {name}: 'video' is the surfaces' argument")
        annotation = hints.get(p.name, Any)
        limits: dict[str, Any] = dict(ARG_LIMITS.get(p.name, {}))
        if _base(annotation) is str:
            limits.setdefault("max_length", MAX_TEXT_CHARS)
            if p.default is REQUIRED:
                limits.setdefault("min_length", 1)
        desc = doc_args.get(p.name) or ARG_HELP.get(p.name, "")
        out.append(ToolArg(p.name, annotation, p.default, desc, limits))
    return tuple(out)


def _base(annotation: Any) -> Any:
    """``X`` of ``X``, ``X | None`` or ``Annotated[X, ...]``."""
    if typing.get_origin(annotation) is Annotated:
        return _base(typing.get_args(annotation)[0])
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if len(args) == 1 and (
        typing.get_origin(annotation) is Union or type(annotation).__name__ == "UnionType"
    ):
        return _base(args[0])
    return annotation


VIDEO_ARG = ToolArg(
    "video",
    str | None,
    None,
    VIDEO_HELP,
    {"min_length": 1, "max_length": MAX_VIDEO_REF_CHARS},
)
"""The argument every surface adds: which video the tool reads."""


def tool_registry_entry(name: str) -> MemoryTool:
    """The registered tool ``name``.

    Raises:
        UnknownToolError: No such tool (the message lists the tools).
    """
    tools = _tools()
    tool = tools.get(name) if isinstance(name, str) else None
    if tool is None:
        raise UnknownToolError(f"no memory tool {name!r}; available tools: {', '.join(tools)}")
    return tool


def tool_args(name: str, *, with_video: bool = True) -> tuple[ToolArg, ...]:
    """The arguments of tool ``name`` as the surfaces expose them (``video`` last)."""
    args = _tool_args(tool_registry_entry(name))
    return (*args, VIDEO_ARG) if with_video else args


def args_model(name: str, *, strict: bool = False, with_video: bool = True) -> type[BaseModel]:
    """The arguments of tool ``name`` as a pydantic model (unknown fields rejected).

    Args:
        name: A registry name.
        strict: JSON types exactly (REST): no ``"12"`` for a number, no ``1.5`` for an int.
        with_video: Include the ``video`` argument.

    Raises:
        UnknownToolError: No such tool.
    """
    return _args_model(tool_registry_entry(name), strict, with_video)


@cache
def _args_model(tool: MemoryTool, strict: bool, with_video: bool) -> type[BaseModel]:
    from pydantic import ConfigDict, create_model, field_validator

    name = tool.name
    args = (*_tool_args(tool), VIDEO_ARG) if with_video else _tool_args(tool)
    fields: dict[str, Any] = {
        a.name: (a.annotated(strict=strict), ... if a.required else a.default) for a in args
    }
    ints = [a.name for a in args if _base(a.annotation) is int]
    validators = (
        {"integral_floats": field_validator(*ints, mode="before")(_integral)} if ints else {}
    )
    title = "".join(w.capitalize() for w in name.split("_")) + "Args"
    config = ConfigDict(extra="forbid", title=title)
    return create_model(title, __config__=config, __validators__=validators, **fields)


def _untitled(schema: Any) -> Any:
    """A JSON schema without pydantic's generated ``title`` keywords."""
    if isinstance(schema, list):
        return [_untitled(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    return {
        k: ({n: _untitled(s) for n, s in v.items()} if k == "properties" else _untitled(v))
        for k, v in schema.items()
        if k != "title"
    }


@cache
def _spec(tool: MemoryTool) -> ToolSpec:
    name = tool.name
    details, _ = _doc_parts(tool.fn)
    schema = _untitled(_args_model(tool, False, True).model_json_schema())
    details = " ".join(details.split())
    return ToolSpec(name=name, description=tool.description, details=details, parameters=schema)


def tool_spec(name: str) -> ToolSpec:
    """The :class:`ToolSpec` of tool ``name``.

    Raises:
        UnknownToolError: No such tool (the message lists the tools).
    """
    spec = _spec(tool_registry_entry(name))
    return replace(spec, parameters=copy.deepcopy(spec.parameters))


def tool_specs() -> list[ToolSpec]:
    """Every registered memory tool, in registry order."""
    return [tool_spec(n) for n in _tools()]


def argument_error(name: str, exc: ValidationError) -> ToolArgumentError:
    """A pydantic validation error of tool ``name``'s arguments, as one line."""
    names = [a.name for a in tool_args(name)]
    parts: list[str] = []
    listing = False
    for err in exc.errors(include_url=False)[:3]:
        loc = ".".join(str(x) for x in err.get("loc", ()))
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            parts.append(f"unknown argument {loc!r}")
            listing = True
        elif kind == "missing":
            parts.append(f"missing argument {loc!r}")
            listing = True
        else:
            got = repr(err.get("input"))
            got = got if len(got) <= 40 else got[:37] + "..."
            parts.append(f"{loc}: {err.get('msg', 'invalid')} (got {got})")
    line = f"{name}: " + "; ".join(parts or ["invalid arguments"])
    if listing:
        line += f" (arguments: {', '.join(names)})"
    return ToolArgumentError(line)


def bind_args(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """``args`` (without ``video``) checked against tool ``name``'s signature.

    Returns:
        The keyword arguments to call the tool with (only those given; values converted:
        a list becomes a tuple, an int a float where the type says so).

    Raises:
        UnknownToolError: No such tool.
        ToolArgumentError: An unknown, missing or ill-typed argument (one line).
    """
    from pydantic import ValidationError

    model = args_model(name, with_video=False)
    try:
        parsed = model.model_validate(args)
    except ValidationError as exc:
        raise argument_error(name, exc) from None
    return {k: getattr(parsed, k) for k in args}
