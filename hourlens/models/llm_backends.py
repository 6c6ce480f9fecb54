"""LLM backends: llama.cpp, CTranslate2, transformers and OpenAI-compatible servers.

Each backend loads its weights at the first call (or :meth:`LLM.load`), behind a lock, and
imports its runtime inside a guard that raises :class:`MissingDependencyError` naming the
pip extra. :func:`hourlens.models.llm_models.build_llm` maps a parsed spec to a backend.
"""

from __future__ import annotations

import importlib.util
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hourlens.errors import HourlensError, MissingDependencyError, ModelLoadError

from .llm import LLM, ChatMessage
from .llm_models import LLM_EXTRA

PathSource = str | Path | Callable[[], Path]
_END_TOKENS = ("<|im_end|>", "<|endoftext|>", "<|eot_id|>", "<end_of_turn>")


def split_device(device: str) -> tuple[str, int]:
    """``"cuda:1"`` -> ``("cuda", 1)``; ``"cpu"`` -> ``("cpu", 0)``.

    Raises:
        HourlensError: Not ``cpu``, ``cuda`` or ``cuda:N``.
    """
    kind, _, index = device.partition(":")
    if kind not in ("cpu", "cuda") or (index and not index.isdigit()):
        raise HourlensError(f"device must be cpu, cuda or cuda:N, got {device!r}")
    return kind, int(index or 0)


def _dicts(messages: list[ChatMessage]) -> list[dict[str, str]]:
    return [{"role": m.role, "content": m.content} for m in messages]


def _resolve(source: PathSource) -> Path:
    return Path(source() if callable(source) else source).expanduser()


def _check_ctx(n_prompt: int, max_tokens: int, n_ctx: int) -> None:
    if n_prompt + max_tokens > n_ctx:
        raise HourlensError(
            f"prompt of {n_prompt} tokens + max_tokens {max_tokens} exceeds the context "
            f"window n_ctx={n_ctx}: shorten the evidence or raise n_ctx"
        )


def _load_tokenizer(path: str | Path) -> Any:
    from transformers import AutoTokenizer

    # fix_mistral_regex=False only silences a spurious transformers 4.57 warning for
    # local directories whose config.json carries no transformers_version.
    return AutoTokenizer.from_pretrained(str(path), fix_mistral_regex=False)


class LlamaCppLLM(LLM):
    """A GGUF model run by llama-cpp-python; ``json_mode`` is grammar-constrained."""

    json_grammar = True

    def __init__(
        self,
        source: PathSource,
        *,
        device: str = "cpu",
        n_ctx: int = 4096,
        threads: int | None = None,
        name: str | None = None,
    ) -> None:
        if importlib.util.find_spec("llama_cpp") is None:
            raise MissingDependencyError(
                "llama-cpp-python", extra="llamacpp", purpose="GGUF models"
            )
        self._source, self._device, self._n_ctx, self._threads = source, device, n_ctx, threads
        self.name = name or (Path(source).name if not callable(source) else "gguf")
        self._model: Any = None
        self._lock = threading.Lock()

    def load(self) -> LlamaCppLLM:
        with self._lock:
            if self._model is None:
                from llama_cpp import Llama

                kind, index = split_device(self._device)
                path = _resolve(self._source)
                try:
                    self._model = Llama(
                        model_path=str(path),
                        n_ctx=self._n_ctx,
                        n_threads=self._threads or max(1, (os.cpu_count() or 2)),
                        n_gpu_layers=-1 if kind == "cuda" else 0,
                        main_gpu=index,
                        verbose=False,
                    )
                except (ValueError, RuntimeError) as exc:
                    raise ModelLoadError(f"llama.cpp could not load {path}: {exc}") from exc
        return self

    def _complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        json_mode: bool | Mapping[str, Any],
        stop: tuple[str, ...],
    ) -> str:
        self.load()
        kwargs: dict[str, Any] = {}
        if json_mode:  # llama.cpp compiles a schema into a grammar
            fmt: dict[str, Any] = {"type": "json_object"}
            if isinstance(json_mode, dict):
                fmt["schema"] = json_mode
            kwargs["response_format"] = fmt
        out = self._model.create_chat_completion(
            messages=_dicts(messages),
            max_tokens=max_tokens,
            temperature=temperature,
            stop=list(stop) or None,
            **kwargs,
        )
        return out["choices"][0]["message"]["content"] or ""


