"""Frame encoders: the packaged EfficientNet-Lite0 on real photos, open_clip plumbing with
random weights, the spec parser and the offline ``auto`` fallback."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np
import pytest
import torch
from PIL import Image

import hourlens.indexer.encoders as encoders
from hourlens.errors import HourlensError, ModelLoadError
from hourlens.indexer.encoders import (
    DEFAULT_CLIP_HUB,
    EfficientNetLite0Encoder,
    EncoderSpec,
    FrameEncoder,
    OpenClipEncoder,
    load_encoder,
    parse_encoder_spec,
)
from hourlens.indexer.encoders.base import preprocess
from hourlens.indexer.encoders.openclip import hub_reachable, tag_hub_file

TINY_CLIP = "hourlens-test-tiny-vit"


def _photo(package: str, rel: str) -> np.ndarray:
    mod = pytest.importorskip(package)
    path = Path(mod.__file__).parent / rel
    if not path.is_file():
        pytest.skip(f"{path} not shipped")
    return np.asarray(Image.open(path).convert("RGB"))


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {
        "grace_hopper": _photo("matplotlib", "mpl-data/sample_data/grace_hopper.jpg"),
        "china": _photo("sklearn", "datasets/images/china.jpg"),
        "flower": _photo("sklearn", "datasets/images/flower.jpg"),
    }


@pytest.fixture(scope="module")
def effnet() -> FrameEncoder:
    enc = load_encoder("efficientnet_lite0")  # from the cached ONNX export when there is one
    assert enc.name == "efficientnet_lite0" and enc.runtime == "onnxruntime"
    return enc


@pytest.fixture(scope="module")
def tiny_clip(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Register a tiny open_clip config (fast to build) under TINY_CLIP."""
    import open_clip

    cfg = {
        "embed_dim": 32,
        "vision_cfg": {
            "image_size": 64,
            "layers": 2,
            "width": 64,
            "patch_size": 16,
            "head_width": 32,
        },
        "text_cfg": {
            "context_length": 77,
            "vocab_size": 49408,
            "width": 64,
            "heads": 2,
            "layers": 2,
        },
    }
    folder = tmp_path_factory.mktemp("clip_cfg")
    (folder / f"{TINY_CLIP}.json").write_text(json.dumps(cfg))
    open_clip.add_model_config(folder)
    return TINY_CLIP


# --- EfficientNet-Lite0, real packaged weights -----------------------------------------------


def top3(enc: EfficientNetLite0Encoder, probs: np.ndarray) -> list[str]:
    assert enc.labels is not None
    return [enc.labels[i] for i in np.argsort(-probs)[:3]]


def test_efficientnet_classifies_real_photos(effnet, photos) -> None:
    out = effnet.encode(list(photos.values()))
    assert out.probs is not None and out.probs.shape == (3, 1000)
    np.testing.assert_allclose(out.probs.sum(axis=1), 1.0, rtol=1e-4)
    preds = dict(zip(photos, (top3(effnet, p) for p in out.probs), strict=True))
    # Grace Hopper in US Navy dress uniform.
    assert preds["grace_hopper"][0] == "military uniform"
    # A Chinese temple/palace building.
    assert preds["china"][0] == "palace"
    assert {"bell cote", "monastery", "castle"} & set(preds["china"])
    # A dahlia: ImageNet's only garden-flower class is "daisy".
    assert preds["flower"][0] == "daisy"


