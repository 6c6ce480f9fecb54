"""Configuration: keyword-only dataclasses with ``HOURLENS_*`` environment overrides.

Precedence: explicit keyword arguments > environment variables > defaults.
Example: ``HOURLENS_FPS=2 hourlens index ./videos`` samples two frames a second.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from .errors import HourlensError
from .paths import expand_user

T = TypeVar("T")

ENV_HOME = "HOURLENS_HOME"
ENV_CACHE = "HOURLENS_CACHE"


def models_cache_dir() -> Path:
    """Where prepared models live (joined packaged parts, converted LLM, ONNX exports):
    ``$HOURLENS_CACHE/models`` or ``<user cache dir>/hourlens/models`` (created)."""
    env = os.environ.get(ENV_CACHE)
    if env:
        root = expand_user(env)
    else:
        from platformdirs import user_cache_dir

        root = Path(user_cache_dir("hourlens", appauthor=False))
    path = root / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_library_dir() -> Path:
    """Library location: ``$HOURLENS_HOME`` or the per-user data directory."""
    env = os.environ.get(ENV_HOME)
    if env:
        return expand_user(env)
    from platformdirs import user_data_dir

    return Path(user_data_dir("hourlens", appauthor=False))


def _coerce(raw: str, typ: Any, name: str) -> Any:
    typ_s = str(typ)
    try:
        if typ is bool or typ_s == "bool":
            if raw.lower() in {"1", "true", "yes", "on"}:
                return True
            if raw.lower() in {"0", "false", "no", "off"}:
                return False
            raise ValueError(raw)
        if typ is int or typ_s == "int":
            return int(raw)
        if typ is float or typ_s == "float":
            return float(raw)
        if "float" in typ_s and "None" in typ_s:
            return None if raw.lower() in {"", "none"} else float(raw)
        if "int" in typ_s and "None" in typ_s:
            return None if raw.lower() in {"", "none"} else int(raw)
    except ValueError as exc:
        raise HourlensError(f"environment variable {name}={raw!r} is not a valid {typ_s}") from exc
    return raw


def from_env(cls: type[T], prefix: str = "HOURLENS_", **overrides: Any) -> T:
    """Build config ``cls`` from defaults, ``PREFIX_FIELD`` env vars and ``overrides``.

    Args:
        cls: A dataclass type.
        prefix: Environment variable prefix.
        **overrides: Explicit values; ``None`` values are ignored.

    Returns:
        An instance of ``cls``.
    """
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        env_name = prefix + f.name.upper()
        if env_name in os.environ:
            values[f.name] = _coerce(os.environ[env_name], hints[f.name], env_name)
    values.update({k: v for k, v in overrides.items() if v is not None})
    return cls(**values)


@dataclass(kw_only=True)
class IndexConfig:
    """How videos are indexed. Every field can be set as ``HOURLENS_<FIELD>``."""

    fps: float = 1.0
    """Frames sampled per second of video."""
    encoder: str = "auto"
    """Frame encoder: ``auto``, ``efficientnet_lite0``, ``open_clip:MODEL:PRETRAINED``
    (PRETRAINED is a tag such as ``laion2b_s34b_b79k`` or a local checkpoint path).
    ``auto`` tries the default CLIP model and falls back to the packaged
    EfficientNet-Lite0 when no CLIP weights can be had."""
    device: str = "cpu"
    """``cpu``, ``cuda`` or ``cuda:N``."""
    precision: str = "fp32"
    """``fp32``; ``fp16``/``bf16`` on CUDA."""
    batch_size: int = 32
    threads: int = 0
    """CPU threads of the frame pass (0: every core this process may use). On the CPU
    they are split between the frame encoder and the decoder running beside it: the
    decoder gets a quarter, at least one; the encoder the rest."""
    decode_backend: str = "auto"
    """``auto`` (fastest measured for a full pass), ``pyav`` or ``decord``."""
    frame_height: int = 256
    """Sampled frames are scaled to this height (aspect kept) before encoding."""
    dedup_threshold: float = 2.0
    """Mean absolute pixel difference (0-255, on a 32x32 grey thumbnail) under which a
    frame reuses the previous frame's feature. 0 disables reuse."""
    segmentation: str = "texttiling"
    """``texttiling`` (depth = lpeak + rpeak - 2s), ``simple`` (1 - s, local maxima) or
    ``fixed`` (windows of ``max_segment_s``; a baseline)."""
    fixed_window_s: float = 30.0
    """Window length of ``segmentation="fixed"``."""
    min_segment_s: float = 3.0
    max_segment_s: float = 90.0
    depth_std_factor: float = 0.5
    """TextTiling boundary threshold: depth > mean + factor * std."""
    alpha_min: float = 2.0
    """Compression rate of the busiest segments (frames per feature memory)."""
    alpha_max: float = 12.0
    """Compression rate of the most static segments."""
    thumb_width: int = 320
    tags_per_memory: int = 10
    facets: bool = True
    """Keep cheap pixel facets per feature memory (dominant colours, greyscale, dark or
    bright, colourfulness, motion, sky/water/vegetation cover, faces) for search by words."""
    crops: bool = True
    """Also classify the centre and quadrants of segment keyframes (small things in big
    frames), on keyframes whose top class is below ``crop_max_top1``."""
    crop_max_top1: float = 0.6
    asr: str = "auto"
    """Speech model: ``auto`` (packaged Whisper base offline), a faster-whisper size or
    Hugging Face id, a local CTranslate2 folder, or ``none``."""
    language: str | None = None
    """Spoken language (ISO code); detected when unset."""
    asr_vad_piece_s: float = 600.0
    """Voice activity is detected in pieces of this many seconds of audio (on an hour at
    once, faster-whisper's VAD peaked 0.37 GB higher). 0: the whole audio at once."""
    ocr: bool = True
    """Read on-screen text on frames where a cheap test says text appeared or changed."""
    ocr_min_interval_s: float = 10.0
    """Within a segment, read on-screen text at most once per this many seconds (the first
    text frame of every segment is always read)."""
    max_ocr_frames: int = 600
    """Upper bound on OCR'd frames per video."""
    ocr_budget_per_min: float = 3.0
    """OCR work allowed per minute of video, in whole-frame detector reads (for an 854x480
    frame on this project's 2-core reference machine ≈1.2 CPU-s in float32, ≈0.55 with
    the int8 detector, see ``int8``; recognising a line costs 0.04 of either). A read costs
    what it did: the probe's and the detector's share of the frame (the bands whose text
    changed), plus ``ocr_line_cost`` per line recognised; a frame whose text did not
    change costs nothing. The first read of a new scene may borrow one minute's budget;
    a re-read runs only if it leaves a reserve for new scenes. Bounds the OCR CPU time
    whatever the content; over budget, the last reading holds until the budget refills.
    0: no bound."""
    ocr_det_short_side: int = 736
    """The OCR text detector sees frames with their short side scaled up to this many
    pixels (RapidOCR's default); smaller is faster but loses small text. 0: the frame's
    own size."""
    ocr_online: bool = True
    """Read on-screen text during the frame pass, in a worker thread beside decoding and
    encoding (False: after the pass, as one more stage)."""
    ocr_scene_change: float = 30.0
    """Reading text during the frame pass: a frame whose picture changed at once by at
    least this mean absolute grey difference (0-255, on 32x32 thumbnails) since the frame
    before opens a new scene (a cut, a new slide); its text is read once the picture
    settles, without waiting for ``ocr_min_interval_s``, and may borrow from the budget."""
    ocr_threads: int = 0
    """ONNX Runtime threads of the OCR models (0: half the cores, at least one)."""
    ocr_probe_short_side: int = 384
    """Before the text detector reads a frame (or band) at ``ocr_det_short_side``, it looks
    at a copy with its short side at this many pixels (about a quarter of the work); when
    it finds no text box there, the read ends with no lines. 0: no probe."""
    ocr_line_cost: float = 0.04
    """What recognising one line costs the OCR budget, in whole-frame detector reads (so
    the budget bounds the recogniser too, however many lines a frame shows)."""
    int8: str = "auto"
    """int8 copies of the CPU models where it pays: the OCR text detector (about half of
    an OCR read's CPU time; same text found on the dev build's frames). ``auto``: on CPUs
    with int8 dot-product instructions (x86 AVX-512 VNNI / AVX-VNNI, ARM64); ``on``;
    ``off``. The copy is made once per machine (about 30 s) and cached."""
    ocr_line_cache: bool = True
    """A text box that looks as it did where it was read before keeps that reading (it is
    not recognised again)."""
    text_embedder: str = "auto"
    """Sentence embedder for text memories: ``auto`` (packaged all-MiniLM-L6-v2), a
    sentence-transformers id or path, or ``none``."""
    captioner: str = "none"
    """Vision-language model that captions each segment's keyframe: a Hugging Face id or
    ``openai:MODEL@URL``; ``none`` composes captions from tags, text and speech."""
    summarizer: str = "none"
    """LLM that writes chapter and video summaries (an ``hourlens.models.llm`` spec such as
    ``auto`` or ``openai:MODEL@URL``); ``none`` composes them from tags, text and speech."""
    chapter_min_s: float = 60.0
    chapter_max_s: float = 300.0
    partial_tolerance_s: float = 2.0
    """A video whose decodable frames end more than this many seconds (beyond one sample
    interval) before the duration its container declares is indexed as ``partial``: a
    truncated or broken-off file. What decoded is indexed."""


