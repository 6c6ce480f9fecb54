"""hourlens as LangChain tools, used by a LangGraph agent (examples/rag_agent.py)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from agent_fixtures import make_llm, prompt_text, toy_models
from langchain_core.messages import HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from live_server import build_library

from hourlens import Library
from hourlens.integrations import as_langchain_tools
from hourlens.tools.memory import TOOLS

EXAMPLE = Path(__file__).parents[1] / "examples" / "rag_agent.py"


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    with Library(
        build_library(tmp_path_factory.mktemp("lclib")), llm="none", models=toy_models()
    ) as library:
        yield library


@pytest.fixture(scope="module")
def tools(lib):
    return {t.name: t for t in as_langchain_tools(lib)}


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("rag_agent", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tools_have_names_schemas_and_descriptions(tools):
    coarse = {"search_video_memory", "ask_video", "get_video_transcript", "list_videos"}
    assert set(tools) == coarse | {f"memory_{n}" for n in TOOLS}
    for t in tools.values():
        assert isinstance(t, BaseTool) and len(t.description) > 40
    schema = tools["search_video_memory"].tool_call_schema.model_json_schema()
    assert schema["required"] == ["query"]
    assert schema["properties"]["query"]["description"]
    assert tools["search_video_memory"].args["k"]["maximum"] == 50
    assert set(tools["get_video_transcript"].args) == {"video", "start", "end"}


def test_tools_return_json(tools):
    hits = json.loads(tools["search_video_memory"].invoke({"query": "cat", "k": 3}))
    assert 0 < len(hits) <= 3 and {"video", "start", "end", "kind", "text"} <= set(hits[0])
    ans = json.loads(
        tools["ask_video"].invoke(
            {"question": "What is said at about 01:27?", "video": "lecture.mp4"}
        )
    )
    assert ans["answer"] == "Please hold while I try that extension."
    lines = json.loads(
        tools["get_video_transcript"].invoke({"video": "lecture.mp4", "start": 80, "end": 110})
    )
    assert len(lines) == 2
    assert len(json.loads(tools["list_videos"].invoke({}))) == 2


def test_user_errors_come_back_as_text(tools):
    out = tools["get_video_transcript"].invoke({"video": "missing.mp4"})
    assert out.startswith("Error: ") and "missing.mp4" in out
    assert tools["ask_video"].invoke({"question": "  "}).startswith("Error: ")


def test_include_and_unknown_names(lib):
    assert [t.name for t in as_langchain_tools(lib, include=["ask_video"])] == ["ask_video"]
    with pytest.raises(ValueError):
        as_langchain_tools(lib, include=["nope"])


def test_langgraph_agent_with_a_fake_llm_calls_the_tools(tools, example):
    llm = make_llm(
        [
            {"tool": "search_video_memory", "args": {"query": "rocket", "k": 2}},
            {
                "tool": "ask_video",
                "args": {"question": "What is said at about 01:27?", "video": "lecture.mp4"},
            },
            {"tool": "get_video_transcript", "args": {"video": "nope.mp4"}},
            {"answer": "At 01:26-01:29 the speaker says: Please hold."},
        ]
    )
    agent = example.build_agent(list(tools.values()), llm)
    out = agent.invoke({"messages": [HumanMessage("What does the speaker say at 01:27?")]})
    assert out["messages"][-1].content == "At 01:26-01:29 the speaker says: Please hold."
    results = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert [m.name for m in results] == ["search_video_memory", "ask_video", "get_video_transcript"]
    assert json.loads(results[1].content)["citations"][0]["start"] == 86.0
    assert llm.pending == 0 and len(llm.prompts) == 4
    # every tool result was shown to the LLM in the next prompt
    assert "Result of search_video_memory" in prompt_text(llm.prompts[1])
    assert "Please hold while I try that extension." in prompt_text(llm.prompts[2])
    assert "Error: " in prompt_text(llm.prompts[3])
    assert "search_video_memory(" in prompt_text(llm.prompts[0])  # tools described


def test_agent_answers_when_the_tool_budget_is_spent(tools, example):
    llm = make_llm([{"tool": "list_videos", "args": {}}] * 3 + [{"answer": "done"}])
    agent = example.build_agent(list(tools.values()), llm, max_tool_calls=2)
    assert example.run(agent, "Which videos are there?", trace=False) == "done"
    assert "Answer now" in prompt_text(llm.prompts[-1]) and len(llm.prompts) == 4
