"""The CLIP path for real: a tiny open_clip model trained here for a few seconds on
generated coloured shapes with captions; a video of those shapes is indexed with it, and
``search`` and ``ask`` must find each shape's segment by its description."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from media import _write
from PIL import Image, ImageDraw

from hourlens.config import IndexConfig

# Trains a model and indexes a video with it: seconds on an idle 2-core machine.
pytestmark = pytest.mark.slow

TINY = "hourlens-test-clip-shapes"
COLOURS = {"red": (220, 40, 40), "green": (40, 190, 60), "blue": (40, 70, 220)}
SHAPES = ("circle", "square", "triangle")
SIZE = 32
#: A tiny CLIP ResNet tower: a ViT this small learned the colours but not the shapes in
#: 300 steps; this one tells all nine apart.
VISION = {"layers": [1, 1, 1, 1], "width": 16}
#: The video: (start, end, colour, shape); each shape is on screen for 6 s.
SCENES = [
    (0.0, 6.0, "red", "circle"),
    (6.0, 12.0, "blue", "square"),
    (12.0, 18.0, "green", "triangle"),
    (18.0, 24.0, "blue", "circle"),
    (24.0, 30.0, "red", "triangle"),
]


def draw(colour: str, shape: str, rng: np.random.Generator, size: int = 0) -> np.ndarray:
    """A shape on a random light-grey background, random size and place."""
    size = size or SIZE
    bg = tuple(int(x) for x in rng.integers(150, 220, 3).clip(0, 255))
    img = Image.new("RGB", (size, size), bg)
    d = ImageDraw.Draw(img)
    r = int(rng.integers(size // 4, size * 2 // 5))
    cx, cy = (int(c) for c in rng.integers(r + 1, size - r - 1, 2))
    box = (cx - r, cy - r, cx + r, cy + r)
    fill = COLOURS[colour]
    if shape == "circle":
        d.ellipse(box, fill=fill)
    elif shape == "square":
        d.rectangle(box, fill=fill)
    else:
        d.polygon([(cx, cy - r), (cx - r, cy + r), (cx + r, cy + r)], fill=fill)
    return np.asarray(img)


def _register_config(folder) -> None:
    import open_clip

    cfg = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": SIZE, **VISION},
        "text_cfg": {
            "context_length": 8,
            "vocab_size": 49408,
            "width": 32,
            "heads": 2,
            "layers": 1,
        },
    }
    (folder / f"{TINY}.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(folder)


def train_tiny_clip(path, steps: int = 300, seed: int = 0, lr: float = 5e-3) -> float:
    """Contrastive training on (shape image, caption) pairs; saves a state dict.

    Returns:
        Seconds spent training.
    """
    import time

    import open_clip

    t0 = time.perf_counter()
    torch.manual_seed(seed)
    torch.set_num_threads(1)  # tiny batches: more threads only contend
    rng = np.random.default_rng(seed)
    model = open_clip.create_model(TINY, pretrained=None)
    tok = open_clip.get_tokenizer(TINY)
    pairs = [(c, s) for c in COLOURS for s in SHAPES]
    captions = tok([f"a {c} {s}" for c, s in pairs])
    mean = torch.tensor(model.visual.preprocess_cfg.get("mean", (0.481, 0.458, 0.408)))
    std = torch.tensor(model.visual.preprocess_cfg.get("std", (0.269, 0.261, 0.276)))
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    model.train()
    for _ in range(steps):
        idx = rng.integers(0, len(pairs), 27)
        imgs = np.stack([draw(*pairs[i], rng) for i in idx]).astype(np.float32) / 255.0
        x = (torch.from_numpy(imgs) - mean) / std
        img_f = torch.nn.functional.normalize(model.encode_image(x.permute(0, 3, 1, 2)), dim=-1)
        txt_f = torch.nn.functional.normalize(model.encode_text(captions[idx]), dim=-1)
        logits = model.logit_scale.exp() * img_f @ txt_f.T
        same = torch.from_numpy(idx[:, None] == idx[None, :]).float()
        target = same / same.sum(dim=1, keepdim=True)  # duplicates in a batch share mass
        loss = -(target * logits.log_softmax(dim=1)).sum(1).mean()
        loss = loss - (target.T * logits.T.log_softmax(dim=1)).sum(1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    torch.save(model.state_dict(), path)
    return time.perf_counter() - t0


@pytest.fixture(scope="module")
def shapes_library(tmp_path_factory):
    from hourlens import Library

    tmp = tmp_path_factory.mktemp("clip")
    _register_config(tmp)
    ckpt = tmp / "tiny-shapes.pt"
    train_tiny_clip(ckpt)
    fps = 4
    rng = np.random.default_rng(1)
    stills = {
        (c, s): np.asarray(Image.fromarray(draw(c, s, rng, 240)).resize((320, 240)))
        for _, _, c, s in SCENES
    }

    def frame(i: int) -> np.ndarray:
        t = i / fps
        c, s = next((c, s) for a, b, c, s in SCENES if a <= t < b)
        return stills[(c, s)]

    video = tmp / "shapes.mp4"
    _write(video, frame, int(SCENES[-1][1] * fps), fps=fps, size=(320, 240))
    cfg = IndexConfig(
        encoder=f"open_clip:{TINY}:{ckpt}",
        asr="none",
        ocr=False,
        text_embedder="none",
        min_segment_s=2.0,
    )
    lib = Library(tmp / "lib", index_config=cfg, llm="none")
    [res] = lib.index([video])
    assert res.status == "indexed", res
    return lib, ckpt


def test_the_trained_model_tells_the_shapes_apart(shapes_library):
    from hourlens.indexer.encoders import load_encoder

    _, ckpt = shapes_library
    enc = load_encoder(f"open_clip:{TINY}:{ckpt}")
    rng = np.random.default_rng(7)
    pairs = [(c, s) for c in COLOURS for s in SHAPES]
    img = enc.encode([draw(c, s, rng) for c, s in pairs]).features
    txt = enc.encode_text([f"a {c} {s}" for c, s in pairs])
    right = (np.argmax(img @ txt.T, axis=1) == np.arange(len(pairs))).mean()
    assert right >= 0.8, right


def overlaps(a: float, b: float, start: float, end: float) -> bool:
    return a < end - 0.5 and b > start + 0.5


@pytest.mark.parametrize(("start", "end", "colour", "shape"), SCENES)
def test_search_finds_each_shape_by_description(shapes_library, start, end, colour, shape):
    lib, _ = shapes_library
    hits = lib.search(f"a {colour} {shape}", k=3)
    assert hits and hits[0].kind == "visual", hits
    assert overlaps(hits[0].start, hits[0].end, start, end), (hits[0], start, end)


def test_ask_cites_the_right_segment(shapes_library):
    lib, _ = shapes_library
    ans = lib.ask("When is a green triangle shown?", "shapes.mp4")
    assert ans.citations, ans
    c = ans.citations[0]
    assert overlaps(c.start, c.end, 12.0, 18.0), ans.to_dict()
