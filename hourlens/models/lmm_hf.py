"""The transformers LMM backend: Qwen2-VL / Qwen2.5-VL-class models, or a text-only causal LM.

One forward routine serves every path: prefill of a context part onto a cache of earlier
blocks (explicit RoPE positions and ``cache_position``), greedy decoding, and so
:meth:`TransformersLMM.generate` too. Prompts follow the tokenizer's chat template: the
*head* (system turn + the opening of the user turn) is its own block, context parts
follow, and the *tail* (question + the close of the user turn + the assistant opening)
is prefilled last. See :mod:`hourlens.models.kv_cache` for positions.

Sources: a hub id or local folder (``AutoConfig`` decides: a config with a
``vision_config`` loads ``AutoModelForImageTextToText`` + its image processor, else
``AutoModelForCausalLM``), ``packaged:NAME`` or a ``.gguf`` path (transformers dequantises
GGUF; text only), or :meth:`TransformersLMM.from_parts` (already built model + tokenizer).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hourlens.errors import HourlensError, MissingDependencyError, ModelLoadError

from .kv_cache import KVBlock, next_position, slice_cache, to_cache
from .lmm import DEFAULT_SYSTEM, LMM, PROMPT_FORMAT, Image
from .lmm_load import load_transformers

#: A context part: text pieces (``str``) and images (``Path``, ``HxWx3`` array or PIL image;
#: a path to an image must be a ``Path``, since every ``str`` is text), in order.
Part = Sequence[Any]
_SENTINEL = "\u2063HOURLENS_PART\u2063"
_END_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>")


@dataclass
class Encoded:
    """A part as model inputs: token ids, image tensors and local positions from 0."""

    ids: Any  # [n] int64
    pixel_values: Any = None
    image_grid_thw: Any = None
    positions: Any = None  # [rope_dims, n]; filled by TransformersLMM.encode


@dataclass(frozen=True)
class KVAnswer:
    """A greedy answer over KV blocks, with its time to first token."""

    text: str
    ttft_s: float
    tokens: tuple[int, ...]


class TransformersLMM(LMM):
    """A transformers LMM with KV prefill and reuse.

    Args:
        source: Hub id, local folder, ``.gguf`` path or ``packaged:NAME``.
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        precision: ``auto``, ``fp32``, ``bf16`` or ``fp16``.
        device_map: ``from_pretrained``'s ``device_map`` (then ``device`` only places inputs).
        revision: Hub revision.
        system: System prompt of the head block.
        max_image_pixels: Images are resized to at most this many pixels.
    """

    supports_kv = True

    def __init__(
        self,
        source: str,
        *,
        device: str = "cpu",
        precision: str = "auto",
        device_map: str | None = None,
        revision: str | None = None,
        system: str = DEFAULT_SYSTEM,
        max_image_pixels: int = 448 * 448,
    ) -> None:
        self.source, self.device, self.precision = source, device, precision
        self.device_map, self._revision_arg = device_map, revision
        self.system, self.max_image_pixels = system, max_image_pixels
        self.name = self.model_id = source
        self._model: Any = None
        self._tok: Any = None
        self._images: Any = None
        self._revision = ""
        self._head: KVBlock | None = None
        self._lock = threading.RLock()

    @classmethod
    def from_parts(
        cls,
        model: Any,
        tokenizer: Any,
        *,
        image_processor: Any = None,
        name: str = "custom",
        revision: str = "custom",
        system: str = DEFAULT_SYSTEM,
    ) -> TransformersLMM:
        """Wrap a model and tokenizer built elsewhere (tests, applications)."""
        self = cls(name, system=system)
        self._model, self._tok, self._images = model.eval(), tokenizer, image_processor
        self._revision = revision
        self.device = str(next(model.parameters()).device)
        return self

    # -- loading -------------------------------------------------------------------------

    def load(self) -> TransformersLMM:
        with self._lock:
            if self._model is None:
                try:
                    self._load()
                except HourlensError:
                    raise
                except ImportError as exc:
                    raise MissingDependencyError(
                        exc.name or "transformers", purpose="an LMM"
                    ) from exc
                except Exception as exc:  # noqa: BLE001 - any load failure is user-facing
                    raise ModelLoadError(f"cannot load LMM {self.source!r}: {exc}") from exc
        return self

    def _load(self) -> None:
        self._model, self._tok, self._images, self._revision = load_transformers(
            self.source,
            device=self.device,
            precision=self.precision,
            device_map=self.device_map,
            revision=self._revision_arg,
        )

    def revision(self) -> str:
        self.load()
        return self._revision

    @property
    def model(self) -> Any:
        """The transformers model (loaded)."""
        return self.load()._model

    @property
    def tokenizer(self) -> Any:
        """The tokenizer (loaded)."""
        return self.load()._tok

    @property
    def is_vision(self) -> bool:
        """True for a model with a vision tower (mRoPE positions, image inputs)."""
        return hasattr(self.model.config, "vision_config")

    def layers(self) -> Any:
        """The decoder layers (a ``ModuleList``)."""
        m = self.model.model
        return getattr(m, "language_model", m).layers

    def fingerprint(self) -> dict[str, str]:
        """What a stored KV block must match to be reused."""
        return {"model": self.model_id, "revision": self.revision(), "format": PROMPT_FORMAT}

    # -- prompt pieces -------------------------------------------------------------------

    def _template(self) -> tuple[str, str]:
        tok = self.tokenizer
        msgs = [
            {"role": "system", "content": self.system},
            {"role": "user", "content": _SENTINEL},
        ]
        if getattr(tok, "chat_template", None):
            text = tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
            head, sep, tail = text.partition(_SENTINEL)
            if sep:
                return head, tail
        return f"{self.system}\n\n", "\nAnswer: "

    def _text_ids(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def _pil(self, image: Any) -> Any:
        from PIL import Image as PILImage

        if isinstance(image, np.ndarray):
            img = PILImage.fromarray(np.ascontiguousarray(image.astype(np.uint8)))
        elif isinstance(image, PILImage.Image):
            img = image.convert("RGB")
        else:
            img = PILImage.open(image).convert("RGB")
        scale = (self.max_image_pixels / max(1, img.width * img.height)) ** 0.5
        if scale < 1:
            img = img.resize((max(28, int(img.width * scale)), max(28, int(img.height * scale))))
        return img

    def encode(self, part: Part) -> Encoded:
        """Token ids, image tensors and local positions (from 0) of one part.

        Raises:
            HourlensError: Images given to a model without a vision tower.
        """
        import torch

        ids: list[int] = []
        images = [p for p in part if not isinstance(p, str)]
        enc = Encoded(ids=None)
        if images:
            if not self.is_vision or self._images is None:
                raise HourlensError(f"{self.name} reads no images (a text-only model)")
            cfg = self.model.config
            out = self._images(images=[self._pil(im) for im in images], return_tensors="pt")
            enc.pixel_values, enc.image_grid_thw = out["pixel_values"], out["image_grid_thw"]
            merge = int(getattr(self._images, "merge_size", 2)) ** 2
            counts = [int(t.prod()) // merge for t in enc.image_grid_thw]
        k = 0
        for piece in part:
            if isinstance(piece, str):
                ids += self._text_ids(piece)
            else:
                ids += [cfg.vision_start_token_id, *[cfg.image_token_id] * counts[k]]
                ids.append(cfg.vision_end_token_id)
                k += 1
        enc.ids = torch.tensor(ids, dtype=torch.long)
        if self.is_vision:
            pos, _ = self.model.model.get_rope_index(
                input_ids=enc.ids[None],
                image_grid_thw=enc.image_grid_thw,
                attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            )
            enc.positions = pos[:, 0, :].to("cpu", torch.long)
        else:
            enc.positions = torch.arange(len(ids), dtype=torch.long)[None]
        return enc

    # -- forward -------------------------------------------------------------------------

    def _forward(self, enc: Encoded, start: int, cache: Any) -> tuple[Any, Any]:
        import torch

        model = self.model
        dev = model.get_input_embeddings().weight.device
        past = cache.get_seq_length()
        n = int(enc.ids.shape[0])
        pos = (enc.positions + start).to(dev)
        kwargs: dict[str, Any] = {
            "input_ids": enc.ids[None].to(dev),
            "position_ids": pos[:, None, :] if self.is_vision else pos,
            "past_key_values": cache,
            "use_cache": True,
            "cache_position": torch.arange(past, past + n, device=dev),
        }
        if enc.pixel_values is not None:
            kwargs["pixel_values"] = enc.pixel_values.to(dev, model.dtype)
            kwargs["image_grid_thw"] = enc.image_grid_thw.to(dev)
        with torch.inference_mode():
            out = model.model(**kwargs)
            logits = model.lm_head(out.last_hidden_state[:, -1, :])[0].float()
        return logits, out.past_key_values

    def _cache(self, blocks: Sequence[KVBlock]) -> Any:
        m = self.model
        return to_cache(blocks, device=m.get_input_embeddings().weight.device, dtype=m.dtype)

    def _retrieval_vector(self, layer: Any, grab: str) -> tuple[Any, list[Any]]:
        store: list[Any] = []
        proj = getattr(layer.self_attn, grab)
        return proj.register_forward_hook(lambda _m, _i, o: store.append(o.detach())), store

    def prefill(self, part: Part, context: Sequence[KVBlock] = ()) -> KVBlock:
        """Prefill ``part`` on top of ``context`` (head first, then earlier blocks).

        The part's tokens start at ``max(next_pos)`` of the context; the returned block
        holds only the part's own keys/values, its positions and its retrieval key.
        """
        with self._lock:
            enc = self.encode(part)
            start = next_position(context)
            cache = self._cache(context)
            past = cache.get_seq_length()
            layers = self.layers()
            handle, grabbed = self._retrieval_vector(layers[len(layers) // 2], "k_proj")
            try:
                _, cache = self._forward(enc, start, cache)
            finally:
                handle.remove()
            keys, values = slice_cache(cache, past)
            key = grabbed[0][0].float().mean(dim=0).cpu().numpy() if grabbed else None
            if key is not None:
                key = (key / max(float(np.linalg.norm(key)), 1e-12)).astype(np.float32)
            positions = enc.positions + start
            return KVBlock(keys, values, positions, int(positions.max()) + 1, key)

    def head(self) -> KVBlock:
        """The prompt head block (system turn + the opening of the user turn), cached."""
        with self._lock:
            if self._head is None:
                self._head = self.prefill([self._template()[0]])
            return self._head

    def stream(self, parts: Sequence[Part], *, window: int = 1) -> Iterator[KVBlock]:
        """ReKV-style streaming prefill: each part sees the head and the ``window`` parts
        before it, and continues their positions.

        Args:
            parts: Context parts in time order.
            window: Earlier parts each part attends to (0: none besides the head).

        Yields:
            One block per part, in order.
        """
        head, recent = self.head(), list[KVBlock]()
        for part in parts:
            block = self.prefill(part, [head, *recent])
            recent = [*recent, block][-window:] if window > 0 else []
            if window <= 0:  # keep positions continuous even without attention context
                head = KVBlock(head.keys, head.values, head.positions, block.next_pos)
            yield block

    def question_vector(self, question: str) -> np.ndarray:
        """The retrieval query of a question: its mean pre-RoPE layer query, averaged
        within each key-value head group (comparable with :attr:`KVBlock.key`)."""
        layers = self.layers()
        layer = layers[len(layers) // 2]
        handle, grabbed = self._retrieval_vector(layer, "q_proj")
        try:
            self._forward(self.encode([question]), 0, self._cache([]))
        finally:
            handle.remove()
        cfg = self.model.config.get_text_config()
        heads, kv = cfg.num_attention_heads, cfg.num_key_value_heads
        q = grabbed[0][0].float().mean(dim=0).reshape(kv, heads // kv, -1).mean(dim=1)
        vec = q.reshape(-1).cpu().numpy()
        return (vec / max(float(np.linalg.norm(vec)), 1e-12)).astype(np.float32)

    # -- answering -----------------------------------------------------------------------

    def tail(self, question: str) -> str:
        """The text after the context: the question and the assistant opening."""
        return f"{question}{self._template()[1]}"

    def next_token_logits(self, blocks: Sequence[KVBlock], part: Part) -> Any:
        """Logits (float32 ``[vocab]``) after prefilling ``part`` on ``blocks``."""
        with self._lock:
            logits, _ = self._forward(self.encode(part), next_position(blocks), self._cache(blocks))
            return logits

    def _end_ids(self) -> set[int]:
        tok = self.tokenizer
        ids = {tok.eos_token_id} if tok.eos_token_id is not None else set()
        for t in _END_TOKENS:
            i = tok.convert_tokens_to_ids(t)
            if isinstance(i, int) and i != tok.unk_token_id:
                ids.add(i)
        return ids

    def answer(
        self, blocks: Sequence[KVBlock], question: str, *, max_tokens: int = 160
    ) -> KVAnswer:
        """Greedy answer to ``question`` over ``blocks`` (head first, then time order).

        Only the question tail is prefilled; ``ttft_s`` runs from the call to the first
        token chosen (cache assembly included).
        """
        import torch

        with self._lock:
            t0 = time.perf_counter()
            cache = self._cache(blocks)
            pos = next_position(blocks)
            enc = self.encode([self.tail(question)])
            logits, cache = self._forward(enc, pos, cache)
            pos += int(enc.positions.max()) + 1
            token = int(torch.argmax(logits))
            ttft = time.perf_counter() - t0
            out: list[int] = []
            ends = self._end_ids()
            dims = 3 if self.is_vision else 1
            while token not in ends and len(out) < max_tokens:
                out.append(token)
                if len(out) == max_tokens:
                    break
                step = Encoded(ids=torch.tensor([token]), positions=torch.zeros(dims, 1).long())
                logits, cache = self._forward(step, pos, cache)
                pos += 1
                token = int(torch.argmax(logits))
            text = self.tokenizer.decode(out, skip_special_tokens=True).strip()
            return KVAnswer(text, ttft, tuple(out))

    def generate(self, images: Sequence[Image], prompt: str, *, max_tokens: int = 160) -> str:
        """One user turn holding ``images`` then ``prompt``; greedy reply."""
        head = self.head()
        blocks = [head]
        if images:
            pics = [Path(im) if isinstance(im, str) else im for im in images]
            blocks.append(self.prefill(pics, [head]))
        return self.answer(blocks, prompt, max_tokens=max_tokens).text
