"""The MCP server: a real MCP client session over stdio (official SDK), plus error paths."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from agent_fixtures import toy_models
from live_server import build_library

pytest.importorskip("mcp")

from mcp import Client, MCPError, StdioServerParameters  # noqa: E402

from hourlens import Library  # noqa: E402
from hourlens.integrations.mcp_server import build_mcp_server  # noqa: E402

HERE = Path(__file__).parent
from hourlens.tools.memory import TOOLS as MEMORY_TOOLS  # noqa: E402

TOOLS = {"search_video_memory", "ask_video", "get_video_transcript", "list_videos"} | {
    f"memory_{n}" for n in MEMORY_TOOLS
}


@pytest.fixture(scope="module")
def lib_dir(tmp_path_factory):
    return build_library(tmp_path_factory.mktemp("mcplib"))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOURLENS_")}
    return {**env, "HOURLENS_LLM": "none"}


def run(coro_fn, *args):
    return asyncio.run(asyncio.wait_for(coro_fn(*args), timeout=60))


def payload(result):
    """The JSON a tool returned (structured content, else the text)."""
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content.get("result", result.structured_content)
    return json.loads(result.content[0].text)


async def _stdio_session(lib_dir: Path) -> dict:
    params = StdioServerParameters(
        command=sys.executable, args=[str(HERE / "mcp_stdio_server.py"), str(lib_dir)], env=_env()
    )
    out: dict = {}
    async with Client(params) as client:
        out["tools"] = (await client.list_tools()).tools
        out["search"] = payload(
            await client.call_tool(
                "search_video_memory", {"query": "cat", "k": 3, "video": "lecture.mp4"}
            )
        )
        out["ask"] = payload(
            await client.call_tool(
                "ask_video", {"question": "What is the lecture about?", "video": "lecture.mp4"}
            )
        )
        out["lookup"] = payload(
            await client.call_tool(
                "ask_video", {"question": "What is said at about 01:27?", "video": "lecture.mp4"}
            )
        )
        out["transcript"] = payload(
            await client.call_tool(
                "get_video_transcript", {"video": "lecture.mp4", "start": 80, "end": 110}
            )
        )
        out["videos"] = payload(await client.call_tool("list_videos", {}))
        out["resources"] = (await client.list_resources()).resources
        first = out["resources"][0].uri
        out["resource"] = json.loads((await client.read_resource(first)).contents[0].text)
    return out


def test_stdio_session_lists_and_calls_tools(lib_dir):
    out = run(_stdio_session, lib_dir)
    tools = {t.name: t for t in out["tools"]}
    assert set(tools) == TOOLS
    for t in tools.values():
        assert t.description and len(t.description) > 40
    props = tools["search_video_memory"].input_schema["properties"]
    assert set(props) == {"query", "k", "video"} and props["query"]["description"]
    assert tools["search_video_memory"].input_schema["required"] == ["query"]

    hits = out["search"]
    assert 0 < len(hits) <= 3 and all(h["video"].endswith("lecture.mp4") for h in hits)
    assert set(hits[0]) == {"video", "start", "end", "score", "kind", "text"}

    assert out["ask"]["answer"] == "Rockets and cats."  # the FakeLLM's answer
    assert set(out["ask"]) == {"answer", "confidence", "citations", "steps"}
    assert out["lookup"]["answer"] == "Please hold while I try that extension."
    assert out["lookup"]["citations"][0]["start"] == 86.0

    assert [ln["text"] for ln in out["transcript"]][0].startswith("Please hold")
    assert len(out["videos"]) == 2

    uris = [str(r.uri) for r in out["resources"]]
    assert uris == ["hourlens://videos/1", "hourlens://videos/2"]
    assert out["resources"][0].name == "lecture.mp4"
    assert len(out["resource"]["segments"]) == 10 and out["resource"]["chapters"]


async def _cli_session(lib_dir: Path) -> tuple[list, list, list]:
    code = (
        "from hourlens.cli import cli; from hourlens.cli.serve import register\n"
        "'mcp' in cli.commands or register(cli)\ncli()"
    )
    params = StdioServerParameters(
        command=sys.executable, args=["-c", code, "--library", str(lib_dir), "mcp"], env=_env()
    )
    async with Client(params) as client:
        names = [t.name for t in (await client.list_tools()).tools]
        lines = payload(await client.call_tool("get_video_transcript", {"video": "2"}))
        resources = (await client.list_resources()).resources
    return names, lines, resources


def test_hourlens_mcp_command_over_stdio(lib_dir):
    names, lines, resources = run(_cli_session, lib_dir)
    assert set(names) == TOOLS
    assert len(lines) == 5 and len(resources) == 2


async def _errors(lib_dir: Path) -> dict:
    out: dict = {}
    with Library(lib_dir, llm="none", models=toy_models()) as lib:
        async with Client(build_mcp_server(lib)) as client:
            out["unknown"] = await client.call_tool("get_video_transcript", {"video": "nope"})
            out["bad_k"] = await client.call_tool("search_video_memory", {"query": "cat", "k": 0})
            out["empty"] = await client.call_tool("ask_video", {"question": " "})
            for uri in ("hourlens://videos/999", "hourlens://videos/..%2F..%2Fetc"):
                try:
                    await client.read_resource(uri)
                    out[uri] = None
                except MCPError as exc:
                    out[uri] = exc
    return out


def test_errors_are_reported_to_the_client(lib_dir):
    out = run(_errors, lib_dir)
    assert out["unknown"].is_error and "nope" in out["unknown"].content[0].text
    assert out["bad_k"].is_error
    assert out["empty"].is_error and "empty" in out["empty"].content[0].text
    assert isinstance(out["hourlens://videos/999"], MCPError)
    assert isinstance(out["hourlens://videos/..%2F..%2Fetc"], MCPError)
