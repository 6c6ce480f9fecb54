"""The question-answering agent on a synthetic library (real Store, fake models and LLM)."""

from __future__ import annotations

import re

import pytest
from agent_fixtures import (
    DURATION,
    ToyEncoder,
    make_llm,
    prompt_text,
    toy_models,
    write_lecture,
)

from hourlens.agent import AgentConfig, Turn, ask, build_graph
from hourlens.agent.context import Context
from hourlens.agent.nodes_backtrack import dense_frames
from hourlens.ask import ask_video, get_video_transcript
from hourlens.errors import NotIndexedError
from hourlens.memory_store import Store


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("agentlib")
    store = Store(root / "lib")
    video = write_lecture(store, root / "videos" / "lecture.mp4")
    yield store, video
    store.close()


def cfg(**kw) -> AgentConfig:
    # the judge is under test here; the LLM planner has tests of its own (test_planner.py)
    base = {"llm": "none", "rewrite_visual": False, "plan_with_llm": False, "max_llm_calls": 5}
    base["judge_computed"] = True  # the judge's mechanics are under test
    base.update(kw)
    return AgentConfig(**base)


def run(library, question, *, llm=None, config=None, history=None, **kw):
    store, video = library
    return ask(
        store,
        question,
        videos=[video],
        llm=llm,
        config=config or cfg(),
        models=toy_models(),
        history=history,
        **kw,
    )


def nodes(answer):
    return [s.node for s in answer.steps]


def numbers_with(prompt: str, needle: str) -> list[int]:
    """Evidence numbers of the prompt lines that contain ``needle``."""
    return [
        int(m.group(1))
        for line in prompt.splitlines()
        if needle.lower() in line.lower() and (m := re.match(r"\[(\d+)\]", line))
    ]


def assert_valid_citations(ans, duration=DURATION):
    assert len(ans.citations) <= 8
    for c in ans.citations:
        assert 0.0 <= c.start <= c.end <= duration
        assert c.end - c.start <= 60.0
        assert c.kind in ("visual", "speech", "ocr", "caption")


# -- deterministic routes (no LLM) ---------------------------------------------------------


def test_graph_compiles_with_the_documented_nodes():
    g = build_graph().get_graph()
    assert {"route", "coarse", "select", "judge", "backtrack", "answer"} <= set(g.nodes)


def test_what_is_said_at_a_time_is_a_lookup(library):
    ans = run(library, "What is said at about 01:27?")
    assert ans.answer == "Please hold while I try that extension."
    assert ans.confidence >= 0.8
    assert [(c.start, c.end, c.kind) for c in ans.citations] == [(86.0, 89.0, "speech")]
    assert nodes(ans) == ["route", "coarse", "select", "judge", "answer"]


def test_exact_lookups_need_no_llm_call(library):
    llm = make_llm([])
    ans = run(
        library, "When does the narrator say “Look at the rocket on the launch pad”?", llm=llm
    )
    assert llm.prompts == [] and ans.answer == "From 02:11 to 02:15."
    assert "lookup" in ans.steps[3].detail


def test_what_is_shown_at_a_time_reads_that_memory(library):
    ans = run(library, "What is shown at 01:15?")
    assert ans.answer.startswith("At 01:15: a cat sitting on a sofa; looks like: tabby cat")
    assert sorted((c.start, c.end, c.kind) for c in ans.citations) == [
        (60.0, 90.0, "caption"),
        (70.0, 80.0, "visual"),
    ]


def test_what_is_written_at_a_time(library):
    ans = run(library, "What sentence is written on the screen at about 02:43?")
    assert ans.answer == "Your call is important to us"
    assert ans.citations[0].kind == "ocr" and ans.citations[0].start == 160.0


@pytest.mark.parametrize(
    "question, start",
    [
        ("When does the narrator say “Look at the rocket on the launch pad”?", 131.0),
        ('When does the text "Your call is important to us" appear on screen?', 160.0),
        ("At what time is a red motorcycle shown?", 40.0),
    ],
)
def test_when_questions_cite_the_moment(library, question, start):
    ans = run(library, question)
    assert ans.citations and ans.citations[0].start == start
    assert_valid_citations(ans)


def test_order_compares_the_times_of_each_option(library):
    ans = run(library, "Which comes first in the video: a rocket on a launch pad or a cat?")
    assert ans.answer == "a cat"
    assert_valid_citations(ans)


def test_cross_modal_scores_options_right_after_the_sentence(library):
    ans = run(
        library,
        "What is shown right after the narrator says “Please hold while I try "
        "that extension”: a cat, coffee, a rocket or a motorcycle?",
    )
    assert ans.answer == "coffee"
    assert any(c.kind == "speech" and c.start == 86.0 for c in ans.citations)


def test_count_a_spoken_word(library):
    ans = run(library, "How many times does the narrator say the word “rocket”?")
    assert ans.answer.startswith("2 ")
    assert sorted(c.start for c in ans.citations) == [131.0, 200.0]