@dataclass(kw_only=True)
class VisualConfig:
    """Label-space visual search over classifier videos (:mod:`hourlens.tools.visual`).
    ``HOURLENS_VISUAL_<FIELD>`` overrides, e.g. ``HOURLENS_VISUAL_CONTRAST=0``; build with
    ``from_env(VisualConfig, prefix="HOURLENS_VISUAL_")``."""

    contrast: float = 0.5
    """How much less a class counts the more of the video it covers: its weight is
    ``(shot share / class share) ** contrast`` within ``[contrast_floor, 1]``, where a
    class's share is its probability summed over the video's feature memories (weighted
    by their length) and the shot share is ``contrast_shot_s`` over the video's length.
    A class seen in one shot counts fully; one the whole video shows ("web site" in a
    screencast) less, so a weakly related common class does not outrank a rare one that
    is related. Weights are relative to the rarest class relevant to the query, so when
    every relevant class is common nothing counts less. 0: off."""
    contrast_floor: float = 0.3
    contrast_shot_s: float = 10.0
    outside_closure: float = 0.6
    """When WordNet relates a query noun to some classes (a rocket: missile,
    projectile), the text similarity of the other classes counts this much (name
    look-alikes such as painting / paintbrush, or a space shuttle for a rocket). 1: off."""
    crop_weight: float = 0.85
    """A keyframe crop's score counts this much of a whole-frame memory's."""
    facet_floor: float = 0.05
    """The facets a query names combine as a weighted geometric mean (all should be
    there: "people by the water"), each value floored at this, so one missing facet
    scales a memory down rather than to zero; a memory with none of them scores 0."""
    full_score: float = 0.3
    """Label-space score (sum of probability x relevance) at which visual evidence is
    certain; a video's evidence is scaled by the larger of this and its best score, so a
    strong match ranks above a weaker one that is also above it."""


