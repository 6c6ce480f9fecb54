"""hourlens as a tool: the surfaces built on the typed memory tools and the ask path —
LangChain/LangGraph tools (:func:`as_langchain_tools`), the MCP server
(:mod:`hourlens.integrations.mcp_server`) and the REST API (:mod:`hourlens.integrations.rest`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from langchain_core.tools import BaseTool

    from ..library import Library

__all__ = ["as_langchain_tools"]


def as_langchain_tools(library: Library, **kwargs: Any) -> list[BaseTool]:
    """LangChain tools over a library (see :mod:`hourlens.integrations.langchain`)."""
    from .langchain import as_langchain_tools as build

    return build(library, **kwargs)
