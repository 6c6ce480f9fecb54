"""Question wordings of the held-out TEST half (bench/wordings.py --set test).

Held out for issue 9: report figures on these, never tune on them. The split rule and
the fields are described in ``wordings_tune_templates.py``; each wording here is the
odd-index twin of one there.
"""

TEMPLATES: dict[str, list[str]] = {
    "visual_when": [
        "At what point does {label} show up?",
        "Tell me the time {label} is on screen.",
        "I'm looking for {label} in this video. When is it shown?",
        "Find the part of the video where {label} appears.",
        "what time is {label} on screen",
        "{The_label}: at what time can I see it?",
        "How far into the video do we get to {the_label}?",
    ],
    "speech_when": [
        "At what time do we hear “{s}”?",
        'Tell me when someone says "{s}".',
        "I'm looking for where the voice says “{s}”. When is that?",
        "Find where “{s}” is spoken.",
        '"{s}": at what point does the narrator say it?',
        "at what time does the voice say {s_lc}",
        "Roughly when does the speaker say the bit that begins “{frag}”?",
        "what time does the speaker say '{s}'",
    ],
    "speech_what": [
        "What do we hear at {mmss}?",
        "Tell me what the voice says around {mmss}.",
        "What is the narrator saying {spoken} into the video?",
        "what are the spoken words at {hmmss}",
        "Around {mss}, what is being said?",
        "What is said {secs} in?",
        "what does the narrator say at about the {approx_min} minute mark",
        "Find the words spoken at {mmss}.",
    ],
    "ocr_what": [
        "What words are on screen at {mmss}?",
        "Read me the sentence shown on screen around {mss}.",
        "What's written on screen {spoken} into the video?",
        "what does the slide at {hmmss} say",
        "Around the {mss} mark, what sentence appears on screen?",
        "What is written on the screen at {secs}?",
        "which words are on the screen at about the {approx_min} minute mark",
        "Find the sentence written on screen at {mss} and tell me what it says.",
    ],
    "ocr_when": [
        "At what time does “{s}” appear on the screen?",
        'Tell me when the words "{s}" come up on screen.',
        "I'm looking for the on-screen text “{s}”. When is it shown?",
        "Find when the sentence “{s}” is written on the screen.",
        '"{s}": at what time does it appear on screen?',
        "what time is {s_lc} on the screen",
        "when do we see the text beginning with '{frag}' on screen",
        "when can I read '{s}' on the screen",
    ],
    "order": [
        "Which happens earlier in the video: {a} or {b}?",
        "Do we see {va} or {vb} first?",
        "Tell me which is earlier in the video, {a} or {b}.",
        "what comes first in this video {a} or {b}",
        "Out of {a} and {b}, which one appears earlier?",
        "Of these two, which do we get first: {a}, or {b}?",
        "Figure out whether {a} or {b} comes first.",
        "Which is on screen first, {va} or {vb}?",
    ],
    "cross_modal": [
        "What appears on screen just after “{s}” is said: {opts}?",
        "After the line “{s}”, which do we see next, {opts_oxford}?",
        "Tell me which of these is shown right after “{s}”: {opts_oxford}.",
        "I'm looking for the thing shown just after the voice says “{s}” — {opts}?",
        "what shows up right after “{s}” is said, {opts}",
        "Out of {opts_and}, which is shown just after “{s}”?",
        "What is the first thing shown after the words “{s}”: {opts}?",
        "Just after '{s}' is spoken, which is on screen: {opts}?",
    ],
    "count_slides": [
        "How many slides with a sentence on a dark background are shown?",
        "Tell me how many times a plain dark slide with a sentence on it appears.",
        "how many times does a slide with a written sentence on a plain dark background come up",
        "Find out how many slides with a written sentence on a dark background are shown.",
        "How many times do we see a sentence written on a plain dark slide?",
    ],
    "count_word": [
        "How often does the narrator say “{w}”?",
        'Count how many times we hear the word "{w}".',
        "Tell me the number of times “{w}” is spoken.",
        "how often is the word {w} said in this video",
        "The word “{w}” — how many times does the narrator use it?",
    ],
}