# -- graph paths with a fake LLM -----------------------------------------------------------


def test_answer_at_the_coarse_level(library):
    def reply(messages):
        prompt = prompt_text(messages)
        assert "Question: What is the lecture about?" in prompt
        return {
            "answer": "Rockets, cats and coffee.",
            "evidence": numbers_with(prompt, "rockets")[:1],
            "confidence": 0.9,
            "sufficient": True,
            "missing": "",
        }

    llm = make_llm([reply])
    ans = run(library, "What is the lecture about?", llm=llm)
    assert ans.answer == "Rockets, cats and coffee."
    assert ans.confidence == pytest.approx(0.9)
    assert nodes(ans) == ["route", "coarse", "select", "judge", "answer"]
    assert len(llm.prompts) == 1 and ans.citations
    assert_valid_citations(ans)


def test_backtracks_when_the_evidence_is_insufficient(library):
    first = {
        "answer": "",
        "evidence": [],
        "confidence": 0.2,
        "sufficient": False,
        "missing": "a scooter or moped",
    }

    def second(messages):
        prompt = prompt_text(messages)
        assert "frame looks like: tabby cat" in prompt or "moped 0.50" in prompt
        return {
            "answer": "From 00:40 to 00:50.",
            "evidence": numbers_with(prompt, "moped")[:2],
            "confidence": 0.8,
            "sufficient": True,
            "missing": "",
        }

    llm = make_llm([first, second])
    ans = run(
        library, "At what time is a red motorcycle shown?", llm=llm, config=cfg(trust_lookups=False)
    )  # the LLM judges every round
    assert nodes(ans) == ["route", "coarse", "select", "judge", "backtrack", "judge", "answer"]
    assert ans.answer == "From 00:40 to 00:50." and ans.confidence == pytest.approx(0.8)
    assert any(c.start <= 45.0 <= c.end for c in ans.citations)
    assert_valid_citations(ans)


def test_visual_rewrite_into_index_vocabulary(library):
    insufficient = {"answer": "not sure", "confidence": 0.3, "sufficient": False, "missing": ""}
    llm = make_llm(
        [
            insufficient,
            {"terms": ["coffee mug", "espresso"]},
            lambda m: {
                "answer": "From 01:40 to 01:50.",
                "confidence": 0.7,
                "sufficient": True,
                "evidence": numbers_with(prompt_text(m), "espresso"),
            },
        ]
    )
    ans = run(
        library,
        "At what time is a hot drink shown?",
        llm=llm,
        config=cfg(rewrite_visual=True, trust_lookups=False),
    )
    assert "visual terms: coffee mug, espresso" in " ".join(s.detail for s in ans.steps)
    assert any(c.start == 100.0 for c in ans.citations)


def test_budget_exhausted_gives_a_low_confidence_answer(library):
    never = {
        "answer": "Maybe around the middle.",
        "evidence": [1],
        "confidence": 0.5,
        "sufficient": False,
        "missing": "a clearer view",
    }
    llm = make_llm([never, never, never])
    ans = run(
        library, "What colour is the presenter's shirt?", llm=llm, config=cfg(max_backtracks=2)
    )
    assert nodes(ans).count("judge") == 3 and nodes(ans).count("backtrack") == 2
    assert ans.confidence <= 0.3 and "low confidence" in ans.answer
    assert ans.answer.startswith("Maybe around the middle.")
    assert_valid_citations(ans)


def test_llm_call_budget_caps_the_calls_of_one_question(library):
    never = {"answer": "Maybe.", "evidence": [1], "confidence": 0.5, "sufficient": False}
    llm = make_llm([never] * 5)
    ans = run(
        library,
        "What colour is the presenter's shirt?",
        llm=llm,
        config=cfg(max_backtracks=2, max_llm_calls=1),
    )
    assert len(llm.prompts) == 1 and nodes(ans).count("judge") == 3
    assert_valid_citations(ans)


def test_invalid_llm_json_falls_back_deterministically(library):
    llm = make_llm(["this is not JSON {", "neither is this"])
    ans = run(library, "What is said at about 01:27?", llm=llm, config=cfg(trust_lookups=False))
    assert ans.answer == "Please hold while I try that extension."
    assert [c.start for c in ans.citations] == [86.0]
    assert any("fallback" in s.detail for s in ans.steps if s.node == "judge")


def test_garbage_fields_are_repaired(library):
    llm = make_llm(
        [{"answer": 42, "evidence": "7, x, 999", "confidence": "high", "sufficient": "yes"}]
    )
    ans = run(library, "What is said at about 01:27?", llm=llm, config=cfg(trust_lookups=False))
    assert ans.answer == "42" and 0.0 <= ans.confidence <= 1.0
    assert_valid_citations(ans)


