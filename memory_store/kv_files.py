"""KV block files: one safetensors file per segment block.

Tensors: ``k.<layer>`` / ``v.<layer>`` shaped ``[kv_heads, tokens, head_dim]`` in fp16, bf16
or fp32, or in int8 with ``k.<layer>.scale`` / ``v.<layer>.scale`` (fp16, one absmax scale
per head and token, ``[kv_heads, tokens, 1]``); ``positions`` (int64, ``[rope_dims,
tokens]``); ``key`` (float32 retrieval key). Metadata (strings): ``next_pos``, ``dtype``,
``format`` and whatever the block carries in ``meta``. Files are written to a temporary
name and renamed, so a reader never sees half a file; they are read memory-mapped
(``safe_open``), tensors copied out only when the cache is assembled.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hourlens.errors import HourlensError, MissingDependencyError
from hourlens.models.kv_cache import KVBlock

#: Storage dtypes of KV files.
KV_DTYPES = ("fp16", "bf16", "fp32", "int8")
FILE_FORMAT = "hourlens-kv-1"


def _torch() -> Any:
    try:
        import torch
        from safetensors import torch as _st  # noqa: F401
    except ImportError as exc:  # pragma: no cover - both are core dependencies
        raise MissingDependencyError(exc.name or "safetensors", purpose="KV memories") from exc
    return torch


def _quantize(t: Any) -> tuple[Any, Any]:
    torch = _torch()
    x = t.float()
    scale = x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-8) / 127.0
    q = torch.round(x / scale).clamp(-127, 127).to(torch.int8)
    return q, scale.to(torch.float16)


def save_block(path: Path, block: KVBlock, *, dtype: str = "fp16") -> int:
    """Write ``block`` to ``path`` atomically.

    Args:
        path: Target file (parent folders are created).
        block: The block.
        dtype: One of :data:`KV_DTYPES`.

    Returns:
        The file size in bytes.
    """
    torch = _torch()
    from safetensors.torch import save_file

    if dtype not in KV_DTYPES:
        raise HourlensError(f"KV dtype must be one of {', '.join(KV_DTYPES)}, got {dtype!r}")
    cast = {"fp16": torch.float16, "bf16": torch.bfloat16, "fp32": torch.float32}
    tensors: dict[str, Any] = {}
    for name, group in (("k", block.keys), ("v", block.values)):
        for i, t in enumerate(group):
            t = t.detach().to("cpu")
            if dtype == "int8":
                tensors[f"{name}.{i}"], tensors[f"{name}.{i}.scale"] = _quantize(t)
            else:
                tensors[f"{name}.{i}"] = t.to(cast[dtype]).contiguous()
    tensors["positions"] = torch.as_tensor(block.positions, dtype=torch.int64).contiguous()
    if block.key is not None:
        tensors["key"] = torch.from_numpy(np.asarray(block.key, dtype=np.float32).copy())
    meta = {
        **{k: str(v) for k, v in block.meta.items()},
        "next_pos": str(int(block.next_pos)),
        "dtype": dtype,
        "layers": str(block.n_layers),
        "format": FILE_FORMAT,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        save_file(tensors, str(tmp), metadata=meta)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path.stat().st_size


def load_block(path: Path, *, device: str = "cpu", dtype: Any = None) -> KVBlock:
    """Read a block written by :func:`save_block` (memory-mapped).

    Args:
        path: The file.
        device: Device of the returned tensors.
        dtype: Torch dtype of the returned keys/values (default: as stored; int8 blocks
            are dequantised to fp16 unless a dtype is given).

    Raises:
        HourlensError: The file is missing or not a KV block file.
    """
    torch = _torch()
    from safetensors import safe_open

    if not path.is_file():
        raise HourlensError(f"KV block file {path} is missing")
    with safe_open(str(path), framework="pt", device="cpu") as f:
        meta = dict(f.metadata() or {})
        if meta.get("format") != FILE_FORMAT:
            raise HourlensError(f"{path} is not an hourlens KV block file")
        layers = int(meta["layers"])
        int8 = meta.get("dtype") == "int8"
        out_dtype = dtype or (torch.float16 if int8 else None)

        def read(name: str) -> Any:
            t = f.get_tensor(name)
            if int8:
                t = t.to(torch.float32) * f.get_tensor(f"{name}.scale").to(torch.float32)
            return t.to(device=device, dtype=out_dtype or t.dtype)

        keys = [read(f"k.{i}") for i in range(layers)]
        values = [read(f"v.{i}") for i in range(layers)]
        positions = f.get_tensor("positions")
        names = set(f.keys())
        key = f.get_tensor("key").numpy() if "key" in names else None
    skip = {"next_pos", "dtype", "layers", "format"}
    return KVBlock(
        keys,
        values,
        positions,
        int(meta["next_pos"]),
        key,
        {k: v for k, v in meta.items() if k not in skip},
    )