def test_efficientnet_features_are_normalised_and_deterministic(effnet, photos) -> None:
    frames = list(photos.values())
    a, b = effnet.encode(frames), effnet.encode(frames)
    assert effnet.name == "efficientnet_lite0" and effnet.dim == 1280
    assert a.features.shape == (3, 1280) and a.features.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(a.features, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(a.features, b.features)
    np.testing.assert_array_equal(a.probs, b.probs)


def test_efficientnet_batch_equals_single(effnet, photos) -> None:
    frames = list(photos.values())
    batched = effnet.encode(frames)
    single = np.concatenate([effnet.encode([f]).features for f in frames])
    np.testing.assert_allclose(batched.features, single, atol=1e-4)
    small = load_encoder("efficientnet_lite0", batch_size=2)  # 3 frames -> batches of 2 + 1
    np.testing.assert_allclose(small.encode(frames).features, batched.features, atol=1e-4)


def test_efficientnet_labels(effnet) -> None:
    assert effnet.labels is not None and len(effnet.labels) == 1000
    assert len(set(effnet.labels)) == 1000
    assert effnet.labels[281] == "tabby"
    assert effnet.label_synonyms[281] == ["tabby", "tabby cat"]
    assert effnet.labels[652] == "military uniform"


def test_efficientnet_edge_cases(effnet) -> None:
    empty = effnet.encode([])
    assert empty.features.shape == (0, 1280) and empty.probs is not None
    assert empty.probs.shape == (0, 1000)
    with pytest.raises(ValueError):
        effnet.encode([np.zeros((32, 32), dtype=np.uint8)])
    with pytest.raises(ValueError):
        effnet.encode([np.zeros((32, 32, 3), dtype=np.float32)])
    with pytest.raises(HourlensError, match="cannot embed text"):
        effnet.encode_text(["a cat"])
    assert not effnet.supports_text


def test_efficientnet_user_weights(photos, tmp_path) -> None:
    ref = EfficientNetLite0Encoder()  # the torch-built model (it exports to ONNX)
    path = tmp_path / "lite0_timm_layout.pth"
    torch.save(ref._model.state_dict(), path)
    user = load_encoder(f"efficientnet_lite0:{path}")
    assert user.name == f"efficientnet_lite0:{path.resolve()}"
    frame = [photos["china"]]
    np.testing.assert_allclose(user.encode(frame).features, ref.encode(frame).features, atol=1e-6)
    bad = tmp_path / "bad.pth"
    torch.save({"w": torch.zeros(3)}, bad)
    with pytest.raises(ModelLoadError, match="not an EfficientNet-Lite0"):
        EfficientNetLite0Encoder(bad)
    with pytest.raises(ModelLoadError, match="not found"):
        EfficientNetLite0Encoder(tmp_path / "missing.pth")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the no-GPU errors")
def test_device_and_precision_errors() -> None:
    with pytest.raises(ModelLoadError, match="CUDA is not available"):
        load_encoder("efficientnet_lite0", device="cuda")
    with pytest.raises(ModelLoadError, match="needs a CUDA device"):
        load_encoder("efficientnet_lite0", precision="fp16")
    with pytest.raises(ModelLoadError, match="CUDA is not available"):
        load_encoder("auto", device="cuda:0")


# --- open_clip, random weights -----------------------------------------------------------------


def test_open_clip_tiny_encode_and_text(tiny_clip) -> None:
    enc = load_encoder(f"open_clip:{tiny_clip}:none", batch_size=2)
    assert isinstance(enc, OpenClipEncoder)
    assert enc.name == f"open_clip:{tiny_clip}:none"
    assert enc.supports_text and enc.labels is None and enc.dim == 32
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (256, 455, 3), dtype=np.uint8) for _ in range(3)]
    frames.append(rng.integers(0, 256, (40, 30, 3), dtype=np.uint8))
    out = enc.encode(frames)
    assert out.probs is None and out.features.shape == (4, 32)
    np.testing.assert_allclose(np.linalg.norm(out.features, axis=1), 1.0, atol=1e-5)
    single = np.concatenate([enc.encode([f]).features for f in frames])
    np.testing.assert_allclose(out.features, single, atol=1e-4)
    text = enc.encode_text(["a cat on a sofa", "a rocket launch", "slides"])
    assert text.shape == (3, 32) and text.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(text, axis=1), 1.0, atol=1e-5)
    assert (text @ out.features.T).shape == (3, 4)  # one space
    assert enc.encode_text([]).shape == (0, 32)


def test_open_clip_local_checkpoint(tiny_clip, tmp_path) -> None:
    rand = load_encoder(f"open_clip:{tiny_clip}:none")
    ckpt = tmp_path / "tiny.bin"
    torch.save(rand._model.state_dict(), ckpt)
    local = load_encoder(f"open_clip:{tiny_clip}:{ckpt}")
    assert local.name == f"open_clip:{tiny_clip}:{ckpt.resolve()}"
    frame = [np.full((64, 64, 3), 90, dtype=np.uint8)]
    np.testing.assert_allclose(local.encode(frame).features, rand.encode(frame).features, atol=1e-6)
    np.testing.assert_allclose(local.encode_text(["x"]), rand.encode_text(["x"]), atol=1e-6)


