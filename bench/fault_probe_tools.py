"""Fault probe of the agent tool surfaces: MCP tool errors and resources, and the
LangChain tools' errors and schemas."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from pathlib import Path
from typing import Any

from fault_probe_common import HUGE, Tally


async def _mcp(lib_dir: Path) -> dict[str, Any]:
    from agent_fixtures import toy_models
    from mcp import Client

    from hourlens import Library
    from hourlens.integrations.mcp_server import build_mcp_server

    calls = {
        "unknown video": ("get_video_transcript", {"video": "nope.mp4"}),
        "placeholder video": ("search_video_memory", {"query": "cat", "video": "video_id"}),
        "~nosuchuser": ("ask_video", {"question": "What?", "video": "~nosuchuser"}),
        "empty query": ("search_video_memory", {"query": ""}),
        "blank query": ("search_video_memory", {"query": "   "}),
        "k = 0": ("search_video_memory", {"query": "cat", "k": 0}),
        "k = 10**9": ("search_video_memory", {"query": "cat", "k": 10**9}),
        "start > end": ("get_video_transcript", {"video": "1", "start": 20, "end": 10}),
    }
    calls.update({f"id {r}": ("get_video_transcript", {"video": r}) for r in HUGE})
    out: dict[str, Any] = {}
    with Library(lib_dir, llm="none", models=toy_models()) as lib:
        async with Client(build_mcp_server(lib)) as client:
            for key, (tool, args) in calls.items():
                out[key] = await client.call_tool(tool, args)
            for r in HUGE:
                try:
                    await client.read_resource(f"hourlens://videos/{r}")
                    out[f"resource {r}"] = "served"
                except Exception as exc:  # noqa: BLE001 - an MCP error is the right answer
                    out[f"resource {r}"] = exc
    return out


def mcp_probe(t: Tally, lib_dir: Path) -> None:
    buf = io.StringIO()
    handler = logging.StreamHandler(buf)
    logging.getLogger().addHandler(handler)
    try:
        out = asyncio.run(asyncio.wait_for(_mcp(lib_dir), timeout=300))
    finally:
        logging.getLogger().removeHandler(handler)
    for key, res in out.items():
        if key.startswith("resource"):
            ok = key.endswith(("١", "１")) and res == "served"
            t.case("MCP errors", key, lambda r=res, o=ok: not o and r != "served" or f"{r}")
            continue

        def judge(r: Any = res, k: str = key) -> bool | str:
            if not r.is_error:
                return "no error"
            text = r.content[0].text
            if (
                text.strip().startswith("Error executing tool")
                and ":" not in text.split("tool", 1)[1]
            ):
                return f"no reason: {text!r}"
            return True

        t.case("MCP errors", key, judge)
    t.case("MCP errors", "no traceback logged", lambda: "Traceback" not in buf.getvalue())


def agent_probe(t: Tally, lib_dir: Path) -> None:
    from agent_fixtures import toy_models

    from hourlens import Library
    from hourlens.integrations import as_langchain_tools

    with Library(lib_dir, llm="none", models=toy_models()) as lib:
        tools = {x.name: x for x in as_langchain_tools(lib)}
        for tool, args in (
            ("search_video_memory", {"query": "rocket", "video": "video_id"}),
            ("ask_video", {"question": "What is said?", "video": "video_id"}),
            ("ask_video", {"question": "What is said?", "video": "1234567890"}),
            ("get_video_transcript", {"video": "video_id"}),
        ):
            text = tools[tool].invoke(args)
            t.case(
                "agent tool errors",
                f"{tool} {args['video']}",
                lambda x=text: (
                    ("lecture.mp4" in x and "second.mp4" in x and " 1" in x)
                    or f"does not name the valid videos: {x[:120]!r}"
                ),
            )
        schema = json.dumps([x.args for x in tools.values()])
        t.case(
            "agent tool errors",
            "schemas free of a 'video_id' placeholder",
            lambda: "video_id" not in schema or "placeholder in schema",
        )
