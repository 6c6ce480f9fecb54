"""The label space of classifier encoders: query variants and label expansion."""

from __future__ import annotations

import types

import numpy as np

from hourlens.tools import search

VOCAB = ["red", "motorcycle", "wine", "tabby", "cat", "big"]


def bow(texts):
    """Exact bag-of-words vectors over ``VOCAB`` (no hash collisions), L2-normalised."""
    out = np.zeros((len(texts), len(VOCAB)), np.float32)
    for i, t in enumerate(texts):
        for w in t.lower().split():
            if w in VOCAB:
                out[i, VOCAB.index(w)] += 1.0
        out[i] /= max(np.linalg.norm(out[i]), 1e-9)
    return out


def test_query_variants_keep_the_noun_phrases():
    assert search.query_variants("a red motorcycle") == [("a red motorcycle", 1.0),
                                                        ("motorcycle", 0.95)]
    assert search.query_variants("an astronaut in an orange spacesuit") == [
        ("an astronaut in an orange spacesuit", 1.0), ("astronaut", 0.95), ("spacesuit", 0.8)]
    assert search.query_variants("a cat") == [("a cat", 1.0), ("cat", 0.95)]
    assert search.query_variants("cat") == [("cat", 1.0)]


def test_expand_to_labels_matches_the_head_noun(monkeypatch):
    labels = ("motorcycle", "red wine", "tabby cat")
    monkeypatch.setattr(search, "_label_matrix", lambda name: (labels, bow(labels)))
    import hourlens.indexer.text_embed as te

    monkeypatch.setattr(te, "load_text_embedder",
                        lambda *a, **k: types.SimpleNamespace(embed=bow))
    # the whole description is as close to "red wine" as to "motorcycle" (0.5 each)...
    assert np.allclose(bow(["a red motorcycle"]) @ bow(list(labels)).T, [[0.7071, 0.5, 0]],
                       atol=1e-3)
    # ...its head noun is not
    got = dict(search.expand_to_labels("a red motorcycle", "toy", min_sim=0.6))
    assert list(got) == ["motorcycle"] and np.isclose(got["motorcycle"], 0.95, atol=1e-4)
