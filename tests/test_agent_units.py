"""Unit tests of the agent's parts: routing, text helpers, selection, citations, VLMs."""

from __future__ import annotations

import http.server
import json
import threading
from pathlib import Path

import numpy as np
import pytest

from hourlens.agent import Turn
from hourlens.agent.nodes_select import adaptive_k
from hourlens.agent.parse import parse_question
from hourlens.models.vlm import OpenAIVisionModel
from hourlens.tools.evidence import Evidence, clip_span, merge_evidence, to_citations
from hourlens.tools.textutil import parse_time, quoted
from hourlens.types import Citation


def route_question(question, history=(), **kw):
    """The fast path's plan (the planner without an LLM)."""
    return parse_question(question, history, **kw).plan


@pytest.mark.parametrize(
    "question, kind, modality",
    [
        ("What is said at about 12:34?", "time_lookup", "speech"),
        ("What sentence is written on the screen at about 1:02:03?", "time_lookup", "ocr"),
        ("What is shown at 5 min 3 s?", "time_lookup", "visual"),
        ("When does the narrator say “Please hold, I'll try 5 minutes”?", "speech_when", "speech"),
        ('When does the text "Your call is important" appear on screen?', "ocr_when", "ocr"),
        ("At what time is an astronaut in an orange spacesuit shown?", "visual_when", "visual"),
        ("At what time is a man in a bow tie talking in a car shown?", "visual_when", "visual"),
        ("When is a woman speaking on the phone seen?", "visual_when", "visual"),
        ("When does the man in the car talk about the weather?", "speech_when", "speech"),
        ("Which comes first in the video: a cat or a rocket on a launch pad?", "order", "any"),
        (
            "What is shown right after the narrator says “Hello there”: a cat, a rabbit, a pagoda "
            "or a cup of coffee?",
            "cross_modal",
            "visual",  # what is asked about is shown; the anchor is speech
        ),
        ("How many times does the narrator say the word “conference”?", "count", "speech"),
        ("What is this lecture about?", "general", "any"),  # a summary: no retrieval route
    ],
)
def test_route_question_types(question, kind, modality):
    r = route_question(question)
    assert (r.kind, r.modality) == (kind, modality)


def test_route_details():
    r = route_question("At what time is an astronaut in an orange spacesuit shown?")
    assert r.target == "an astronaut in an orange spacesuit"
    r = route_question("What is said at about 12:34?")
    assert r.time == 754.0
    r = route_question("When does the narrator say “Please hold, I'll try 5 minutes”?")
    assert r.target == "Please hold, I'll try 5 minutes" and r.time is None
    r = route_question("Which comes first in the video: the narrator saying “Hi, or not” or a cat?")
    assert [(o.modality, o.query) for o in r.options] == [
        ("speech", "Hi, or not"),
        ("visual", "a cat"),
    ]
    r = route_question(
        "Which comes first in the video: a cat or a dog?\nOptions: A) a cat  B) a dog"
    )
    assert [(o.letter, o.text) for o in r.options] == [("A", "a cat"), ("B", "a dog")]
    r = route_question(
        "What is shown right after the narrator says “Hi”: a cat, a rabbit or coffee?"
    )
    assert [o.text for o in r.options] == ["a cat", "a rabbit", "coffee"]
    assert (
        route_question('How many times does the narrator say the word "rocket"?').count_word
        == "rocket"
    )


def test_follow_up_route_resolves_against_previous_answer():
    prev = Turn(
        question="q",
        answer="a",
        citations=(Citation(video="/v.mp4", start=86.0, end=89.0, kind="speech"),),
    )
    r = route_question("and what happens right after that?", [prev])
    assert r.kind == "follow_up" and r.direction == "after" and r.window == (89.0, 119.0)
    r = route_question("what is said just before that?", [prev])
    assert r.kind == "follow_up" and r.modality == "speech" and r.window == (56.0, 86.0)
    assert route_question("and what happens right after that?").kind == "general"


