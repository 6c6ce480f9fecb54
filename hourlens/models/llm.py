"""The LLM interface used for segment summaries (indexer) and planning, judging and answering
(agent).

Every model sits behind :class:`LLM` (``complete`` / ``complete_json``) and is obtained with
:func:`load_llm` from a spec string:

- ``auto``: the packaged offline model (Qwen2.5-Coder-1.5B-Instruct, shipped as PyPI packages;
  see :mod:`hourlens.models.llm_models`), run by llama.cpp when ``llama_cpp`` is importable,
  else by CTranslate2 (int8, converted once into the cache);
- ``packaged:NAME``: a packaged model by name (``qwen2.5-coder-1.5b``, ``qwen2.5-coder-0.5b``);
- ``gguf:/path/model.gguf``: a GGUF file, same runtime choice as ``auto``;
- ``hf:HUB_ID_OR_DIR``: transformers ``AutoModelForCausalLM`` with the tokenizer's chat template
  (``hf:/path/model.gguf`` loads a GGUF through transformers, dequantised);
- ``ct2:/path/dir``: a CTranslate2 generator directory holding the tokenizer files too;
- ``openai:MODEL@http://host:port/v1``: any OpenAI-compatible server (vLLM, Ollama,
  llama.cpp server); API key from ``HOURLENS_LLM_API_KEY`` or ``OPENAI_API_KEY``;
- ``fake``: a :class:`FakeLLM` that answers ``{}`` (tests, dry runs).
"""

from __future__ import annotations

import json
import re
import threading
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from hourlens.errors import HourlensError

Role = Literal["system", "user", "assistant"]
_ROLES = ("system", "user", "assistant")

SPEC_FORMS = (
    "auto",
    "packaged:NAME",
    "gguf:/path/model.gguf",
    "hf:HUB_ID_OR_DIR",
    "ct2:/path/ctranslate2_dir",
    "openai:MODEL@http://host:port/v1",
    "fake",
)

JSON_INSTRUCTION = "Reply with one JSON object and nothing else: no prose, no code fences."
JSON_RETRY_NUDGE = (
    "Your reply was not a valid JSON object. Reply with the JSON object only, nothing else."
)


@dataclass(frozen=True, kw_only=True)
class ChatMessage:
    """One chat turn."""

    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise ValueError(f"role must be one of {_ROLES}, got {self.role!r}")


MessagesLike = Sequence[ChatMessage | Mapping[str, str]]


def to_messages(messages: MessagesLike) -> list[ChatMessage]:
    """Normalise ``ChatMessage`` objects or ``{"role", "content"}`` mappings to a list."""
    out = []
    for m in messages:
        out.append(m if isinstance(m, ChatMessage) else ChatMessage(**dict(m)))  # type: ignore[arg-type]
    if not out:
        raise ValueError("at least one message is needed")
    return out


def truncate_at_stop(text: str, stop: Sequence[str]) -> str:
    """Cut ``text`` at the earliest occurrence of any stop string."""
    cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=len(text))
    return text[:cut]


_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.S)
_TRAILING_COMMA = re.compile(r",\s*([}\]])")


def extract_json(text: str) -> dict[str, Any]:
    """Return the first JSON object found in a model reply.

    Tries fenced code blocks first, then the whole text, scanning each ``{`` left to right
    with :meth:`json.JSONDecoder.raw_decode` (so prose before or after the object is
    ignored); trailing commas are forgiven as a last resort.

    Args:
        text: A model reply.

    Returns:
        The decoded object.

    Raises:
        ValueError: No JSON object could be decoded.
    """
    decoder = json.JSONDecoder()
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for cand in candidates:
        for src in (cand, _TRAILING_COMMA.sub(r"\1", cand)):
            start = src.find("{")
            while start != -1:
                try:
                    obj, _ = decoder.raw_decode(src, start)
                except json.JSONDecodeError:
                    pass
                else:
                    if isinstance(obj, dict):
                        return obj
                start = src.find("{", start + 1)
    raise ValueError(f"no JSON object in reply: {_clip(text)}")


def _clip(text: str, n: int = 160) -> str:
    return repr(text if len(text) <= n else text[:n] + "...")


def _with_json_instruction(
    messages: list[ChatMessage], schema_hint: str | None
) -> list[ChatMessage]:
    note = JSON_INSTRUCTION + (f"\nJSON shape: {schema_hint}" if schema_hint else "")
    if messages[0].role == "system":
        first = ChatMessage(role="system", content=f"{messages[0].content}\n\n{note}")
        return [first, *messages[1:]]
    return [ChatMessage(role="system", content=note), *messages]


