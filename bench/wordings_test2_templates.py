"""Held-out TEST half of the second development set: the odd-index wordings of the lists
split in ``wordings_tune2_templates.py`` (see there). Report on it; never tune on it."""

TEMPLATES: dict[str, list[str]] = {
    "visual_when": [
        "Can you find {label} in this video?",
        "Jump to {the_label}.",
        "what time is {label} on screen",
        "Give me the timestamp for {the_label}.",
        "Could you tell me at which moment {label} appears?",
        "How far into the video is {the_label}?",
        "{The_label} appears at some point. When exactly?",
    ],
    "speech_when": [
        "When do I hear “{s}”?",
        "Timestamp of the line “{s}”?",
        "In which part of the video is “{s}” spoken?",
        "Can you locate the moment someone says '{s}'?",
        "How far in is the line “{s}”?",
        "At which timestamp do they say “{s}”?",
    ],
    "speech_what": [
        "Transcribe what's said at {mss}.",
        "What are the words spoken {spoken} into the video?",
        "at {mss} what is said",
        "Tell me the line spoken at {secs}.",
        "Give me the quote at {mss}.",
        "What's said at about minute {approx_min}?",
    ],
    "ocr_what": [
        "Read me the on-screen text at {mss}.",
        "What words appear on the screen {spoken} in?",
        "at {mss} what does the screen say",
        "What text can be read at {secs}?",
        "What is the slide showing at around minute {approx_min}?",
        "Tell me the words displayed at {mmss}.",
    ],
    "ocr_when": [
        "When does the screen read “{s}”?",
        "When can I read “{s}” on screen?",
        "the slide {s_lc} when is it",
        "Jump to the text “{s}”.",
        "Timestamp of the on-screen text “{s}”?",
        "Locate the moment the text reads '{s}'.",
    ],
    "order": [
        "Which one is shown earlier in the video: {a} or {b}?",
        "Out of {a} and {b}, which shows up first?",
        "what comes first {a} or {b}",
        "Tell me whether {a} or {b} is shown first.",
        "{a} or {b}: which one do we see first?",
        "Earlier in the video, {va} or {vb}?",
    ],
    "cross_modal": [
        "After the line “{s}”, is the next thing on screen {opts}?",
        "Straight after the voice says “{s}”, do we see {opts}?",
        "after {s_lc} is said what shows up {opts}",
        "Just after the narrator's line “{s}”, which appears: {opts_oxford}?",
        "When the narrator finishes saying “{s}”, what do we see next, {opts}?",
        "Choose from {opts_and}: what appears right after the narrator says “{s}”?",
    ],
    "count_slides": [
        "Count the text slides on a dark background.",
        "number of dark text slides in the video?",
        "How many plain text slides on black appear?",
    ],
    "count_word": [
        "How many times do we hear '{w}'?",
        "number of times the word {w} is said",
        "How frequently is the word “{w}” used?",
    ],
}
