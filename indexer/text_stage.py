"""Text memories of one video: speech, on-screen text, captions, chapters, video summary.

Runs after the visual pass, inside the same atomic write; speech recognition runs in a
thread (started with the frame pass by :func:`start_speech`), and on-screen text is read
during the frame pass (:class:`~hourlens.indexer.ocr_online.OnlineOcr`) or, without it,
here beside speech recognition. Each text item is stored with
its time span, full-text indexed by the store, and embedded with the sentence embedder
so the agent can search it by meaning.
"""

from __future__ import annotations

import bisect
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..config import IndexConfig
from ..errors import HourlensError
from .decode import VideoProbe, extract_audio, read_frames_at
from .hierarchy import SegmentText, compose_caption, compose_summary, group_chapters

log = logging.getLogger("hourlens.indexer")


@dataclass
class SegmentInfo:
    """What the visual stage hands to the text stage for one segment."""

    key: int
    start: float
    end: float
    tags: list[str]
    summary: np.ndarray
    keyframe: Path | None = None


@dataclass
class TextStageResult:
    """Counts and timings of the text stage."""

    lines: int = 0
    ocr_items: int = 0
    captions: int = 0
    chapters: int = 0
    language: str | None = None
    word_timestamps: str | None = None
    seconds: dict[str, float] = field(default_factory=dict)
    ocr_reads: dict[str, float] = field(default_factory=dict)
    """What OCR read (see :func:`run_ocr`'s ``stats``)."""


class InThread:
    """Runs ``fn`` in a background thread; :meth:`result` joins it (re-raising its error).

    Attributes:
        seconds: Wall time ``fn`` took (set when it finishes).
    """

    def __init__(self, fn: Callable[[], Any], name: str) -> None:
        self.seconds = 0.0
        self._out: Any = None
        self._exc: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), name=name, daemon=True)
        self._thread.start()

    def _run(self, fn: Callable[[], Any]) -> None:
        t0 = time.perf_counter()
        try:
            self._out = fn()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller
            self._exc = exc
        self.seconds = time.perf_counter() - t0

    def result(self) -> Any:
        """Wait for ``fn`` and return its result."""
        self._thread.join()
        if self._exc is not None:
            raise self._exc
        return self._out


def _overlapping(items: Sequence[Any], start: float, end: float) -> list[Any]:
    return [it for it in items if it.start < end and it.end > start]


def run_speech(path: Path, probe: VideoProbe, config: IndexConfig) -> Any:
    """Transcribe the audio track; ``None`` when disabled or there is no audio."""
    if config.asr == "none" or not probe.has_audio:
        return None
    from .speech import transcribe

    audio = extract_audio(path, sr=16000)
    if audio is None or len(audio) == 0:
        return None
    return transcribe(
        audio,
        sr=16000,
        model=config.asr,
        language=config.language,
        device=config.device,
        vad_piece_s=config.asr_vad_piece_s,
    )


def start_speech(path: Path, probe: VideoProbe, config: IndexConfig) -> InThread:
    """Start transcribing in a background thread (its result: :func:`run_speech`'s)."""
    return InThread(lambda: run_speech(path, probe, config), "hourlens-asr")


def pick_ocr_times(
    decisions: Sequence[tuple[float, str]],
    segment_starts: Sequence[float],
    *,
    min_interval: float,
    limit: int,
) -> list[float]:
    """Choose which gated frames to read: the first one of every segment, then at most one
    every ``min_interval`` seconds (busy screencasts would otherwise be read every frame).

    Args:
        decisions: ``(t, "none"|"same"|"ocr")`` per sampled frame, in time order.
        segment_starts: Segment start times, increasing.
        min_interval: Minimum seconds between two reads inside a segment.
        limit: Maximum number of reads.

    Returns:
        Times to read, increasing.
    """
    chosen: list[float] = []
    seg = -1
    last = -float("inf")
    for t, d in decisions:
        while seg + 1 < len(segment_starts) and t >= segment_starts[seg + 1]:
            seg += 1
            last = -float("inf")  # a new segment may always be read once
        if d == "ocr" and t - last >= min_interval:
            chosen.append(t)
            last = t
            if len(chosen) >= limit:
                break
    return chosen


