"""The agent's graph state: what flows between the nodes.

Heavy, non-serialisable things (the store, the models, per-question caches) live in the
run's :class:`~hourlens.agent.context.Context`, not here.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Literal

from ..tools.evidence import Evidence, merge_evidence
from ..types import Answer, Citation, Step
from .plan import Plan


@dataclass(frozen=True, kw_only=True)
class Turn:
    """One earlier question and its answer in a conversation.

    Attributes:
        question: What was asked.
        answer: What was answered.
        citations: The time ranges the answer rested on, most relevant first.
    """

    question: str
    answer: str
    citations: tuple[Citation, ...] = ()

    @classmethod
    def of(cls, question: str, answer: Answer) -> Turn:
        """A turn from a question and the :class:`Answer` it got."""
        return cls(question=question, answer=answer.answer, citations=tuple(answer.citations))


@dataclass(frozen=True, kw_only=True)
class Candidate:
    """A segment chosen by adaptive memory selection.

    Attributes:
        video_id: Library id of the video.
        segment_id: The segment.
        start: Segment start.
        end: Segment end.
        score: Fused score (reciprocal rank fusion over the retrievers that found it).
        sources: Names of those retrievers.
    """

    video_id: int
    segment_id: int
    start: float
    end: float
    score: float
    sources: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class Judgement:
    """The sufficiency check's verdict (from the LLM, or the deterministic fallback).

    Attributes:
        sufficient: The evidence answers the question.
        confidence: 0-1.
        missing: What is still missing, in words (used as an extra query when backtracking).
        answer: A draft answer in the final wording.
        used: Ids of the evidence the answer rests on, most relevant first.
        source: ``llm``, ``fallback`` (the LLM is absent or its JSON unusable) or
            ``lookup`` (an exact lookup answered; the LLM was not needed).
    """

    sufficient: bool
    confidence: float
    missing: str = ""
    answer: str = ""
    used: tuple[str, ...] = ()
    source: Literal["llm", "fallback", "lookup"] = "llm"


@dataclass(kw_only=True)
class InputState:
    """What a caller gives the graph."""

    question: str = ""
    history: list[Turn] = field(default_factory=list)


@dataclass(kw_only=True)
class State(InputState):
    """The full state.

    Attributes:
        plan: The validated plan of the question (intent, modality, targets, times).
        candidates: Segments selected for the question, best first.
        evidence: Everything gathered so far (merged by id).
        expanded: Segment ids already backtracked into.
        judgement: The latest sufficiency verdict.
        rounds: Backtracking rounds done.
        answer: The final answer (set by the ``answer`` node).
        steps: Trace of the nodes run.
    """

    plan: Plan | None = None
    candidates: list[Candidate] = field(default_factory=list)
    evidence: Annotated[list[Evidence], merge_evidence] = field(default_factory=list)
    expanded: Annotated[list[int], operator.add] = field(default_factory=list)
    judgement: Judgement | None = None
    rounds: int = 0
    answer: Answer | None = None
    steps: Annotated[list[Step], operator.add] = field(default_factory=list)
