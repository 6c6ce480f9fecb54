"""Loading transformers LMMs: hub ids, local folders, packaged or local GGUF files.

A config with a ``vision_config`` loads ``AutoModelForImageTextToText`` and its processor's
tokenizer and image processor; any other config ``AutoModelForCausalLM`` + ``AutoTokenizer``;
a GGUF file is dequantised by transformers (text only) and its tokenizer converted once
into the models cache. The revision that keys stored KV is the hub commit, else a stamp of
the files (names, sizes, mtimes).
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
from pathlib import Path
from typing import Any

from hourlens.errors import HourlensError, ModelLoadError


def torch_dtype(precision: str, device: str) -> Any:
    import torch

    if precision == "auto":
        if device.startswith("cuda"):
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.float32
    table = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
    if precision not in table:
        raise HourlensError(f"precision must be auto, fp32, bf16 or fp16, got {precision!r}")
    return table[precision]


def gguf_tokenizer(gguf: Path) -> Any:
    """The tokenizer of a GGUF file, converted once and kept beside it in the cache."""
    from transformers import AutoTokenizer

    from .llm_models import cache_dir

    st = gguf.stat()
    saved = cache_dir() / f"{gguf.stem}-{st.st_size}-tokenizer"
    if (saved / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(str(saved))
    tok = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    tmp = saved.with_name(saved.name + f".{threading.get_ident()}.tmp")
    tok.save_pretrained(str(tmp))
    with contextlib.suppress(OSError):  # another process saved it first
        tmp.rename(saved)
    return tok


def file_stamp(path: Path) -> str:
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for f in files:
        st = f.stat()
        h.update(f"{f.name}:{st.st_size}:{int(st.st_mtime)};".encode())
    return h.hexdigest()[:16]


def load_transformers(
    source: str,
    *,
    device: str = "cpu",
    precision: str = "auto",
    device_map: str | None = None,
    revision: str | None = None,
) -> tuple[Any, Any, Any, str]:
    """Load ``(model, tokenizer, image_processor or None, revision string)``.

    Args:
        source: Hub id, local folder, ``.gguf`` path or ``packaged:NAME``.
        device: ``cpu``, ``cuda`` or ``cuda:N`` (ignored with ``device_map``).
        precision: ``auto`` (fp32 on CPU, bf16 on CUDA where supported, else fp16),
            ``fp32``, ``bf16`` or ``fp16``.
        device_map: Passed to ``from_pretrained`` (e.g. ``auto``).
        revision: Hub revision (branch, tag or commit).
    """
    import transformers as tf

    dtype = torch_dtype(precision, device)
    src, images = source, None
    if src.startswith("packaged:"):
        from .llm_models import PACKAGED, packaged_gguf

        if src[len("packaged:") :] not in PACKAGED:
            raise HourlensError(f"no packaged model {src!r}; have {', '.join(PACKAGED)}")
        src = str(packaged_gguf(src[len("packaged:") :]))
    path = Path(src).expanduser()
    kwargs: dict[str, Any] = {"dtype": dtype}
    if device_map:
        kwargs["device_map"] = device_map
    if path.suffix.lower() == ".gguf":
        if not path.is_file():
            raise ModelLoadError(f"GGUF file not found: {path}")
        tok = gguf_tokenizer(path)
        model = tf.AutoModelForCausalLM.from_pretrained(
            str(path.parent), gguf_file=path.name, **kwargs
        )
        rev = f"gguf-{file_stamp(path)}"
    else:
        hub = {"revision": revision} if revision else {}
        config = tf.AutoConfig.from_pretrained(src, **hub)
        if hasattr(config, "vision_config"):
            model = tf.AutoModelForImageTextToText.from_pretrained(src, **kwargs, **hub)
            processor = tf.AutoProcessor.from_pretrained(src, **hub)
            tok, images = processor.tokenizer, processor.image_processor
        else:
            model = tf.AutoModelForCausalLM.from_pretrained(src, **kwargs, **hub)
            tok = tf.AutoTokenizer.from_pretrained(src, **hub)
        commit = getattr(model.config, "_commit_hash", None)
        rev = commit or (f"dir-{file_stamp(path)}" if path.exists() else "unknown")
    if not device_map:
        model = model.to(device)  # type: ignore[arg-type]
    return model.eval(), tok, images, rev
