"""Question wordings of the TUNE2 half of the second development set (issue 9, stop 17).

Written by the lead in one sitting, BEFORE any run on them, as one list per question type
(paraphrases people type: other verbs, requests, imperatives, the phrase or the time in
other places, options in other shapes); the wording at an even index of each list is in
``wordings_tune2_templates.py`` (tune on it), the odd one in ``wordings_test2_templates.py``
(held out: report on it, never tune on it). Same fields as ``wordings_tune_templates.py``.
"""

TEMPLATES: dict[str, list[str]] = {
    "visual_when": [
        "At what point does {label} show up?",
        "Show me where {label} is.",
        "Is there {label} anywhere? When?",
        "I remember {label} somewhere in here — when was it?",
        "When does the footage show {label}?",
        "Skip to the part with {label}.",
        "Find {label} for me please",
    ],
    "speech_when": [
        "At what point does someone say “{s}”?",
        "Find where the speaker says: “{s}”",
        "Jump to where it says “{s}”.",
        "the narrator says {s_lc} — when",
        "When was “{s}” mentioned?",
        "Give me the time of the quote “{s}”.",
    ],
    "speech_what": [
        "What's being said at {mmss}?",
        "What does the narrator say at around {mss}?",
        "Quote what the speaker says at {hmmss}.",
        "What do I hear at {mmss}?",
        "What is the voice saying at the {mss} mark?",
        "What does the speaker talk about at {mmss}?",
    ],
    "ocr_what": [
        "What's written on screen at {mmss}?",
        "What does the slide at {mss} say?",
        "Which sentence is displayed at {hmmss}?",
        "What caption is on screen at {mmss}?",
        "Transcribe the text shown at {mss}.",
        "What's the writing on screen at the {mss} mark?",
    ],
    "ocr_when": [
        "At what point is “{s}” displayed?",
        "Find the slide with “{s}” on it.",
        "Show me when the words “{s}” appear.",
        "What time is “{s}” written on the screen?",
        "When is the caption “{s}” displayed?",
        "“{s}” appears on a slide — when?",
    ],
    "order": [
        "What appears earlier, {a} or {b}?",
        "Which is earlier — {a} or {b}?",
        "Do we get {a} or {b} first?",
        "Which appears sooner: {a}, or {b}?",
        "Which of the two is shown first, {a} or {b}?",
        "Which happens first in the video, {a} or {b}?",
    ],
    "cross_modal": [
        "What appears right after someone says “{s}” — {opts}?",
        "Which is shown just after “{s}” is spoken: {opts}?",
        "What is on screen immediately after “{s}”? Options: {opts}.",
        "Pick one — {opts_oxford} — which is shown right after the narrator says “{s}”?",
        "Which of these comes on screen right after “{s}”: {opts}?",
        "Following the words “{s}”, what is shown — {opts}?",
    ],
    "count_slides": [
        "How many dark slides with text are shown?",
        "How many times does a plain dark slide with a sentence appear?",
        "How many slides with writing on a dark background are there?",
    ],
    "count_word": [
        "How often does the narrator say “{w}”?",
        "Count how many times “{w}” is spoken.",
        "How many mentions of “{w}” are there?",
    ],
}
