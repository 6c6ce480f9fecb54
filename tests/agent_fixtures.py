"""A synthetic library for the agent's tests: rows written through the real Store API.

``lecture.mp4`` (300 s, never on disk, so backtracking falls back to thumbnails) has ten
30 s segments, three tagged feature memories each, a keyframe per segment, speech lines,
one OCR slide, a caption, two chapters and sentence vectors from a toy embedder. Every
model is replaced by a deterministic fake (no weights, no downloads).
"""

from __future__ import annotations

import hashlib
import io
import types
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from hourlens.agent import Models
from hourlens.memory_store import Store

DIM = 16
TEXT_DIM = 64
DURATION = 300.0
ENCODER = "efficientnet_lite0"

#: segment index → (label, probability) of its middle memory; the others get "television".
SEGMENT_TAGS = {
    0: ("lab coat", 0.6),
    1: ("moped", 0.5),
    2: ("tabby cat", 0.7),
    3: ("espresso", 0.6),
    4: ("missile", 0.55),
    5: ("television", 0.4),
    6: ("web site", 0.5),
    7: ("television", 0.4),
    8: ("stage", 0.5),
    9: ("television", 0.4),
}
SPEECH = [
    (12.0, 16.0, "Welcome to the lecture about rockets and cats."),
    (86.0, 89.0, "Please hold while I try that extension."),
    (100.0, 104.0, "The coffee is ready in the kitchen."),
    (131.0, 135.0, "Look at the rocket on the launch pad."),
    (200.0, 205.0, "Thank you for calling, the rocket team says goodbye."),
]
OCR = [(160.0, 166.0, "Your call is important to us")]
CAPTIONS = [(60.0, 90.0, "a cat sitting on a sofa")]
LABEL_WORDS = {
    "motorcycle": [("moped", 0.62), ("motor scooter", 0.58)],
    "cat": [("tabby cat", 0.72), ("tiger cat", 0.6)],
    "coffee": [("espresso", 0.66), ("coffee mug", 0.6)],
    "rocket": [("missile", 0.61), ("projectile", 0.55)],
}


def toy_embed(texts: Sequence[str]) -> np.ndarray:
    """Hashed bag-of-words vectors, L2-normalised (similar wording → similar vectors)."""
    out = np.zeros((len(texts), TEXT_DIM), np.float32)
    for i, text in enumerate(texts):
        for w in "".join(c if c.isalnum() else " " for c in text.lower()).split():
            if len(w) > 2:
                out[i, int(hashlib.md5(w.encode()).hexdigest(), 16) % TEXT_DIM] += 1.0
        n = np.linalg.norm(out[i])
        out[i] = out[i] / n if n else 1.0 / np.sqrt(TEXT_DIM)
    return out


def toy_labels(query: str, encoder: str) -> list[tuple[str, float]]:
    """Class labels for the words of ``query`` that the toy label space knows."""
    out: list[tuple[str, float]] = []
    for word, labels in LABEL_WORDS.items():
        if word in query.lower():
            out += labels
    return out


@dataclass
class ToyEncoder:
    """A classifier 'encoder' that calls every frame a tabby cat."""

    name: str = ENCODER
    labels: list[str] = field(default_factory=lambda: ["tabby cat", "moped", "espresso"])
    supports_text: bool = False
    calls: int = 0

    def encode(self, frames: Sequence[np.ndarray]) -> Any:
        self.calls += 1
        n = len(frames)
        probs = np.tile(np.array([[0.8, 0.15, 0.05]], np.float32), (n, 1))
        return types.SimpleNamespace(features=np.ones((n, DIM), np.float32) / 4.0, probs=probs)


def toy_models(encoder: ToyEncoder | None = None) -> Models:
    """Models backed by the toy embedder, label space and encoder (no weights)."""
    enc = encoder or ToyEncoder()
    return Models(
        text_embedder=toy_embed,
        label_expander=toy_labels,
        encoder_loader=lambda name: enc,
        frame_reader=lambda path, times: [np.zeros((24, 32, 3), np.uint8)] * len(times),
    )


def _jpeg(shade: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (shade, shade, shade)).save(buf, format="JPEG")
    return buf.getvalue()


def write_lecture(
    store: Store,
    path: str | Path,
    *,
    seed: int = 0,
    speech: Sequence[tuple[float, float, str]] = SPEECH,
) -> Any:
    """Write the synthetic lecture video into ``store`` and commit it."""
    rng = np.random.default_rng(seed)
    feats = rng.normal(size=(int(DURATION), DIM)).astype(np.float32)
    feats /= np.linalg.norm(feats, axis=1, keepdims=True)
    w = store.begin_video(path, size=1000 + seed, mtime=1.0 + seed, content_hash=f"lec{seed}")
    w.append_frames(np.arange(DURATION), feats)
    for s in range(10):
        a, b = 30.0 * s, 30.0 * s + 30.0
        key = w.add_segment(index=s, start=a, end=b, n_frames=30, depth=0.1, alpha=6.0, budget=3)
        label, p = SEGMENT_TAGS[s]
        for j in range(3):
            m0, m1 = a + 10 * j, a + 10 * j + 10
            tags = [(label, p), ("television", 0.1)] if j == 1 else [("television", 0.3)]
            w.add_memory(
                segment=key,
                kind="feature",
                start=m0,
                end=m1,
                n_frames=10,
                vector=feats[int(m0)],
                tags=tags,
            )
        w.add_memory(
            segment=key,
            kind="summary",
            start=a,
            end=b,
            n_frames=30,
            vector=feats[int(a) : int(b)].mean(0),
        )
        w.add_segment_tags(key, [(label, round(p / 2, 3)), ("television", 0.2)])
        w.add_keyframe(segment=key, t=a + 15.0, jpeg=_jpeg(20 * s))
    lines = w.add_transcript_lines(
        [{"start": a, "end": b, "text": t} for a, b, t in speech], language="en"
    )
    w.add_texts_vectors("speech", lines, toy_embed([t for *_, t in speech]), model="toy")
    ocr = w.add_ocr_items([{"start": a, "end": b, "text": t, "score": 0.9} for a, b, t in OCR])
    w.add_texts_vectors("ocr", ocr, toy_embed([t for *_, t in OCR]), model="toy")
    w.add_captions([{"start": a, "end": b, "text": t} for a, b, t in CAPTIONS])
    w.add_chapters(
        [
            {
                "start": 0.0,
                "end": 150.0,
                "title": "Introduction",
                "summary": "rockets, cats and coffee",
            },
            {"start": 150.0, "end": 300.0, "title": "Closing", "summary": "calls"},
        ]
    )
    return w.commit(
        duration=DURATION, fps=25.0, width=64, height=48, encoder=ENCODER, encoder_dim=DIM
    )


# -- LLM ----------------------------------------------------------------------------------


def make_llm(responses: Sequence[Any]) -> Any:
    """The project's ``FakeLLM`` with queued replies (str, dict or callable of messages)."""
    from hourlens.models.llm import FakeLLM

    return FakeLLM(list(responses))


def prompt_text(messages: list[Any]) -> str:
    """All message contents of one prompt, joined."""
    return "\n".join(str(getattr(m, "content", m)) for m in messages)