def run_ocr(
    path: Path,
    probe: VideoProbe,
    decisions: Sequence[tuple[float, str]],
    segment_starts: Sequence[float],
    config: IndexConfig,
    stats: dict[str, float] | None = None,
) -> list[Any]:
    """OCR the frames the gate picked during the frame pass, at up to 720 px high.

    Only the bands whose text changed since the last frame read are read
    (:class:`~hourlens.indexer.ocr_regions.RegionReader`), within
    ``config.ocr_budget_per_min`` whole-frame reads per minute of video.

    Args:
        path: The video.
        probe: Its probe.
        decisions: ``(t, "none"|"same"|"ocr")`` per sampled frame, in time order.
        segment_starts: Segment start times.
        config: Settings.
        stats: Filled with the read counts: ``candidates``, ``full``, ``bands``,
            ``reused`` (nothing changed), ``refused`` (over budget) and ``frames_read``
            (whole-frame equivalents).

    Returns:
        Merged on-screen text items with time spans.
    """
    from .encoders.base import available_cores
    from .ocr import OcrTracker
    from .ocr_online import make_reader
    from .ocr_regions import OcrBudget

    wanted = pick_ocr_times(
        decisions,
        segment_starts,
        min_interval=config.ocr_min_interval_s,
        limit=config.max_ocr_frames,
    )
    if stats is not None:
        stats.update({"candidates": len(wanted), "full": 0, "bands": 0, "reused": 0})
    if not wanted:
        return []
    reader = make_reader(config, threads=available_cores())  # nothing else runs now
    budget = OcrBudget(config.ocr_budget_per_min)
    height = min(probe.height, 720) if probe.height else 720
    readings: dict[float, list[tuple[str, float]]] = {}
    segs = [bisect.bisect_right(segment_starts, t) - 1 for t in wanted]
    first = {t for i, t in enumerate(wanted) if i == 0 or segs[i] != segs[i - 1]}
    for i in range(0, len(wanted), 8):
        chunk = wanted[i : i + 8]
        for t, rgb in zip(chunk, read_frames_at(path, chunk, height=height), strict=True):
            rows, share = reader.plan(rgb)
            estimate = reader.estimate(share)
            if budget.allow(t, estimate, first=t in first):  # else the last reading holds
                readings[t] = [(ln.text, ln.score) for ln in reader.read(rgb, rows)]
                budget.settle(reader.last_cost - estimate)
    if stats is not None:
        stats.update(reader.reads)
        stats.update({"refused": budget.refused, "frames_read": round(budget.spent, 2)})
    tracker = OcrTracker()
    for t, d in decisions:
        if t in readings:
            tracker.add(t, readings[t])
        elif d == "none":
            tracker.add(t, [])
        else:  # text present: assume the last reading still holds until the next read
            tracker.extend(t)
    return tracker.finish()


def load_captioner(config: IndexConfig) -> Any:
    """The segment captioner (a VLM) named by ``config.captioner``, or ``None``.

    ``none`` (the default) composes captions from tags, on-screen text and speech; any
    other value is a :func:`hourlens.models.vlm.load_vlm` spec (a Hugging Face id such as
    ``HuggingFaceTB/SmolVLM-256M-Instruct`` on CPU or ``Qwen/Qwen2.5-VL-7B-Instruct`` on GPU,
    or ``openai:MODEL@http://host:port/v1`` for vLLM/Ollama). A VLM that cannot be loaded
    is reported once and captions are composed instead.
    """
    if config.captioner == "none":
        return None
    from ..models.vlm import load_vlm

    try:
        return load_vlm(config.captioner, device=config.device)
    except HourlensError as exc:
        log.warning(
            "captioner %r unavailable (%s): composing captions instead", config.captioner, exc
        )
        return None


