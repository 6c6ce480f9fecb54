"""The question-answering agent (LangGraph): coarse look → adaptive memory selection →
sufficiency check ⇄ backtracking finer → answer with cited time ranges.

Example:
    >>> from hourlens import Library                                   # doctest: +SKIP
    >>> from hourlens.ask import ask_video                       # doctest: +SKIP
    >>> ask_video(Library().store, "What is said at about 12:34?", video="talk.mp4")
"""

from .context import AgentConfig, Context, Models
from .graph import ask, build_graph
from .state import Turn

__all__ = ["AgentConfig", "Context", "Models", "Turn", "ask", "build_graph"]
