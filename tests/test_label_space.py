"""The label space of classifier encoders: query variants and label expansion."""

from __future__ import annotations

import types

import numpy as np
import pytest

from hourlens.indexer.label_space import label_glosses
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
    assert search.query_variants("a red motorcycle") == [
        ("a red motorcycle", 1.0),
        ("motorcycle", 0.95),
    ]
    assert search.query_variants("an astronaut in an orange spacesuit") == [
        ("an astronaut in an orange spacesuit", 1.0),
        ("astronaut", 0.95),
        ("spacesuit", 0.8),
    ]
    assert search.query_variants("a cat") == [("a cat", 1.0), ("cat", 0.95)]
    assert search.query_variants("cat") == [("cat", 1.0)]


def test_expand_to_labels_matches_the_head_noun(monkeypatch):
    labels = ("motorcycle", "red wine", "tabby cat")
    monkeypatch.setattr(search, "_label_matrix", lambda name: (labels, bow(labels), None))
    import hourlens.indexer.text_embed as te

    monkeypatch.setattr(te, "load_text_embedder", lambda *a, **k: types.SimpleNamespace(embed=bow))
    # the whole description is half-way to "red wine"...
    assert np.allclose(
        bow(["a red motorcycle"]) @ bow(list(labels)).T, [[0.7071, 0.5, 0]], atol=1e-3
    )
    # ...its head noun is not
    got = dict(search.expand_to_labels("a red motorcycle", "toy", min_sim=0.6))
    assert list(got) == ["motorcycle"] and np.isclose(got["motorcycle"], 0.95, atol=1e-4)


def test_models_cache_label_expansion():
    from hourlens.agent import Models

    calls = []

    def expander(query, encoder):
        calls.append(query)
        return [("moped", 0.6)]

    m = Models(label_expander=expander)
    assert m.labels("a motorcycle", "enc") == m.labels("a motorcycle", "enc") == [("moped", 0.6)]
    assert m.labels("a cat", "enc") == [("moped", 0.6)]
    assert calls == ["a motorcycle", "a cat"]


def test_label_definitions_widen_the_label_space(monkeypatch):
    labels = ("moped", "red wine")
    glosses = bow(["motorcycle small", "red wine"])
    monkeypatch.setattr(search, "_label_matrix", lambda name: (labels, bow(labels), glosses))
    import hourlens.indexer.text_embed as te

    monkeypatch.setattr(te, "load_text_embedder", lambda *a, **k: types.SimpleNamespace(embed=bow))
    got = dict(search.expand_to_labels("a red motorcycle", "toy", min_sim=0.6))
    assert list(got) == ["moped"]  # through its definition only


def test_imagenet_glosses_match_the_labels():
    assert label_glosses(["a", "b"]) is None
    pytest.importorskip("timm")
    from timm.data import ImageNetInfo

    labels = [
        d.split(":")[0].split(",")[0] for d in ImageNetInfo().label_descriptions(detailed=True)
    ]
    glosses = label_glosses(labels)
    assert glosses is not None and glosses[665].startswith("moped: a motorbike")


def test_label_space_is_built_once_and_read_from_the_cache(tmp_path, monkeypatch):
    from hourlens.indexer import label_space as ls

    monkeypatch.setenv("HOURLENS_CACHE", str(tmp_path))
    built = []

    def build(name, encoder=None):
        built.append(name)
        if name == "no-labels":
            return None
        return (("moped", "red wine"), bow(["motorcycle", "red wine"]), None)

    monkeypatch.setattr(ls, "_build", build)
    ls.clear_label_space_memo()
    try:
        first = ls.label_space("toy")
        ls.clear_label_space_memo()  # as a new process would
        again = ls.label_space("toy")
        assert built == ["toy"]
        assert again is not None and first is not None
        assert again[0] == ("moped", "red wine") and again[2] is None
        np.testing.assert_array_equal(again[1], first[1])
        assert ls.label_space("no-labels") is None
        ls.clear_label_space_memo()
        assert ls.label_space("no-labels") is None and built == ["toy", "no-labels"]
    finally:
        ls.clear_label_space_memo()
