"""RapidOCR's text detector in int8: synthetic calibration images and the cached copy.

The detector is most of an OCR read's CPU time. Its int8 copy
(:func:`~hourlens.indexer.int8.quantized_model`) is calibrated on :func:`text_images`:
lines of text in several sizes, colours and boxes over blurred colour fields with
shapes and noise, drawn with Pillow's built-in font from a fixed seed, so no user frame
and no download is involved and the copy is the same on every machine. Calibrated this
way it matched a copy calibrated on 24 real frames of the 60-minute dev build on 76
other frames of it (word recall of float32's words 0.81 vs 0.83, fuzzy string recall
0.93 vs 0.92; float32 itself on the same frames scaled 2 % larger: 0.83-0.84, 0.90-0.93).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .int8 import quantized_model

CALIBRATION_IMAGES = 16
"""Synthetic images the detector's activation ranges are taken from (about 1.5 s each)."""
CALIBRATION_SIZE = (1309, 736)
"""An 854x480 frame as the detector sees it (short side scaled up to 736)."""
# fmt: off
WORDS = (
    "the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "Settings", "Apply",
    "Window", "2024", "press", "18:38", "Menu", "File", "Edit", "View", "Help", "Chapter",
    "Report", "total", "1,250", "Welcome", "NEWS", "live", "score",
)
# fmt: on
FONT_SIZES = (14, 18, 22, 28, 36, 48, 64, 90)


def text_images(
    n: int = CALIBRATION_IMAGES, size: tuple[int, int] = CALIBRATION_SIZE, seed: int = 0
) -> list[np.ndarray]:
    """``n`` deterministic ``(H, W, 3)`` uint8 RGB images with text over photo-like ground.

    Changing what they draw changes the int8 copies: bump
    :data:`~hourlens.indexer.int8.RECIPE` with it.

    Args:
        n: How many.
        size: ``(width, height)``.
        seed: Random seed (the same seed gives the same images).
    """
    from PIL import Image, ImageDraw, ImageFilter, ImageFont

    rng = np.random.default_rng(seed)
    w, h = size
    out = []
    for _ in range(n):
        field = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)  # low-frequency colour
        img = Image.fromarray(field).resize((w, h), Image.Resampling.BICUBIC)
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(3, 12))):  # shapes: objects, panels
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            box = [x0, y0, x0 + int(rng.integers(20, w // 2)), y0 + int(rng.integers(20, h // 2))]
            fill = tuple(int(c) for c in rng.integers(0, 256, 3))
            (draw.ellipse if rng.random() < 0.5 else draw.rectangle)(box, fill=fill)
        img = img.filter(ImageFilter.GaussianBlur(float(rng.uniform(0, 6))))
        noisy = np.asarray(img, np.float32) + rng.normal(0, rng.uniform(0, 18), (h, w, 3))
        img = Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8))
        draw = ImageDraw.Draw(img)
        for _ in range(int(rng.integers(0, 14))):  # text lines
            font = ImageFont.load_default(size=int(rng.choice(FONT_SIZES)))
            text = " ".join(rng.choice(WORDS, int(rng.integers(1, 6))))
            x, y = int(rng.integers(0, w - 100)), int(rng.integers(0, h - 20))
            fg = tuple(int(c) for c in rng.integers(0, 256, 3))
            if rng.random() < 0.4:  # a box behind it: subtitle, lower third, button
                left, top, right, bottom = draw.textbbox((x, y), text, font=font)
                draw.rectangle(
                    [left - 6, top - 4, right + 6, bottom + 4], fill=tuple(255 - c for c in fg)
                )
            stroke = 2 if rng.random() < 0.2 else 0
            draw.text((x, y), text, font=font, fill=fg, stroke_width=stroke, stroke_fill=(0, 0, 0))
        out.append(np.asarray(img))
    return out


def int8_detector(ocr: Any, n_images: int = CALIBRATION_IMAGES) -> Path | None:
    """The int8 copy of ``ocr``'s (a ``RapidOCR``) text detector model, made on first use.

    Returns:
        Its path, or ``None`` when it cannot be made (the float32 detector stays).
    """
    det = ocr._load_det_model()
    src = Path(det.session.session._model_path)
    name = det.session.session.get_inputs()[0].name

    def calibration() -> list[dict[str, np.ndarray]]:
        prep = det.get_preprocess()
        # RapidOCR's detector input is BGR
        return [{name: prep(np.ascontiguousarray(rgb[..., ::-1]))} for rgb in text_images(n_images)]

    return quantized_model(src, calibration, name=f"ocr-det-{src.stem}")
