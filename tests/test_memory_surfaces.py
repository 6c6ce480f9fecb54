"""The typed memory tools on every surface: Library API, LangChain, MCP and REST.

Each surface lists every tool of ``TOOLS`` (generated from the registry), a call through
it returns the same items as ``call_tool`` on the same scope, and an unknown tool or a bad
argument is one clean line. Library: two synthetic lectures (``tests/live_server.py``).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from agent_fixtures import toy_models
from live_server import LiveServer, build_library

from hourlens import Library, ToolArgumentError, UnknownToolError
from hourlens.integrations import as_langchain_tools
from hourlens.tools import memory
from hourlens.tools.evidence import Evidence
from hourlens.tools.schema import args_model, bind_args, tool_spec
from hourlens.tools.scope import Scope

#: One call per tool on lecture.mp4 (a tool added to TOOLS needs an entry: see below).
CALLS: dict[str, dict[str, Any]] = {
    "lookup_at": {"time": 87, "modality": "speech"},
    "find_phrase": {"phrase": "coffee is ready", "window": [90, 110]},
    "find_visual": {"description": "a cat"},
    "read_range": {"start": 80, "end": 110, "modality": "speech"},
    "neighbours": {"start": 100, "end": 104, "direction": "before", "length": 20},
    "count": {"target": "rocket"},
    "overview": {"query": "coffee"},
    "search": {"query": "coffee kitchen", "k": 5},
}
VIDEO = "lecture.mp4"


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    with Library(
        build_library(tmp_path_factory.mktemp("surflib")), llm="none", models=toy_models()
    ) as library:
        yield library


@pytest.fixture(scope="module")
def direct(lib):
    """Each tool's items from ``call_tool`` on a scope of lecture.mp4 (the reference)."""
    scope = Scope(store=lib.store, videos=[lib.video(VIDEO)], models=toy_models())
    out = {}
    for name, args in CALLS.items():
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in args.items()}
        out[name] = memory.call_tool(scope, name, **kwargs).to_dict()
    return out


def test_every_registered_tool_has_a_call_here_and_finds_something(direct):
    assert set(CALLS) == set(memory.TOOLS)
    for name, result in direct.items():
        assert result["tool"] == name and result["items"], name
    assert direct["count"]["count"] == 2


# -- schema --------------------------------------------------------------------------------


def test_schemas_come_from_the_signatures():
    spec = tool_spec("lookup_at")
    props, params = spec.parameters["properties"], spec.parameters
    assert list(props) == ["time", "modality", "half_window", "until", "video"]
    assert params["required"] == ["time"] and params["additionalProperties"] is False
    assert props["modality"]["enum"] == ["speech", "ocr", "visual", "any"]
    assert props["modality"]["default"] == "any"
    assert props["time"] == {
        "type": "number",
        "minimum": 0,
        "description": "Seconds from the start.",
    }
    assert props["video"]["default"] is None and props["video"]["anyOf"][0]["type"] == "string"
    window = tool_spec("find_phrase").parameters["properties"]["window"]["anyOf"][0]
    assert window["type"] == "array" and window["minItems"] == window["maxItems"] == 2
    for name, fn in ((n, t.fn) for n, t in memory.TOOLS.items()):
        names = set(tool_spec(name).parameters["properties"])
        assert "scope" not in names and "video_id" not in names and "video" in names, name
        schema = tool_spec(name).parameters
        assert "title" not in schema
        assert not any("title" in p for p in schema["properties"].values())
        assert tool_spec(name).details and fn.__doc__


def test_bind_args_checks_and_converts():
    assert bind_args("find_phrase", {"phrase": "x", "window": [1, 2]}) == {
        "phrase": "x",
        "window": (1.0, 2.0),
    }
    with pytest.raises(ToolArgumentError) as err:
        bind_args("lookup_at", {"tim": 3})
    msg = str(err.value)
    assert "\n" not in msg and "unknown argument 'tim'" in msg and "missing argument 'time'" in msg
    assert "arguments: time, modality, half_window, until, video" in msg
    with pytest.raises(ToolArgumentError, match="modality: Input should be 'speech'"):
        bind_args("lookup_at", {"time": 3, "modality": "smell"})
    with pytest.raises(ToolArgumentError, match="k: Input should be less than or equal to 100"):
        bind_args("search", {"query": "x", "k": 10**9})
    with pytest.raises(UnknownToolError, match="available tools: lookup_at, find_phrase"):
        bind_args("teleport", {})


