"""The Python API (``hourlens.Library``): typed, JSON-ready results; safe for threads."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from agent_fixtures import make_llm, toy_models, write_lecture

from hourlens import Answer, Hit, Library, NotIndexedError, TranscriptLine, Video
from hourlens.integrations.payloads import answer_json
from hourlens.memory_store import Store


@pytest.fixture(scope="module")
def lib_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("apilib")
    with Store(root / "lib") as st:
        write_lecture(st, root / "lecture.mp4")
        write_lecture(st, root / "other" / "second.mp4", seed=1)
    return root / "lib"


@pytest.fixture
def lib(lib_dir):
    with Library(lib_dir, llm="none", models=toy_models()) as library:
        yield library


def test_videos_and_describe_are_typed_and_json_ready(lib):
    videos = lib.videos()
    assert [type(v) for v in videos] == [Video, Video]
    assert {v.path.rsplit("/", 1)[-1] for v in videos} == {"lecture.mp4", "second.mp4"}
    json.dumps([v.to_dict() for v in videos])
    info = lib.describe("lecture.mp4")
    assert len(info["segments"]) == 10 and json.dumps(info)


def test_search_returns_hits(lib):
    hits = lib.search("cat", k=3, video="lecture.mp4")
    assert hits and all(isinstance(h, Hit) for h in hits)
    assert all(h.video.endswith("lecture.mp4") for h in hits)
    assert json.loads(json.dumps([h.to_dict() for h in hits]))[0]["kind"] in {
        "tag",
        "speech",
        "caption",
        "ocr",
        "visual",
        "summary",
    }
    assert any(h.kind == "tag" and h.text == "tabby cat" for h in hits)  # via models.labels
    with pytest.raises(NotIndexedError):
        lib.search("cat", video="missing.mp4")
    with pytest.raises(ValueError):
        lib.search("   ")


def test_ask_deterministic_and_cli_shape(lib):
    ans = lib.ask("What is said at about 01:27?", video="lecture.mp4")
    assert isinstance(ans, Answer)
    assert ans.answer == "Please hold while I try that extension."
    (cite,) = ans.citations
    assert (cite.start, cite.end, cite.kind) == (86.0, 89.0, "speech")
    assert answer_json(ans) == ans.to_dict()
    json.dumps(ans.to_dict())


def test_ask_follow_up_uses_history(lib):
    first = lib.ask("What is said at about 01:27?", video="lecture.mp4")
    second = lib.ask(
        "and what is said right after that?",
        video="lecture.mp4",
        history=[("What is said at about 01:27?", first)],
    )
    assert "The coffee is ready in the kitchen." in second.answer


def test_ask_with_an_llm_object(lib_dir):
    llm = make_llm(
        [{"answer": "Rockets and cats.", "evidence": [1], "confidence": 0.9, "sufficient": True}]
    )
    with Library(lib_dir, llm=llm, models=toy_models()) as lib:
        ans = lib.ask("What is the lecture about?", video="lecture.mp4")
    assert ans.answer == "Rockets and cats." and llm.prompts


def test_ask_errors(lib):
    with pytest.raises(ValueError):
        lib.ask("  ")
    with pytest.raises(NotIndexedError):
        lib.ask("What is said?", video="missing.mp4")


def test_transcript(lib):
    lines = lib.transcript("lecture.mp4", 80, 110)
    assert [type(x) for x in lines] == [TranscriptLine, TranscriptLine]
    assert lines[0].text == "Please hold while I try that extension."
    assert len(lib.transcript("lecture.mp4")) == 5
    with pytest.raises(ValueError):
        lib.transcript("lecture.mp4", 100, 50)
    with pytest.raises(NotIndexedError):
        lib.transcript("missing.mp4")


def test_index_reports_progress_events(lib, tmp_path):
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"not a video at all")
    events = []
    results = lib.index([bad], progress=lambda ev, info: events.append(ev))
    (res,) = results
    assert res.status == "failed" and "broken.mp4" in (res.error or "")
    assert events[0] == "plan" and events[-1] == "done"
    json.dumps(res.to_dict())


def test_concurrent_readers(lib):
    expected = {
        "videos": [v.to_dict() for v in lib.videos()],
        "search": [h.to_dict() for h in lib.search("rocket", k=5)],
        "transcript": [x.to_dict() for x in lib.transcript("second.mp4", 0, 120)],
        "describe": lib.describe("lecture.mp4"),
    }
    calls = {
        "videos": lambda: [v.to_dict() for v in lib.videos()],
        "search": lambda: [h.to_dict() for h in lib.search("rocket", k=5)],
        "transcript": lambda: [x.to_dict() for x in lib.transcript("second.mp4", 0, 120)],
        "describe": lambda: lib.describe("lecture.mp4"),
    }
    jobs = [name for name in calls for _ in range(12)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda name: (name, calls[name]()), jobs))
    for name, got in results:
        assert got == expected[name], name


def test_concurrent_questions(lib):
    questions = ["What is said at about 01:27?", "What is said at about 01:41?"] * 3
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers = list(pool.map(lambda q: lib.ask(q, video="lecture.mp4").answer, questions))
    assert answers[0::2] == ["Please hold while I try that extension."] * 3
    assert answers[1::2] == ["The coffee is ready in the kitchen."] * 3