def test_text_helpers():
    assert parse_time("at about 1:02:03") == 3723.0
    assert parse_time("around 12:34 or so") == 754.0
    assert parse_time("at 4 min 5 s") == 245.0
    assert parse_time("after 90 seconds") == 90.0
    assert parse_time("nothing here") is None
    assert quoted('say “a b” and "c d"') == ["a b", "c d"]


def test_adaptive_k_cuts_at_the_largest_drop():
    assert adaptive_k([1.0, 0.95, 0.3, 0.25, 0.2], 1, 5) == 2
    assert adaptive_k([1.0, 0.99, 0.98, 0.97, 0.96, 0.95], 2, 4) == 4  # flat: look wider
    assert adaptive_k([0.9], 2, 6) == 1
    assert adaptive_k([0.9, 0.1, 0.09], 2, 6) == 2  # never below the minimum


def test_citations_are_clipped_and_capped():
    def ev(i, start, end, kind="speech"):
        return Evidence(
            id=f"e{i}", video_id=1, video="/v.mp4", start=start, end=end, kind=kind, text="t"
        )

    items = [ev(0, 290, 400), ev(1, 350, 360), ev(2, 0, 300, "visual"), ev(3, -5, 3)]
    items += [ev(10 + i, 10 * i, 10 * i + 5, "ocr") for i in range(12)]
    cites = to_citations(items, {1: 300.0})
    assert len(cites) == 8
    assert (cites[0].start, cites[0].end) == (290.0, 300.0)
    assert (cites[1].start, cites[1].end, cites[1].kind) == (120.0, 180.0, "visual")
    assert (cites[2].start, cites[2].end) == (0.0, 3.0)
    assert all(0 <= c.start <= c.end <= 300 and c.end - c.start <= 60 for c in cites)
    assert clip_span(310, 320, 300.0, 60) is None
    merged = merge_evidence([ev(0, 1, 2)], [ev(0, 1, 2), ev(5, 3, 4)])
    assert [e.id for e in merged] == ["e0", "e5"]


def test_openai_compatible_vlm_endpoint(tmp_path):
    seen = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.update(body)
            data = json.dumps({"choices": [{"message": {"content": " a red moped "}}]}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        vlm = OpenAIVisionModel(f"http://127.0.0.1:{server.server_port}/v1", "tiny-vl", api_key="")
        out = vlm.generate([np.zeros((8, 8, 3), np.uint8)], "What is shown?", max_tokens=9)
    finally:
        server.shutdown()
    assert out == "a red moped"
    assert seen["model"] == "tiny-vl" and seen["max_tokens"] == 9
    parts = seen["messages"][0]["content"]
    assert parts[0]["image_url"]["url"].startswith("data:image/jpeg;base64,")
    assert parts[-1] == {"type": "text", "text": "What is shown?"}


def test_prompts_render_and_keep_json_braces():
    from hourlens.prompts import render

    text = render("rewrite_visual", target="a red motorcycle")
    assert "a red motorcycle" in text and '{"terms"' in text
    assert Path(__file__).parent.joinpath("..", "prompts", "judge_system.txt").exists()


def test_vlm_specs():
    from hourlens.errors import HourlensError
    from hourlens.models.vlm import load_vlm

    vlm = load_vlm("openai:qwen2-vl@http://127.0.0.1:9/v1")
    assert isinstance(vlm, OpenAIVisionModel) and vlm.model == "qwen2-vl"
    assert load_vlm("http://127.0.0.1:9/v1", model="m").model == "m"
    with pytest.raises(HourlensError):
        load_vlm("openai:qwen2-vl")


def test_a_visual_match_that_stands_out_counts_as_found():
    from hourlens.agent.compose import stands_out

    def ev(start, score):
        return Evidence(id=f"v{start}", video_id=1, video="/v.mp4", start=start,
                        end=start + 8, kind="visual", text="t", score=score)  # fmt: skip

    assert stands_out([ev(40, 0.22), ev(360, 0.10), ev(90, 0.06)])  # low but clear
    assert not stands_out([ev(290, 0.13), ev(240, 0.128)])  # a tie is not a winner
    assert not stands_out([ev(40, 0.10)])  # too weak to count even alone
    assert stands_out([ev(40, 0.22), ev(42, 0.21), ev(360, 0.05)])  # same moment overlaps