def _vlm_caption(vlm: Any, keyframe: Path | None) -> str | None:
    if keyframe is None or not keyframe.exists():
        return None
    from ..prompts import load_prompt

    try:
        text = vlm.generate([str(keyframe)], load_prompt("segment_caption"), max_tokens=60)
    except Exception:  # noqa: BLE001 - a failed caption falls back to the composed one
        log.debug("VLM caption failed for %s", keyframe, exc_info=True)
        return None
    return " ".join(str(text).split()) or None


def _summarise(llm: Any, what: str, evidence: str, fallback: tuple[str, str]) -> tuple[str, str]:
    """Ask the LLM for a title + summary; fall back to the composed text on any failure."""
    if llm is None:
        return fallback
    from ..models.llm import ChatMessage
    from ..prompts import load_prompt

    msgs = [
        ChatMessage(role="system", content=load_prompt("summarise_system")),
        ChatMessage(role="user", content=f"{what}\n\n{evidence[:1500]}"),
    ]
    try:
        out = llm.complete_json(msgs, max_tokens=96)
        title = str(out.get("title", "")).strip() or fallback[0]
        summary = str(out.get("summary", "")).strip() or fallback[1]
        return title[:120], summary[:600]
    except Exception:  # noqa: BLE001 - summaries are best effort
        log.debug("LLM summary failed", exc_info=True)
        return fallback


def _load_llm(config: IndexConfig) -> Any:
    if config.summarizer == "none":
        return None
    try:
        from ..models.llm import load_llm

        return load_llm(config.summarizer)
    except HourlensError as exc:
        log.warning("no LLM for summaries (%s); composing them from tags, text and speech", exc)
        return None


