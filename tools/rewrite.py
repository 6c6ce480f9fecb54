"""The LLM's rewrite of a visual description into the index's vocabulary (class names).

"someone cycling down a street" → mountain bike, bicycle-built-for-two, unicycle: words
the classifier has classes for. :class:`VisualRewriter` asks an LLM once per question
(cached) with ``prompts/rewrite_visual.txt``; :func:`hourlens.tools.search.search_video_memory`
ranks its terms as one more list in the fusion, never the only one.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

log = logging.getLogger("hourlens.search")
_WORD = re.compile(r"[a-z0-9]+")


def useful_terms(target: str, terms: Sequence[str], limit: int = 5) -> list[str]:
    """Rewrite terms worth a search: not the target again, not a repeat, and naming a
    thing (a bare colour or size such as "red" matches whatever is red)."""
    from .search import MODIFIERS

    stop = {"a", "an", "the", "of", "in", "on", "with", "and"}

    def norm(text: str) -> str:
        return " ".join(w for w in _WORD.findall(text.lower()) if w not in stop)

    seen = {norm(target)}
    out: list[str] = []
    for t in terms:
        n = norm(t)
        if not n or n in seen or all(w in MODIFIERS for w in n.split()):
            continue
        seen.add(n)
        out.append(t.strip())
    return out[:limit]


class VisualRewriter:
    """``query -> terms``: an LLM's rewrite into classifier vocabulary, cached per query.

    Args:
        llm: An :class:`hourlens.models.llm.LLM` (``complete_json``), e.g.
            ``load_llm("auto")``.
        max_tokens: Generation budget of one rewrite.
        cache_size: Questions remembered.
    """

    def __init__(self, llm: Any, *, max_tokens: int = 48, cache_size: int = 256) -> None:
        self.llm = llm
        self.max_tokens = max_tokens
        self._cache: OrderedDict[str, list[str]] = OrderedDict()
        self._size = cache_size
        self._lock = threading.Lock()

    def __call__(self, query: str) -> list[str]:
        """Up to 5 terms for ``query`` (empty when the LLM fails or says nothing new)."""
        key = " ".join(query.lower().split())
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return list(self._cache[key])
        terms = self._ask(query)
        with self._lock:
            self._cache[key] = terms
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return list(terms)

    def _ask(self, query: str) -> list[str]:
        from ..models.llm import ChatMessage
        from ..prompts import render

        try:
            raw = self.llm.complete_json(
                [ChatMessage(role="user", content=render("rewrite_visual", target=query))],
                max_tokens=self.max_tokens,
            )
        except Exception as exc:  # noqa: BLE001 - no rewrite: the other rankers stand
            log.debug("visual rewrite failed: %s", exc)
            return []
        terms = raw.get("terms") if isinstance(raw, dict) else None
        if not isinstance(terms, list):
            return []
        return useful_terms(query, [str(t) for t in terms if isinstance(t, str | int)])