def test_strict_model_refuses_strings_for_numbers():
    lax, strict = args_model("search"), args_model("search", strict=True)
    assert lax.model_validate({"query": "a", "k": "3"}).k == 3
    assert strict.model_validate({"query": "a", "k": 3.0}).k == 3  # JSON Schema's integer
    for bad in ({"query": "a", "k": "3"}, {"query": "a", "k": True}, {"query": "a", "k": 1.5}):
        with pytest.raises(ValueError):
            strict.model_validate(bad)


# -- Library API ---------------------------------------------------------------------------


def test_library_lists_and_runs_every_tool(lib, direct):
    specs = lib.memory_tools()
    assert [s.name for s in specs] == list(memory.TOOLS)
    assert all(s.description == memory.TOOLS[s.name].description for s in specs)
    for name, args in CALLS.items():
        got = lib.memory_tool(name, video=VIDEO, **args).to_dict()
        assert got == direct[name], name
    assert (
        lib.memory_tool("lookup_at", video=1, time=87, modality="speech").to_dict()
        == (direct["lookup_at"])
    )
    everywhere = lib.memory_tool("find_phrase", phrase="coffee is ready").to_dict()["items"]
    assert {i["video"].rsplit("/", 1)[-1] for i in everywhere} == {"lecture.mp4", "second.mp4"}


def test_library_errors_are_one_line(lib):
    with pytest.raises(UnknownToolError) as err:
        lib.memory_tool("teleport")
    assert str(err.value).endswith(", ".join(memory.TOOLS)) and "\n" not in str(err.value)
    with pytest.raises(ToolArgumentError, match=r"read_range: end \(1.0\) is before start"):
        lib.memory_tool("read_range", video=VIDEO, start=5, end=1)
    with pytest.raises(ToolArgumentError, match="time: Input should be a valid number"):
        lib.memory_tool("lookup_at", video=VIDEO, time="soon")
    with pytest.raises(ToolArgumentError, match="pass video"):
        lib.memory_tool("read_range", start=1, end=5)  # two videos in the library
    from hourlens import NotIndexedError

    with pytest.raises(NotIndexedError, match="Valid videos"):
        lib.memory_tool("overview", video="nope.mp4")


# -- LangChain -----------------------------------------------------------------------------


def test_langchain_offers_every_memory_tool(lib, direct):
    tools = {t.name: t for t in as_langchain_tools(lib)}
    assert {f"memory_{n}" for n in memory.TOOLS} <= set(tools)
    for name, args in CALLS.items():
        t = tools[f"memory_{name}"]
        assert set(t.args) == set(tool_spec(name).parameters["properties"])
        assert tool_spec(name).description in t.description and '"items"' in t.description
        got = json.loads(t.invoke({**args, "video": VIDEO}))
        assert got == direct[name], name
    only = as_langchain_tools(lib, include=["memory_count"])
    assert [t.name for t in only] == ["memory_count"]
    with pytest.raises(ValueError, match="memory_lookup_at"):
        as_langchain_tools(lib, include=["memory_teleport"])


def test_langchain_errors_come_back_as_text(lib):
    tools = {t.name: t for t in as_langchain_tools(lib, include=["memory_lookup_at"])}
    out = tools["memory_lookup_at"].invoke({"tim": 87})
    assert out.startswith("Error: lookup_at: ") and "unknown argument 'tim'" in out
    assert "\n" not in out
    out = tools["memory_lookup_at"].invoke({"time": 87, "video": "nope.mp4"})
    assert out.startswith("Error: ") and "leave out the video" in out


# -- MCP -----------------------------------------------------------------------------------


def _mcp_session(lib: Library) -> dict[str, Any]:
    pytest.importorskip("mcp")
    from mcp import Client

    from hourlens.integrations.mcp_server import build_mcp_server

    async def go() -> dict[str, Any]:
        out: dict[str, Any] = {"calls": {}}
        async with Client(build_mcp_server(lib)) as client:
            out["tools"] = {t.name: t for t in (await client.list_tools()).tools}
            for name, args in CALLS.items():
                out["calls"][name] = await client.call_tool(
                    f"memory_{name}", {**args, "video": VIDEO}
                )
            out["unknown"] = await client.call_tool("memory_teleport", {})
            out["bad"] = await client.call_tool("memory_lookup_at", {"tim": 3})
            out["refused"] = await client.call_tool(
                "memory_read_range", {"start": 5, "end": 1, "video": VIDEO}
            )
        return out

    return asyncio.run(asyncio.wait_for(go(), timeout=60))


def _mcp_payload(result: Any) -> Any:
    assert not result.is_error, result.content
    if result.structured_content is not None:
        return result.structured_content.get("result", result.structured_content)
    return json.loads(result.content[0].text)