class CTranslate2LLM(LLM):
    """A CTranslate2 generator directory (with the tokenizer and chat template beside it).

    ``source`` may be a callable that produces the directory on first load, e.g. a
    one-time GGUF conversion.
    """

    def __init__(
        self,
        source: PathSource,
        *,
        device: str = "cpu",
        n_ctx: int = 4096,
        threads: int | None = None,
        compute_type: str = "auto",
        name: str | None = None,
    ) -> None:
        for mod, pkg in (("ctranslate2", "ctranslate2"), ("transformers", "transformers")):
            if importlib.util.find_spec(mod) is None:
                raise MissingDependencyError(pkg, extra=LLM_EXTRA, purpose="CTranslate2 LLMs")
        self._source, self._device, self._n_ctx, self._threads = source, device, n_ctx, threads
        self._compute_type = compute_type
        self.name = name or (Path(source).name if not callable(source) else "ct2")
        self._gen: Any = None
        self._tok: Any = None
        self._end: list[str] = []
        self._lock = threading.Lock()

    def load(self) -> CTranslate2LLM:
        with self._lock:
            if self._gen is None:
                import ctranslate2

                kind, index = split_device(self._device)
                path = _resolve(self._source)
                try:
                    tok = _load_tokenizer(path)
                    gen = ctranslate2.Generator(
                        str(path),
                        device=kind,
                        device_index=index,
                        compute_type=self._compute_type,
                        intra_threads=self._threads or 0,
                    )
                except (OSError, ValueError, RuntimeError) as exc:
                    raise ModelLoadError(f"CTranslate2 could not load {path}: {exc}") from exc
                vocab = tok.get_vocab()
                self._end = sorted({t for t in (tok.eos_token, *_END_TOKENS) if t in vocab})
                self._gen, self._tok = gen, tok
        return self

    def _complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        json_mode: bool | Mapping[str, Any],
        stop: tuple[str, ...],
    ) -> str:
        self.load()
        tok = self._tok
        ids = tok.apply_chat_template(_dicts(messages), add_generation_prompt=True)
        _check_ctx(len(ids), max_tokens, self._n_ctx)
        out: list[int] = []

        def on_token(step: Any) -> bool:  # True stops decoding
            out.append(step.token_id)
            return bool(stop) and any(s in tok.decode(out) for s in stop)

        sampling = (
            {"sampling_topk": 1}
            if temperature <= 0
            else {"sampling_topk": 0, "sampling_temperature": temperature}
        )
        self._gen.generate_batch(
            [tok.convert_ids_to_tokens(ids)],
            max_length=max_tokens,
            end_token=self._end,
            include_prompt_in_result=False,
            callback=on_token,
            **sampling,
        )
        return tok.decode(out, skip_special_tokens=True)


