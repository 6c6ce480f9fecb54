"""The question planner: wordings people use → typed plans; the LLM planner validated."""

from __future__ import annotations

import pytest
from agent_fixtures import make_llm, prompt_text, toy_models, write_lecture

from hourlens.agent import AgentConfig, Turn, ask
from hourlens.agent.parse import parse_question
from hourlens.agent.planner import check_plan, make_plan
from hourlens.agent.timeexpr import find_times
from hourlens.memory_store import Store
from hourlens.types import Citation

PREV = Turn(
    question="When is a cat shown?",
    answer="From 01:40 to 01:48.",
    citations=(Citation(video="/v/lecture.mp4", start=100.0, end=108.0, kind="visual"),),
)


def plan_of(question, history=(), duration=3600.0):
    return parse_question(question, history, duration=duration).plan


@pytest.mark.parametrize(
    "text, expected",
    [
        ("What is shown at 1 hour 2 minutes?", [("point", 3720.0, 3720.0)]),
        ("what is said an hour and two minutes in", [("point", 3720.0, 3720.0)]),
        ("at 0:12:34", [("point", 754.0, 754.0)]),
        ("12 minutes 34 seconds in", [("point", 754.0, 754.0)]),
        ("around minute 12", [("point", 720.0, 720.0)]),
        ("1h02m", [("point", 3720.0, 3720.0)]),
        ("Summarise 10:00–15:00", [("range", 600.0, 900.0)]),
        ("what is written at the start", [("range", 0.0, 30.0)]),
        ("what happens between 10:00 and 12:30", [("range", 600.0, 750.0)]),
        ("the first ten minutes", [("range", 0.0, 600.0)]),
        ("It has 2 rockets", []),
    ],
)
def test_time_expressions(text, expected):
    assert [(e.kind, e.start, e.end) for e in find_times(text)] == expected


def test_relative_and_from_the_end():
    (rel,) = find_times("And 30 seconds later?")
    assert rel.kind == "relative" and rel.offset == 30.0
    (before,) = find_times("two minutes before that")
    assert before.offset == -120.0
    (last,) = find_times("in the last five minutes")
    assert last.resolve(3600.0) == (3300.0, 3600.0)


@pytest.mark.parametrize(
    "question, intent, modality, target",
    [
        # the wordings the regex router got wrong
        ("Count the times the narrator says 'rocket'.", "count", "speech", "rocket"),
        ("What words are on screen at 12:34?", "what_at", "ocr", None),
        ("What is shown at 1 hour 2 minutes?", "what_at", "visual", None),
        ("Is the cat or the rocket shown first?", "order", "any", None),
        (
            "I'm looking for the red motorcycle: when does it appear?",
            "when",
            "visual",
            "the red motorcycle",
        ),
        # kinds the templates lack
        ("What is this video about?", "summarise", "any", None),
        ("Summarise 10:00–15:00", "summarise", "any", None),
        ("Is there a cat in it?", "presence", "visual", "a cat"),
        ("How long is the rocket on screen?", "duration", "visual", "the rocket"),
        ("Which of my videos shows a rocket?", "which_video", "visual", "a rocket"),
        ("Did the narrator ever mention the weather?", "presence", "speech", "the weather"),
        # requests instead of questions, other verbs
        ("tell me when the astronaut shows up", "when", "visual", "the astronaut"),
        ('Find the moment the narrator says "goodbye"', "when", "speech", "goodbye"),
        ('the text "call us" — when is it on screen?', "when", "ocr", "call us"),
        ("what does the slide say at 4:05", "what_at", "ocr", None),
        ("When does the man in the car talk about the weather?", "when", "speech", None),
        ("At what time is a man in a bow tie talking in a car shown?", "when", "visual", None),
    ],
)
def test_everyday_wordings(question, intent, modality, target):
    p = plan_of(question)
    assert (p.intent, p.modality) == (intent, modality), p.summary()
    if target is not None:
        assert p.target == target


