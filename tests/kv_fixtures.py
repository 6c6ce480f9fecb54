"""Tiny random-weight models and a synthetic library for the KV-memory tests.

Nothing here comes from a hub: the Qwen2-VL and Qwen2 configs are built in code, the fast
tokenizer is a word-level one built from a word list (the slow test uses the packaged
Qwen2.5 GGUF tokenizer instead), the image processor has its default settings.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np

from hourlens.memory_store import Store

_TEXT = (
    "you answer questions about a video from its memories time stamped segments with "
    "keyframes captions speech and on screen text briefly cite times system user assistant "
    "question what was written when the red blue green car dog cat drives by runs sits "
    "speech on seen evidence segment answer is a an of in at to it"
)
WORDS = _TEXT.split(" ")
SPECIALS = ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "[UNK]"]
CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
VOCAB = 512
IMAGE_IDS = {"image_token_id": 500, "video_token_id": 501, "vision_start_token_id": 502}


def word_tokenizer() -> Any:
    """A word-level fast tokenizer with Qwen-style chat special tokens."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {t: i for i, t in enumerate([*SPECIALS, *dict.fromkeys(WORDS)])}
    for ch in "[]:-.,;\"'?!()0123456789":
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Digits(individual_digits=True)]
    )
    tok.decoder = decoders.WordPiece(prefix="##")
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        unk_token="[UNK]",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


def tiny_qwen2_vl(vocab: int = VOCAB, ids: dict[str, int] | None = None, seed: int = 0) -> Any:
    """A 2-layer random Qwen2-VL (hidden 64, 4 heads, 2 KV heads, mRoPE [2, 3, 3])."""
    import torch
    from transformers import Qwen2VLConfig, Qwen2VLForConditionalGeneration

    ids = ids or IMAGE_IDS
    cfg = Qwen2VLConfig(
        text_config={
            "vocab_size": vocab,
            "hidden_size": 64,
            "intermediate_size": 128,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "max_position_embeddings": 4096,
            "rope_scaling": {"type": "mrope", "mrope_section": [2, 3, 3]},
        },
        vision_config={
            "depth": 1,
            "embed_dim": 32,
            "hidden_size": 64,
            "num_heads": 2,
            "mlp_ratio": 2,
            "patch_size": 14,
            "spatial_merge_size": 2,
            "temporal_patch_size": 2,
        },
        vision_end_token_id=ids["vision_start_token_id"] + 1,
        **ids,
    )
    torch.manual_seed(seed)
    model = Qwen2VLForConditionalGeneration(cfg).eval()
    _sharpen(model)
    return model


def _sharpen(model: Any) -> Any:
    """Scale the random init so logits are large and attention is peaked (positions then
    matter, and a wrong position or a wrong cache shows in the logits)."""
    import torch

    with torch.no_grad():
        model.lm_head.weight.mul_(20.0)
        for name, p in model.named_parameters():
            if name.endswith(("q_proj.weight", "k_proj.weight")) and "visual" not in name:
                p.mul_(8.0)
    return model


def tiny_qwen2(vocab: int = VOCAB, seed: int = 0) -> Any:
    """A 2-layer random text-only Qwen2 causal LM."""
    import torch
    from transformers import Qwen2Config, Qwen2ForCausalLM

    cfg = Qwen2Config(
        vocab_size=vocab,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
    )
    torch.manual_seed(seed)
    return _sharpen(Qwen2ForCausalLM(cfg).eval())


def jpeg(seed: int, size: tuple[int, int] = (84, 56)) -> bytes:
    """A small random-noise JPEG."""
    from PIL import Image

    arr = (np.random.default_rng(seed).random((size[1], size[0], 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG")
    return buf.getvalue()


def synthetic_library(
    root: Path, *, n_segments: int = 4, seg_len: float = 30.0, name: str = "talk.mp4"
) -> tuple[Store, int]:
    """A library holding one committed video of ``n_segments`` segments with captions,
    speech, on-screen text and a keyframe each (no media file is read)."""
    store = Store(root)
    w = store.begin_video(root / name, size=1, mtime=1.0, content_hash=f"h-{name}")
    n = int(n_segments * seg_len)
    feats = np.eye(8, dtype=np.float32)[np.arange(n) % 8]
    w.append_frames(np.arange(n, dtype=float), feats)
    colours = ["red", "blue", "green"]
    animals = ["car", "dog", "cat"]
    for s in range(n_segments):
        a, b = s * seg_len, (s + 1) * seg_len
        key = w.add_segment(
            index=s, start=a, end=b, n_frames=int(seg_len), depth=0.0, alpha=2.0, budget=1
        )
        w.add_memory(
            segment=key, kind="summary", start=a, end=b, n_frames=int(seg_len), vector=feats[0]
        )
        w.add_keyframe(segment=key, t=a + 1, jpeg=jpeg(s))
        w.add_captions(
            [{"start": a, "end": b, "text": f"a {colours[s % 3]} {animals[s % 3]} runs"}]
        )
        w.add_transcript_lines([{"start": a + 2, "end": a + 6, "text": f"segment {s} speech"}])
        w.add_ocr_items([{"start": a + 3, "end": a + 4, "text": f"text {s}", "score": 0.9}])
    video = w.commit(duration=float(n), fps=1.0, width=84, height=56, encoder="test", encoder_dim=8)
    return store, video.id
