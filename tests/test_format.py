"""Human and subtitle formatting."""

from __future__ import annotations

import json

from hourlens.timefmt import fmt_span, fmt_time, transcript_as
from hourlens.types import TranscriptLine

LINES = [
    TranscriptLine(start=1.5, end=3.25, text="Hello there."),
    TranscriptLine(start=3661.0, end=3663.5, text="An hour later."),
]


def test_times():
    assert fmt_time(0) == "00:00" and fmt_time(75.4) == "01:15"
    assert fmt_time(3661) == "1:01:01"
    assert fmt_span(5, 65) == "[00:05–01:05]"


def test_transcript_formats():
    assert json.loads(transcript_as(LINES, "json")) == [
        {"start": 1.5, "end": 3.25, "text": "Hello there."},
        {"start": 3661.0, "end": 3663.5, "text": "An hour later."},
    ]
    srt = transcript_as(LINES, "srt")
    assert srt.startswith("1\n00:00:01,500 --> 00:00:03,250\nHello there.\n\n2\n01:01:01,000")
    vtt = transcript_as(LINES, "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:01.500 --> 00:00:03.250\nHello there.")
    assert transcript_as(LINES, "txt").splitlines() == [
        "[00:02] Hello there.",
        "[1:01:01] An hour later.",
    ]
    assert transcript_as([], "json") == "[]" and transcript_as([], "txt") == ""