def test_open_clip_load_errors(tiny_clip, tmp_path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        load_encoder(f"open_clip:{tiny_clip}:{tmp_path / 'missing.bin'}")
    with pytest.raises(ModelLoadError, match="known tags"):
        load_encoder("open_clip:ViT-B-32:no_such_tag")
    with pytest.raises(ModelLoadError, match="unknown open_clip model"):
        load_encoder("open_clip:No-Such-Model:none")


def test_open_clip_vit_b32_random() -> None:
    enc = load_encoder("open_clip:ViT-B-32:none")
    assert enc.dim == 512 and enc.name == "open_clip:ViT-B-32:none"
    frames = [np.full((256, 455, 3), v, dtype=np.uint8) for v in (30, 220)]
    feats = enc.encode(frames).features
    text = enc.encode_text(["a person speaking", "a whiteboard"])
    assert feats.shape == (2, 512) and text.shape == (2, 512)
    np.testing.assert_allclose(np.linalg.norm(feats, axis=1), 1.0, atol=1e-5)


def test_default_clip_hub_constant_matches_open_clip() -> None:
    assert tag_hub_file("ViT-B-32", "laion2b_s34b_b79k") == DEFAULT_CLIP_HUB


# --- spec parsing, cache, auto -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("auto", EncoderSpec("auto")),
        (" AUTO ", EncoderSpec("auto")),
        ("efficientnet_lite0", EncoderSpec("efficientnet_lite0")),
        ("efficientnet_lite0:/w/l0.pth", EncoderSpec("efficientnet_lite0", weights="/w/l0.pth")),
        (
            "open_clip:ViT-B-32:laion2b_s34b_b79k",
            EncoderSpec("open_clip", "ViT-B-32", "laion2b_s34b_b79k"),
        ),
        (
            "open_clip:ViT-B-32:/local/ckpt.bin",
            EncoderSpec("open_clip", "ViT-B-32", "/local/ckpt.bin"),
        ),
        (
            "open_clip:ViT-B-32:C:\\w\\ckpt.bin",
            EncoderSpec("open_clip", "ViT-B-32", "C:\\w\\ckpt.bin"),
        ),
        ("open_clip:ViT-B-32:none", EncoderSpec("open_clip", "ViT-B-32", None)),
        ("open_clip:hf-hub:org/repo", EncoderSpec("open_clip", "hf-hub:org/repo", None)),
    ],
)
def test_parse_spec(spec: str, parsed: EncoderSpec) -> None:
    assert parse_encoder_spec(spec) == parsed


@pytest.mark.parametrize(
    "spec", ["resnet50", "", "open_clip:ViT-B-32", "open_clip::tag", "efficientnet_lite0:"]
)
def test_bad_spec_lists_accepted_forms(spec: str) -> None:
    with pytest.raises(HourlensError, match="accepted: auto; efficientnet_lite0"):
        load_encoder(spec)


def test_load_encoder_is_cached(effnet) -> None:
    assert load_encoder("efficientnet_lite0") is effnet
    assert load_encoder("efficientnet_lite0", batch_size=8) is not effnet


