"""KV memories: prefill -> store -> load -> answer, positions, invalidation, budget."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from kv_fixtures import synthetic_library, tiny_qwen2, tiny_qwen2_vl, word_tokenizer

from hourlens.agent.lmm_answer import lmm_answer
from hourlens.indexer.kv_build import build_kv, segment_part
from hourlens.memory_store.kv_files import load_block, save_block
from hourlens.models.kv_cache import KVBlock
from hourlens.models.lmm_hf import TransformersLMM


@pytest.fixture(scope="module")
def vl() -> TransformersLMM:
    from transformers import Qwen2VLImageProcessor

    return TransformersLMM.from_parts(
        tiny_qwen2_vl(), word_tokenizer(), image_processor=Qwen2VLImageProcessor(), name="tiny-vl"
    )


def _image(seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).random((56, 84, 3)) * 255).astype(np.uint8)


def _fresh_logits(lmm: TransformersLMM, pieces: list) -> torch.Tensor:
    """One ordinary forward over the whole prompt: the model computes its own positions."""
    enc = lmm.encode(pieces)
    with torch.inference_mode():
        out = lmm.model(
            input_ids=enc.ids[None],
            pixel_values=enc.pixel_values,
            image_grid_thw=enc.image_grid_thw,
        )
    return out.logits[0, -1].float()


@pytest.mark.parametrize(
    "dtype, tol", [("fp32", 1e-5), ("fp16", 1e-3), ("bf16", 5e-3), ("int8", 1e-2)]
)
def test_stored_kv_logits_match_a_fresh_prefill(
    vl: TransformersLMM, tmp_path: Path, dtype: str, tol: float
) -> None:
    segment = ["[00:00-00:30] ", _image(1), " a red car drives by .\n"]
    question = vl.tail("what was seen ?")
    fresh = _fresh_logits(vl, [vl._template()[0], *segment, question])

    head = vl.head()
    block = vl.prefill(segment, [head])
    save_block(tmp_path / "b.safetensors", block, dtype=dtype)
    stored = load_block(tmp_path / "b.safetensors")
    assert stored.next_pos == block.next_pos and torch.equal(stored.positions, block.positions)
    got = vl.next_token_logits([head, stored], [question])

    scale = float(fresh.abs().max())
    assert scale > 0.5  # the logits are not all ~0 (the comparison could not fail)
    assert float((got - fresh).abs().max()) <= tol * scale
    assert int(got.argmax()) == int(fresh.argmax())
    # Control: the same keys put at other positions do not match (positions matter).
    moved = KVBlock(stored.keys, stored.values, stored.positions + 40, stored.next_pos + 40)
    off = vl.next_token_logits([head, moved], [question])
    assert float((off - fresh).abs().max()) > 3 * tol * scale


def test_stream_continues_positions_and_sees_its_window(vl: TransformersLMM) -> None:
    parts = [[f"[00:{i}0] ", _image(i), f" segment {i} speech\n"] for i in range(3)]
    blocks = list(vl.stream(parts, window=1))
    head = vl.head()
    assert int(blocks[0].positions.min()) == head.next_pos
    for prev, cur in zip(blocks, blocks[1:], strict=False):
        assert int(cur.positions.min()) == prev.next_pos
    # Block 2 was prefilled over [head, block 1] only: recomputing it that way matches.
    again = vl.prefill(parts[2], [head, blocks[1]])
    assert torch.allclose(again.keys[0], blocks[2].keys[0], atol=1e-5)
    # ...and not over [head, block 0, block 1] (window 1 excludes block 0).
    wider = vl.prefill(parts[2], [head, blocks[0], blocks[1]])
    assert not torch.allclose(wider.keys[1], blocks[2].keys[1], atol=1e-5)


def test_build_store_reuse_and_revision_invalidation(vl: TransformersLMM, tmp_path: Path) -> None:
    store, vid = synthetic_library(tmp_path / "lib", n_segments=4)
    try:
        res = build_kv(store, vid, vl)
        assert (res.built, res.segments) == (4, 4) and res.bytes > 0
        again = build_kv(store, vid, vl)
        assert (again.built, again.reused) == (4 - 4, 4)
        recs = store.kv.records(vl.fingerprint(), video_id=vid)
        assert [r.pos_start for r in recs[1:]] == [r.pos_next for r in recs[:-1]]

        segs = store.segments(vid)
        picked = [segs[2].id, segs[0].id]
        ans = lmm_answer(
            store, vl, segment_ids=picked, evidence="", question="what ?", max_tokens=4
        )
        assert ans.via == "kv" and ans.kv_segments == tuple(sorted(picked))

        # The same weights under a new revision: nothing stored is reused...
        v2 = TransformersLMM.from_parts(
            vl.model, vl.tokenizer, image_processor=vl._images, name="tiny-vl", revision="r2"
        )
        assert store.kv.get(v2.fingerprint(), picked) == []
        assert (
            lmm_answer(
                store, v2, segment_ids=picked, evidence="e", question="q ?", max_tokens=2
            ).via
            == "prefill"
        )
        # ...and building for it drops the old revision's blocks and files.
        res2 = build_kv(store, vid, v2)
        assert res2.dropped_stale == 4 and res2.built == 4
        assert store.kv.records(vl.fingerprint()) == []
        files = list((tmp_path / "lib" / "kv").rglob("*.safetensors"))
        assert len(files) == 4
    finally:
        store.close()


def test_kv_answer_equals_fresh_stream_answer(vl: TransformersLMM, tmp_path: Path) -> None:
    store, vid = synthetic_library(tmp_path / "lib", n_segments=3)
    try:
        build_kv(store, vid, vl)
        segs = store.segments(vid)
        parts = [segment_part(store, vid, s, frames=2, card_chars=600, vision=True) for s in segs]
        fresh = vl.answer(
            [vl.head(), *vl.stream(parts, window=1)], "Question: what ?", max_tokens=6
        )
        kv = lmm_answer(
            store,
            vl,
            segment_ids=[s.id for s in segs],
            evidence="",
            question="what ?",
            max_tokens=6,
        )
        assert kv.via == "kv" and kv.text == fresh.text
    finally:
        store.close()


def test_budget_evicts_least_recently_used(vl: TransformersLMM, tmp_path: Path) -> None:
    store, vid = synthetic_library(tmp_path / "lib", n_segments=3)
    try:
        build_kv(store, vid, vl)
        kv, fp = store.kv, vl.fingerprint()
        recs = kv.records(fp)
        kv.get(fp, [recs[0].id and recs[0].segment_id])  # segment 0 used most recently
        per = max(r.bytes for r in recs)
        assert kv.evict(budget=per * 2) == 1
        left = {r.segment_id for r in kv.records(fp)}
        assert recs[0].segment_id in left and recs[1].segment_id not in left
        stats = kv.stats()
        assert stats["blocks"] == 2 and stats["models"][0]["bytes_per_hour"] > 0
        hits = kv.nearest(fp, vl.question_vector("a red car"), k=2)
        assert {s for s, _ in hits} == left
        assert kv.drop(video_id=vid) == 2 and not (tmp_path / "lib" / "kv").exists()
    finally:
        store.close()


def test_text_only_model_and_endpoint_fallback(tmp_path: Path) -> None:
    text = TransformersLMM.from_parts(tiny_qwen2(), word_tokenizer(), name="tiny-text")
    store, vid = synthetic_library(tmp_path / "lib", n_segments=2)
    try:
        build_kv(store, vid, text)
        segs = [s.id for s in store.segments(vid)]
        assert (
            lmm_answer(store, text, segment_ids=segs, evidence="", question="q ?", max_tokens=3).via
            == "kv"
        )
        with pytest.raises(Exception, match="reads no images"):
            text.encode([_image(0)])

        class Endpoint:
            name, supports_kv = "endpoint", False

            def generate(self, images, prompt, *, max_tokens=160):  # noqa: ANN001
                return f"{len(images)} images"

        out = lmm_answer(
            store, Endpoint(), segment_ids=segs, evidence="ev", question="q", images=["a.jpg"]
        )
        assert (out.via, out.text) == ("prefill", "1 images")
        with pytest.raises(Exception, match="cannot prefill KV"):
            build_kv(store, vid, Endpoint())
    finally:
        store.close()


def test_cli_kv_build_stats_drop_from_a_model_folder(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner

    from hourlens.cli import cli

    model_dir = tmp_path / "tiny-qwen2"
    tiny_qwen2().save_pretrained(model_dir)
    word_tokenizer().save_pretrained(model_dir)
    store, _ = synthetic_library(tmp_path / "lib", n_segments=3)
    store.close()
    run = CliRunner().invoke
    lib = ["--library", str(tmp_path / "lib")]
    out = run(cli, [*lib, "kv", "build", "talk.mp4", "--model", str(model_dir), "--json"])
    assert out.exit_code == 0, out.output
    res = json.loads(out.output.strip().splitlines()[-1])
    assert res["built"] == 3 and res["revision"].startswith("dir-")
    out = run(cli, [*lib, "kv", "build", "talk.mp4", "--model", str(model_dir), "--dtype", "int8"])
    assert out.exit_code == 0 and "up to date" in out.output
    out = run(cli, [*lib, "kv", "stats", "--json"])
    stats = json.loads(out.output)
    assert stats["blocks"] == 3 and stats["models"][0]["model"] == str(model_dir)
    out = run(cli, [*lib, "kv", "drop"])
    assert out.exit_code == 1 and "Error: name a VIDEO" in out.output
    out = run(cli, [*lib, "kv", "drop", "talk.mp4"])
    assert out.exit_code == 0 and "dropped 3 KV blocks" in out.output
    out = run(cli, [*lib, "kv", "build", "talk.mp4", "--model", "no-such-model-xyz"])
    assert out.exit_code == 1 and out.output.startswith("Error: ")

    from hourlens import Library

    with Library(tmp_path / "lib") as api:
        assert api.build_kv("talk.mp4", str(model_dir)).built == 3
        assert api.store.kv.stats()["blocks"] == 3


def _packaged_gguf_tokenizer():  # noqa: ANN202
    from hourlens.errors import MissingDependencyError
    from hourlens.models.llm_models import packaged_gguf, packaged_parts
    from hourlens.models.lmm_load import gguf_tokenizer

    for name in ("qwen2.5-coder-0.5b", "qwen2.5-coder-1.5b"):
        try:
            packaged_parts(name)
        except MissingDependencyError:
            continue
        return gguf_tokenizer(packaged_gguf(name))
    pytest.skip("no packaged Qwen2.5 GGUF installed (hourlens[llm] or hourlens[llm-small])")


@pytest.mark.slow
def test_tiny_qwen2_vl_end_to_end_from_a_model_folder(tmp_path: Path) -> None:
    """Keyframes -> prefill -> store -> load -> answer, through the real classes: a random
    Qwen2-VL built from a config, the packaged Qwen2.5 tokenizer, the default image
    processor, saved as a model folder and loaded back like a hub model."""
    from transformers import Qwen2VLImageProcessor, Qwen2VLProcessor, Qwen2VLVideoProcessor

    tok = _packaged_gguf_tokenizer()
    ids = {
        "image_token_id": tok.convert_tokens_to_ids("<|image_pad|>"),
        "video_token_id": tok.convert_tokens_to_ids("<|video_pad|>"),
        "vision_start_token_id": tok.convert_tokens_to_ids("<|vision_start|>"),
    }
    assert ids["vision_start_token_id"] + 1 == tok.convert_tokens_to_ids("<|vision_end|>")
    folder = tmp_path / "tiny-qwen2-vl"
    tiny_qwen2_vl(vocab=len(tok), ids=ids).save_pretrained(folder)
    Qwen2VLProcessor(
        image_processor=Qwen2VLImageProcessor(),
        tokenizer=tok,
        video_processor=Qwen2VLVideoProcessor(),
    ).save_pretrained(folder)
    lmm = TransformersLMM(str(folder)).load()
    assert lmm.is_vision and lmm.revision().startswith("dir-")

    store, vid = synthetic_library(tmp_path / "lib", n_segments=3)
    try:
        res = build_kv(store, vid, lmm)
        assert res.built == 3
        recs = store.kv.records(lmm.fingerprint(), video_id=vid)
        stored = [load_block(tmp_path / "lib" / "kv" / r.path) for r in recs]
        image_pos = [int((b.positions[1] != b.positions[2]).sum()) for b in stored]
        assert all(n > 0 for n in image_pos)  # each block holds keyframe tokens (mRoPE h != w)

        segs = store.segments(vid)
        parts = [segment_part(store, vid, s, frames=2, card_chars=600, vision=True) for s in segs]
        q = "what is on screen ?"
        fresh = lmm.answer(
            [lmm.head(), *lmm.stream(parts, window=1)], f"Question: {q}", max_tokens=8
        )
        out = lmm_answer(
            store, lmm, segment_ids=[s.id for s in segs], evidence="", question=q, max_tokens=8
        )
        assert out.via == "kv" and out.text == fresh.text and out.ttft_s > 0
        no_kv = lmm_answer(
            None,
            lmm,
            segment_ids=[],
            evidence="",
            question=q,
            images=[store.keyframes(vid)[0].path],
            max_tokens=4,
        )
        assert no_kv.via == "prefill"
    finally:
        store.close()


@pytest.mark.slow
def test_index_with_kv_model_builds_kv_for_every_segment(tmp_path: Path) -> None:
    import json

    from click.testing import CliRunner
    from media import make_scene_video

    from hourlens.cli import cli

    video = tmp_path / "small.mp4"
    make_scene_video(video, [(5.0, "hopper"), (5.0, "bars"), (5.0, "china")], fps=5)
    model_dir = tmp_path / "tiny-qwen2"
    tiny_qwen2().save_pretrained(model_dir)
    word_tokenizer().save_pretrained(model_dir)
    lib = ["--library", str(tmp_path / "lib")]
    args = ["index", "--json", "--no-progress", "--kv-model", str(model_dir), str(video)]
    out = CliRunner().invoke(cli, [*lib, *args], env={"HOURLENS_ASR": "none"})
    assert out.exit_code == 0, out.output
    (line,) = [json.loads(x) for x in out.stdout.splitlines() if x.startswith("{")]
    assert line["status"] == "indexed" and "kv built" in out.stderr
    stats = json.loads(CliRunner().invoke(cli, [*lib, "kv", "stats", "--json"]).output)
    assert stats["blocks"] == line["segments"]


def test_agent_answer_step_loads_the_stored_kv(vl: TransformersLMM, tmp_path: Path) -> None:
    from agent_fixtures import toy_models

    from hourlens.agent import AgentConfig
    from hourlens.agent.graph import ask

    store, vid = synthetic_library(tmp_path / "lib", n_segments=4)
    try:
        build_kv(store, vid, vl)
        fp = vl.fingerprint()
        before = {r.segment_id: r.last_used for r in store.kv.records(fp)}
        config = AgentConfig(llm="none", plan_with_llm=False, rewrite_visual=False)
        ans = ask(
            store,
            "What is written on screen when the green cat runs?",
            videos=[store.resolve_video(vid)],
            llm=None,
            config=config,
            models=toy_models(),
            vlm=vl,
        )
        after = {r.segment_id: r.last_used for r in store.kv.records(fp)}
        assert any(after[s] > before[s] for s in before)  # blocks loaded at question time
        assert [s for s in ans.steps if s.node == "answer"][0].detail.startswith("vlm")
    finally:
        store.close()
