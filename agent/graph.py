"""The LangGraph agent: build the graph and ask it a question.

::

    START → route (planner) → coarse → select → judge ─┬─(sufficient or budget spent)→ answer
                                     ▲         │
                                     └ backtrack ◄┘ (insufficient, budget left)
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from ..config import from_env
from ..errors import HourlensError, NotIndexedError
from ..types import Answer, Step, Video
from .context import AgentConfig, Context, Models, default_models
from .nodes import after_check, answer, check, coarse, finer, plan, select
from .state import InputState, State, Turn

log = logging.getLogger("hourlens.agent")

_graph: Any = None
_lock = threading.Lock()


def build_graph() -> Any:
    """Compile the agent graph (state :class:`State`, runtime context :class:`Context`).

    Returns:
        A compiled LangGraph graph; invoke it with ``InputState`` and ``context=Context``.
    """
    g = StateGraph(State, context_schema=Context, input_schema=InputState)
    g.add_node("route", plan)
    g.add_node("coarse", coarse)
    g.add_node("select", select)
    g.add_node("judge", check)
    g.add_node("backtrack", finer)
    g.add_node("answer", answer)
    g.add_edge(START, "route")
    g.add_edge("route", "coarse")
    g.add_edge("coarse", "select")
    g.add_edge("select", "judge")
    g.add_conditional_edges("judge", after_check, {"backtrack": "backtrack", "answer": "answer"})
    g.add_edge("backtrack", "judge")
    g.add_edge("answer", END)
    return g.compile(name="hourlens-agent")


def _compiled() -> Any:
    global _graph
    with _lock:
        if _graph is None:
            _graph = build_graph()
        return _graph


def load_agent_llm(spec: str) -> Any:
    """The LLM named by ``spec``; ``none`` (or a load failure of ``auto``) gives None.

    Raises:
        HourlensError: An explicitly named LLM cannot be loaded.
    """
    if spec.strip().lower() in ("none", "off", ""):
        return None
    from ..models.llm import load_llm

    try:
        return load_llm(spec)
    except HourlensError as exc:
        if spec != "auto":
            raise
        log.warning("no LLM available (%s); answering from the index lookups only", exc)
        return None


def ask(
    store: Any,
    question: str,
    *,
    videos: Sequence[Video],
    history: Sequence[Turn] | None = None,
    llm: Any = None,
    config: AgentConfig | None = None,
    models: Models | None = None,
    vlm: Any = None,
    on_step: Callable[[Step], None] | None = None,
) -> Answer:
    """Answer a question about indexed videos, citing the time ranges it rests on.

    Args:
        store: The library store.
        question: The question (may end with an ``Options: A) ... B) ...`` block).
        videos: The videos to look in (all must be indexed).
        history: Earlier turns of the conversation (follow-ups resolve against them).
        llm: An LLM (``complete_json``); None loads ``config.llm``.
        config: Agent settings (default: ``HOURLENS_*`` environment).
        models: Embedders/encoders (default: the shared lazily loaded ones).
        vlm: A vision-language model; None loads ``config.vlm`` when set.
        on_step: Called with each step as it finishes.

    Returns:
        The answer, its confidence, citations and the trace of steps.

    Raises:
        NotIndexedError: No videos, or a video that is not indexed.
        ValueError: The question is empty.
    """
    question = question.strip()
    if not question:
        raise ValueError("the question is empty")
    if not videos:
        raise NotIndexedError("no indexed videos to ask about: index some with `hourlens index`")
    for v in videos:
        if not v.ready:
            raise NotIndexedError(f"{v.path} is not indexed (status: {v.status})")
    cfg = config or from_env(AgentConfig)
    if llm is None:
        llm = load_agent_llm(cfg.llm)
    if vlm is None and cfg.vlm:
        from ..models.vlm import load_vlm

        vlm = load_vlm(cfg.vlm, model=cfg.vlm_model)
    ctx = Context(
        store=store,
        videos=list(videos),
        llm=llm,
        config=cfg,
        models=models or default_models(),
        vlm=vlm,
        on_step=on_step,
    )
    limit = 8 + 2 * max(0, cfg.max_backtracks)
    out = _compiled().invoke(
        InputState(question=question, history=list(history or [])),
        context=ctx,
        config={"recursion_limit": limit},
    )
    result = out.get("answer") if isinstance(out, dict) else getattr(out, "answer", None)
    if not isinstance(result, Answer):  # pragma: no cover - the answer node always sets it
        raise HourlensError("the agent finished without an answer")
    return result
