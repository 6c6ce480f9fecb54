"""A LangGraph agent that answers questions with hourlens' LangChain tools.

The agent loop is plain LangGraph: a ``decide`` node asks an LLM for the next step as JSON
(call a tool, or answer) and a ``ToolNode`` runs :func:`hourlens.integrations.as_langchain_tools`.
It runs offline with the packaged LLM (``auto``); any object with ``complete_json`` works
(``openai:MODEL@URL`` specs, or :class:`hourlens.models.llm.FakeLLM` in tests). A chat
model with native tool calling can use the same tools through ``bind_tools`` instead.

Usage::

    python examples/rag_agent.py --library demo-library "When is a cat shown?"
    python examples/rag_agent.py --library demo-library --llm none "What is said at 00:30?"
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode

SYSTEM = """You answer questions about indexed videos. You cannot watch them: use the tools.
{library}
Tools (arguments marked ? are optional: leave them out unless you need them):
{tools}

Each turn, reply with ONE JSON object:
  {{"tool": "<tool name>", "args": {{...}}}}   to call a tool, or
  {{"answer": "<final answer citing MM:SS time ranges>"}}   when the results suffice.
Prefer ask_video for direct questions; use search_video_memory to locate moments.
Pass the user's question to ask_video as it is. If a tool returns an error, read it and
fix the arguments (or leave them out) instead of answering from the error."""

DECISION_HINT = '{"tool": str, "args": object} or {"answer": str}'
RESULT_CHARS = 1500
ANSWER_NOW = 'No more tool calls. Answer now with {"answer": "..."}.'


def _arg_type(spec: dict[str, Any]) -> str:
    """``string`` for ``{"type": "string"}`` and for ``anyOf [string, null]``."""
    types = [spec.get("type")] + [a.get("type") for a in spec.get("anyOf", [])]
    named = [t for t in types if t and t != "null"]
    return str(named[0]) if named else "any"


def _tool_list(tools: Sequence[BaseTool]) -> str:
    lines = []
    for t in tools:
        required = set(t.tool_call_schema.model_json_schema().get("required", []))
        args = ", ".join(
            f"{k}{'' if k in required else '?'}: {_arg_type(v)}" for k, v in t.args.items()
        )
        lines.append(f"- {t.name}({args}): {' '.join(t.description.split())}")
    return "\n".join(lines)


def library_line(videos: Sequence[Any]) -> str:
    """What the library holds, for the prompt: the ids and file names the tools accept."""
    if not videos:
        return "The library holds no indexed video yet."
    names = ", ".join(f'id {v.id} "{os.path.basename(v.path)}"' for v in videos[:20])
    if len(videos) == 1:
        return f"The library holds one video ({names}): tools need no video argument."
    more = f" and {len(videos) - 20} more" if len(videos) > 20 else ""
    return (
        f"The library holds {len(videos)} videos: {names}{more}. Leave out the video "
        "argument to use them all, or pass one of these ids or file names."
    )


def _as_chat(messages: Sequence[AnyMessage]) -> list[dict[str, str]]:
    """LangChain messages as the role/content turns of ``complete_json``."""
    out = []
    for m in messages:
        if isinstance(m, ToolMessage):
            out.append(
                {"role": "user", "content": f"Result of {m.name}: {str(m.content)[:RESULT_CHARS]}"}
            )
        elif isinstance(m, AIMessage):
            calls = [{"tool": c["name"], "args": c["args"]} for c in m.tool_calls]
            text = json.dumps(calls[0]) if calls else json.dumps({"answer": m.content})
            out.append({"role": "assistant", "content": text})
        else:
            out.append({"role": "user", "content": str(m.content)})
    return out


def build_agent(
    tools: Sequence[BaseTool],
    llm: Any,
    *,
    max_tool_calls: int = 4,
    videos: Sequence[Any] | None = None,
) -> Any:
    """Compile the agent graph.

    Args:
        tools: LangChain tools (from :func:`hourlens.integrations.as_langchain_tools`).
        llm: An object with ``complete_json(messages, max_tokens=, schema_hint=)``.
        max_tool_calls: Tool calls allowed before the agent must answer.
        videos: The library's videos (``Library.videos(READY_STATUSES)``), named in the
            prompt so the LLM passes real ids or none at all.

    Returns:
        A compiled graph; ``invoke({"messages": [HumanMessage(question)]})``.
    """
    names = {t.name for t in tools}
    library = library_line(videos) if videos is not None else ""
    system = SYSTEM.format(tools=_tool_list(tools), library=library)

    def decide(state: MessagesState) -> dict[str, Any]:
        calls = sum(isinstance(m, ToolMessage) for m in state["messages"])
        chat = [{"role": "system", "content": system}, *_as_chat(state["messages"])]
        for attempt in range(2):
            if calls >= max_tool_calls or attempt:
                chat.append({"role": "user", "content": ANSWER_NOW})
            try:
                reply = llm.complete_json(chat, max_tokens=200, schema_hint=DECISION_HINT)
            except Exception as exc:  # noqa: BLE001 - a small local model may fail at JSON
                return {"messages": [AIMessage(content=f"(no answer: {exc})")]}
            tool, args = reply.get("tool"), reply.get("args")
            if tool in names and calls < max_tool_calls:
                call = {
                    "name": tool,
                    "args": args if isinstance(args, dict) else {},
                    "id": f"call_{calls}",
                    "type": "tool_call",
                }
                return {"messages": [AIMessage(content="", tool_calls=[call])]}
            if isinstance(reply.get("answer"), str) and reply["answer"].strip():
                return {"messages": [AIMessage(content=reply["answer"].strip())]}
            chat.append({"role": "assistant", "content": json.dumps(reply)})
        return {"messages": [AIMessage(content="I could not find the answer with the tools.")]}

    def next_step(state: MessagesState) -> str:
        last = state["messages"][-1]
        return "tools" if isinstance(last, AIMessage) and last.tool_calls else END

    graph = StateGraph(MessagesState)
    graph.add_node("decide", decide)
    graph.add_node("tools", ToolNode(list(tools)))
    graph.add_edge(START, "decide")
    graph.add_conditional_edges("decide", next_step, ["tools", END])
    graph.add_edge("tools", "decide")
    return graph.compile(name="hourlens-rag-agent")


def run(agent: Any, question: str, *, trace: bool = True) -> str:
    """Ask ``question``; print each tool call on stderr when ``trace``; return the answer."""
    out = agent.invoke(
        {"messages": [HumanMessage(content=question)]}, config={"recursion_limit": 25}
    )
    if trace:
        for m in out["messages"]:
            for c in getattr(m, "tool_calls", None) or []:
                print(f"  → {c['name']}({json.dumps(c['args'])})", file=sys.stderr)
    return str(out["messages"][-1].content)


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point."""
    from hourlens import READY_STATUSES, Library
    from hourlens.integrations import as_langchain_tools
    from hourlens.integrations.langchain import TOOL_NAMES
    from hourlens.models.llm import load_llm

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("question")
    p.add_argument("--library", default=None, help="Library folder [default: HOURLENS_HOME].")
    p.add_argument(
        "--llm",
        default="auto",
        help="LLM spec for the agent and ask_video (auto = packaged offline model; "
        "none = ask_video answers without an LLM, the agent just calls it).",
    )
    args = p.parse_args(argv)
    with Library(args.library, llm=args.llm) as lib:
        videos = lib.videos(READY_STATUSES)
        if not videos:
            print("The library is empty: index videos first (see README).", file=sys.stderr)
            return 1
        # The coarse tools only: a small local LLM picks better among four (the memory_*
        # tools are there for agents that plan their own retrieval: include=None).
        tools = as_langchain_tools(lib, include=TOOL_NAMES)
        if args.llm.strip().lower() == "none":
            ask = next(t for t in tools if t.name == "ask_video")
            print(json.loads(ask.invoke({"question": args.question}))["answer"])
            return 0
        print(run(build_agent(tools, load_llm(args.llm), videos=videos), args.question))
    return 0


if __name__ == "__main__":
    sys.exit(main())