def test_options_without_a_colon_and_pairs():
    p = plan_of("Is the cat or the rocket shown first?")
    assert [o.text for o in p.options] == ["the cat", "the rocket"]
    p = plan_of("Does the cat come before the rocket?")
    assert p.intent == "order" and [o.text for o in p.options] == ["the cat", "the rocket"]
    p = plan_of("Which appears first, a pagoda or a flower?")
    assert p.intent == "order" and [o.text for o in p.options] == ["a pagoda", "a flower"]


@pytest.mark.parametrize(
    "question, options",
    [
        ("What follows the line “hi” — a cat, a dog or a bird?", ["a cat", "a dog", "a bird"]),
        ("After “hi”, is the next thing on screen a cat, a dog or a bird?",
         ["a cat", "a dog", "a bird"]),
        ("after hi is said what shows up a cat, a man in a red hat or a bird",
         ["a cat", "a man in a red hat", "a bird"]),
        ("Is it a cat or a dog that is shown right after “hi”?", ["a cat", "a dog"]),
        ("Right after “hi”, what is on screen? Options: a cat, a dog or a bird.",
         ["a cat", "a dog", "a bird"]),
        ("Do we get the cat or the dog first?", ["the cat", "the dog"]),
        ("the cat or the dog: which one is first?", ["the cat", "the dog"]),
        ("Tell me whether the cat or the dog is shown first.", ["the cat", "the dog"]),
        ("Which is said first, “hello there” or “goodbye”?", ["“hello there”", "“goodbye”"]),
        ("Is it the cat or the dog that we see?", ["the cat", "the dog"]),
        ("Is the cat shown before the dog, or after?", ["the cat", "the dog"]),
        ("In which order are the cat, the dog and the bird shown?",
         ["the cat", "the dog", "the bird"]),
    ],
)  # fmt: skip
def test_lists_of_choices_in_any_shape(question, options):
    assert [o.text for o in plan_of(question).options] == options


@pytest.mark.parametrize(
    "question, intent, target",
    [
        ("Show me where the red motorcycle is.", "when", "the red motorcycle"),
        ("Skip to the part with a cup of coffee.", "when", "a cup of coffee"),
        ("Find a cat for me please", "when", "a cat"),
        ("I remember a cat somewhere in here — when was it?", "when", "a cat"),
        ("Any idea when the red motorcycle appears?", "when", "the red motorcycle"),
        ("Is there a cat anywhere? When?", "when", "a cat"),
        ("Need the time for the rocket", "when", "the rocket"),
        ("How long does the cat stay on screen?", "duration", "the cat"),
        ("What do we find at 03:00?", "what_at", None),
    ],
)
def test_requests_to_find_something_are_when_questions(question, intent, target):
    p = plan_of(question)
    assert p.intent == intent, p.summary()
    if target is not None:
        assert p.target == target


def test_in_what_order_lists_every_option_in_time_order(library):
    assert plan_of("In what order do the rocket and the cat appear?").sequence
    ans = run(library, "In what order do the rocket and the cat appear?")
    assert ans.answer.lower().index("cat") < ans.answer.lower().index("rocket"), ans.answer
    assert " then " in ans.answer


def test_which_comes_last_picks_the_later_option_and_as_said_is_an_anchor():
    p = plan_of("Which comes last, the cat or the rocket?")
    assert p.intent == "order" and p.relation == "after"
    p = plan_of("What is on screen when the narrator says “goodbye”?")
    assert p.intent == "what_at" and p.anchor is not None and p.relation == "around"
    assert p.modality == "visual"


def test_elliptical_follow_ups_take_what_they_leave_out_from_the_previous_question():
    said = Turn(
        question="What is said at 02:00?",
        answer="Hello.",
        citations=(Citation(video="/v/lecture.mp4", start=120.0, end=123.0, kind="speech"),),
    )
    p = plan_of("And the rocket?", [PREV])
    assert (p.intent, p.modality, p.target) == ("when", "visual", "the rocket")
    p = plan_of("What about the red motorcycle?", [PREV])
    assert (p.intent, p.target) == ("when", "the red motorcycle")
    p = plan_of("How long is it on screen?", [PREV])
    assert (p.intent, p.target) == ("duration", "a cat")
    p = plan_of("And at 03:00?", [said])
    assert (p.intent, p.modality, p.window) == ("what_at", "speech", (180.0, 180.0))
    quoted_prev = Turn(question="When does the narrator say “hello there”?", answer="x",
                       citations=said.citations)  # fmt: skip
    p = plan_of("And “goodbye”?", [quoted_prev])
    assert (p.intent, p.modality, p.target) == ("when", "speech", "goodbye")


