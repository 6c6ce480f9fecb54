"""Question wordings of the TUNE half (bench/wordings.py --set tune).

Written for issue 9 before any tuning: each question type's wordings were authored as
one list, in pairs of the same kind (a different verb, a request, the time or phrase in
another place, another time format, lower case without a question mark, ...); the
wording at an even index of that list is here, the one at the odd index next to it is
in ``wordings_test_templates.py`` (the held-out TEST half: do not read it while tuning).

Fields (filled from the manifest by ``wordings.py``): ``label``/``the_label``/
``The_label`` (needle label, with "the"), ``s`` (the quoted sentence, exact), ``s_lc``
(lower case, no punctuation), ``frag`` (its first words, only where no other sentence of
the video starts with them), ``mmss``/``mss``/``hmmss``/``spoken``/``secs`` (the
question's time written other ways), ``approx_min`` (the nearest minute, only where that
is unambiguous), ``a``/``b`` (order options, exact), ``va``/``vb`` (the same, only when
both are visual), ``opts``/``opts_oxford``/``opts_and`` (the choices, exact texts, in the
manifest's order), ``w`` (the counted word). A wording whose field is unavailable for a
question is skipped for it (the next wording of the same half is used).
"""

TEMPLATES: dict[str, list[str]] = {
    "visual_when": [
        "When do we see {label}?",
        "Tell me when {label} appears.",
        "I'm looking for {the_label}: when does it appear?",
        "Find the moment {label} is on screen.",
        "when does {label} show up",
        "{The_label} — when is it on screen?",
        "Where in the video is {label}?",
    ],
    "speech_when": [
        "When is “{s}” said?",
        "Tell me when the narrator says “{s}”",
        "I'm looking for the line “{s}”: when is it said?",
        "Find the moment the narrator says “{s}”",
        "“{s}” — when is that said in the video?",
        "when does the narrator say {s_lc}",
        "When does the narrator start saying “{frag}…”?",
        "When do you hear the narrator say '{s}'?",
    ],
    "speech_what": [
        "What does the narrator say at {mmss}?",
        "Tell me what is said at {mss}.",
        "What's said {spoken} in?",
        "What is said at {hmmss}?",
        "At the {mss} mark, what does the speaker say?",
        "What does the voice say {secs} into the video?",
        "What is said around minute {approx_min}?",
        "I'm looking for what is said at {mss}: what are the words?",
    ],
    "ocr_what": [
        "What does the text on screen say at {mmss}?",
        "Tell me what is written on the screen at {mss}.",
        "What sentence is on the slide {spoken} in?",
        "what text is shown at {hmmss}",
        "At {mss}, what is written on the screen?",
        "What does the on-screen text say {secs} in?",
        "What sentence is written on screen around minute {approx_min}?",
        "I'm looking for the text on screen at {mmss}: what does it say?",
    ],
    "ocr_when": [
        "When is the text “{s}” shown?",
        "Tell me when “{s}” is written on screen.",
        "I'm looking for the slide that says “{s}”: when does it appear?",
        "Find the moment the screen shows “{s}”",
        "“{s}” — when is that written on screen?",
        "when does the text {s_lc} appear",
        "When does the slide starting “{frag}…” come up?",
        "At what point is '{s}' written on the screen?",
    ],
    "order": [
        "Which comes up first, {a} or {b}?",
        "Is {va} or {vb} shown first?",
        "Tell me which comes first: {a} or {b}.",
        "which is first {a} or {b}",
        "Between {a} and {b}, which comes first?",
        "I want to know which is first in the video — {a} or {b}?",
        "Find out which comes first, {a} or {b}.",
        "Which do we see first, {va} or {vb}?",
    ],
    "cross_modal": [
        "Right after the narrator says “{s}”, what do we see: {opts}?",
        "Is it {opts} that is shown right after the voice says “{s}”?",
        "Tell me what comes on screen right after the narrator says “{s}”: {opts}.",
        "I'm looking for what is shown right after “{s}” is said. Is it {opts}?",
        "right after the narrator says “{s}” what is shown {opts}",
        "Of {opts_and}, which one appears right after the narrator says “{s}”?",
        "Once the narrator has said “{s}”, what is the next thing shown: {opts}?",
        "What do we see straight after the speaker says '{s}' — {opts}?",
    ],
    "count_slides": [
        "How many plain dark text slides are there in the video?",
        "Count the slides with a written sentence on a plain dark background.",
        "how many dark slides with writing on them are in this video",
        "I'm looking for the number of plain dark slides with a sentence: how many are there?",
        "How often is a slide with a written sentence on a plain dark background shown?",
    ],
    "count_word": [
        "How many times is the word “{w}” said?",
        "Count the times the narrator says '{w}'.",
        "Tell me how many times the voice says “{w}”.",
        "how many times does the speaker say {w}",
        "I'm looking for the word “{w}”: how many times is it said?",
    ],
}
