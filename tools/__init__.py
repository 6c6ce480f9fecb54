"""Typed memory tools: the one retrieval layer under the agent and every surface.

Search (hybrid fusion over visual, text and label-space rankers) lives in
:mod:`hourlens.tools.search`. Surfaces built on these tools (LangChain, MCP, REST) live in
:mod:`hourlens.integrations`.
"""
