"""When the agent asks the LLM: computed drafts first, the LLM only when they fall short."""

from __future__ import annotations

import pytest
from agent_fixtures import make_llm, prompt_text, toy_models, write_lecture

from hourlens.agent import AgentConfig, ask
from hourlens.agent.nodes_answer import draft, trusts_draft
from hourlens.agent.parse import parse_question
from hourlens.memory_store import Store
from hourlens.tools.evidence import Evidence


def route_question(question, history=(), **kw):
    """The fast path's plan (the planner without an LLM)."""
    return parse_question(question, history, **kw).plan


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("policylib")
    store = Store(root / "lib")
    video = write_lecture(store, root / "videos" / "lecture.mp4")
    yield store, video
    store.close()


def run(library, question, llm, **kw):
    store, video = library
    kw.setdefault("judge_computed", True)
    cfg = AgentConfig(llm="none", rewrite_visual=False, **kw)
    return ask(store, question, videos=[video], llm=llm, config=cfg, models=toy_models())


def ev(option, start, score):
    return Evidence(
        id=f"visual:1:{start}",
        video_id=1,
        video="v.mp4",
        start=start,
        end=start + 8,
        kind="visual",
        text="looks like: x",
        score=score,
        level="memory",
        option=option,
    )


def test_order_draft_is_trusted_when_both_options_are_found():
    r = route_question(
        "Which comes first in the video: a cat or a rocket?\nOptions: A) a cat  B) a rocket"
    )
    d = draft(r, [ev("A", 300.0, 0.8), ev("B", 100.0, 0.7)])
    assert d.answer == "a rocket" and d.sufficient and trusts_draft(r, d)
    d = draft(r, [ev("A", 300.0, 0.8)])  # one option not found: ask the LLM
    assert not trusts_draft(r, d)


def test_trusted_visual_draft_needs_no_llm(library):
    llm = make_llm([])  # any LLM call would fail the test (nothing queued)
    ans = run(library, "At what time is a cat shown?", llm)
    assert not llm.prompts
    assert any(c.start <= 75.0 <= c.end for c in ans.citations)


def test_weak_visual_draft_backtracks_before_asking_the_llm(library):
    def final(messages):
        assert "Question: At what time is a hot drink shown?" in prompt_text(messages)
        return {
            "answer": "From 01:40 to 01:50.",
            "confidence": 0.7,
            "sufficient": True,
            "evidence": [],
        }

    llm = make_llm([final])
    ans = run(library, "At what time is a hot drink shown?", llm, max_backtracks=2)
    steps = [s.node for s in ans.steps]
    assert steps.count("backtrack") == 2 and steps.count("judge") == 3
    assert len(llm.prompts) == 1  # only the last judgement asked the LLM
    assert ans.answer == "From 01:40 to 01:50."
    judges = [s.detail for s in ans.steps if s.node == "judge"]
    assert "fallback" in judges[0] and "llm" in judges[-1]


def test_without_trust_every_judgement_asks_the_llm(library):
    never = {"answer": "not sure", "confidence": 0.2, "sufficient": False, "evidence": []}
    llm = make_llm([never, never])
    run(library, "At what time is a hot drink shown?", llm, max_backtracks=1, trust_lookups=False)
    assert len(llm.prompts) == 2


def test_rewrite_terms_drop_repeats_and_bare_modifiers():
    from hourlens.tools.rewrite import useful_terms

    terms = ["red motorcycle", "motorcycle", "red", "Motorcycle", "moped", "the big"]
    assert useful_terms("a red motorcycle", terms) == ["motorcycle", "moped"]
    assert useful_terms(
        "a cat", ["tabby"] * 3 + ["tiger cat", "lynx", "kitten", "puma", "ocelot"], limit=3
    ) == ["tabby", "tiger cat", "lynx"]


def test_weak_but_found_visual_draft_is_trusted_only_when_backtracking_is_over():
    from hourlens.agent.state import Judgement

    r = route_question("At what time is a cat shown?")
    weak = Judgement(
        sufficient=False, confidence=0.45, answer="From 01:00 to 01:08.", source="fallback"
    )
    nothing = Judgement(sufficient=False, confidence=0.1, answer="?", source="fallback")
    assert not trusts_draft(r, weak) and trusts_draft(r, weak, final=True)
    assert not trusts_draft(r, nothing, final=True)
    general = route_question("What is the lecture about?")
    assert not trusts_draft(general, weak, final=True)


def test_computed_answers_do_not_ask_the_llm_by_default(library):
    llm = make_llm([])  # any LLM call would fail the test (nothing queued)
    ans = run(library, "At what time is a hot drink shown?", llm, judge_computed=False)
    assert not llm.prompts and "low confidence" in ans.answer
    assert ans.citations


def test_cross_modal_answer_by_elimination_when_nothing_matches_in_the_window():
    from dataclasses import replace

    r = route_question(
        'What is shown right after the narrator says "hi": a cat, a rocket or a dog?'
    )
    anchor = replace(ev(None, 50.0, 0.9), kind="speech", source="anchor", id="speech:1:50")
    away = [
        replace(ev("A", 300.0, 0.8), source="elsewhere"),
        replace(ev("B", 400.0, 0.7), source="elsewhere"),
        replace(ev("C", 500.0, 0.05), source="elsewhere"),
    ]
    d = draft(r, [anchor, *away])
    assert d.answer == "a dog" and d.confidence <= 0.3
    weak = [replace(e, score=0.06) for e in away]  # nothing is clearly seen elsewhere either
    assert draft(r, [anchor, *weak]).answer.startswith("I could not find")
