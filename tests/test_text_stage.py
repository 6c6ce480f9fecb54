"""Choosing which frames to OCR."""

from __future__ import annotations

from hourlens.indexer.text_stage import pick_ocr_times


def test_first_text_frame_of_each_segment_then_rate_limited():
    decisions = [(float(t), "ocr") for t in range(40)]
    times = pick_ocr_times(decisions, [0.0, 25.0], min_interval=10, limit=100)
    assert times == [0.0, 10.0, 20.0, 25.0, 35.0]


def test_only_ocr_decisions_and_limit():
    decisions = [(0.0, "none"), (1.0, "same"), (2.0, "ocr"), (3.0, "ocr"), (30.0, "ocr")]
    assert pick_ocr_times(decisions, [0.0], min_interval=5, limit=100) == [2.0, 30.0]
    assert pick_ocr_times(decisions, [0.0], min_interval=0, limit=2) == [2.0, 3.0]
    assert pick_ocr_times([], [0.0], min_interval=5, limit=10) == []


def test_segment_without_any_text_gets_no_caption(tmp_path):
    """A black segment (no tags, OCR or speech) must not fail the video (empty caption)."""
    import types

    import numpy as np

    from hourlens.config import IndexConfig
    from hourlens.indexer.text_stage import SegmentInfo, run_text_stage

    class Writer:
        def __init__(self):
            self.captions = []

        def add_captions(self, items, level, source):
            assert all(c["text"].strip() for c in items)
            self.captions += [(level, c["text"]) for c in items]
            return list(range(len(items)))

        def add_chapters(self, items):
            return list(range(len(items)))

    segs = [
        SegmentInfo(key=1, start=0.0, end=10.0, tags=[], summary=np.ones(4, np.float32)),
        SegmentInfo(key=2, start=10.0, end=20.0, tags=["moped"], summary=np.ones(4, np.float32)),
    ]
    cfg = IndexConfig(asr="none", ocr=False, text_embedder="none", summarizer="none")
    w = Writer()
    res = run_text_stage(
        w, tmp_path / "v.mp4", types.SimpleNamespace(has_audio=False), segs, [], cfg, 20.0
    )
    assert res.captions == 1
    assert [lvl for lvl, _ in w.captions] == ["segment", "video"]
    assert "moped" in w.captions[0][1]


def test_vlm_captioner_leads_the_segment_caption(tmp_path, monkeypatch):
    """A configured VLM captions each segment's keyframe; its text leads the caption."""
    from media import make_scene_video

    import hourlens.indexer.text_stage as ts
    from hourlens import IndexConfig, Library
    from hourlens.indexer.encoders import load_encoder
    from hourlens.indexer.pipeline import Indexer

    seen: list[str] = []

    class FakeVLM:
        name = "fake-vlm"

        def generate(self, images, prompt, *, max_tokens=160):
            seen.extend(images)
            return "A person stands in front of a flag."

    monkeypatch.setattr(ts, "load_captioner", lambda config: FakeVLM())
    video = tmp_path / "v.mp4"
    make_scene_video(video, [(5.0, "hopper"), (5.0, "bars")], fps=5)
    lib = Library(tmp_path / "lib")
    cfg = IndexConfig(captioner="fake", asr="none", ocr=False)
    res = Indexer(lib.store, cfg, encoder=load_encoder("efficientnet_lite0")).index_file(video)
    assert res.status == "indexed", res.error
    caps = lib.store.captions(lib.video(video).id, level="segment")
    assert caps and all(c.text.startswith("A person stands") for c in caps)
    assert all(c.source == "vlm:fake-vlm" for c in caps)
    assert len(seen) == len(caps) and all(str(p).endswith(".jpg") for p in seen)
    lib.close()
