"""Speech and on-screen text of one time window, and their merge for the whole video.

The Ray engine spreads a long video over workers in time windows (:mod:`.windows`). The
frame pass alone is not most of the work: reading on-screen text and recognising speech
are. So each window task also reads the text of its own frames while it decodes them
(an :class:`~hourlens.indexer.ocr_online.OnlineOcr` fed by the window's pass, as the
serial engine feeds one) and transcribes its own stretch of audio; the task that
stitches the windows then only tops up and merges (:class:`WindowText`).

Speech: a window transcribes ``[start, end + overlap)`` and keeps the lines that begin
before ``end``, so a sentence that runs across the edge is heard whole once; when the
windows are merged, a line of the next window that begins before the last kept line
ended (the rest of that sentence, heard again) is dropped. On-screen text: every window
reads within its own budget bucket (:class:`~hourlens.indexer.ocr_regions.OcrBudget`);
the merged top-ups stay within what the budget allows over the whole video.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import IndexConfig
from .decode import VideoProbe, extract_audio
from .speech import SpeechLine, Transcript

SR = 16000
_EPS = 1e-6


def _shift_line(line: SpeechLine, dt: float) -> SpeechLine:
    words = [replace(w, start=w.start + dt, end=w.end + dt) for w in line.words]
    return replace(line, start=line.start + dt, end=line.end + dt, words=words)


def transcribe_window(
    path: Path,
    probe: VideoProbe,
    config: IndexConfig,
    window: tuple[float, float],
    *,
    overlap_s: float,
    transcribe: Callable[..., Transcript] | None = None,
) -> Transcript | None:
    """Transcribe the audio of one window (``None`` when disabled or there is no audio).

    Args:
        path: The video.
        probe: Its probe.
        config: Settings (``asr``, ``language``, ``device``).
        window: ``(start, end)`` seconds; ``end`` may be ``inf`` (the last window).
        overlap_s: Audio heard past ``end``, so a line that begins before ``end`` is
            transcribed whole.
        transcribe: The recogniser (default :func:`hourlens.indexer.speech.transcribe`).

    Returns:
        The lines that begin inside the window, in video time.
    """
    if config.asr == "none" or not probe.has_audio:
        return None
    audio = extract_audio(path, sr=SR)
    if audio is None or len(audio) == 0:
        return None
    start, end = window
    a = max(0, int(start * SR))
    b = len(audio) if math.isinf(end) else min(len(audio), int((end + overlap_s) * SR))
    if b <= a:
        return None
    if transcribe is None:
        from .speech import transcribe
    assert transcribe is not None
    part = transcribe(
        audio[a:b], sr=SR, model=config.asr, language=config.language, device=config.device
    )
    lines = [_shift_line(ln, a / SR) for ln in part.lines]
    return replace(part, lines=[ln for ln in lines if ln.start < end - _EPS])


def merge_transcripts(parts: Sequence[Transcript | None]) -> Transcript | None:
    """Join window transcripts (in time order) into the transcript of the whole video.

    A line that begins before the previous kept line ended is dropped (the next window
    heard the end of a sentence its predecessor kept whole). The language is the one of
    most lines.

    Returns:
        ``None`` when no window had a transcript.
    """
    given = [p for p in parts if p is not None]
    if not given:
        return None
    lines: list[SpeechLine] = []
    last_end = -math.inf
    for part in given:
        for ln in part.lines:
            if ln.start < last_end - _EPS:
                continue
            lines.append(ln)
            last_end = max(last_end, ln.end)
    langs = Counter({p.language: len(p.lines) for p in given if p.language})
    language = langs.most_common(1)[0][0] if langs else None
    with_lines = [p for p in given if p.lines] or given
    return Transcript(
        lines=lines,
        language=language,
        word_timestamps=with_lines[0].word_timestamps,
        model=given[0].model,
    )


@dataclass
class ReadySpeech:
    """Speech already recognised (stands in for the serial engine's speech thread)."""

    transcript: Transcript | None
    seconds: float = 0.0

    def result(self) -> Transcript | None:
        """The transcript."""
        return self.transcript


@dataclass
class WindowText:
    """What the window tasks of one video read: speech and on-screen text.

    Attributes:
        speech: The windows' transcripts, merged (:func:`merge_transcripts`).
        speech_s: Seconds the windows spent recognising speech (summed).
        ocr: Each window's :class:`~hourlens.indexer.ocr_online.OcrWindowState`, or
            ``None`` when the windows read no text (OCR off, or read after the pass).
    """

    speech: Transcript | None
    speech_s: float
    ocr: list[Any] | None

    @classmethod
    def merge(cls, windows: Sequence[Any]) -> WindowText | None:
        """From :class:`~hourlens.indexer.windows.WindowPass` objects (any order);
        ``None`` when the windows read neither speech nor text."""
        ws = sorted(windows, key=lambda w: w.window[0])
        if not any(w.text for w in ws):
            return None
        speech = merge_transcripts([w.speech for w in ws])
        ocr = [w.ocr for w in ws if w.ocr is not None]
        return cls(speech=speech, speech_s=sum(w.speech_s for w in ws), ocr=ocr or None)

    def speech_job(self) -> ReadySpeech:
        """The speech, as the text stage expects it."""
        return ReadySpeech(self.speech, self.speech_s)

    def online_ocr(self, path: Path, probe: VideoProbe, config: IndexConfig) -> Any:
        """An :class:`~hourlens.indexer.ocr_online.OnlineOcr` holding the windows'
        readings (its :meth:`finish` tops up and merges), or ``None``."""
        if self.ocr is None:
            return None
        from .ocr_online import OnlineOcr

        online = OnlineOcr(path, probe, config)
        online.absorb(self.ocr)
        return online


__all__ = [
    "ReadySpeech",
    "WindowText",
    "merge_transcripts",
    "transcribe_window",
]