@dataclass(kw_only=True)
class StoreConfig:
    """Vector index choices. ``HOURLENS_<FIELD>`` overrides."""

    index_type: str = "auto"
    """``auto``, ``flat``, ``hnsw``, ``ivf``, ``ivfpq`` or ``hnswpq``. ``auto`` is exact
    (flat) below ``ann_threshold`` vectors, HNSW up to ``compress_threshold`` and
    ``compressed_type`` above (see :mod:`hourlens.memory_store.ann`)."""
    ann_threshold: int = 200_000
    compress_threshold: int = 1_000_000
    """Vectors of one kind past which the library index stores PQ codes instead of
    floats (an HNSW index of 1 M 1280-d vectors is about 5 GB of RAM)."""
    compressed_type: str = "ivfpq"
    """``ivfpq`` (measured: builds an order of magnitude faster at equal recall) or
    ``hnswpq``; candidates are re-ranked exactly from the shards."""
    ann_max_scan: int = 262_144
    """Compressed indexes: IVF lists probed per query hold about this many codes at most
    (a quarter of the lists below that); a query-time setting, no rebuild."""
    ann_rerank: int = 0
    """Compressed indexes: candidates re-scored exactly from the shards per query (random
    reads once the library outgrows the page cache); 0 is the measured default (128 after
    the 1280 -> 256 PCA, 32 otherwise). Query-time, no rebuild."""
    ann_refine: int = 0
    """Compressed indexes: PQ candidates re-scored per query with the in-RAM SQ8 codes
    before the exact re-scoring; 0 is the measured default (8,000). Query-time."""
    use_gpu: bool = False
    """Move FAISS indexes to the GPU when faiss-gpu and a GPU are present."""
    fts_term_cap: int = 1000
    """Rows a full-text query word may match and still be ranked exactly (FTS5 BM25);
    a more frequent word is ranked over its newest ``fts_term_cap`` rows with an
    estimated IDF, so one text search costs about the same in a library of any size
    (see :mod:`hourlens.memory_store.fts_rank`)."""