def test_between_two_things_is_a_range_between_them():
    p = plan_of("What happens between the car and the slide?")
    assert p.intent == "describe" and p.relation == "between"
    assert [t.text for t in p.targets] == ["the car", "the slide"]


def test_follow_ups_resolve_against_the_previous_answer():
    p = plan_of("And 30 seconds later?", [PREV])
    assert p.intent == "what_at" and p.window == (130.5, 145.5)  # 108 + 30 ± 7.5
    p = plan_of("right before that?", [PREV])
    assert p.window == (70.0, 100.0) and p.relation == "before"
    # without a previous answer a relative time is not read as an absolute one (0:30)
    parsed = parse_question("And 30 seconds later?", (), duration=3600.0)
    assert not parsed.complete and parsed.plan.window is None


def test_times_outside_the_video_are_not_planned():
    plan, problems = check_plan(plan_of("What is said at 05:32:00?", duration=3600.0), 3600.0)
    assert problems and plan.window is None


# ---- the LLM planner -------------------------------------------------------------------


def test_llm_plans_what_the_parser_cannot_read():
    llm = make_llm(
        [{"intent": "when", "modality": "visual", "targets": ["a dog on a beach"], "start": None}]
    )
    p = make_plan("Hmm, that dog on a beach, got a timestamp?", (), llm=llm, duration=600.0)
    assert p.source in ("parser", "llm")
    p = make_plan("the beach dog bit, where?", (), llm=make_llm(
        [{"intent": "when", "modality": "visual", "targets": ["the beach dog"]}]
    ), duration=600.0)  # fmt: skip
    assert p.source == "llm" and p.intent == "when" and p.target == "the beach dog"


@pytest.mark.parametrize(
    "reply",
    [
        "this is not JSON at all",
        {"intent": "when", "modality": "visual", "targets": []},  # nothing to look for
        {"intent": "what_at", "modality": "speech", "targets": [], "start": "05:32:00"},
        {
            "intent": "order",
            "modality": "visual",
            "targets": [],
            "options": ["a unicorn", "a yeti"],
        },
        {"intent": "teleport", "modality": "smell", "targets": "x"},
    ],
)
def test_bad_llm_plans_are_rejected_never_a_crash(reply):
    llm = make_llm([reply, reply])  # a retry after bad JSON gets the same
    p = make_plan("gimme the bit with the thing", (), llm=llm, duration=600.0)
    assert p.intent == "general" and p.window is None and not p.options


def test_llm_options_must_be_in_the_question():
    llm = make_llm([{"intent": "order", "modality": "visual", "targets": [],
                     "options": ["a cat", "a dragon"]}])  # fmt: skip
    p = make_plan("first one up, cat thing vs rocket thing?", (), llm=llm, duration=600.0)
    assert "dragon" not in " ".join(o.text for o in p.options)


def test_llm_relative_time_is_resolved_against_the_previous_answer():
    llm = make_llm([{"intent": "describe", "modality": "any", "targets": [],
                     "relative_to_previous": "after", "offset_seconds": 60}])  # fmt: skip
    p = make_plan("and a minute on, what's up", [PREV], llm=llm, duration=600.0)
    assert p.window is not None and 150.0 <= p.time <= 190.0


# ---- end to end on the synthetic lecture ------------------------------------------------


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("plannerlib")
    store = Store(root / "lib")
    video = write_lecture(store, root / "videos" / "lecture.mp4")
    yield store, video
    store.close()


def run(library, question, llm=None, history=None, **kw):
    store, video = library
    cfg = AgentConfig(llm="none", rewrite_visual=False, **kw)
    return ask(store, question, videos=[video], llm=llm, config=cfg, models=toy_models(),
               history=history)  # fmt: skip


