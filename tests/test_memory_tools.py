"""The typed memory tools, each on the synthetic lecture (rows written through the Store)."""

from __future__ import annotations

import pytest
from agent_fixtures import toy_models, write_lecture

from hourlens.memory_store import Store
from hourlens.tools import memory
from hourlens.tools.scope import Scope


@pytest.fixture(scope="module")
def scope(tmp_path_factory):
    root = tmp_path_factory.mktemp("toolslib")
    store = Store(root / "lib")
    video = write_lecture(store, root / "videos" / "lecture.mp4")
    yield Scope(store=store, videos=[video], models=toy_models())
    store.close()


def spans(result):
    return [(e.start, e.end) for e in result.evidence]


def test_lookup_at_reads_the_memories_at_a_time(scope):
    r = memory.lookup_at(scope, 87.0, modality="speech")
    assert r.evidence[0].text == "Please hold while I try that extension."
    assert r.evidence[0].score == 1.0  # the line covers the time
    ocr = memory.lookup_at(scope, 162.0, modality="ocr")
    assert ocr.evidence[0].text == "Your call is important to us"
    with pytest.raises(ValueError):
        memory.lookup_at(scope, -1.0)


def test_find_phrase_exact_and_fuzzy(scope):
    exact = memory.find_phrase(scope, "the coffee is ready in the kitchen")
    assert spans(exact)[0] == (100.0, 104.0)
    fuzzy = memory.find_phrase(scope, "coffee ready kitchen")  # words missing
    assert spans(fuzzy)[0] == (100.0, 104.0)
    screen = memory.find_phrase(scope, "your call is important", modality="ocr")
    assert spans(screen)[0] == (160.0, 166.0) and screen.evidence[0].kind == "ocr"
    windowed = memory.find_phrase(scope, "rocket", window=(190.0, 210.0))
    assert all(e.end >= 190.0 and e.start <= 210.0 for e in windowed.evidence)
    with pytest.raises(ValueError):
        memory.find_phrase(scope, "  ")


def test_find_visual_uses_the_label_space(scope):
    r = memory.find_visual(scope, "a cat")
    assert r.evidence and 60.0 <= r.evidence[0].start < 90.0  # "tabby cat" memory
    rocket = memory.find_visual(scope, "a rocket", window=(100.0, 160.0))
    assert rocket.evidence and 120.0 <= rocket.evidence[0].start < 150.0


def test_read_range_and_neighbours(scope):
    r = memory.read_range(scope, 80.0, 110.0, modality="speech")
    assert [e.text for e in r.evidence] == [
        "Please hold while I try that extension.",
        "The coffee is ready in the kitchen.",
    ]
    after = memory.neighbours(scope, 100.0, 104.0, direction="after", length=40.0)
    assert any("launch pad" in e.text for e in after.evidence)
    before = memory.neighbours(scope, 100.0, 104.0, direction="before", length=20.0)
    assert any("Please hold" in e.text for e in before.evidence)
    with pytest.raises(ValueError):
        memory.read_range(scope, 10.0, 5.0)


def test_count_speech_ocr_and_visual(scope):
    assert memory.count(scope, "rocket", modality="speech").count == 2  # not "rockets"
    assert memory.count(scope, "submarine", modality="speech").count == 0
    assert memory.count(scope, "your call is important", modality="ocr").count == 1
    cats = memory.count(scope, "a cat", modality="visual", min_score=0.3)
    assert cats.count >= 1 and all(e.end - e.start <= 40 for e in cats.evidence)


def test_overview_and_search(scope):
    ov = memory.overview(scope, "coffee")
    assert any(e.kind == "chapter" and "coffee" in e.text for e in ov.evidence)
    s = memory.search(scope, "coffee kitchen")
    assert any(e.start == 100.0 for e in s.evidence)


def test_registry_runs_tools_by_name_and_explains_unknown_ones(scope):
    r = memory.call_tool(scope, "lookup_at", time=87.0, modality="speech")
    assert r.tool == "lookup_at" and r.to_dict()["items"][0]["start"] == 86.0
    with pytest.raises(KeyError, match="available: lookup_at"):
        memory.call_tool(scope, "teleport")
    assert set(memory.TOOLS) >= {
        "lookup_at",
        "find_phrase",
        "find_visual",
        "read_range",
        "neighbours",
        "count",
        "overview",
        "search",
    }
