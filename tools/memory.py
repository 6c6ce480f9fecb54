"""The typed memory tools: every way hourlens reads a video's memory, in one place.

The agent's plan steps, the LangChain tools, MCP and REST all call these functions (one
implementation, one fusion, one place for scoping to a video). Each takes a
:class:`~hourlens.tools.scope.Scope` and typed arguments and returns a
:class:`ToolResult`: evidence items (time range, kind, text, score) and a one-line
detail for traces. Coarse to fine: :func:`overview` (video summary, chapters) →
:func:`find_visual` / :func:`find_phrase` / :func:`search` (segments, memories, lines) →
:func:`lookup_at` / :func:`read_range` / :func:`neighbours` (everything at a time).

Adding a tool: write the function here and add it to :data:`TOOLS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from .evidence import Evidence, best_first, make_id
from .lookup import count_evidence, overview_evidence, slide_evidence
from .retrieve import (
    fts_evidence,
    phrase_evidence,
    text_vector_evidence,
    time_evidence,
    visual_evidence,
    window_evidence,
)
from .scope import Scope
from .textutil import tokens

Modality = Literal["speech", "ocr", "visual", "any"]
Window = tuple[float, float] | None


@dataclass(frozen=True, kw_only=True)
class ToolResult:
    """What a memory tool found.

    Attributes:
        tool: The tool's name.
        evidence: Items, best first.
        detail: One line for the trace.
        count: For :func:`count`, the number of occurrences.
    """

    tool: str
    evidence: list[Evidence] = field(default_factory=list)
    detail: str = ""
    count: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """As plain data: ``{tool, detail, count, items: [{video, start, end, kind, text}]}``."""
        return {
            "tool": self.tool,
            "detail": self.detail,
            "count": self.count,
            "items": [
                {
                    "video": e.video,
                    "start": round(e.start, 3),
                    "end": round(e.end, 3),
                    "kind": e.kind,
                    "text": e.text,
                    "score": round(e.score, 4),
                }
                for e in self.evidence
            ],
        }


def _check_window(window: Window) -> Window:
    if window is None:
        return None
    a, b = float(window[0]), float(window[1])
    if b < a:
        raise ValueError(f"the window ends ({b}) before it starts ({a})")
    return a, b


def lookup_at(
    scope: Scope,
    time: float,
    *,
    modality: Modality = "any",
    half_window: float = 12.0,
    until: float | None = None,
) -> ToolResult:
    """What is said, written or shown around ``time`` (a lookup by time, not similarity).

    Args:
        scope: The memory to read.
        time: Seconds from the start.
        modality: ``speech``, ``ocr``, ``visual`` or ``any``.
        half_window: Rows within this many seconds count (score falls with distance).
        until: The end of an imprecise time ("minute 53": 3180 until 3240).
    """
    if time < 0:
        raise ValueError("time must be >= 0")
    ev = best_first(scope.keep(time_evidence(scope, time, modality, half_window, until=until)))
    return ToolResult(
        tool="lookup_at", evidence=ev, detail=f"{len(ev)} memories around {time:.0f}s ({modality})"
    )


def find_phrase(
    scope: Scope, phrase: str, *, modality: Modality = "speech", window: Window = None, k: int = 5
) -> ToolResult:
    """Where a phrase is said (``speech``) or written on screen (``ocr``): exact and fuzzy.

    Token-overlap matching over every line (robust to recognition slips and split lines),
    then full-text and sentence-embedding matches.
    """
    if not phrase.strip():
        raise ValueError("the phrase is empty")
    window = _check_window(window)
    mods = ["speech", "ocr"] if modality not in ("speech", "ocr") else [modality]
    ev: list[Evidence] = []
    for mod in mods:
        ev += phrase_evidence(scope, phrase, mod, k=k, window=window)
        if window is None:
            ev += fts_evidence(scope, phrase, k=k * 2, kinds=[mod], phrase=phrase)
            ev += text_vector_evidence(scope, phrase, k=k, kinds=[mod])
    ev = _dedup(scope.keep(ev))
    return ToolResult(
        tool="find_phrase",
        evidence=ev[: k * 3],
        detail=f"{len(ev)} {'/'.join(mods)} matches for the phrase",
    )


def find_visual(
    scope: Scope, description: str, *, window: Window = None, k: int = 12
) -> ToolResult:
    """Where something is shown: CLIP text→image (CLIP-indexed videos), the classifier's
    label space (EfficientNet-indexed videos), tags and captions.

    This is the one visual ranker: the agent, order/choice questions and every surface use it.
    """
    if not description.strip():
        raise ValueError("the description is empty")
    window = _check_window(window)
    ev = visual_evidence(scope, description, k=k, window=window)
    if window is None:
        ev += fts_evidence(scope, description, k=k, kinds=["tag", "caption"], phrase=description)
    ev = _dedup(scope.keep(ev))
    return ToolResult(
        tool="find_visual",
        evidence=ev[: k * 2],
        detail=f"{len(ev)} visual matches for {description[:40]!r}",
    )


def read_range(
    scope: Scope,
    start: float,
    end: float,
    *,
    modality: Modality = "any",
    video_id: int | None = None,
) -> ToolResult:
    """Everything remembered inside ``[start, end]``: transcript, on-screen text, captions,
    segments (one video: ``video_id``, or the only video in scope)."""
    if end < start:
        raise ValueError(f"end ({end}) is before start ({start})")
    vid = video_id if video_id is not None else (scope.single.id if scope.single else None)
    if vid is None:
        raise ValueError("read_range reads one video: pass video (the library has several)")
    ev = scope.keep(window_evidence(scope, vid, start, end, modality))
    ev.sort(key=lambda e: (e.start, e.id))
    return ToolResult(
        tool="read_range",
        evidence=ev,
        detail=f"{len(ev)} memories in {start:.0f}-{end:.0f}s ({modality})",
    )


def neighbours(
    scope: Scope,
    start: float,
    end: float,
    *,
    direction: Literal["before", "after"] = "after",
    length: float = 30.0,
    modality: Modality = "any",
    video_id: int | None = None,
) -> ToolResult:
    """What comes right before or after a span (``length`` seconds of it)."""
    if direction == "before":
        a, b = max(0.0, start - length), start
    else:
        a, b = end, end + length
    r = read_range(scope, a, b, modality=modality, video_id=video_id)
    return replace(
        r,
        tool="neighbours",
        detail=f"{len(r.evidence)} memories {direction} {start:.0f}-{end:.0f}s",
    )


def count(
    scope: Scope, target: str, *, modality: Modality = "speech", min_score: float = 0.5
) -> ToolResult:
    """How many times something occurs.

    * ``speech``: transcript lines saying the word or phrase (each occurrence counted);
    * ``ocr``: showings of a text slide (a plain keyframe with on-screen text) when the
      target names slides, else lines of on-screen text containing the phrase;
    * ``visual``: separate stretches of time where the description is matched.
    """
    if not target.strip():
        raise ValueError("the target is empty")
    if modality == "speech":
        ev = count_evidence(scope, target)
        n = sum(int(e.source.split(":")[1]) for e in ev)
    elif modality == "ocr":
        if {"slide", "slides"} & set(tokens(target)):
            dark = (
                True
                if {"dark", "black"} & set(tokens(target))
                else False
                if {"white", "light", "bright"} & set(tokens(target))
                else None
            )
            ev = slide_evidence(scope, dark=dark)
        else:
            ev = [
                replace(e, source="count:1")
                for e in phrase_evidence(scope, target, "ocr", k=50, min_score=0.7)
            ]
        ev = _merge_runs(ev, gap=2.0)
        n = len(ev)
    else:
        hits = [e for e in find_visual(scope, target, k=50).evidence if e.score >= min_score]
        ev = _merge_runs([replace(e, source="count:1") for e in hits], gap=4.0)
        n = len(ev)
    return ToolResult(
        tool="count",
        evidence=ev,
        count=n,
        detail=f"{n} occurrences of {target[:40]!r} ({modality})",
    )


def overview(scope: Scope, query: str = "", *, chapters: int = 3) -> ToolResult:
    """The top of the memory: each video's summary and its chapters best matching ``query``."""
    ev = overview_evidence(scope, query, chapters=chapters)
    return ToolResult(tool="overview", evidence=ev, detail=f"{len(ev)} summaries and chapters")


