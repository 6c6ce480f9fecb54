"""Speech and on-screen text read per time window (Ray engine), and their merge."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from test_ocr_online import _Frame, _probe, _Reader, _text

from hourlens.config import IndexConfig
from hourlens.indexer import window_text
from hourlens.indexer.ocr_online import OcrWindowState, OnlineOcr
from hourlens.indexer.speech import SpeechLine, Transcript, Word
from hourlens.indexer.window_text import WindowText, merge_transcripts, transcribe_window
from hourlens.indexer.windows import WindowPass, stitch


def _line(start: float, end: float, text: str) -> SpeechLine:
    return SpeechLine(
        start=start, end=end, text=text, words=[Word(start=start, end=end, text=text)]
    )


def _tr(*lines: SpeechLine, language: str | None = "en") -> Transcript:
    return Transcript(
        lines=list(lines), language=language, word_timestamps="faster-whisper", model="m"
    )


def test_merge_drops_the_end_of_a_sentence_the_next_window_heard_again():
    first = _tr(_line(10.0, 14.0, "one"), _line(1195.0, 1206.0, "across the edge"))
    # the next window starts at 1200: it hears "the edge" again, then its own line
    second = _tr(_line(1200.5, 1206.0, "the edge"), _line(1210.0, 1212.0, "two"))
    merged = merge_transcripts([first, None, second])
    assert merged is not None
    assert [ln.text for ln in merged.lines] == ["one", "across the edge", "two"]
    assert merged.language == "en"
    assert merge_transcripts([None, None]) is None


def test_merge_takes_the_language_of_most_lines():
    a = _tr(_line(0.0, 1.0, "hola"), language="es")
    b = _tr(_line(5.0, 6.0, "x"), _line(7.0, 8.0, "y"), language="en")
    merged = merge_transcripts([a, b])
    assert merged is not None and merged.language == "en"
    assert merge_transcripts([_tr(language=None)]).language is None  # type: ignore[union-attr]


def test_a_window_hears_past_its_end_and_keeps_lines_that_begin_inside(monkeypatch):
    sr = window_text.SR
    audio = np.zeros(100 * sr, np.float32)
    monkeypatch.setattr(window_text, "extract_audio", lambda path, sr: audio)
    heard: list[int] = []

    def fake(chunk, **kw):
        heard.append(len(chunk))
        # window-relative times: one line inside, one running across the end, one after
        return _tr(_line(1.0, 2.0, "in"), _line(18.0, 23.0, "across"), _line(22.0, 24.0, "out"))

    probe = _probe(100.0)
    object.__setattr__(probe, "has_audio", True)
    cfg = IndexConfig(asr="base")
    got = transcribe_window(Path("v"), probe, cfg, (40.0, 60.0), overlap_s=5.0, transcribe=fake)
    assert heard == [25 * sr]  # 40 s .. 65 s
    assert got is not None
    assert [(ln.text, ln.start, ln.words[0].start) for ln in got.lines] == [
        ("in", 41.0, 41.0),
        ("across", 58.0, 58.0),
    ]
    # the last window runs to the end of the audio
    transcribe_window(Path("v"), probe, cfg, (60.0, math.inf), overlap_s=5.0, transcribe=fake)
    assert heard[-1] == 40 * sr
    assert (
        transcribe_window(Path("v"), probe, IndexConfig(asr="none"), (0, 10), overlap_s=1) is None
    )


class _Cache:
    recognised, reused = 3, 2


def _read_window(times: list[float]) -> tuple[OcrWindowState, _Reader]:
    reader = _Reader()
    reader.cache = _Cache()  # type: ignore[attr-defined]
    ocr = OnlineOcr(None, _probe(), IndexConfig(ocr_budget_per_min=0.0), reader=reader)  # type: ignore[arg-type]
    prev = "none"
    for t in times:
        ocr.offer(t, "ocr" if prev != "none" else "ocr", _Frame(int(t)))
        prev = "ocr"
    return ocr.state(), reader


def test_windows_readings_merge_into_one_video_with_topups_and_summed_counts(monkeypatch):
    a, _ = _read_window([1.0, 12.0])
    b, _ = _read_window([31.0, 45.0])
    assert a.offered == [1.0, 12.0] and set(a.readings) == {1.0, 12.0}
    assert a.reads["full"] == 2
    merged_reader = _Reader()
    merged = OnlineOcr(None, _probe(), IndexConfig(ocr_budget_per_min=0.0), reader=merged_reader)  # type: ignore[arg-type]
    merged.absorb([b, a])
    assert merged.offered == [1.0, 12.0, 31.0, 45.0]
    topped: list[float] = []

    def frames_at(path, times, height):
        topped.extend(times)
        return [np.full((height, 8, 3), int(t), np.uint8) for t in times]

    monkeypatch.setattr("hourlens.indexer.ocr_online.read_frames_at", frames_at)
    decisions = [(1.0, "ocr"), (12.0, "ocr"), (20.0, "none"), (25.0, "ocr")]
    decisions += [(31.0, "ocr"), (45.0, "ocr")]
    stats: dict[str, float] = {}
    items = merged.finish(decisions, [0.0, 22.0, 30.0], stats)
    assert topped == [25.0]  # the segment at 22 s had no read in either window
    texts = {it.text for it in items}
    assert {_text(1), _text(12), _text(25), _text(31), _text(45)} <= texts
    assert stats["full"] == 4 and stats["topups"] == 1
    assert stats["candidates"] == 5
    assert (stats["lines_recognised"], stats["lines_kept"]) == (6, 4)  # both windows' caches


def test_window_text_merges_window_passes_in_time_order():
    def wp(start: float, end: float, speech: Transcript | None, ocr=None) -> WindowPass:
        from hourlens.indexer.frames import FramePass

        return WindowPass(
            window=(start, end),
            frames=FramePass(),
            features=np.zeros((0, 4), np.float32),
            text=True,
            speech=speech,
            speech_s=2.0,
            ocr=ocr,
        )

    late = wp(100.0, math.inf, _tr(_line(101.0, 102.0, "b")))
    early = wp(0.0, 100.0, _tr(_line(1.0, 2.0, "a")))
    wt = WindowText.merge([late, early])
    assert wt is not None and wt.ocr is None and wt.speech_s == 4.0
    job = wt.speech_job()
    assert [ln.text for ln in job.result().lines] == ["a", "b"]  # type: ignore[union-attr]
    assert wt.online_ocr(Path("v"), _probe(), IndexConfig()) is None
    plain = WindowPass(window=(0.0, 1.0), frames=early.frames, features=early.features)
    assert WindowText.merge([plain]) is None


def test_a_window_pass_offers_each_of_its_frames_to_the_text_reader(tmp_path):
    from media import make_scene_video

    from hourlens.indexer.decode import probe_video
    from hourlens.indexer.encoders import load_encoder
    from hourlens.indexer.windows import run_window_pass

    video = tmp_path / "v.mp4"
    make_scene_video(video, [(6.0, "bars"), (6.0, "checker")], fps=5, size=(160, 120))
    probe = probe_video(video)
    cfg = IndexConfig(fps=1.0, threads=1)

    class Sink:
        def __init__(self) -> None:
            self.seen: list[tuple[float, str]] = []

        def offer(self, t, decision, frame=None, change=0.0):
            assert frame is not None and frame.at_height(36).shape[0] == 36
            self.seen.append((t, decision))
            return False

    enc = load_encoder("efficientnet_lite0", threads=1)
    passes, sinks = [], []
    for i, window in enumerate([(0.0, 6.0), (6.0, math.inf)]):
        (tmp_path / f"w{i}").mkdir()
        sink = Sink()
        passes.append(
            run_window_pass(
                video,
                probe,
                window,
                config=cfg,
                encoder=enc,
                scratch=tmp_path / f"w{i}",
                online_ocr=sink,
            )
        )
        sinks.append(sink)
    for wp, sink in zip(passes, sinks, strict=True):
        assert [t for t, _ in sink.seen] == wp.frames.times  # every frame, in order
        assert all(wp.window[0] <= t < wp.window[1] for t, _ in sink.seen)
    assert stitch(passes).frames.times == [t for s in sinks for t, _ in s.seen]


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__, "-q"])
