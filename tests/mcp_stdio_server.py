"""An MCP stdio server over a synthetic library, with test fakes (spawned by test_mcp.py).

Usage: ``python tests/mcp_stdio_server.py LIBRARY_DIR``. The LLM is a ``FakeLLM`` whose
every reply is a confident answer, and the models are the toy ones (no weights).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from agent_fixtures import toy_models  # noqa: E402

from hourlens import Library  # noqa: E402
from hourlens.integrations.mcp_server import run_stdio  # noqa: E402
from hourlens.models.llm import FakeLLM  # noqa: E402

ANSWER = {"answer": "Rockets and cats.", "evidence": [1], "confidence": 0.9, "sufficient": True}

if __name__ == "__main__":
    with Library(sys.argv[1], llm=FakeLLM(default=ANSWER), models=toy_models()) as lib:
        run_stdio(lib)