def search(scope: Scope, query: str, *, k: int = 12) -> ToolResult:
    """Everything that matches ``query`` in any memory (full text, text vectors, visuals)."""
    if not query.strip():
        raise ValueError("the query is empty")
    ev = fts_evidence(scope, query, k=k, phrase=query if len(tokens(query)) > 1 else None)
    ev += text_vector_evidence(scope, query, k=max(1, k // 2))
    if scope.allows("visual"):
        ev += visual_evidence(scope, query, k=max(1, k // 2))
    ev = _dedup(scope.keep(ev))
    return ToolResult(
        tool="search", evidence=ev[: k * 2], detail=f"{len(ev)} hits for {query[:40]!r}"
    )


def _dedup(items: list[Evidence]) -> list[Evidence]:
    best: dict[str, Evidence] = {}
    for e in items:
        if e.id not in best or e.score > best[e.id].score:
            best[e.id] = e
    return best_first(best.values())


def _merge_runs(items: list[Evidence], *, gap: float) -> list[Evidence]:
    """Items of one video closer than ``gap`` seconds merged into one occurrence."""
    out: list[Evidence] = []
    for e in sorted(items, key=lambda e: (e.video_id, e.start)):
        prev = out[-1] if out else None
        if prev is not None and prev.video_id == e.video_id and e.start - prev.end <= gap:
            out[-1] = replace(
                prev,
                end=max(prev.end, e.end),
                score=max(prev.score, e.score),
                id=make_id(prev.kind, prev.video_id, prev.start, max(prev.end, e.end)),
            )
        else:
            out.append(e)
    return out


@dataclass(frozen=True)
class MemoryTool:
    """A registered memory tool: its function and a description for tool-calling LLMs."""

    name: str
    fn: Callable[..., ToolResult]
    description: str


#: Every memory tool by name (what surfaces expose and the agent calls).
TOOLS: dict[str, MemoryTool] = {
    t.name: t
    for t in (
        MemoryTool("lookup_at", lookup_at, "What is said, written or shown at a time."),
        MemoryTool("find_phrase", find_phrase, "When a phrase is said or written on screen."),
        MemoryTool("find_visual", find_visual, "When something is shown (a visual description)."),
        MemoryTool("read_range", read_range, "Everything remembered inside a time range."),
        MemoryTool("neighbours", neighbours, "What comes right before or after a span."),
        MemoryTool("count", count, "How many times a word is said or a thing is shown."),
        MemoryTool("overview", overview, "The video summary and chapters."),
        MemoryTool("search", search, "Anything matching a query, in any memory."),
    )
}


def call_tool(scope: Scope, name: str, /, **args: Any) -> ToolResult:
    """Run the memory tool ``name`` with keyword ``args``.

    Raises:
        KeyError: No such tool (the message lists the tools).
        ValueError / TypeError: Bad arguments.
    """
    tool = TOOLS.get(name)
    if tool is None:
        raise KeyError(f"no memory tool {name!r}; available: {', '.join(TOOLS)}")
    return tool.fn(scope, **args)
