"""Prompt templates of the agent (``*.txt`` next to this file) and a safe renderer.

Templates name their slots ``{slot}``; :func:`render` fills only those slots, so JSON
examples with braces in a template stay as written.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import resources

_SLOT = re.compile(r"\{([a-z_][a-z0-9_]*)\}")

#: How the final answer should be worded, per question route.
ANSWER_FORMATS: dict[str, str] = {
    "time_lookup:speech": "the exact words said at that time, quoted from the evidence.",
    "time_lookup:ocr": "the exact text shown on screen at that time, quoted from the evidence.",
    "time_lookup": "what is seen, said or written at that time, in one sentence.",
    "speech_when": 'the time range, e.g. "From 12:30 to 12:38."',
    "ocr_when": 'the time range, e.g. "From 12:30 to 12:38."',
    "visual_when": 'the time range, e.g. "From 12:30 to 12:38."',
    "order": "the text of the option that comes first, and nothing else.",
    "cross_modal": "the text of the one right option, and nothing else.",
    "multiple_choice": "the text of the one right option, and nothing else.",
    "count": 'the number first, e.g. "3 times."',
    "follow_up": "one or two sentences about that part of the video.",
    "general": "one or two sentences.",
}


@lru_cache(maxsize=32)
def load_prompt(name: str) -> str:
    """The text of template ``name`` (file ``name.txt`` in this package).

    Raises:
        FileNotFoundError: No such template.
    """
    return resources.files(__name__).joinpath(f"{name}.txt").read_text(encoding="utf-8")


def render(name: str, **values: object) -> str:
    """Template ``name`` with its ``{slot}`` placeholders filled from ``values``.

    Slots without a value are left as written; values are inserted verbatim.
    """
    text = load_prompt(name)
    return _SLOT.sub(
        lambda m: str(values[m.group(1)]) if m.group(1) in values else m.group(0), text
    )


def answer_format(route_kind: str, modality: str = "any", *, has_options: bool = False) -> str:
    """The answer-format instruction for a route."""
    if has_options and route_kind not in ("order", "cross_modal"):
        return ANSWER_FORMATS["multiple_choice"]
    return ANSWER_FORMATS.get(f"{route_kind}:{modality}") or ANSWER_FORMATS.get(
        route_kind, ANSWER_FORMATS["general"]
    )