def test_mcp_registers_every_memory_tool(lib, direct):
    out = _mcp_session(lib)
    for name in memory.TOOLS:
        t = out["tools"][f"memory_{name}"]
        assert set(t.input_schema["properties"]) == set(tool_spec(name).parameters["properties"])
        assert t.input_schema["additionalProperties"] is False
        assert t.input_schema.get("required", []) == tool_spec(name).parameters.get("required", [])
        assert _mcp_payload(out["calls"][name]) == direct[name], name
    for key, needle in (
        ("unknown", "available tools: search_video_memory"),
        ("bad", "lookup_at: missing argument 'time'; unknown argument 'tim'"),
        ("refused", "read_range: end (1.0) is before start (5.0)"),
    ):
        res = out[key]
        assert res.is_error and needle in res.content[0].text, res.content
        assert "\n" not in res.content[0].text


# -- REST ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def api(lib):
    pytest.importorskip("fastapi")
    import httpx

    from hourlens.integrations.rest import create_app

    with (
        LiveServer(create_app(lib, token="tok")) as srv,
        httpx.Client(
            base_url=srv.url, timeout=20, headers={"Authorization": "Bearer tok"}
        ) as client,
    ):
        yield client


def _error(res: Any, status: int, code: str) -> str:
    assert res.status_code == status, res.text
    err = res.json()["error"]
    assert err["code"] == code and "\n" not in err["message"]
    return str(err["message"])


def test_rest_lists_and_runs_every_tool(api, direct):
    listed = api.get("/tools").json()
    assert [t["name"] for t in listed] == list(memory.TOOLS)
    assert listed[0] == tool_spec(listed[0]["name"]).to_dict()
    paths = api.get("/openapi.json").json()["paths"]
    for name, args in CALLS.items():
        assert "post" in paths[f"/tools/{name}"]
        res = api.post(f"/tools/{name}", json={**args, "video": VIDEO})
        assert res.status_code == 200, res.text
        assert res.json() == direct[name], name
    assert "/tools/{name}" not in paths  # the unknown-tool route is not an operation


def test_rest_errors(api):
    msg = _error(api.post("/tools/teleport", json={}), 404, "unknown_tool")
    assert msg.endswith(", ".join(memory.TOOLS))
    _error(api.post("/tools/lookup_at", json={"time": 3, "video": "nope.mp4"}), 404, "not_indexed")
    assert "tim" in _error(api.post("/tools/lookup_at", json={"tim": 3}), 422, "invalid_request")
    _error(api.post("/tools/lookup_at", json={"time": "3"}), 422, "invalid_request")
    msg = _error(api.post("/tools/read_range", json={"start": 5, "end": 1}), 400, "bad_request")
    assert msg.startswith("read_range: end")
    assert api.post("/tools/overview").status_code == 200  # every argument optional: no body
    res = api.post("/tools/lookup_at", json={"time": 3}, headers={"Authorization": "Bearer x"})
    _error(res, 401, "unauthorized")


# -- one registry --------------------------------------------------------------------------


def _echo(scope: Scope, text: str, *, times: int = 1) -> memory.ToolResult:
    """Repeat ``text`` once per video in scope.

    Args:
        scope: The memory.
        text: What to repeat.
        times: How many times.
    """
    items = [
        Evidence(
            id=f"echo:{v.id}",
            video_id=v.id,
            video=v.path,
            start=0.0,
            end=1.0,
            kind="speech",
            text=text * times,
            score=1.0,
            source="echo",
        )
        for v in scope.videos
    ]
    return memory.ToolResult(tool="echo", evidence=items, detail="echoed")


def test_a_tool_added_to_the_registry_appears_on_every_surface(lib, monkeypatch):
    monkeypatch.setitem(memory.TOOLS, "echo", memory.MemoryTool("echo", _echo, "Repeat a text."))
    spec = tool_spec("echo")
    assert spec.parameters["required"] == ["text"]
    assert spec.parameters["properties"]["times"]["description"] == "How many times."
    assert "echo" in [s.name for s in lib.memory_tools()]
    assert (
        lib.memory_tool("echo", video=VIDEO, text="ab", times=2).to_dict()["items"][0]["text"]
        == "abab"
    )
    lc = {t.name: t for t in as_langchain_tools(lib)}
    assert json.loads(lc["memory_echo"].invoke({"text": "x"}))["tool"] == "echo"
    out = _mcp_session(lib)
    assert "memory_echo" in out["tools"]
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from hourlens.integrations.rest import create_app

    client = TestClient(create_app(lib))
    assert "echo" in [t["name"] for t in client.get("/tools").json()]
    assert client.post("/tools/echo", json={"text": "x", "video": VIDEO}).json()["items"]