class TransformersLLM(LLM):
    """A transformers causal LM (hub id or local directory, optionally a GGUF file in it)."""

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        n_ctx: int = 4096,
        threads: int | None = None,
        precision: str = "auto",
        gguf_file: str | None = None,
    ) -> None:
        if importlib.util.find_spec("torch") is None:
            raise MissingDependencyError("torch", purpose="transformers LLMs")
        if gguf_file and importlib.util.find_spec("gguf") is None:
            raise MissingDependencyError("gguf", extra=LLM_EXTRA, purpose="GGUF via transformers")
        if precision not in ("auto", "fp32", "fp16", "bf16"):
            raise HourlensError(f"precision must be auto, fp32, fp16 or bf16, got {precision!r}")
        split_device(device)
        self._model_id, self._gguf, self._device, self._n_ctx = model, gguf_file, device, n_ctx
        self._threads, self._precision = threads, precision
        self.name = gguf_file or model
        self._model: Any = None
        self._tok: Any = None
        self._lock = threading.Lock()

    def _dtype(self) -> Any:
        import torch

        if self._precision == "auto":
            if not self._device.startswith("cuda"):
                return torch.float32
            return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[
            self._precision
        ]

    def load(self) -> TransformersLLM:
        with self._lock:
            if self._model is None:
                import torch
                from transformers import AutoModelForCausalLM, AutoTokenizer

                if self._threads:
                    torch.set_num_threads(self._threads)
                kw: dict[str, Any] = {"gguf_file": self._gguf} if self._gguf else {}
                try:
                    tok = AutoTokenizer.from_pretrained(self._model_id, **kw)
                    model = AutoModelForCausalLM.from_pretrained(
                        self._model_id, dtype=self._dtype(), **kw
                    )
                except (OSError, ValueError) as exc:
                    raise ModelLoadError(
                        f"could not load LLM {self.name!r} with transformers: {exc}"
                    ) from exc
                self._model, self._tok = model.to(self._device).eval(), tok  # type: ignore[arg-type]
        return self

    def _complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        json_mode: bool | Mapping[str, Any],
        stop: tuple[str, ...],
    ) -> str:
        import torch

        self.load()
        tok, model = self._tok, self._model
        enc = tok.apply_chat_template(
            _dicts(messages), add_generation_prompt=True, return_tensors="pt", return_dict=True
        ).to(self._device)
        n_prompt = int(enc["input_ids"].shape[1])
        _check_ctx(n_prompt, max_tokens, self._n_ctx)
        kw: dict[str, Any] = {"do_sample": temperature > 0, "max_new_tokens": max_tokens}
        if temperature > 0:
            kw["temperature"] = temperature
        else:  # silence "temperature is set but do_sample=False" from generation_config
            kw.update(temperature=None, top_p=None, top_k=None)
        if stop:
            kw.update(stop_strings=list(stop), tokenizer=tok)
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        with torch.inference_mode():
            out = model.generate(
                input_ids=enc["input_ids"],
                attention_mask=enc.get("attention_mask"),
                pad_token_id=pad,
                **kw,
            )
        return tok.decode(out[0, n_prompt:], skip_special_tokens=True)


class OpenAICompatLLM(LLM):
    """Any OpenAI-compatible ``/chat/completions`` endpoint, spoken to with httpx.

    ``json_mode`` sends ``response_format={"type": "json_object"}``; a server that rejects
    it (HTTP 400/422) is asked again without it, and not asked with it afterwards.
    """

    json_grammar = True

    def __init__(
        self,
        model: str,
        base_url: str | None = None,
        *,
        api_key: str | None = None,
        timeout: float = 600.0,
    ) -> None:
        if importlib.util.find_spec("httpx") is None:
            raise MissingDependencyError("httpx", purpose="OpenAI-compatible LLM endpoints")
        base = base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1"
        self.base_url = base.rstrip("/")
        self.model = model
        self.name = f"{model}@{self.base_url}"
        key = api_key or os.environ.get("HOURLENS_LLM_API_KEY") or os.environ.get("OPENAI_API_KEY")
        self._headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._timeout = timeout

    def _post(self, payload: dict[str, Any]) -> Any:
        import httpx

        url = f"{self.base_url}/chat/completions"
        try:
            return httpx.post(url, json=payload, headers=self._headers, timeout=self._timeout)
        except httpx.HTTPError as exc:
            raise HourlensError(f"LLM endpoint {url} unreachable: {exc}") from exc

    def _complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        json_mode: bool | Mapping[str, Any],
        stop: tuple[str, ...],
    ) -> str:
        payload: dict[str, Any] = {
            "model": self.model,
            "messages": _dicts(messages),
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if stop:
            payload["stop"] = list(stop)
        if json_mode and self.json_grammar:
            payload["response_format"] = (
                {"type": "json_schema", "json_schema": {"name": "reply", "schema": json_mode}}
                if isinstance(json_mode, dict)
                else {"type": "json_object"}
            )
        resp = self._post(payload)
        if resp.status_code in (400, 422) and isinstance(json_mode, dict) and self.json_grammar:
            payload["response_format"] = {"type": "json_object"}  # no json_schema support
            resp = self._post(payload)
        if resp.status_code in (400, 422) and "response_format" in payload:
            self.json_grammar = False
            del payload["response_format"]
            resp = self._post(payload)
        if resp.status_code != 200:
            raise HourlensError(
                f"LLM endpoint {self.base_url} answered HTTP {resp.status_code}: "
                f"{resp.text[:200]!r}"
            )
        try:
            return resp.json()["choices"][0]["message"]["content"] or ""
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise HourlensError(
                f"LLM endpoint {self.base_url} sent an unexpected reply: {resp.text[:200]!r}"
            ) from exc