def test_hub_probe_respects_offline(monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    ok, why = hub_reachable(DEFAULT_CLIP_HUB, timeout=1.0)
    assert not ok and "HF_HUB_OFFLINE" in why


def test_auto_falls_back_to_efficientnet_and_warns_once(monkeypatch, caplog) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(encoders, "cached_checkpoint", lambda hub_file: None)
    encoders.clear_encoder_cache()
    with caplog.at_level(logging.WARNING, logger="hourlens.indexer.encoders"):
        first = load_encoder("auto")
        second = load_encoder("auto")
    assert first is second and first.name == "efficientnet_lite0"
    assert first is load_encoder("efficientnet_lite0")
    warnings = [r for r in caplog.records if r.name == "hourlens.indexer.encoders"]
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert "HOURLENS_ENCODER=open_clip:" in warnings[0].getMessage()
    assert "HF_HUB_OFFLINE" in warnings[0].getMessage()


# --- batched preprocessing ---------------------------------------------------------------------


def test_preprocess_modes() -> None:
    cpu = torch.device("cpu")
    wide = np.zeros((100, 200, 3), dtype=np.uint8)
    wide[:, 50:150] = 255  # white centre square, black side bands
    kw = {"size": (32, 32), "mean": (0.5,) * 3, "std": (0.5,) * 3, "device": cpu}
    crop = preprocess([wide], resize_mode="shortest", **kw)
    assert crop.shape == (1, 3, 32, 32)
    np.testing.assert_allclose(crop.numpy(), 1.0, atol=1e-5)  # only the white centre is kept
    squash = preprocess([wide], resize_mode="squash", **kw)
    assert squash[0, 0, 16, 0] < -0.9 and squash[0, 0, 16, 16] > 0.9
    pad = preprocess([wide], resize_mode="longest", fill=255, **kw)
    assert pad[0, 0, 0, 16] > 0.9 and pad[0, 0, 16, 0] < -0.9  # padded rows are white
    mixed = preprocess([wide, np.zeros((50, 50, 3), np.uint8), wide], channels_last=True, **kw)
    assert mixed.shape == (3, 3, 32, 32)
    assert mixed.is_contiguous(memory_format=torch.channels_last)
    np.testing.assert_allclose(mixed[1].numpy(), -1.0, atol=1e-5)


def test_efficientnet_onnx_runtime_matches_torch():
    import numpy as np

    from hourlens.indexer.encoders.efficientnet import EfficientNetLite0Encoder

    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 255, size=(120, 200, 3), dtype=np.uint8) for _ in range(3)]
    fast = EfficientNetLite0Encoder(runtime="auto")
    ref = EfficientNetLite0Encoder(runtime="torch")
    assert fast.runtime == "onnxruntime" and ref.runtime == "torch"
    a, b = fast.encode(frames), ref.encode(frames)
    np.testing.assert_allclose(a.features, b.features, atol=1e-4)
    np.testing.assert_allclose(a.probs, b.probs, atol=1e-4)


def test_split_threads_leaves_the_decoder_a_core(monkeypatch):
    from hourlens.indexer.encoders import base

    assert base.split_threads(1) == (1, 1)
    assert base.split_threads(2) == (1, 1)
    assert base.split_threads(4) == (3, 1)
    assert base.split_threads(8) == (6, 2)
    monkeypatch.setattr(base, "available_cores", lambda: 2)
    assert base.split_threads(0) == (1, 1)


def test_frame_pass_threads_follow_the_device():
    from hourlens import IndexConfig
    from hourlens.indexer.frames import pass_threads

    assert pass_threads(IndexConfig(threads=8)) == (6, 2)
    assert pass_threads(IndexConfig(threads=8, device="cuda")) == (None, 8)
    assert pass_threads(IndexConfig(device="cuda")) == (None, None)


def test_onnx_chunks_match_one_call(effnet):
    from hourlens.indexer.encoders.onnx_runtime import OnnxImageModel

    onnx = effnet._onnx
    assert onnx is not None
    x = np.random.default_rng(1).standard_normal((5, 3, 224, 224)).astype(np.float32)
    whole = OnnxImageModel(onnx.session, chunk=8)(x)
    parts = OnnxImageModel(onnx.session, chunk=2)(x)
    for a, b in zip(whole, parts, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_encoder_threads_in_cache_key(tiny_clip):
    one = load_encoder("efficientnet_lite0", threads=1)
    assert one.runtime == "onnxruntime"
    assert one is load_encoder("efficientnet_lite0", threads=1)
    assert one is not load_encoder("efficientnet_lite0")
    assert one._onnx is not None and one._onnx.chunk == 8
    # open_clip runs in PyTorch (process-wide threads): one model whatever ``threads`` says
    clip = load_encoder(f"open_clip:{tiny_clip}:none", threads=1)
    assert clip is load_encoder(f"open_clip:{tiny_clip}:none")