def test_follow_up_uses_the_previous_answer(library):
    first = run(library, "What is said at about 01:27?")
    history = [Turn.of("What is said at about 01:27?", first)]

    def reply(messages):
        prompt = prompt_text(messages)
        assert "Previous question: What is said at about 01:27?" in prompt
        return {
            "answer": "The coffee is ready in the kitchen.",
            "evidence": numbers_with(prompt, "coffee is ready"),
            "confidence": 0.85,
            "sufficient": True,
        }

    ans = run(library, "And what is said right after that?", llm=make_llm([reply]), history=history)
    plan = ans.steps[0].detail
    assert plan.startswith("what_at/speech") and "window=89-119s" in plan
    assert ans.answer == "The coffee is ready in the kitchen."
    assert [(c.start, c.kind) for c in ans.citations] == [(100.0, "speech")]


def test_citations_always_inside_the_video(library):
    cite_all = {
        "answer": "Everything.",
        "evidence": list(range(1, 40)),
        "confidence": 0.9,
        "sufficient": True,
    }
    for q in (
        "What is the lecture about?",
        "At what time is a cat shown?",
        "Which comes first in the video: coffee or a motorcycle?",
    ):
        ans = run(library, q, llm=make_llm([cite_all]))
        assert ans.citations
        assert_valid_citations(ans)


def test_trace_reports_each_step_as_it_happens(library):
    seen = []
    ans = run(library, "What is said at about 01:27?", on_step=seen.append)
    assert [s.node for s in seen] == nodes(ans)
    assert all(s.seconds >= 0 for s in seen)


# -- scope, errors, tools --------------------------------------------------------------------


def test_question_about_a_video_that_is_not_indexed(library):
    store, _ = library
    with pytest.raises(NotIndexedError):
        ask_video(store, "What is said?", video="not-there.mp4", config=cfg())
    with pytest.raises(ValueError):
        ask_video(store, "   ", video="lecture.mp4", config=cfg())


def test_empty_library_is_a_clear_error(tmp_path):
    with Store(tmp_path / "empty") as st, pytest.raises(NotIndexedError, match="no indexed"):
        ask_video(st, "What is said?", config=cfg())


def test_ask_across_the_library(tmp_path):
    with Store(tmp_path / "lib") as st:
        write_lecture(st, tmp_path / "a.mp4", seed=1)
        other = write_lecture(
            st,
            tmp_path / "b.mp4",
            seed=2,
            speech=[(50.0, 54.0, "The meeting starts at noon sharp.")],
        )
        ans = ask(
            st,
            "When does the narrator say “the meeting starts at noon”?",
            videos=st.videos("indexed"),
            llm=None,
            config=cfg(),
            models=toy_models(),
        )
        assert ans.citations[0].video == other.path and ans.citations[0].start == 50.0


def test_get_video_transcript(library):
    store, video = library
    lines = get_video_transcript(store, "lecture.mp4", 80.0, 120.0)
    assert [ln.start for ln in lines] == [86.0, 100.0]
    assert len(get_video_transcript(store, video.id)) == 5
    with pytest.raises(ValueError):
        get_video_transcript(store, video.id, 10.0, 5.0)


def test_dense_frames_fall_back_to_thumbnails_when_the_source_is_gone(library, tmp_path):
    store, video = library
    ctx = Context(store=store, videos=[video], config=cfg(), models=toy_models())
    seg = ctx.memo(video.id).segments[2]
    frames = dense_frames(ctx, video.id, seg)
    assert len(frames) == 1 and frames[0][2].endswith(".jpg")  # the stored keyframe
    assert frames[0][1].shape == (24, 32, 3)
    real = tmp_path / "lecture.mp4"
    real.write_bytes(b"x")
    moved = type(video)(**{**video.to_dict(), "path": str(real)})
    ctx = Context(store=store, videos=[moved], config=cfg(dense_frames=3), models=toy_models())
    frames = dense_frames(ctx, moved.id, seg)
    assert [f[0] for f in frames] == [65.0, 75.0, 85.0]
    assert all(ref.startswith("frame:") and ref in ctx.frames for *_, ref in frames)


def test_vlm_answers_from_keyframes_and_text(library):
    class FakeVLM:
        name = "fake-vlm"

        def __init__(self):
            self.calls = []

        def generate(self, images, prompt, *, max_tokens=160):
            self.calls.append((list(images), prompt))
            if "Describe" in prompt:
                return "A cat sits on a sofa."
            return "A cat is shown [01:00–01:30]."

    vlm = FakeVLM()
    enc = ToyEncoder()
    store, video = library
    ans = ask(
        store,
        "At what time is a cat shown?",
        videos=[video],
        llm=None,
        config=cfg(max_backtracks=1),
        models=toy_models(enc),
        vlm=vlm,
    )
    assert ans.answer.startswith("A cat is shown")
    final_images, final_prompt = vlm.calls[-1]
    assert final_images and "Question: At what time is a cat shown?" in final_prompt
    assert enc.calls == 0  # with a VLM, frames are described by it, not re-classified
