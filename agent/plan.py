"""The typed plan of a question: what is asked, about which memories, where in time.

A :class:`Plan` is what the planner (:mod:`hourlens.agent.planner`) makes of a question and
its chat history, whatever its wording. The graph's nodes run the plan's memory tools and
compute the answer (a time, an option, a count) from the evidence; the LLM only words it.

Adding a question kind means adding an :data:`Intent` here, its tool calls in
:mod:`hourlens.agent.execute` and its computed answer in :mod:`hourlens.agent.compose`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

Intent = Literal[
    "when",  # "When is a cat shown?", "Find the moment the narrator says '...'"
    "what_at",  # "What is said / written / shown at 12:34?", "... right after '...'?"
    "order",  # "Is the cat or the rocket shown first?"
    "count",  # "How many times does the narrator say 'rocket'?"
    "presence",  # "Is there a cat in it?"
    "duration",  # "How long is the rocket on screen?"
    "describe",  # "What happens between the car and the slide?", "And 30 seconds later?"
    "summarise",  # "What is this video about?", "Summarise 10:00-15:00"
    "which_video",  # "Which of my videos shows a rocket?"
    "general",  # anything else
]
Modality = Literal["speech", "ocr", "visual", "any"]
Relation = Literal["after", "before", "around", "between"]
INTENTS: tuple[str, ...] = get_args(Intent)
MODALITY_NAMES: tuple[str, ...] = get_args(Modality)


@dataclass(frozen=True, kw_only=True)
class Target:
    """Something to look for.

    Attributes:
        text: A quoted or paraphrased phrase (speech/ocr) or a description (visual).
        modality: Where to look for it (``any``: every memory).
        exact: True for a quoted phrase (match its words, not its meaning).
    """

    text: str
    modality: Modality = "any"
    exact: bool = False


@dataclass(frozen=True, kw_only=True)
class Option:
    """One option of a choice, with what to search for.

    Attributes:
        letter: ``A``, ``B``...
        text: The option as written in the question.
        modality: ``speech`` ("the narrator saying ..."), ``ocr`` ("the text ...") or
            ``visual``.
        query: What to search for (the quoted sentence, or the visual description).
    """

    letter: str
    text: str
    modality: Modality
    query: str


@dataclass(frozen=True, kw_only=True)
class Plan:
    """A validated plan.

    Attributes:
        intent: What is asked (see :data:`Intent`).
        modality: The memories that matter most.
        targets: What to look for (for ``when``/``count``/``presence``/``duration``...).
        options: The options of a choice (``order``, or a choice after an anchor).
        window: The time range the question is about, in seconds (a point is
            ``(t, t)``), resolved against the video and the previous answer.
        anchor: An event the window is relative to (``relation``), located by search
            at run time ("right after the narrator says '...'").
        relation: Where the window lies relative to ``anchor`` (or the previous answer).
        library: The question is about the whole library ("which of my videos ...").
        sequence: An order question that asks for the whole order ("in what order ...").
        query: The text to retrieve with when no target is named.
        source: Who planned: ``parser`` (fast path), ``llm``, or ``fallback``.
        notes: What validation changed or dropped (shown in the trace).
    """

    intent: Intent = "general"
    modality: Modality = "any"
    targets: tuple[Target, ...] = ()
    options: tuple[Option, ...] = ()
    window: tuple[float, float] | None = None
    anchor: Target | None = None
    relation: Relation | None = None
    library: bool = False
    sequence: bool = False
    query: str = ""
    source: Literal["parser", "llm", "fallback"] = "parser"
    notes: tuple[str, ...] = field(default=())

    # ---- views used by the retrieval and answer steps -------------------------------
    @property
    def kind(self) -> str:
        """The retrieval route of the plan (how its evidence is gathered and ranked):
        ``time_lookup``, ``speech_when``, ``ocr_when``, ``visual_when``, ``order``,
        ``cross_modal``, ``count``, ``follow_up`` or ``general``."""
        i, m = self.intent, self.modality
        if i == "when" or i == "duration" or i == "presence" or i == "which_video":
            return {"speech": "speech_when", "ocr": "ocr_when"}.get(m, "visual_when")
        if i == "order":
            return "order"
        if i == "count":
            return "count"
        if i == "what_at":
            if self.anchor is not None:
                return "cross_modal"
            if self.window is not None and self.relation is not None:
                return "follow_up"
            return "time_lookup" if self.window is not None else "general"
        if i in ("describe", "summarise") and self.window is not None:
            return "follow_up"
        return "general"

    @property
    def time(self) -> float | None:
        """The point in time asked about (the window's middle for a short window)."""
        if self.window is None:
            return None
        a, b = self.window
        return (a + b) / 2

    @property
    def direction(self) -> str:
        """``after``/``before``/``around`` the anchor."""
        return self.relation if self.relation in ("after", "before") else "around"

    @property
    def count_word(self) -> str | None:
        """The spoken word or phrase to count (a count of speech)."""
        if self.intent == "count" and self.modality == "speech" and self.targets:
            return self.targets[0].text
        return None

    @property
    def target(self) -> str:
        """The main thing to look for (first target, else the query)."""
        return self.targets[0].text if self.targets else self.query

    def with_notes(self, *notes: str) -> Plan:
        """A copy with ``notes`` added."""
        return replace(self, notes=(*self.notes, *notes))

    def summary(self) -> str:
        """One line for the trace: ``when/visual target='a cat' window=...``."""
        bits = [f"{self.intent}/{self.modality}", f"by {self.source}"]
        if self.targets:
            bits.append("targets=" + "; ".join(repr(t.text[:40]) for t in self.targets))
        if self.options:
            bits.append(f"{len(self.options)} options")
        if self.window is not None:
            bits.append(f"window={self.window[0]:.0f}-{self.window[1]:.0f}s")
        if self.anchor is not None:
            bits.append(f"{self.relation} {self.anchor.text[:40]!r}")
        if self.library:
            bits.append("library-wide")
        if self.notes:
            bits.append("notes: " + "; ".join(self.notes))
        return ", ".join(bits)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for ``--trace`` and tests)."""
        return {
            "intent": self.intent,
            "modality": self.modality,
            "targets": [{"text": t.text, "modality": t.modality} for t in self.targets],
            "options": [o.text for o in self.options],
            "window": list(self.window) if self.window else None,
            "anchor": self.anchor.text if self.anchor else None,
            "relation": self.relation,
            "library": self.library,
            "sequence": self.sequence,
            "source": self.source,
        }