def run_text_stage(
    writer: Any,
    path: Path,
    probe: VideoProbe,
    segments: list[SegmentInfo],
    ocr_decisions: Sequence[tuple[float, str]],
    config: IndexConfig,
    duration: float,
    *,
    speech: InThread | None = None,
    online_ocr: Any = None,
) -> TextStageResult:
    """Transcribe, OCR, caption, chapter and embed; write everything through ``writer``.

    Args:
        writer: The open :class:`~hourlens.memory_store.VideoWriter`.
        path: The video file.
        probe: Its probe.
        segments: The segments written by the visual stage, in order.
        ocr_decisions: The OCR gate's per-frame decisions from the frame pass.
        config: Settings.
        duration: Video duration.
        speech: Speech recognition already started (:func:`start_speech`); else it
            starts here, beside OCR.
        online_ocr: The :class:`~hourlens.indexer.ocr_online.OnlineOcr` that read text
            during the frame pass; else OCR runs here (:func:`run_ocr`).

    Returns:
        Counts and timings.
    """
    res = TextStageResult()
    if speech is None:  # speech recognition beside OCR (each leaves cores idle at times)
        speech = start_speech(path, probe, config)
    t0 = time.perf_counter()
    starts = [s.start for s in segments]
    if online_ocr is not None:
        ocr_items = online_ocr.finish(ocr_decisions, starts, res.ocr_reads)
        res.seconds["ocr_wait"] = time.perf_counter() - t0
        res.seconds["ocr"] = online_ocr.busy_s
    else:
        ocr_items = (
            run_ocr(path, probe, ocr_decisions, starts, config, res.ocr_reads) if config.ocr else []
        )
        res.seconds["ocr"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    transcript = speech.result()
    res.seconds["asr_wait"] = time.perf_counter() - t0
    lines = list(transcript.lines) if transcript is not None else []
    res.seconds["asr"] = speech.seconds
    if transcript is not None:
        res.language, res.word_timestamps = transcript.language, transcript.word_timestamps
    line_keys = (
        writer.add_transcript_lines(
            [
                {
                    "start": ln.start,
                    "end": ln.end,
                    "text": ln.text,
                    "words": [{"start": w.start, "end": w.end, "text": w.text} for w in ln.words],
                }
                for ln in lines
                if ln.text.strip()
            ],
            language=res.language,
            source=getattr(transcript, "model", None),
        )
        if lines
        else []
    )
    res.lines = len(line_keys)

    ocr_keys = (
        writer.add_ocr_items(
            [
                {"start": it.start, "end": it.end, "text": it.text, "score": it.score}
                for it in ocr_items
            ]
        )
        if ocr_items
        else []
    )
    res.ocr_items = len(ocr_keys)

    t0 = time.perf_counter()
    seg_texts = [
        SegmentText(
            index=i,
            start=s.start,
            end=s.end,
            tags=s.tags,
            ocr=[o.text for o in _overlapping(ocr_items, s.start, s.end)],
            speech=[ln.text for ln in _overlapping(lines, s.start, s.end)],
        )
        for i, s in enumerate(segments)
    ]
    # a segment without tags, on-screen text or speech (a black frame) gets no caption;
    # with a VLM configured, what it sees in the keyframe leads the caption
    vlm = load_captioner(config)
    captions = []
    for s, st in zip(segments, seg_texts, strict=True):
        text, source = compose_caption(st), "composed"
        seen = _vlm_caption(vlm, s.keyframe) if vlm is not None else None
        if seen:
            text, source = f"{seen} {text}".strip(), f"vlm:{vlm.name}"
        if text.strip():
            captions.append(
                {"start": s.start, "end": s.end, "text": text, "segment": s.key, "source": source}
            )
    cap_keys = writer.add_captions(captions, level="segment", source="composed") if captions else []
    res.captions = len(cap_keys)

    llm = _load_llm(config)
    summaries = np.stack([s.summary for s in segments]) if segments else np.zeros((0, 1))
    spans = group_chapters(
        summaries,
        [s.start for s in segments],
        [s.end for s in segments],
        min_len=config.chapter_min_s,
        max_len=config.chapter_max_s,
    )
    chapters = []
    for c in spans:
        sts = seg_texts[c.first : c.last]
        fallback = compose_summary(sts)
        evidence = "\n".join(compose_caption(st) for st in sts)
        title, summary = _summarise(llm, "Summarise this part of a video.", evidence, fallback)
        chapters.append(
            {"index": c.index, "start": c.start, "end": c.end, "title": title, "summary": summary}
        )
    chap_keys = writer.add_chapters(chapters) if chapters else []
    res.chapters = len(chap_keys)
    title, summary = _summarise(
        llm,
        "Summarise the whole video from its chapters.",
        "\n".join(f"{c['title']}: {c['summary']}" for c in chapters),
        compose_summary(seg_texts),
    )
    video_caps = writer.add_captions(
        [{"start": 0.0, "end": duration, "text": f"{title}. {summary}"}],
        level="video",
        source="llm" if llm else "composed",
    )
    res.seconds["captions"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    _embed_all(
        writer,
        config,
        [
            ("speech", line_keys, [ln.text for ln in lines if ln.text.strip()]),
            ("ocr", ocr_keys, [it.text for it in ocr_items]),
            (
                "caption",
                cap_keys + video_caps,
                [str(c["text"]) for c in captions] + [f"{title}. {summary}"],
            ),
            ("chapter", chap_keys, [f"{c['title']}. {c['summary']}" for c in chapters]),
        ],
    )
    res.seconds["embed"] = time.perf_counter() - t0
    return res


def _embed_all(
    writer: Any, config: IndexConfig, groups: Sequence[tuple[str, list[int], list[str]]]
) -> None:
    if config.text_embedder == "none" or not any(keys for _, keys, _ in groups):
        return
    from .text_embed import load_text_embedder

    emb = load_text_embedder(config.text_embedder, device=config.device)
    for kind, keys, texts in groups:
        if keys:
            writer.add_texts_vectors(kind, keys, emb.embed(texts), model=emb.name)