def test_chat_follow_up_with_a_relative_time(library):
    first = run(library, "When does the narrator say 'the coffee is ready'?")
    assert first.citations[0].start == 100.0
    later = run(library, "And 30 seconds later, what is said?", history=[Turn.of("q", first)])
    assert "rocket on the launch pad" in later.answer.lower()
    assert any(130.0 <= c.start <= 136.0 for c in later.citations)


def test_unanswerable_is_an_honest_not_found_with_closest_moments(library):
    ans = run(library, "When does the narrator say 'the submarine surfaced at dawn'?")
    assert "could not find" in ans.answer.lower()
    assert ans.confidence <= 0.3 and ans.citations
    for c in ans.citations:
        assert 0.0 <= c.start <= c.end <= 300.0


def test_presence_duration_and_summary(library):
    yes = run(library, "Is there a cat in it?")
    assert yes.answer.startswith("Yes") and any(60 <= c.start <= 90 for c in yes.citations)
    no = run(library, "Did the narrator ever mention a submarine?")
    assert no.answer.startswith("No")
    how_long = run(library, "How long is the rocket on screen?")
    assert "seconds" in how_long.answer
    about = run(library, "What is this video about?")
    assert "rockets, cats and coffee" in about.answer.lower()


def test_llm_answer_with_an_invented_time_is_replaced(library):
    def judge(messages):
        assert "Question:" in prompt_text(messages)
        return {"answer": "It is at 05:32:00.", "confidence": 0.9, "sufficient": True,
                "evidence": [1]}  # fmt: skip

    ans = run(library, "What is the lecture about?", llm=make_llm([judge]), plan_with_llm=False)
    assert "05:32:00" not in ans.answer
    assert any(s.node == "answer" and "reworded" in s.detail for s in ans.steps)


def test_a_quoted_phrase_is_looked_for_where_it_really_is(library):
    said = run(library, "At what point is “The coffee is ready in the kitchen” displayed?")
    assert said.citations[0].start == 100.0, said.answer  # on screen per the cue, but said
    shown = run(library, "When does the narrator say “Your call is important to us”?")
    assert shown.citations[0].start == 160.0, shown.answer  # said per the cue, but shown
    assert "phrase found in another memory" in " ".join(s.detail for s in shown.steps)


def test_what_is_said_next_to_a_line_or_to_something_seen(library):
    after_line = run(library, "What is said right after “The coffee is ready in the kitchen”?")
    assert after_line.answer.startswith("[02:11–02:15] Look at the rocket"), after_line.answer
    after_seen = run(library, "What does the narrator say right after the cat appears?")
    assert "Please hold while I try that extension" in after_seen.answer, after_seen.answer
    during = run(library, "What is said while the rocket is on screen?")
    assert "Look at the rocket on the launch pad" in during.answer, during.answer


def test_later_option_of_an_order_question(library):
    ans = run(library, "Which is shown later, the cat or the rocket?")
    assert "rocket" in ans.answer.lower() and "cat" not in ans.answer.lower(), ans.answer


def test_the_start_and_the_end_of_the_video():
    assert plan_of("What does the narrator say towards the end?").window == (3570.0, 3600.0)
    p = plan_of("When is the cat shown in the last five minutes?")
    assert (p.intent, p.target, p.window) == ("when", "the cat", (3300.0, 3600.0))


def test_an_imprecise_time_is_its_whole_minute():
    (e,) = find_times("around minute 12")
    assert e.precision == 60.0
    assert plan_of("What is written on screen around minute 12?").window == (720.0, 780.0)
    assert plan_of("What is written on screen at 12:34?").window == (754.0, 754.0)


def test_a_time_question_stays_a_time_question():
    p = plan_of("Find the text that is on screen at 2:05.")
    assert (p.intent, p.modality, p.window) == ("what_at", "ocr", (125.0, 125.0))
    p = plan_of("What is said at the start of minute 2?")
    assert p.intent == "what_at" and p.window == (120.0, 180.0)
    p = plan_of("What is written on screen at 1:34 when the slide is shown?")
    assert (p.intent, p.window) == ("what_at", (94.0, 94.0))
    assert plan_of("What message is displayed at 1:34?").modality == "ocr"
