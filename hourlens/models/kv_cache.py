"""KV blocks: the per-layer keys and values of one prefilled context part.

A :class:`KVBlock` holds, for every decoder layer, the keys and values the model computed
for the tokens of one part (a segment's keyframes and text card, or the prompt head),
shaped ``[kv_heads, tokens, head_dim]``, plus the RoPE positions those tokens had.

How positions are handled (recorded positions, no re-rotation)
-------------------------------------------------------------
Keys are stored *after* RoPE, rotated at the positions they were prefilled at. A video is
prefilled as one stream (ReKV): the prompt head at positions ``0..P-1``, then each segment
at the positions that follow the previous one (a sliding window decides what a segment
attends to, not where it sits). For Qwen2-VL's 3-D mRoPE the positions of a part are the
model's own ``get_rope_index`` of the part, offset by the part's first position; a
part's ``next_pos`` is its largest position + 1, exactly where the model's own rope index
puts the next text token. At question time the selected blocks are put back in time order
(:func:`to_cache`), each keeping its recorded positions; the question is prefilled at
``max(next_pos)`` of the blocks, i.e. right after the latest selected segment. Positions
skipped by segments that were not selected are gaps: RoPE attention depends only on
the distance between a query and a key, so every kept block sees the question at the
same distance as in the stream. The cache index (``cache_position``, which drives the
causal mask) is separate from the RoPE positions and simply counts the cached tokens.

For a single segment this reproduces a fresh prefill exactly (up to the storage dtype):
``tests/test_kv_memory.py`` checks the next-token logits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class KVBlock:
    """The KV of one prefilled part.

    Attributes:
        keys: Per layer, ``[kv_heads, tokens, head_dim]`` (RoPE applied).
        values: Per layer, same shape.
        positions: ``[rope_dims, tokens]`` int64 (``rope_dims`` 3 for mRoPE, else 1).
        next_pos: The position right after the part.
        key: Retrieval key (float32, unit norm): mean pre-RoPE key of one middle layer.
        meta: Free-form strings stored with the block (model, format, window...).
    """

    keys: list[Any]
    values: list[Any]
    positions: Any
    next_pos: int
    key: np.ndarray | None = None
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def n_tokens(self) -> int:
        """Tokens in the block."""
        return int(self.keys[0].shape[1]) if self.keys else 0

    @property
    def n_layers(self) -> int:
        """Decoder layers."""
        return len(self.keys)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        """``(layers, kv_heads, tokens, head_dim)``."""
        if not self.keys:
            return (0, 0, 0, 0)
        h, n, d = (int(x) for x in self.keys[0].shape)
        return (len(self.keys), h, n, d)

    def nbytes(self) -> int:
        """Bytes held by the keys and values in memory."""
        return sum(int(t.numel()) * int(t.element_size()) for t in (*self.keys, *self.values))

    def to(self, device: Any = None, dtype: Any = None) -> KVBlock:
        """A copy on ``device`` / in ``dtype`` (tensors shared when nothing changes)."""
        return KVBlock(
            [k.to(device=device, dtype=dtype) for k in self.keys],
            [v.to(device=device, dtype=dtype) for v in self.values],
            self.positions,
            self.next_pos,
            self.key,
            dict(self.meta),
        )


def to_cache(blocks: Sequence[KVBlock], *, device: Any = None, dtype: Any = None) -> Any:
    """A transformers ``DynamicCache`` holding ``blocks`` concatenated in the given order.

    Args:
        blocks: The prompt head first, then segments in time order.
        device: Device of the cache tensors.
        dtype: Dtype of the cache tensors (the model's).

    Returns:
        A ``DynamicCache`` with ``sum(n_tokens)`` cached tokens per layer.
    """
    import torch
    from transformers import DynamicCache

    blocks = [b for b in blocks if b.n_tokens]
    if not blocks:
        return DynamicCache()
    layers = blocks[0].n_layers
    if any(b.n_layers != layers for b in blocks):
        raise ValueError("KV blocks of different models cannot be combined")
    pairs = []
    for i in range(layers):
        k = torch.cat([b.keys[i].to(device=device, dtype=dtype) for b in blocks], dim=1)
        v = torch.cat([b.values[i].to(device=device, dtype=dtype) for b in blocks], dim=1)
        pairs.append((k[None], v[None]))
    return DynamicCache(pairs)


def slice_cache(cache: Any, start: int) -> tuple[list[Any], list[Any]]:
    """Keys and values of cached tokens ``start:`` per layer, ``[kv_heads, n, head_dim]``."""
    keys, values = [], []
    for layer in cache.layers:
        keys.append(layer.keys[0, :, start:, :].contiguous())
        values.append(layer.values[0, :, start:, :].contiguous())
    return keys, values


def next_position(blocks: Sequence[KVBlock]) -> int:
    """Where the next token goes after ``blocks``: the largest ``next_pos`` (0 if none)."""
    return max((b.next_pos for b in blocks), default=0)