class LLM(ABC):
    """A chat model. Subclasses implement :meth:`_complete`; weights load on first use.

    Attributes:
        name: Short name used in messages and logs.
        json_grammar: True when ``json_mode=True`` constrains decoding to valid JSON (a
            grammar or a server-side ``response_format``); otherwise JSON comes from the
            prompt and :func:`extract_json`.
    """

    name: str = "llm"
    json_grammar: bool = False

    def load(self) -> LLM:
        """Load the weights now instead of at the first call. Returns ``self``."""
        return self

    def complete(
        self,
        messages: MessagesLike,
        *,
        max_tokens: int = 256,
        temperature: float = 0.0,
        json_mode: bool | Mapping[str, Any] = False,
        stop: Sequence[str] | None = None,
    ) -> str:
        """Generate the assistant's reply.

        Args:
            messages: The conversation (``ChatMessage`` objects or role/content mappings).
            max_tokens: Upper bound on generated tokens.
            temperature: 0 for greedy decoding.
            json_mode: Ask the backend for a JSON object (grammar-constrained where supported);
                a mapping is a JSON schema the object must follow where the backend can.
            stop: Strings that end the reply; they are not included in it.

        Returns:
            The reply text, stripped of surrounding whitespace.
        """
        if max_tokens < 1:
            raise ValueError("max_tokens must be >= 1")
        msgs = to_messages(messages)
        stops = tuple(s for s in (stop or ()) if s)
        text = self._complete(
            msgs, max_tokens=max_tokens, temperature=temperature, json_mode=json_mode, stop=stops
        )
        return truncate_at_stop(text, stops).strip()

    @abstractmethod
    def _complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        json_mode: bool | Mapping[str, Any],
        stop: tuple[str, ...],
    ) -> str:
        """Backend generation; ``stop`` may be applied natively or left to the caller."""

    def complete_json(
        self,
        messages: MessagesLike,
        *,
        max_tokens: int = 256,
        schema_hint: str | None = None,
        schema: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Generate a reply and parse it as one JSON object.

        The system prompt gets a "JSON only" instruction (plus ``schema_hint``); decoding uses
        ``json_mode`` and greedy sampling; the first ``{...}`` of the reply is parsed. If that
        fails, the model is asked once more with the bad reply and a nudge.

        Args:
            messages: The conversation.
            max_tokens: Upper bound on generated tokens per attempt.
            schema_hint: The expected shape, e.g. ``{"tool": str, "args": {...}}``.
            schema: A JSON schema; backends that can constrain decoding to it do
                (llama.cpp grammars, ``json_schema`` response formats), the others get
                JSON mode and the hint.

        Returns:
            The decoded object.

        Raises:
            HourlensError: Both attempts failed to produce a JSON object.
        """
        msgs = _with_json_instruction(to_messages(messages), schema_hint)
        mode: bool | Mapping[str, Any] = dict(schema) if schema else True
        text = self.complete(msgs, max_tokens=max_tokens, json_mode=mode)
        try:
            return extract_json(text)
        except ValueError:
            pass
        retry = [
            *msgs,
            ChatMessage(role="assistant", content=text),
            ChatMessage(role="user", content=JSON_RETRY_NUDGE),
        ]
        text = self.complete(retry, max_tokens=max_tokens, json_mode=mode)
        try:
            return extract_json(text)
        except ValueError as exc:
            raise HourlensError(
                f"LLM {self.name} gave no valid JSON object after a retry; last reply: "
                f"{_clip(text)}"
            ) from exc

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


Response = str | Mapping[str, Any] | Callable[[list[ChatMessage]], str | Mapping[str, Any]]


class FakeLLM(LLM):
    """A scripted LLM for tests: replies come from a queue and every prompt is recorded.

    A queued item is a string, a mapping (sent as JSON) or a callable that receives the
    messages and returns either. When the queue is empty, ``default`` is used; without a
    default, an empty queue raises :class:`HourlensError`.

    Attributes:
        prompts: The messages of every call, in order.
        calls: The generation options of every call (``max_tokens``, ``temperature``,
            ``json_mode``, ``stop``).
    """

    name = "fake"

    def __init__(self, responses: Iterable[Response] = (), *, default: Response | None = None):
        self._queue: deque[Response] = deque(responses)
        self.default = default
        self.prompts: list[list[ChatMessage]] = []
        self.calls: list[dict[str, Any]] = []

    def queue(self, *responses: Response) -> FakeLLM:
        """Append replies to the queue. Returns ``self`` for chaining."""
        self._queue.extend(responses)
        return self

    @property
    def pending(self) -> int:
        """Number of queued replies not yet used."""
        return len(self._queue)

    def _complete(
        self,
        messages: list[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        json_mode: bool | Mapping[str, Any],
        stop: tuple[str, ...],
    ) -> str:
        self.prompts.append(list(messages))
        self.calls.append(
            {
                "max_tokens": max_tokens,
                "temperature": temperature,
                "json_mode": json_mode,
                "stop": stop,
            }
        )
        if self._queue:
            reply = self._queue.popleft()
        elif self.default is not None:
            reply = self.default
        else:
            raise HourlensError("FakeLLM has no queued reply left (add some with .queue())")
        if callable(reply):
            reply = reply(list(messages))
        return reply if isinstance(reply, str) else json.dumps(dict(reply))


@dataclass(frozen=True)
class LLMSpec:
    """A parsed :func:`load_llm` spec: ``kind`` plus its target (path, id, model name)."""

    kind: Literal["packaged", "gguf", "hf", "ct2", "openai", "fake"]
    target: str = ""
    base_url: str | None = None


def parse_llm_spec(spec: str) -> LLMSpec:
    """Parse a spec string (see the module docstring for the forms).

    A bare existing path is accepted too: a ``.gguf`` file, a CTranslate2 directory
    (``model.bin``) or a transformers directory (``config.json``).

    Raises:
        HourlensError: Unknown or incomplete spec; the message lists the accepted forms.
    """
    from .llm_models import DEFAULT_PACKAGED, PACKAGED

    s = spec.strip()
    kind, sep, rest = s.partition(":")
    kind = kind.lower()
    if s.lower() == "auto":
        return LLMSpec("packaged", DEFAULT_PACKAGED)
    if s.lower() == "fake":
        return LLMSpec("fake")
    if sep and kind == "packaged" and rest.lower() in PACKAGED:
        return LLMSpec("packaged", rest.lower())
    if sep and kind in ("gguf", "hf", "ct2") and rest:
        return LLMSpec(kind, rest)  # type: ignore[arg-type]
    if sep and kind == "openai" and rest:
        model, at, url = rest.rpartition("@")
        if not at:
            model, url = rest, ""
        if model and (not at or url.startswith(("http://", "https://"))):
            return LLMSpec("openai", model, url.rstrip("/") or None)
    path = Path(s).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        return LLMSpec("gguf", str(path))
    if (path / "model.bin").is_file():
        return LLMSpec("ct2", str(path))
    if (path / "config.json").is_file():
        return LLMSpec("hf", str(path))
    raise HourlensError(
        f"unknown LLM spec {spec!r}; use one of: {', '.join(SPEC_FORMS)} "
        f"(packaged names: {', '.join(PACKAGED)})"
    )


_CACHE: dict[tuple[Any, ...], LLM] = {}
_CACHE_LOCK = threading.Lock()


def load_llm(
    spec: str = "auto",
    *,
    device: str = "cpu",
    n_ctx: int = 4096,
    threads: int | None = None,
    precision: str = "auto",
) -> LLM:
    """Return the LLM named by ``spec`` (cached per arguments; ``fake`` is never cached).

    Weights load lazily, at the first call or :meth:`LLM.load`; the packaged model is
    reassembled (and, without llama.cpp, converted to CTranslate2) into the cache once.

    Args:
        spec: See the module docstring.
        device: ``cpu``, ``cuda`` or ``cuda:N``.
        n_ctx: Context window in tokens (prompt + reply).
        threads: CPU threads; ``None`` lets the runtime choose.
        precision: ``auto`` (fp32 on CPU, bf16/fp16 on CUDA), ``fp32``, ``fp16`` or ``bf16``;
            used by the ``hf`` backend.

    Returns:
        An :class:`LLM`.

    Raises:
        HourlensError: Unknown spec. MissingDependencyError: the runtime is not installed.
    """
    parsed = parse_llm_spec(spec)
    if parsed.kind == "fake":
        return FakeLLM(default="{}")
    key = (parsed, device, n_ctx, threads, precision)
    with _CACHE_LOCK:
        llm = _CACHE.get(key)
        if llm is None:
            from .llm_models import build_llm

            llm = _CACHE[key] = build_llm(
                parsed, device=device, n_ctx=n_ctx, threads=threads, precision=precision
            )
    return llm
