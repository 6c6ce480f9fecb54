"""``hourlens serve`` (REST API) and ``hourlens mcp`` (MCP server over stdio).

Wire into the main group with :func:`register`. As with ``ask``, embedding applications
and tests may put a ready ``"llm"`` and ``"agent_models"`` into the click context object.
"""

from __future__ import annotations

from typing import Any

import click


def _open_library(ctx: click.Context, llm: str | None) -> Any:
    from ..agent import AgentConfig
    from ..config import from_env
    from ..library import Library

    obj = ctx.obj or {}
    lib = Library(
        obj.get("path"),
        agent_config=from_env(AgentConfig, llm=llm),
        llm=obj.get("llm"),
        models=obj.get("agent_models"),
    )
    ctx.call_on_close(lib.close)
    return lib


_llm_option = click.option(
    "--llm",
    default=None,
    help="LLM that answers questions [default: auto = packaged offline model; none = no LLM; "
    "env HOURLENS_LLM].",
)


@click.command("serve")
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Interface to bind. A non-loopback host needs HOURLENS_API_TOKEN.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option(
    "--index-root",
    "index_roots",
    multiple=True,
    type=click.Path(exists=True, file_okay=False),
    help="Folder POST /index may index under (repeatable) [env HOURLENS_INDEX_ROOTS, "
    "os.pathsep-separated]. Without roots, POST /index is refused.",
)
@_llm_option
@click.option(
    "--log-level",
    type=click.Choice(["critical", "error", "warning", "info", "debug"]),
    default="info",
    show_default=True,
    help="uvicorn log level.",
)
@click.pass_context
def serve_cmd(
    ctx: click.Context,
    host: str,
    port: int,
    index_roots: tuple[str, ...],
    llm: str | None,
    log_level: str,
) -> None:
    """Serve the library over HTTP (FastAPI; OpenAPI docs at /docs).

    \b
    GET  /videos                          GET /videos/{id}  (segments, chapters)
    GET  /videos/{id}/transcript          GET /videos/{id}/keyframes/{n}.jpg
    GET  /search?q=...&k=10&video=...     POST /ask  {"question", "video"?, "history"?}
    POST /index {"paths": [...]}          GET /jobs/{id}  (indexing progress)

    Binds to 127.0.0.1 unless told otherwise; any other interface is refused unless
    HOURLENS_API_TOKEN is set, and then every request needs
    'Authorization: Bearer <token>'.
    """
    from ..integrations.jobs import roots_from_env
    from ..integrations.rest import serve
    from ..integrations.rest_guard import check_bind, token_from_env

    token = token_from_env()
    check_bind(host, token)
    roots = list(index_roots) or [str(p) for p in roots_from_env()]
    lib = _open_library(ctx, llm)
    where = f"http://{host}:{port}"
    click.echo(
        f"hourlens API for {lib.path} on {where} (docs: {where}/docs); "
        f"auth {'on' if token else 'off'}; index roots: {', '.join(roots) or 'none'}",
        err=True,
    )
    serve(lib, host=host, port=port, token=token, index_roots=roots, log_level=log_level)


@click.command("mcp")
@_llm_option
@click.pass_context
def mcp_cmd(ctx: click.Context, llm: str | None) -> None:
    """Run an MCP server over stdio (for Claude Desktop, IDEs and other MCP clients).

    \b
    Tools: search_video_memory, ask_video, get_video_transcript, list_videos.
    Resources: hourlens://videos/{id}, one per indexed video.
    Client config: {"command": "hourlens", "args": ["--library", "DIR", "mcp"]}
    """
    from ..integrations.mcp_server import run_stdio

    run_stdio(_open_library(ctx, llm))


def register(group: click.Group) -> None:
    """Add the ``serve`` and ``mcp`` commands to the ``hourlens`` group."""
    group.add_command(serve_cmd)
    group.add_command(mcp_cmd)