@dataclass(kw_only=True)
class KVConfig:
    """KV memories (per-segment prefilled LMM caches). ``HOURLENS_KV_<FIELD>`` overrides,
    e.g. ``HOURLENS_KV_BUDGET_BYTES``; build with ``from_env(KVConfig, prefix="HOURLENS_KV_")``."""

    budget_bytes: int = 8 << 30
    """Byte budget of all KV block files of a library; least-recently-used blocks are
    evicted beyond it."""
    dtype: str = "fp16"
    """Storage dtype: ``fp16``, ``bf16``, ``fp32`` or ``int8`` (absmax per head and token)."""
    window: int = 1
    """Sliding window of the streaming prefill: earlier segments each segment attends to."""
    frames: int = 2
    """Keyframes per segment prefilled (vision models)."""
    card_chars: int = 600
    """Characters of a segment's text card (caption, speech, on-screen text, tags)."""
    device: str = "cpu"
    """Device of the transformers LMM (KV builds and ``--vlm`` answers): ``cpu``, ``cuda``
    or ``cuda:N``."""


@dataclass(kw_only=True)
class RayConfig:
    """The Ray engine (``hourlens index --engine ray``). ``HOURLENS_RAY_<FIELD>`` overrides.

    Workers read the source files by path: every node must see each video at the same
    path as the driver (shared storage).
    """

    address: str | None = None
    """``None`` starts a local Ray; ``auto`` joins the running cluster; ``ray://HOST:PORT``
    connects through Ray Client."""
    workers: int = 0
    """Worker actors (each loads the models once); 0: one per ``cpus_per_worker`` CPUs of
    the cluster (at least one)."""
    cpus_per_worker: float = 1.0
    """CPUs each worker reserves; its decoder and encoder threads follow (when
    ``IndexConfig.threads`` is 0)."""
    gpus_per_worker: float = 1.0
    """GPUs each worker reserves when the cluster has GPUs (the encoder, ASR and captioner
    then run on ``cuda``); ignored on a CPU-only cluster."""
    window_s: float = 1200.0
    """Videos longer than ``1.5 * window_s`` are split into time windows of about this
    length, cut at keyframes, whose frame passes run on different workers."""
    window_text: bool = True
    """Each window task also reads its own on-screen text (during its frame pass) and
    speech; ``False``: both are read for the whole video by the task that stitches the
    windows (one worker)."""
    speech_overlap_s: float = 30.0
    """A window's speech is heard this far past its end, so a sentence that runs across
    the edge is transcribed whole by the window it begins in."""
    max_retries: int = 3
    """Times a task is retried after its worker process died (restarted each time)."""
    num_cpus: int | None = None
    """CPUs of a local Ray started by hourlens (``None``: every core)."""
