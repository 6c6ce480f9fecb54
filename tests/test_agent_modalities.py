"""``AgentConfig.modalities``: restricting the agent to some memories (e.g. transcript-only)."""

from __future__ import annotations

import pytest
from agent_fixtures import toy_models, write_lecture

from hourlens.agent import AgentConfig, ask
from hourlens.agent.context import modality_of
from hourlens.config import from_env
from hourlens.memory_store import Store


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    root = tmp_path_factory.mktemp("modlib")
    store = Store(root / "lib")
    video = write_lecture(store, root / "videos" / "lecture.mp4")
    yield store, video
    store.close()


def run(library, question, modalities="all"):
    store, video = library
    cfg = AgentConfig(llm="none", rewrite_visual=False, modalities=modalities)
    return ask(store, question, videos=[video], config=cfg, models=toy_models())


def test_modalities_parse_and_env(monkeypatch):
    assert AgentConfig().allowed_modalities() == {"speech", "ocr", "visual"}
    assert AgentConfig(modalities=" speech ").allowed_modalities() == {"speech"}
    assert AgentConfig(modalities="ocr,visual").allowed_modalities() == {"ocr", "visual"}
    with pytest.raises(ValueError, match="unknown modalities"):
        AgentConfig(modalities="speech,smell").allowed_modalities()
    monkeypatch.setenv("HOURLENS_MODALITIES", "speech")
    assert from_env(AgentConfig).allowed_modalities() == {"speech"}
    assert [modality_of(k) for k in ("speech", "ocr", "caption", "tag", "chapter")] == [
        "speech",
        "ocr",
        "visual",
        "visual",
        "visual",
    ]


def test_transcript_only_still_finds_speech(library):
    ans = run(
        library,
        'When does the narrator say "the coffee is ready in the kitchen"?',
        modalities="speech",
    )
    assert ans.citations and ans.citations[0].kind == "speech"
    assert (ans.citations[0].start, ans.citations[0].end) == (100.0, 104.0)


def test_transcript_only_cites_no_other_memory(library):
    for q in (
        "At what time is a cat shown?",
        'When does the text "Your call is important to us" appear on screen?',
        "What is written on the screen at about 02:42?",
        "What happens in the video?",
    ):
        only = run(library, q, modalities="speech")
        assert all(c.kind == "speech" for c in only.citations), q
        if "happens" not in q:  # the full agent cites the other memories
            assert any(c.kind != "speech" for c in run(library, q).citations), q
