"""The REST routes of the typed memory tools, generated from the registry.

``GET /tools`` lists every tool of :data:`hourlens.tools.memory.TOOLS` with the JSON schema
of its arguments; ``POST /tools/{name}`` runs one, its body the arguments (plus an optional
``video``), its answer the tool's :class:`~hourlens.tools.memory.ToolResult` JSON. Each tool
gets its own operation with its own body schema (:func:`hourlens.tools.schema.args_model`,
strict JSON types), so the OpenAPI description says exactly what each accepts. A body
that fails the schema is a 422 like every other endpoint; a value the tool refuses (a
range that ends before it starts) a 400; an unknown video or tool a 404.
"""

# No ``from __future__ import annotations``: FastAPI reads each route's body model from
# its signature, and the models are local names.
from typing import TYPE_CHECKING, Any

from ..errors import UnknownToolError
from .rest_models import ToolInfo, ToolResultBody, error_responses

if TYPE_CHECKING:
    from ..library import Library


def install_tool_routes(app: Any, library: "Library") -> None:
    """Add ``GET /tools`` and one ``POST /tools/{name}`` per memory tool to ``app``."""
    from fastapi import Path

    from ..tools.schema import tool_specs

    specs = tool_specs()

    @app.get(
        "/tools",
        summary="The memory tools and the JSON schema of their arguments",
        responses=error_responses(),
    )
    def list_tools() -> list[ToolInfo]:
        """Every typed memory tool (the retrieval the answers rest on), in registry order:
        ``{name, description, details, parameters}``."""
        return [ToolInfo(**s.to_dict()) for s in specs]

    for spec in specs:
        _tool_route(app, library, spec)

    @app.post("/tools/{name}", include_in_schema=False)
    def unknown_tool(name: str = Path(...)) -> None:
        known = ", ".join(s.name for s in specs)
        raise UnknownToolError(f"no memory tool {name!r}; available tools: {known}")


def _tool_route(app: Any, library: "Library", spec: Any) -> None:
    """``POST /tools/<spec.name>``: the body validated by the tool's strict model."""
    from fastapi import Body

    from ..tools.schema import args_model, tool_args

    model = args_model(spec.name, strict=True)
    required = any(a.required for a in tool_args(spec.name))
    body_default = Body(...) if required else Body(None)

    def run_tool(body: model = body_default) -> ToolResultBody:  # type: ignore[valid-type]
        args: dict[str, Any] = body.model_dump(exclude_unset=True) if body is not None else {}
        video = args.pop("video", None)
        return ToolResultBody(**library.memory_tool(spec.name, video=video, **args).to_dict())

    app.add_api_route(
        f"/tools/{spec.name}",
        run_tool,
        methods=["POST"],
        name=f"tool_{spec.name}",
        summary=spec.description,
        description=f"{spec.details}\n\nThe body: the tool's arguments (see GET /tools), "
        "plus an optional `video` (id, file name or path; omit for every video).",
        responses=error_responses(400, 404, 413),
    )
